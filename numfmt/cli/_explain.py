"""`numfmt explain`: why a value rounds where it does."""

from __future__ import annotations

import json

from ._common import _dtype_arg, _fmt, _parse_value, _policy


def _cmd_explain(args) -> int:
    from ..explain import explain

    f = _fmt(args.format)
    dt = _dtype_arg(args.dtype)
    x = _parse_value(args.value, dt)
    p = _policy(args)
    e = explain(x, f, index=args.index, **p)
    if args.json:
        print(json.dumps(e.to_dict(), indent=1))
    else:
        print(e)
    return 0
