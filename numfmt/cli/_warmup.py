"""`numfmt warmup`: compile and cache the kernels of the verbs ahead of time."""

from __future__ import annotations

import sys
import time

from ..warmup import DEFAULT_VERBS, VERBS, cache_dir, warmup
from ._common import UsageError


def add_warmup(sub) -> None:
    p = sub.add_parser(
        "warmup", help="compile and cache the kernels of the verbs (CI images, notebook servers)",
        description="Make small calls of each verb for the common formats and rounding modes, so numba "
                    "compiles their kernels into its on-disk cache; a fresh process then loads them instead of "
                    "compiling. The cache is numba's: NUMBA_CACHE_DIR (set before Python starts) puts it "
                    f"anywhere. Verbs: {', '.join(VERBS)} (default: {' '.join(DEFAULT_VERBS)}).")
    p.add_argument("verbs", nargs="*", metavar="VERB", help="verbs to warm up (default: the conversions)")
    p.add_argument("--all", action="store_true", help="every verb")
    p.add_argument("--where", action="store_true", help="print the cache directory and exit")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=_cmd_warmup)


def _cmd_warmup(args) -> int:
    if args.where:
        print(cache_dir())
        return 0
    if args.all and args.verbs:
        raise UsageError("numfmt warmup: give --all or verbs, not both")
    verbs = list(VERBS) if args.all else (args.verbs or list(DEFAULT_VERBS))
    t0 = time.perf_counter()

    def progress(name):
        if not args.quiet:
            print(f"  {name}", file=sys.stderr, flush=True)

    n = warmup(verbs, progress=progress)
    if not args.quiet:
        print(f"numfmt warmup: {n} calls of {' '.join(verbs)} in {time.perf_counter() - t0:.1f} s; "
              f"cache: {cache_dir()}")
    return 0
