"""`numfmt explain`: why a value rounds where it does."""

from __future__ import annotations

import json

from ..explain import explain
from ._common import dtype_arg, format_arg, parse_value, policy_args


def _cmd_explain(args) -> int:
    f = format_arg(args.format)
    dt = dtype_arg(args.dtype)
    x = parse_value(args.value, dt)
    p = policy_args(args)
    e = explain(x, f, index=args.index, **p)
    if args.json:
        print(json.dumps(e.to_dict(), indent=1))
    else:
        print(e)
    return 0
