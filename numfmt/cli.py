"""The ``numfmt`` command (also ``python -m numfmt``).

Subcommands::

    numfmt formats                      every preset: bits, bias, range, inf/NaN conventions
    numfmt info FMT                     one format's properties
    numfmt table FMT                    every code: hex, fields, value, class
    numfmt encode FMT VALUE...          values -> codes (policy flags)
    numfmt decode FMT CODE...           codes -> values
    numfmt explain FMT VALUE            why a value rounds where it does (policy flags)
    numfmt check --format FMT --input X --output Y [--scales S]
                                        emulate X, compare with the codes in Y, report
                                        (block formats: scale and element codes)
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
    p = {"rounding": args.rounding, "saturation": args.saturation or "none", "nan": args.nan or "raise"}
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

def _load_array(path: str, *, role: str, dtype=None, key=None, flat=True, npz_default=None):
    """A flat (memory-mapped where possible) array from .npy, .npz or a raw file.

    ``flat=False`` keeps the shape of .npy/.npz arrays; ``npz_default`` is the
    array an .npz holding several is read from when ``key`` is None."""
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
        if not flat:
            return a
        return a.reshape(-1) if a.flags.c_contiguous else np.asarray(a).reshape(-1)
    if low.endswith(".npz"):
        try:
            z = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise UsageError(f"cannot read {role} {path!r} as .npz: {e}") from None
        keys = list(z.files)
        if key is None and npz_default in keys and len(keys) != 1:
            key = npz_default
        if key is None:
            if len(keys) != 1:
                raise UsageError(f"{path!r} holds arrays {keys}; choose one with --{role}-key")
            key = keys[0]
        if key not in keys:
            raise UsageError(f"{path!r} has no array {key!r} (it has {keys})")
        return np.asarray(z[key]) if not flat else np.asarray(z[key]).reshape(-1)
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
    from . import block
    from .compare import _Acc

    if block.is_block_format(args.format):
        return _cmd_check_block(args, block.get_block_format(args.format))
    given = [flag for flag, dest in _BLOCK_ONLY if getattr(args, dest) is not None]
    if given:
        raise UsageError(f"{given[0]} is an option of block formats (mxfp4, nvfp4 ...); "
                         f"{args.format!r} is an element format")
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


# ---------------------------------------------------------------------- check, block formats

# options of block formats only: (flag, argparse dest)
_BLOCK_ONLY = (("--scales", "scales"), ("--scales-key", "scales_key"), ("--scales-dtype", "scales_dtype"),
               ("--axis", "axis"), ("--shape", "shape"), ("--scale-rule", "scale_rule"), ("--recipe", "recipe"),
               ("--tensor-scale", "tensor_scale"), ("--tensor-amax", "tensor_amax"), ("--nonfinite", "nonfinite"),
               ("--scale-rounding", "scale_rounding"), ("--output-tensor-scale", "output_tensor_scale"))


def _parse_shape(s: str) -> tuple:
    parts = [t for t in re.split(r"[,x ]+", s.strip()) if t]
    try:
        shape = tuple(int(t) for t in parts)
    except ValueError:
        shape = ()
    if not shape or any(d < 0 for d in shape):
        raise UsageError(f"--shape {s!r} is not a shape (use e.g. 128,64)")
    return shape


def _float_arg(s: str, flag: str) -> float:
    try:
        return float.fromhex(s) if re.match(r"^[-+]?0[xX]", s.strip()) else float(s)
    except ValueError:
        raise UsageError(f"{flag} {s!r} is not a number") from None


def _block_encode_kw(args, bf) -> dict:
    """``numfmt.encode(x, block_fmt, **kw)`` keywords from the command line."""
    if args.saturation is not None:
        raise UsageError("--saturation does not apply to block formats: their elements saturate to the finite range")
    if args.nan is not None:
        raise UsageError("--nan does not apply to block formats (blocks with inf/NaN: see --nonfinite)")
    if args.compat is not None:
        raise UsageError("--compat does not apply to block formats (choose the implementation with --recipe)")
    kw: dict = {"rounding": args.rounding}
    if args.seed is not None:
        kw["random"] = args.seed
    if args.rbits is not None:
        kw["rbits"] = args.rbits
    if args.scale_rule is not None:
        kw["scale_rule"] = args.scale_rule
    if args.recipe is not None:
        kw["recipe"] = args.recipe
    if args.nonfinite is not None:
        kw["nonfinite"] = args.nonfinite
    if args.scale_rounding is not None:
        kw["scale_rounding"] = args.scale_rounding
    if args.tensor_scale is not None:
        t = args.tensor_scale.strip().lower()
        if t in ("off", "none", "false", "one-level"):
            kw["tensor_scale"] = False
        else:
            v = _float_arg(args.tensor_scale, "--tensor-scale")
            if not (math.isfinite(v) and v > 0):
                raise UsageError(f"--tensor-scale must be a positive finite float32 (or off), got {args.tensor_scale}")
            kw["tensor_scale"] = v
    if args.tensor_amax is not None:
        kw["tensor_amax"] = _float_arg(args.tensor_amax, "--tensor-amax")
    return kw


def _take_shape(a: np.ndarray, shape: tuple, what: str, role: str) -> np.ndarray:
    """``a`` as ``shape``: it must have that shape or be 1-D with that many entries."""
    n = math.prod(shape)
    if a.shape == shape:
        return a
    if a.ndim == 1 and a.size == n:
        return a.reshape(shape)
    if a.size != n:
        raise UsageError(f"mismatched lengths: {what} but {role} has {a.size}")
    raise UsageError(f"{role} has shape {a.shape}; expected {shape} (or a flat array of {n})")


def _check_range(a: np.ndarray, sub, role: str) -> None:
    top = (1 << sub.bits) - 1
    if a.size and (int(a.min()) < 0 or int(a.max()) > top):
        flat = a.reshape(-1)
        where = int(np.flatnonzero((flat < 0) | (flat > top))[0])
        raise UsageError(f"{role} code {int(flat[where]):#x} at index {where} is outside 0..{top:#x} of {sub.name}")


def _cmd_check_block(args, bf) -> int:
    from .block import BlockArray
    from .block import encode as block_encode
    from .compare import compare_block

    kw = _block_encode_kw(args, bf)
    ef, sf = bf.element, bf.scale
    in_dt = _dtype_arg(args.input_dtype) if args.input_dtype else None
    x = _load_array(args.input, role="input", dtype=in_dt, key=args.input_key, flat=False)
    if x.dtype.kind not in "fiuV":
        raise UsageError(f"input {args.input!r} has dtype {x.dtype}; expected floats or integers")
    if args.shape is not None:
        shape = _parse_shape(args.shape)
        if math.prod(shape) != x.size:
            raise UsageError(f"--shape {args.shape} holds {math.prod(shape)} elements; the input has {x.size}")
        x = x.reshape(shape)
    if x.ndim == 0:
        x = x.reshape(1)
    shape = x.shape
    n = x.size
    axis = -1 if args.axis is None else args.axis
    if not -x.ndim <= axis < x.ndim:
        raise UsageError(f"--axis {axis} is out of range for input of shape {shape}")
    ax = axis % x.ndim
    sshape = shape[:ax] + (-(-shape[ax] // bf.block_size),) + shape[ax + 1:]
    nblocks = math.prod(sshape)
    order = {"low": "low_first", "high": "high_first"}.get(args.order, args.order)
    out_npz = args.output.lower().endswith(".npz")
    if args.scales is None and not out_npz:
        raise UsageError(f"{bf.name} is a block format: give its scale codes with --scales FILE "
                         f"(or an .npz output holding 'codes' and 'scales')")

    # element codes
    if args.packed:
        if ef.bits not in (1, 2, 4, 6):
            raise UsageError(f"--packed takes 1-, 2-, 4- or 6-bit codes; the elements of {bf.name} ({ef.name}) "
                             f"have {ef.bits} bits")
        if order == "ptx" and ef.bits != 6:
            raise UsageError(f"--order ptx is the 6-bit e2m3x2/e3m2x2 layout; {ef.name} has {ef.bits} bits")
        if args.output_dtype is not None:
            raise UsageError("--output-dtype is for unpacked codes; packed output is bytes")
        if args.output.lower().endswith((".npy", ".npz")):
            y = _load_array(args.output, role="output", key=args.output_key, npz_default="codes")
            if y.dtype != np.uint8:
                raise UsageError(f"packed output must be bytes (uint8), got {y.dtype}")
        else:
            y = _load_array(args.output, role="output", dtype=np.dtype(np.uint8))
        need = _packed_bytes(n, ef.bits, order)
        if y.size != need:
            raise UsageError(f"mismatched lengths: input has {n} elements, which pack into {need} bytes of "
                             f"{ef.bits}-bit codes, but output has {y.size} bytes")
        from .packing import unpack

        codes = np.asarray(unpack(np.asarray(y), ef.bits, n, order=order)).reshape(shape)
    else:
        out_dt = _dtype_arg(args.output_dtype) if args.output_dtype else None
        if out_dt is None and not args.output.lower().endswith((".npy", ".npz")):
            out_dt = np.dtype(ef.code_dtype).newbyteorder("<")
        y = _load_array(args.output, role="output", dtype=out_dt, key=args.output_key, flat=False,
                        npz_default="codes")
        if y.dtype.kind not in "iu":
            raise UsageError(f"output {args.output!r} must hold integer codes, got dtype {y.dtype}")
        codes = _take_shape(np.asarray(y), shape, f"input has {n} elements", "output")
    codes_src = args.output
    if out_npz:
        keys = list(np.load(args.output, allow_pickle=False).files)
        ckey = args.output_key or ("codes" if "codes" in keys or len(keys) != 1 else keys[0])
        codes_src = f"{args.output}[{ckey}]"
    _check_range(codes, ef, "output")

    # scale codes
    if args.scales is not None:
        s_dt = None
        if not args.scales.lower().endswith((".npy", ".npz")):
            s_dt = _dtype_arg(args.scales_dtype) if args.scales_dtype else np.dtype(sf.code_dtype).newbyteorder("<")
        elif args.scales_dtype is not None:
            raise UsageError(f"--scales-dtype is for raw files; {args.scales!r} has its own dtype")
        sc = _load_array(args.scales, role="scales", dtype=s_dt, key=args.scales_key, flat=False)
        src = args.scales
    elif out_npz:
        keys = list(np.load(args.output, allow_pickle=False).files)
        key = args.scales_key or "scales"
        if key not in keys:
            raise UsageError(f"{args.output!r} has no array {key!r} of scale codes (it has {keys}); "
                             f"name it with --scales-key or give --scales FILE")
        sc = _load_array(args.output, role="output", key=key, flat=False)
        src = f"{args.output}[{key}]"
    else:  # pragma: no cover - checked above
        raise UsageError(f"{bf.name} is a block format: give its scale codes with --scales FILE")
    if sc.dtype.kind not in "iu":
        raise UsageError(f"scales {src!r} must hold integer codes, got dtype {sc.dtype}")
    scales = _take_shape(np.asarray(sc), sshape,
                         f"input of shape {shape} has {nblocks} blocks of {bf.block_size} along axis {ax}", "scales")
    _check_range(scales, sf, "scales")

    # expected, actual
    expected = block_encode(np.asarray(x), bf, axis=ax, **kw)
    ts = None
    ts_src = None
    if args.output_tensor_scale is not None:
        ts = _float_arg(args.output_tensor_scale, "--output-tensor-scale")
        ts_src = "--output-tensor-scale"
    elif out_npz and "tensor_scale" in np.load(args.output, allow_pickle=False).files:
        tsa = np.load(args.output, allow_pickle=False)["tensor_scale"]
        if tsa.size != 1 or tsa.dtype.kind not in "fiu":
            raise UsageError(f"{args.output!r}: 'tensor_scale' must be one number, got {tsa.dtype} {tsa.shape}")
        ts = float(tsa.reshape(-1)[0])
        ts_src = f"{args.output}[tensor_scale]"
    if ts is not None and (not math.isfinite(ts) or ts < 0 or float(np.float32(ts)) != ts):
        raise UsageError(f"the output's tensor scale {ts!r} ({ts_src}) is not a non-negative float32")
    if ts is None:
        ts = expected.tensor_scale  # not in the output: not compared
    actual = BlockArray(codes, scales, bf, axis=ax, tensor_scale=ts)
    xs = np.asarray(x)
    res = compare_block(expected, actual, x=xs if xs.dtype.kind in "fiu" else None, max_examples=args.max_examples)
    pol = {"scale_rule": expected.scale_rule, "recipe": expected.recipe,
           **{k: v for k, v in kw.items() if k not in ("scale_rule", "recipe")}}
    tsd = {"expected": None if expected.tensor_scale is None else float(expected.tensor_scale),
           "actual": None if ts_src is None else float(actual.tensor_scale), "compared": ts_src is not None}
    if args.json:
        head = {"input": args.input, "input_dtype": str(x.dtype), "shape": list(shape), "size": n,
                "output": args.output, "codes": codes_src, "scales": src, "packed": bool(args.packed),
                "order": order if args.packed else None, "format": bf.name, "element_format": ef.name,
                "scale_format": sf.name, "block_size": bf.block_size, "axis": ax, "policy": pol,
                "tensor_scale": tsd}
        print(json.dumps({**head, **res.to_dict(), "different": res.different}, indent=1, default=str))
        return 0 if res.ok else 1
    pol_s = ", ".join(f"{k}={v}" for k, v in pol.items())
    packed = f" (packed, {order})" if args.packed else ""
    print(f"check {args.input} ({x.dtype}, shape {shape}) against codes {codes_src}{packed} and scales {src} "
          f"as {bf.name} ({pol_s})")
    if expected.tensor_scale is not None or ts_src is not None:
        exp_ts = "None" if expected.tensor_scale is None else repr(float(expected.tensor_scale))
        act_ts = repr(float(actual.tensor_scale)) if ts_src is not None else "not in the output, not compared"
        print(f"tensor scale: expected {exp_ts}, actual {act_ts}")
    print(res)
    if not args.no_explain and args.seed is None:
        _explain_block_element(res, expected, xs, kw)
    return 0 if res.ok else 1


def _explain_block_element(res, expected, xs, kw) -> None:
    """Explain the first element mismatch in a block whose scale matches, when x / scale is exact."""
    from .explain import explain

    bf = expected.format
    sf = bf.scale
    if expected.tensor_scale is not None or getattr(sf, "mantissa_bits", 1) != 0 or expected.recipe != "ocp":
        return
    if xs.dtype.kind != "f":
        return
    for m in res.examples:
        if m.what != "element":
            continue
        sv = float(sf.exact_value(m.expected_scale))
        if not (math.isfinite(sv) and sv > 0):
            return
        xv = float(xs[m.index]) / sv
        try:
            ex = explain(xv, bf.element, rounding=kw.get("rounding", "nearest_even"), saturation="finite")
        except (ValueError, TypeError):
            return
        if int(ex.code) != m.expected:
            return
        idx = ",".join(str(i) for i in m.index)
        print(f"\nwhy the expected element code at index {idx} (x / scale = {float(xs[m.index])!r} / {sv!r}):")
        print(ex)
        return


# ---------------------------------------------------------------------- parser

def _policy_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("conversion policy (as numfmt.encode)")
    g.add_argument("--rounding", default="nearest_even",
                   help="nearest_even (default), nearest_away, toward_zero, toward_positive, toward_negative, "
                        "to_odd, stochastic, stochastic_b, stochastic_c (aliases rne, rna, rtz, rtp, rtn, rto, sr)")
    g.add_argument("--saturation", default=None, help="none (default), finite or propagate")
    g.add_argument("--nan", default=None, help="NaN input into a format without NaN: raise (default), zero, max")
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
                       "memory-mapped and processed in chunks. Block formats (MX, NVFP4) compare the scale "
                       "codes (--scales) and the element codes separately.")
    p.add_argument("--format", required=True, metavar="FMT",
                   help="format of the codes: an element format (e4m3 ...) or a block format (mxfp4, nvfp4 ...)")
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
    p.add_argument("--chunk-size", type=int, default=1 << 22,
                   help="elements per chunk (default 4194304; element formats only)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it only shows on a terminal)")
    p.add_argument("--no-explain", action="store_true", help="do not explain the first mismatch")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _policy_flags(p)
    from .block import NONFINITE, RECIPES, SCALE_RULES

    g = p.add_argument_group("block formats (mxfp4, mxfp8_e4m3, mxfp6_e2m3, mxint8, nvfp4 ...)",
                             "Y holds the element codes (or --packed bytes), the scale codes come from --scales "
                             "or from the 'scales' array of an .npz Y (element codes in its 'codes' array); an "
                             "NVFP4 tensor scale in its 'tensor_scale' array is compared too. The expected codes "
                             "are numfmt.encode(x, FMT, axis=, scale_rule=, recipe=, rounding=, random=--seed, "
                             "rbits=, tensor_scale=, tensor_amax=, nonfinite=, scale_rounding=); --saturation, "
                             "--nan and --compat do not apply. The whole input is encoded at once.")
    g.add_argument("--scales", default=None, metavar="S", help="scale codes: .npy, .npz or raw (one code per block, "
                   "row-major in the shape of x with --axis reduced to ceil(n / block size))")
    g.add_argument("--scales-key", default=None, help="array name of the scale codes inside an .npz (default scales)")
    g.add_argument("--scales-dtype", default=None,
                   help="dtype of a raw scales file (default: the scale format's code dtype, uint8)")
    g.add_argument("--axis", type=int, default=None, help="axis along which blocks run (default -1)")
    g.add_argument("--shape", default=None, help="shape of the input, e.g. 128,64 (raw inputs are 1-D)")
    g.add_argument("--scale-rule", default=None, choices=SCALE_RULES,
                   help="scale rule (default: the format's: floor for MX, amax for NVFP4)")
    g.add_argument("--recipe", default=None, choices=RECIPES,
                   help="ocp or torchao (power-of-two rules); te, torchao or modelopt (amax); p3109")
    g.add_argument("--tensor-scale", default=None, metavar="T",
                   help="NVFP4: a float32 decode tensor scale to encode with, or 'off' for one level "
                        "(default: computed from the tensor's amax)")
    g.add_argument("--tensor-amax", default=None, metavar="A", help="NVFP4: calibrated tensor amax")
    g.add_argument("--nonfinite", default=None, choices=NONFINITE, help="blocks with inf/NaN (default amax)")
    g.add_argument("--scale-rounding", default=None, help="scale rounding of scale rule max_abs_finite")
    g.add_argument("--output-tensor-scale", default=None, metavar="T",
                   help="the tensor scale the hardware used or produced (instead of an .npz 'tensor_scale')")
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
        for kw, flag in (("random=", "--seed N"), ("nan='zero'", "--nan zero"), ("rbits", "--rbits N"),
                         ("recipe=", "--recipe"), ("scale_rule=", "--scale-rule"),
                         ("tensor_scale", "--tensor-scale / --tensor-amax"), ("scale_rounding", "--scale-rounding")):
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
