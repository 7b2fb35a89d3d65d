"""`numfmt encode` and `numfmt decode`: values to codes and back."""

from __future__ import annotations

import json

import numpy as np

from ..codec import encode
from ..interop import check_codes
from ..tables import code_class, fields, hex_code, value_str
from ._common import UsageError, dtype_arg, emit, format_arg, jv, parse_code, parse_value, policy_args


def _value_str(f, code: int) -> str:
    v = f.exact_value(code)
    if code_class(code, f) == "zero" and getattr(f, "sign_bit", 0) and code & f.sign_bit:
        return "-0.0"
    return value_str(v) if not isinstance(v, float) else repr(v)


def _cmd_encode(args) -> int:
    f = format_arg(args.format)
    dt = dtype_arg(args.dtype)
    xs = np.array([parse_value(s, dt) for s in args.values], dt)
    codes = np.asarray(encode(xs, f, **policy_args(args))).reshape(-1)
    rows = []
    for s, x, c in zip(args.values, xs, codes):
        c = int(c)
        rows.append({"input": s, "x": jv(float(x)) if dt.kind == "f" else int(x), "code": hex_code(c, f),
                     "fields": fields(c, f), "value": _value_str(f, c)})
    if args.json:
        for r, c in zip(rows, codes):
            r["code_int"] = int(c)
        print(json.dumps(rows, indent=1))
        return 0
    emit(rows, ["input", "code", "fields", "value"], args)
    return 0


def _cmd_decode(args) -> int:
    f = format_arg(args.format)
    codes = [parse_code(s) for s in args.codes]
    top = (1 << f.bits) - 1
    for s, c in zip(args.codes, codes):
        if not 0 <= c <= top:
            raise UsageError(f"code {s} is outside 0..{top:#x} of {f.name}")
    check_codes(np.array(codes, np.uint64), f)  # the API's checks (the symmetric formats' unused code)
    rows = [{"code": hex_code(c, f), "fields": fields(c, f), "value": _value_str(f, c),
             "class": code_class(c, f)} for c in codes]
    if args.json:
        for r, c in zip(rows, codes):
            r["code_int"] = c
        print(json.dumps(rows, indent=1))
        return 0
    emit(rows, ["code", "fields", "value", "class"], args)
    return 0
