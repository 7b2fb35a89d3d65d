"""Shared pieces of the `numfmt` command: the usage error, the parser class, argument parsing, output."""

from __future__ import annotations

import argparse
import json
import math
import re

import numpy as np

from .. import block
from ..choices import check_choice
from ..presets import get_format
from ..tables import render

_NUM_RE = re.compile(
    r"^-(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|inf|infinity|nan|0[xX][0-9a-fA-F.]+(p[-+]?\d+)?)$",
    re.IGNORECASE,
)


class UsageError(Exception):
    """A user error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        # let "-1e6", "-inf", "-0x1p3" be values, not options
        self._negative_number_matcher = _NUM_RE

    def error(self, message):  # one line, no usage dump
        raise UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


def parse_value(s: str, dtype) -> np.generic:
    t = s.strip()
    try:
        if re.match(r"^[-+]?0[xX]", t) and ("p" in t.lower() or "." in t):
            v = float.fromhex(t)
        elif re.match(r"^[-+]?(0[xX][0-9a-fA-F]+|\d+)$", t) and np.dtype(dtype).kind in "iu":
            v = int(t, 0)
        else:
            v = float(t)
    except ValueError:
        raise UsageError(f"cannot parse {s!r} as a number") from None
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        if isinstance(v, float):
            raise UsageError(f"{s!r} is not an integer (--dtype {dt.name})")
        info = np.iinfo(dt)
        if not info.min <= v <= info.max:
            raise UsageError(f"{s!r} does not fit {dt.name}")
        return dt.type(v)
    with np.errstate(over="ignore"):
        return dt.type(v)


def parse_code(s: str) -> int:
    t = s.strip()
    try:
        return int(t, 0)
    except ValueError:
        pass
    try:
        if re.fullmatch(r"[0-9a-fA-F]+", t):
            return int(t, 16)
    except ValueError:
        pass
    raise UsageError(f"cannot parse {s!r} as a code (use 0x7e, 126 or 0b01111110)")


def choice(name: str, choices):
    """An argparse `type=`: one of `choices`, with the library's did-you-mean message on a typo."""
    def parse(value: str) -> str:
        try:
            return check_choice(name, value, choices)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = name
    return parse


def dtype_arg(name: str) -> np.dtype:
    try:
        return np.dtype(name)
    except TypeError:
        pass
    try:
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, name))
    except (ImportError, AttributeError, TypeError):
        raise UsageError(f"unknown dtype {name!r}") from None


def format_arg(name: str):
    if block.is_block_format(name):
        raise UsageError(f"{name!r} is a block format; this command takes an element format "
                         f"(e.g. {block.get_block_format(name).element.name})")
    return get_format(name)


def policy_args(args) -> dict:
    p = {"rounding": args.rounding, "saturation": args.saturation or "none", "nan": args.nan or "raise"}
    if args.compat:
        p["compat"] = args.compat
    if args.rbits is not None:
        p["rbits"] = args.rbits
    if args.seed is not None:
        p["random"] = args.seed
    for k in ("via", "daz", "ftz"):
        v = getattr(args, k, None)
        if v is not None and v is not False:
            p[k] = v
    return p


def jv(v):
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    return v


def emit(rows, columns, args, headers=None):
    if getattr(args, "json", False):
        print(json.dumps(rows, indent=1, default=str))
    else:
        print(render(rows, columns, headers=headers))
