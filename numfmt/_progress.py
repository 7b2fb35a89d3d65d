"""Small helpers for long operations: a terminal progress bar and atomic file writes.

`atomic_write(path)` writes to a temporary file in the destination's
directory and renames it over `path` (`os.replace`) only when the block
finishes without an exception; on any exception, `KeyboardInterrupt`
included, the temporary file is removed and `path` is left untouched.

Examples
--------
>>> import os, tempfile
>>> from numfmt._progress import atomic_write
>>> d = tempfile.mkdtemp()
>>> with atomic_write(os.path.join(d, "out.bin")) as f:
...     _ = f.write(b"done")
>>> os.listdir(d)
['out.bin']
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time

__all__ = ["Progress", "atomic_write"]


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb"):
    """Open a temporary file next to `path`; rename it to `path` on success, delete it on failure."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class Progress:
    """A one-line progress bar on a terminal; silent when `file` is not a TTY.

    Parameters
    ----------
    total : int
        Total amount of work (e.g. bytes).
    desc : str
        Label in front of the bar.
    file : file object, optional
        Where to draw (default `sys.stderr`).
    enabled : bool, optional
        Force on/off; default: whether `file` is a terminal.

    Examples
    --------
    >>> import io
    >>> from numfmt._progress import Progress
    >>> buf = io.StringIO()
    >>> with Progress(10, "work", file=buf, enabled=True) as p:
    ...     p.update(10)
    >>> "100.0%" in buf.getvalue()
    True
    """

    def __init__(self, total: int, desc: str = "", *, file=None, enabled: bool | None = None,
                 min_interval: float = 0.1):
        self.total = max(int(total), 0)
        self.desc = desc
        self.file = sys.stderr if file is None else file
        if enabled is None:
            isatty = getattr(self.file, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.done = 0
        self.note = ""
        self._last = 0.0
        self._min_interval = min_interval

    def update(self, n: int, note: str | None = None) -> None:
        """Advance by `n` units; `note` (e.g. the current tensor) is shown after the bar."""
        self.done += int(n)
        if note is not None:
            self.note = note
        now = time.monotonic()
        if self.enabled and (now - self._last >= self._min_interval or self.done >= self.total):
            self._last = now
            self._draw()

    def _draw(self) -> None:
        frac = 1.0 if self.total == 0 else min(self.done / self.total, 1.0)
        width = 30
        full = int(frac * width)
        bar = "#" * full + "-" * (width - full)
        note = self.note if len(self.note) <= 40 else "..." + self.note[-37:]
        self.file.write(f"\r{self.desc} [{bar}] {frac * 100:5.1f}% {note:<40}")
        self.file.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw()
            self.file.write("\n")
            self.file.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
