"""`numfmt explain`: why a value rounds where it does."""

from __future__ import annotations

import json

from ..explain import explain
from ._common import dtype_arg, format_arg, parse_value, policy_args


def _cmd_explain(args) -> int:
    f = format_arg(args.format)
    dt = dtype_arg(args.dtype)
    xs = [parse_value(v, dt) for v in args.value]
    p = policy_args(args)
    es = [explain(x, f, index=args.index + i if "random" in p else args.index, **p) for i, x in enumerate(xs)]
    if args.json:
        d = [e.to_dict() for e in es]
        print(json.dumps(d[0] if len(d) == 1 else d, indent=1))
    else:
        print("\n\n".join(str(e) for e in es))
    return 0
