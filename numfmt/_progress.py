"""A terminal progress bar for long operations (the atomic file writer is `numfmt.io.files`)."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


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
