"""The ``numfmt`` command (also ``python -m numfmt``).

Subcommands::

    numfmt formats                      every preset: bits, bias, range, inf/NaN conventions
    numfmt info FMT                     one format's properties
    numfmt table FMT                    every code: hex, fields, value, class
    numfmt encode FMT VALUE...          values -> codes (policy flags)
    numfmt decode FMT CODE...           codes -> values
    numfmt explain FMT VALUE            why a value rounds where it does (policy flags)
    numfmt check --format FMT --input X --output Y
                                        emulate X, compare with the codes in Y, report
    numfmt bench                        the benchmark (numfmt.bench)

Tables are aligned text; ``--json`` prints data instead. Exit status: 0 on
success (``check``: every code matched), 1 when ``check`` found mismatches, 2
on bad usage or bad input, with one line on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys

import numpy as np

__all__ = ["main"]

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


# ---------------------------------------------------------------------- parsing helpers

def _parse_value(s: str, dtype) -> np.generic:
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


def _parse_code(s: str) -> int:
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


def _dtype_arg(name: str) -> np.dtype:
    try:
        return np.dtype(name)
    except TypeError:
        pass
    try:
        import ml_dtypes

        return np.dtype(getattr(ml_dtypes, name))
    except (ImportError, AttributeError, TypeError):
        raise UsageError(f"unknown dtype {name!r}") from None


def _fmt(name: str):
    from . import block
    from .presets import get_format

    if block.is_block_format(name):
        raise UsageError(f"{name!r} is a block format; this command takes an element format "
                         f"(e.g. {block.get_block_format(name).element.name})")
    return get_format(name)


def _policy(args) -> dict:
    p = {"rounding": args.rounding, "saturation": args.saturation, "nan": args.nan}
    if args.compat:
        p["compat"] = args.compat
    if args.rbits is not None:
        p["rbits"] = args.rbits
    if args.seed is not None:
        p["random"] = args.seed
    return p


def _jv(v):
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    return v


def _emit(rows, columns, args, headers=None):
    from .tables import render

    if getattr(args, "json", False):
        print(json.dumps(rows, indent=1, default=str))
    else:
        print(render(rows, columns, headers=headers))


# ---------------------------------------------------------------------- commands

def _cmd_formats(args) -> int:
    from .presets import list_formats
    from .tables import format_rows

    names = list_formats()
    rows = format_rows(names)
    if args.kind:
        from .presets import get_format

        rows = [r for r, n in zip(rows, names) if get_format(n).kind == args.kind]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    cols = ["name", "bits", "layout", "bias", "max", "smallest_normal", "smallest_subnormal", "inf", "nan",
            "other"]
    heads = {"smallest_normal": "min normal", "smallest_subnormal": "min subnormal"}
    _emit(rows, cols, args, heads)
    try:
        from . import block
    except ImportError:  # pragma: no cover
        return 0
    lister = getattr(block, "list_block_formats", None)
    if lister is not None and not args.kind:
        brows = []
        for n in lister():
            bf = block.get_block_format(n)
            brows.append({"block format": n, "element": bf.element.name, "scale": bf.scale.name,
                          "block size": bf.block_size, "scale rule": bf.scale_rule,
                          "tensor scale": bool(bf.tensor_scale)})
        if brows:
            print()
            _emit(brows, list(brows[0]), args)
    return 0


def _cmd_info(args) -> int:
    from .tables import info_rows

    f = _fmt(args.format)
    rows = info_rows(f)
    if args.json:
        print(json.dumps({r["property"]: r["value"] for r in rows}, indent=1))
        return 0
    _emit(rows, ["property", "value"], args)
    return 0


def _cmd_table(args) -> int:
    from .tables import code_rows

    f = _fmt(args.format)
    rows = code_rows(f)
    _emit(rows, ["code", "fields", "value", "class"], args)
    return 0


def _value_str(f, code: int) -> str:
    from .tables import code_class, value_str

    v = f.exact_value(code)
    if code_class(code, f) == "zero" and getattr(f, "_sign_bit", 0) and code & f._sign_bit:
        return "-0.0"
    return value_str(v) if not isinstance(v, float) else repr(v)


def _cmd_encode(args) -> int:
    from .codec import encode
    from .tables import fields, hex_code

    f = _fmt(args.format)
    dt = _dtype_arg(args.dtype)
    xs = np.array([_parse_value(s, dt) for s in args.values], dt)
    codes = np.asarray(encode(xs, f, **_policy(args))).reshape(-1)
    rows = []
    for s, x, c in zip(args.values, xs, codes):
        c = int(c)
        rows.append({"input": s, "x": _jv(float(x)) if dt.kind == "f" else int(x), "code": hex_code(c, f),
                     "fields": fields(c, f), "value": _value_str(f, c)})
    if args.json:
        for r, c in zip(rows, codes):
            r["code_int"] = int(c)
        print(json.dumps(rows, indent=1))
        return 0
    _emit(rows, ["input", "code", "fields", "value"], args)
    return 0


def _cmd_decode(args) -> int:
    from .tables import code_class, fields, hex_code

    f = _fmt(args.format)
    codes = [_parse_code(s) for s in args.codes]
    top = (1 << f.bits) - 1
    for s, c in zip(args.codes, codes):
        if not 0 <= c <= top:
            raise UsageError(f"code {s} is outside 0..{top:#x} of {f.name}")
    rows = [{"code": hex_code(c, f), "fields": fields(c, f), "value": _value_str(f, c),
             "class": code_class(c, f)} for c in codes]
    if args.json:
        for r, c in zip(rows, codes):
            r["code_int"] = c
        print(json.dumps(rows, indent=1))
        return 0
    _emit(rows, ["code", "fields", "value", "class"], args)
    return 0


def _cmd_explain(args) -> int:
    from .explain import explain

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


# ---------------------------------------------------------------------- check

def _load_array(path: str, *, role: str, dtype=None, key=None):
    """A flat (memory-mapped where possible) array from .npy, .npz or a raw file."""
    if not os.path.exists(path):
        raise UsageError(f"{role} file {path!r} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"{role} path {path!r} is a directory")
    low = path.lower()
    if low.endswith(".npy"):
        if dtype is not None:
            raise UsageError(f"--{role}-dtype is for raw files; {path!r} is .npy and has its own dtype")
        try:
            a = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as e:
            raise UsageError(f"cannot read {role} {path!r} as .npy: {e}") from None
        return a.reshape(-1) if a.flags.c_contiguous else np.asarray(a).reshape(-1)
    if low.endswith(".npz"):
        try:
            z = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise UsageError(f"cannot read {role} {path!r} as .npz: {e}") from None
        keys = list(z.files)
        if key is None:
            if len(keys) != 1:
                raise UsageError(f"{path!r} holds arrays {keys}; choose one with --{role}-key")
            key = keys[0]
        if key not in keys:
            raise UsageError(f"{path!r} has no array {key!r} (it has {keys})")
        return np.asarray(z[key]).reshape(-1)
    if dtype is None:
        raise UsageError(f"raw {role} file {path!r} needs --{role}-dtype (or use .npy/.npz)")
    size = os.path.getsize(path)
    if size % dtype.itemsize:
        raise UsageError(f"{role} file {path!r} has {size} bytes, not a multiple of the {dtype.name} "
                         f"element size {dtype.itemsize}")
    if size == 0:
        return np.empty(0, dtype)
    return np.memmap(path, dtype=dtype, mode="r")


def _packed_bytes(n: int, bits: int, order: str) -> int:
    from .packing import packed_size

    return 2 * (-(-n // 2)) if order == "ptx" else packed_size(n, bits)


def _byte_offset(i: int, bits: int, order: str) -> int:
    """First byte of code ``i`` (``i`` a multiple of 8, so it starts a byte and a 6-bit group)."""
    return i if order == "ptx" else i * bits // 8


def _encode_chunk(xs, f, policy, offset):
    """encode() of one chunk; stochastic seeds use the global element index."""
    from .codec import encode
    from .policy import is_stochastic, parse_rounding

    _, mode = parse_rounding(policy["rounding"])
    if offset and is_stochastic(mode) and isinstance(policy.get("random"), int):
        try:
            from .codec import _as_input, _nan_check, _plan, _run_encode
            from .policy import random_spec
        except ImportError:  # pragma: no cover
            raise UsageError("chunked stochastic check needs a whole-array run; raise --chunk-size") from None
        plan = _plan(f, policy["rounding"], policy["saturation"], policy["nan"], policy.get("compat"))
        xa = _as_input(xs)
        rkind, rarr, key, nbits = random_spec(policy["random"], policy.get("rbits"), plan.mode, xa.shape)
        if plan.nan_raise:
            _nan_check(xa, plan.fmt)
        if plan.pre is not None:
            xa = plan.pre(xa)
        return _run_encode(xa, plan, rkind, rarr, key, nbits, None, False, offset=offset)
    return encode(xs, f, **policy)


def _progress(done: int, total: int, enabled: bool) -> None:
    if not enabled:
        return
    frac = done / total if total else 1.0
    bar = "#" * int(frac * 30)
    sys.stderr.write(f"\r  checking [{bar:<30}] {frac * 100:5.1f}%  {done}/{total}")
    sys.stderr.flush()
    if done >= total:
        sys.stderr.write("\r" + " " * 72 + "\r")
        sys.stderr.flush()


def _cmd_check(args) -> int:
    from .compare import _Acc

    f = _fmt(args.format)
    p = _policy(args)
    in_dt = _dtype_arg(args.input_dtype) if args.input_dtype else None
    x = _load_array(args.input, role="input", dtype=in_dt, key=args.input_key)
    if x.dtype.kind not in "fiuV":
        raise UsageError(f"input {args.input!r} has dtype {x.dtype}; expected floats or integers")
    n = x.size
    order = {"low": "low_first", "high": "high_first"}.get(args.order, args.order)
    if args.packed:
        if args.output.lower().endswith((".npy", ".npz")):
            y = _load_array(args.output, role="output", key=args.output_key)
            if y.dtype != np.uint8:
                raise UsageError(f"packed output must be bytes (uint8), got {y.dtype}")
        else:
            y = _load_array(args.output, role="output", dtype=np.dtype(np.uint8))
        if f.bits not in (1, 2, 4, 6):
            raise UsageError(f"--packed takes 1-, 2-, 4- or 6-bit codes; {f.name} has {f.bits} bits")
        if order == "ptx" and f.bits != 6:
            raise UsageError(f"--order ptx is the 6-bit e2m3x2/e3m2x2 layout; {f.name} has {f.bits} bits")
        need = _packed_bytes(n, f.bits, order)
        if y.size != need:
            raise UsageError(f"mismatched lengths: input has {n} elements, which pack into {need} bytes of "
                             f"{f.bits}-bit codes, but output has {y.size} bytes")
    else:
        out_dt = _dtype_arg(args.output_dtype) if args.output_dtype else None
        if out_dt is None and not args.output.lower().endswith((".npy", ".npz")):
            out_dt = np.dtype(f.code_dtype).newbyteorder("<")
        y = _load_array(args.output, role="output", dtype=out_dt, key=args.output_key)
        if y.dtype.kind not in "iu":
            raise UsageError(f"output {args.output!r} must hold integer codes, got dtype {y.dtype}")
        if y.size != n:
            raise UsageError(f"mismatched lengths: input has {n} elements, output has {y.size} codes")
    chunk = args.chunk_size
    if chunk < 1:
        raise UsageError(f"--chunk-size must be >= 1, got {chunk}")
    chunk = -(-chunk // 8) * 8  # packed chunks start on byte boundaries
    top = (1 << f.bits) - 1
    acc = _Acc(f, max_examples=args.max_examples)
    show = sys.stderr.isatty() and not args.no_progress and n > chunk
    first_x = None
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        xs = np.asarray(x[s:e])
        exp = np.asarray(_encode_chunk(xs, f, p, s)).reshape(-1).astype(np.int64)
        if args.packed:
            from .packing import unpack

            b0 = _byte_offset(s, f.bits, order)
            b1 = y.size if e == n else _byte_offset(e, f.bits, order)
            act = np.asarray(unpack(np.asarray(y[b0:b1]), f.bits, e - s, order=order)).astype(np.int64)
        else:
            act = np.asarray(y[s:e]).astype(np.int64)
        if act.size and (int(act.min()) < 0 or int(act.max()) > top):
            bad = int(act.min()) if int(act.min()) < 0 else int(act.max())
            where = s + int(np.flatnonzero((act < 0) | (act > top))[0])
            raise UsageError(f"output code {bad:#x} at index {where} is outside 0..{top:#x} of {f.name}")
        before = len(acc.examples)
        acc.add(exp, act, xs if xs.dtype.kind in "fiu" else None, offset=s)
        if first_x is None and len(acc.examples) > before:
            first_x = (acc.examples[before].index[0], xs[acc.examples[before].index[0] - s])
        _progress(e, n, show)
    res = acc.result()
    head = {
        "input": args.input, "input_dtype": str(x.dtype), "elements": n, "output": args.output,
        "packed": bool(args.packed), "order": order if args.packed else None, "format": f.name, "policy": p,
    }
    if args.json:
        print(json.dumps({**head, **res.to_dict()}, indent=1))
    else:
        pol = ", ".join(f"{k}={v}" for k, v in p.items())
        print(f"check {args.input} ({x.dtype}, {n} elements) against {args.output} as {f.name} ({pol})")
        print(res)
        if first_x is not None and not args.no_explain:
            from .explain import explain

            idx, xv = first_x
            try:
                ex = explain(xv[()] if hasattr(xv, "shape") else xv, f, index=int(idx), **p)
                print(f"\nwhy the expected code at index {idx}:")
                print(ex)
            except (ValueError, TypeError):
                pass
    return 0 if res.ok else 1


# ---------------------------------------------------------------------- parser

def _policy_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("conversion policy (as numfmt.encode)")
    g.add_argument("--rounding", default="nearest_even",
                   help="nearest_even (default), nearest_away, toward_zero, toward_positive, toward_negative, "
                        "to_odd, stochastic, stochastic_b, stochastic_c (aliases rne, rna, rtz, rtp, rtn, rto, sr)")
    g.add_argument("--saturation", default="none", help="none (default), finite or propagate")
    g.add_argument("--nan", default="raise", help="NaN input into a format without NaN: raise (default), zero, max")
    g.add_argument("--compat", default=None, help="reproduce a library: ml_dtypes, torch or ptx")
    g.add_argument("--rbits", type=int, default=None, help="number of random bits for stochastic rounding")
    g.add_argument("--seed", type=int, default=None, help="seed of the random bits (stochastic rounding)")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``numfmt`` command."""
    from . import __version__

    ap = _Parser(prog="numfmt", description="Bit-exact low-precision number formats: inspect formats, "
                 "encode/decode values, explain roundings and check hardware output.")
    ap.add_argument("--version", action="version", version=f"numfmt {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("formats", help="list every preset format", description="List every preset format with "
                       "its width, bias, range and inf/NaN conventions (and the block formats).")
    p.add_argument("--kind", choices=["float", "int"], help="only float or only integer formats")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_formats)

    p = sub.add_parser("info", help="properties of one format", description="Properties of one format.")
    p.add_argument("format", metavar="FMT", help="format name (e.g. e4m3, float8_e5m2, binary8p3se, int4)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("table", help="every code of a format", description="Every code of a format (at most "
                       "16 bits): hex, sign|exponent|mantissa fields, value, class.")
    p.add_argument("format", metavar="FMT")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_table)

    p = sub.add_parser("encode", help="values -> codes", description="Encode values into codes. Values are "
                       "decimal, hex floats (0x1.8p3), inf or nan, parsed into --dtype first.")
    p.add_argument("format", metavar="FMT")
    p.add_argument("values", metavar="VALUE", nargs="+")
    p.add_argument("--dtype", default="float64", help="input dtype the values are parsed into (default float64)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _policy_flags(p)
    p.set_defaults(func=_cmd_encode)

    p = sub.add_parser("decode", help="codes -> values", description="Decode codes (0x7e, 126, 0b01111110).")
    p.add_argument("format", metavar="FMT")
    p.add_argument("codes", metavar="CODE", nargs="+")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_decode)

    p = sub.add_parser("explain", help="why a value rounds where it does", description="Explain the encoding "
                       "of one value: neighbours, position in ulps, guard/round/sticky, tie, rule, overflow.")
    p.add_argument("format", metavar="FMT")
    p.add_argument("value", metavar="VALUE")
    p.add_argument("--dtype", default="float64", help="input dtype the value is parsed into (default float64)")
    p.add_argument("--index", type=int, default=0, help="element index whose random bits a --seed selects")
    p.add_argument("--json", action="store_true", help="print JSON")
    _policy_flags(p)
    p.set_defaults(func=_cmd_explain)

    p = sub.add_parser("check", help="compare hardware output with the emulation",
                       description="Encode the inputs X with numfmt, compare with the codes Y, print a report. "
                       "Exit 0 when every code matches, 1 on mismatches, 2 on bad usage. Large files are "
                       "memory-mapped and processed in chunks.")
    p.add_argument("--format", required=True, metavar="FMT", help="element format of the codes")
    p.add_argument("--input", required=True, metavar="X", help="inputs: .npy, .npz or raw (needs --input-dtype)")
    p.add_argument("--output", required=True, metavar="Y", help="codes: .npy, .npz or raw bytes")
    p.add_argument("--input-dtype", default=None, help="dtype of a raw input file (float32, <f2, bfloat16 ...)")
    p.add_argument("--input-key", default=None, help="array name inside an .npz input")
    p.add_argument("--output-dtype", default=None,
                   help="dtype of a raw, unpacked output file (default: the format's code dtype, little-endian)")
    p.add_argument("--output-key", default=None, help="array name inside an .npz output")
    p.add_argument("--packed", action="store_true", help="output holds sub-byte codes packed into bytes")
    p.add_argument("--order", default="low_first", choices=["low_first", "high_first", "ptx", "low", "high"],
                   help="packed layout (numfmt.pack): low_first (default: first code in the low bits), "
                        "high_first, or ptx (6-bit e2m3x2/e3m2x2 registers)")
    p.add_argument("--max-examples", type=int, default=10, help="mismatches to list (default 10)")
    p.add_argument("--chunk-size", type=int, default=1 << 22, help="elements per chunk (default 4194304)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it only shows on a terminal)")
    p.add_argument("--no-explain", action="store_true", help="do not explain the first mismatch")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _policy_flags(p)
    p.set_defaults(func=_cmd_check)

    sub.add_parser("bench", help="run the benchmark (numfmt bench --help)", add_help=False)
    return ap


