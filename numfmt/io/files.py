"""Safe file handling for the io verbs: sources checked before opening, outputs written atomically.

* `check_source(path)`: the path must be a regular file (a FIFO is refused before
  it is opened, so a source never blocks);
* `check_destination(path)`: refused before anything is read when it exists and is
  not a regular file (directory, FIFO, device node), when it is empty or names a
  directory, or when its directory is missing or not writable;
* `atomic_output(path)`: writes to `.{name}.numfmt-tmp-<pid>` in the destination's
  directory and renames it over `path` (`os.replace`) when the block succeeds, so
  `path` is always either the old file or the complete new one. On an exception,
  `KeyboardInterrupt` included, or on SIGTERM/SIGINT (handled in the main thread;
  the previous handlers are restored afterwards) the temporary file is removed.
  A temporary file of the same `path` left by a killed process (SIGKILL cannot be
  caught) is recognised by its name and removed by the next write to `path` once
  its process is gone (POSIX; elsewhere it is left for the user to remove). The
  new file's mode is `0o666` less the umask, as for any file created by `open`.

Examples
--------
>>> import os, tempfile
>>> from numfmt.io.files import atomic_output
>>> d = tempfile.mkdtemp()
>>> with atomic_output(os.path.join(d, "out.bin")) as f:
...     _ = f.write(b"done")
>>> os.listdir(d)
['out.bin']
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import threading

__all__ = ["TMP_TAG", "atomic_output", "check_destination", "check_source", "temp_files"]

TMP_TAG = ".numfmt-tmp-"  # temporary outputs are named f".{name}{TMP_TAG}{pid}-{thread id}[-k]"
_TMP_SUFFIX = re.compile(r"(\d+)(?:-\d+){0,2}")  # what follows TMP_TAG in such a name
_OWN_TEMPS: set = set()  # the temporary files this process is writing now


def _fspath(path, what: str) -> str:
    try:
        p = os.fspath(path)
    except TypeError:
        raise TypeError(f"{what} must be a str or os.PathLike path, got {type(path).__name__}") from None
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    return p


def check_source(path, what: str = "src") -> str:
    """`path` as a str; OSError when it cannot be examined, ValueError when it is not a regular file."""
    p = _fspath(path, what)
    try:
        st = os.stat(p)
    except OSError as e:
        raise type(e)(e.errno, f"{what} {p!r} cannot be read: {e.strerror}", p) from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{what} {p!r} is a directory, not a safetensors file")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{what} {p!r} is not a regular file (FIFO, socket or device); refusing to read it")
    return p


def check_destination(path, what: str = "dst") -> str:
    """`path` as a str, checked for writing (before anything is read or written).

    ValueError: empty, names a directory, or exists and is not a regular file.
    OSError: its directory is missing or not writable.
    """
    p = _fspath(path, what)
    if p == "":
        raise ValueError(f"{what} must be a file path, got ''")
    if p.endswith(os.sep) or (os.altsep and p.endswith(os.altsep)):
        raise ValueError(f"{what} {p!r} names a directory; give a file path")
    try:
        st = os.stat(p)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise type(e)(e.errno, f"{what} {p!r} cannot be examined: {e.strerror}", p) from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise ValueError(f"{what} {p!r} is a directory; give a file path")
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{what} {p!r} exists and is not a regular file (FIFO, socket or device); "
                             f"refusing to replace it")
    directory = os.path.dirname(os.path.abspath(p))
    if not os.path.isdir(directory):
        raise FileNotFoundError(2, f"the directory of {what} {p!r} does not exist", directory)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(13, f"the directory of {what} {p!r} is not writable", directory)
    return p


def temp_files(path) -> list:
    """The temporary files of `path` present in its directory (by name), sorted."""
    p = os.path.abspath(_fspath(path, "path"))
    directory, prefix = os.path.dirname(p), "." + os.path.basename(p) + TMP_TAG
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(os.path.join(directory, n) for n in names if n.startswith(prefix))


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":
        return True  # (on Windows os.kill would terminate the process: never removed there)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _remove_stale(path: str) -> None:
    """Remove temporary files of `path` whose writing process is gone (killed by SIGKILL)."""
    for t in temp_files(path):
        m = _TMP_SUFFIX.fullmatch(t.rsplit(TMP_TAG, 1)[1])
        if m is None:
            continue  # not a name numfmt writes: leave it alone
        pid = int(m[1])
        stale = t not in _OWN_TEMPS if pid == os.getpid() else not _alive(pid)  # (a reused pid: ours)
        if stale:
            with contextlib.suppress(OSError):
                os.unlink(t)


def _create(path: str, guard):
    """Create the temporary file exclusively (mode 0o666 less the umask); (fd, name).

    `guard.tmp` names the file before it exists, so a signal arriving at any moment removes it."""
    directory, base = os.path.dirname(os.path.abspath(path)), os.path.basename(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for k in range(1000):
        name = os.path.join(directory, f".{base}{TMP_TAG}{os.getpid()}-{threading.get_ident()}"
                            + (f"-{k}" if k else ""))
        guard.tmp = name
        try:
            fd = os.open(name, flags, 0o666)
        except FileExistsError:
            guard.tmp = None
            continue  # a stale file of an earlier thread with the same id
        _OWN_TEMPS.add(name)
        return fd, name
    raise FileExistsError(17, f"cannot create a temporary file beside {path!r}", name)


class _SignalGuard:
    """While active (main thread only), SIGTERM/SIGINT remove the temporary file first."""

    SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), signal.SIGINT) if s is not None)

    def __init__(self):
        self.tmp = None
        self.saved = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for s in self.SIGNALS:
                prev = signal.getsignal(s)
                signal.signal(s, self._handler)
                self.saved[s] = prev
        return self

    def __exit__(self, *exc):
        for s, prev in self.saved.items():
            signal.signal(s, prev if prev is not None else signal.SIG_DFL)
        self.saved.clear()

    def _handler(self, signum, frame):
        prev = self.saved.get(signum, signal.SIG_DFL)
        if prev == signal.SIG_IGN:
            return
        if callable(prev):
            prev(signum, frame)  # e.g. KeyboardInterrupt: the writer's cleanup runs as it propagates
            return
        if self.tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.tmp)
        self.__exit__()  # the default action (terminate): restore it and deliver the signal again
        signal.raise_signal(signum)


@contextlib.contextmanager
def atomic_output(path, what: str = "dst"):
    """Binary file object writing to a temporary file renamed over `path` on success."""
    p = check_destination(path, what)
    _remove_stale(p)
    guard = _SignalGuard()
    tmp = None
    try:
        with guard:  # installed before the file exists: no moment where a signal leaves it behind
            fd, tmp = _create(p, guard)
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, p)
            guard.tmp = None
    except BaseException:
        if guard.tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(guard.tmp)
        raise
    finally:
        _OWN_TEMPS.discard(tmp)
