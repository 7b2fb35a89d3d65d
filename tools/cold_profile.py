"""Where a first call's compile time goes: every function numba compiles, with its CPU seconds.

Runs one call of `numfmt.warmup.CALLS` in this process with an empty numba cache (a new temporary
`NUMBA_CACHE_DIR` unless one is set) and records numba's compile events (`numba.core.event`):
one line per compiled function and signature, indented under the function whose compilation
compiled it, with the CPU seconds of its compilation (its callees' included). Repeated names
(a function compiled for several signatures) are listed at the end.

    python tools/cold_profile.py "add float8_e4m3fn" [max lines]

Run it from the repository root (the checkout's numfmt is imported).
"""

from __future__ import annotations

import collections
import os
import sys
import tempfile
import time

sys.path.insert(0, os.getcwd())
os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="numfmt-cold-"))

from numba.core import event  # (after NUMBA_CACHE_DIR is set)

from numfmt.warmup import CALLS


class _Compiles(event.Listener):
    def __init__(self):
        self.stack = []
        self.rows = []

    def on_start(self, ev):
        self.stack.append(time.process_time())

    def on_end(self, ev):
        t0 = self.stack.pop()
        disp = ev.data["dispatcher"]
        name = f"{disp.py_func.__module__.rsplit('.', 1)[-1]}.{disp.py_func.__qualname__}"
        self.rows.append((len(self.stack), time.process_time() - t0, name, str(ev.data["args"])))


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in CALLS:
        print(__doc__.strip().splitlines()[0], "\ncalls:", ", ".join(CALLS), file=sys.stderr)
        return 2
    limit = int(argv[1]) if len(argv) > 1 else 40
    rec = _Compiles()
    t0, c0 = time.perf_counter(), time.process_time()
    with event.install_listener("numba:compile", rec):
        CALLS[argv[0]]()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{argv[0]}: wall {wall:.2f} s, CPU {cpu:.2f} s, {len(rec.rows)} compilations "
          f"(CPU seconds per compilation, callees included)")
    for depth, dt, name, sig in sorted(rec.rows, key=lambda r: -r[1])[:limit]:
        print(f"{'  ' * depth}{dt:6.2f} {name} {sig[:140]}")
    many = {k: v for k, v in collections.Counter(r[2] for r in rec.rows).items() if v > 1}
    print("compiled for several signatures:", many or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