def _one_line(msg: str) -> str:
    return " ".join(str(msg).split())


def main(argv: list[str] | None = None) -> int:
    """Run the ``numfmt`` command; returns the exit status.

    Examples
    --------
    >>> from numfmt.cli import main
    >>> main(["encode", "e4m3", "1.0625", "464", "500", "--saturation", "finite"])
    input   code  fields      value
    1.0625  0x38  0|0111|000  1.0
    464     0x7e  0|1111|110  448.0
    500     0x7e  0|1111|110  448.0
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "bench":
            try:
                from . import bench
            except ImportError:
                raise UsageError("the benchmark (numfmt.bench) is not available in this installation") from None
            return int(bench.main(argv[1:]) or 0)
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UsageError as e:
        msg = str(e)
        print(_one_line(msg if msg.startswith("numfmt") else f"numfmt: error: {msg}"), file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - e.g. `numfmt table binary16 | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except (ValueError, TypeError, OSError, OverflowError, KeyError) as e:
        msg = str(e)
        for kw, flag in (("random=", "--seed N"), ("nan='zero'", "--nan zero"), ("rbits", "--rbits N")):
            if kw in msg:
                msg += f" [command line: {flag}]"
                break
        print(_one_line(f"numfmt: error: {msg}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("numfmt: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # pragma: no cover - a bug: still one line unless asked for the traceback
        if os.environ.get("NUMFMT_DEBUG"):
            raise
        print(_one_line(f"numfmt: internal error: {type(e).__name__}: {e} (set NUMFMT_DEBUG=1 for a traceback)"),
              file=sys.stderr)
        return 2
