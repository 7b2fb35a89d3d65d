"""`numfmt check` of block formats (MX, NVFP4): scale codes and element codes compared by block."""

from __future__ import annotations

import json
import math
import re

import numpy as np

from ..block import BlockArray
from ..block import encode as block_encode
from ..compare import compare_block
from ..explain import explain
from ..packing import unpack
from ._common import UsageError, dtype_arg
from ._files import load_array, npz_keys, packed_bytes

# options of block formats only: (flag, argparse dest)
BLOCK_ONLY = (("--scales", "scales"), ("--scales-key", "scales_key"), ("--scales-dtype", "scales_dtype"),
               ("--axis", "axis"), ("--shape", "shape"), ("--scale-rule", "scale_rule"), ("--recipe", "recipe"),
               ("--tensor-scale", "tensor_scale"), ("--tensor-amax", "tensor_amax"), ("--nonfinite", "nonfinite"),
               ("--scale-rounding", "scale_rounding"), ("--output-tensor-scale", "output_tensor_scale"))


def parse_shape(s: str) -> tuple:
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
    """`numfmt.encode(x, block_fmt, **kw)` keywords from the command line."""
    if args.saturation is not None:
        raise UsageError("--saturation does not apply to block formats: their elements saturate to the finite range")
    if args.nan is not None:
        raise UsageError("--nan does not apply to block formats (blocks with inf/NaN: see --nonfinite)")
    if args.compat is not None:
        raise UsageError("--compat does not apply to block formats (choose the implementation with --recipe)")
    if args.via is not None or args.daz or args.ftz:
        raise UsageError("--via, --daz and --ftz apply to element formats only")
    kw: dict = {"rounding": args.rounding}
    given = {"random": args.seed, "rbits": args.rbits, "scale_rule": args.scale_rule, "recipe": args.recipe,
             "nonfinite": args.nonfinite, "scale_rounding": args.scale_rounding}
    kw.update({k: v for k, v in given.items() if v is not None})
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
        v = _float_arg(args.tensor_amax, "--tensor-amax")
        if not (math.isfinite(v) and v >= 0):
            raise UsageError(f"--tensor-amax must be a finite non-negative float32, got {args.tensor_amax}")
        kw["tensor_amax"] = v
    return kw


def _take_shape(a: np.ndarray, shape: tuple, what: str, role: str) -> np.ndarray:
    """`a` as `shape`: it must have that shape or be 1-D with that many entries."""
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


def cmd_check_block(args, bf) -> int:
    if args.mismatches is not None or args.identify:
        raise UsageError("--mismatches and --identify take element formats; for a block dump use "
                         "numfmt identify --format FMT with an .npz of scales and codes")
    kw = _block_encode_kw(args, bf)
    ef, sf = bf.element, bf.scale
    in_dt = dtype_arg(args.input_dtype) if args.input_dtype else None
    x = load_array(args.input, role="input", dtype=in_dt, key=args.input_key, flat=False)
    if x.dtype.kind not in "fiuV":
        raise UsageError(f"input {args.input!r} has dtype {x.dtype}; expected floats or integers")
    if args.shape is not None:
        shape = parse_shape(args.shape)
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
            y = load_array(args.output, role="output", key=args.output_key, npz_default="codes")
            if y.dtype != np.uint8:
                raise UsageError(f"packed output must be bytes (uint8), got {y.dtype}")
        else:
            y = load_array(args.output, role="output", dtype=np.dtype(np.uint8))
        need = packed_bytes(n, ef.bits, order)
        if y.size != need:
            raise UsageError(f"mismatched lengths: input has {n} elements, which pack into {need} bytes of "
                             f"{ef.bits}-bit codes, but output has {y.size} bytes")

        codes = np.asarray(unpack(np.asarray(y), ef.bits, n, order=order)).reshape(shape)
    else:
        out_dt = dtype_arg(args.output_dtype) if args.output_dtype else None
        if out_dt is None and not args.output.lower().endswith((".npy", ".npz")):
            out_dt = np.dtype(ef.code_dtype).newbyteorder("<")
        y = load_array(args.output, role="output", dtype=out_dt, key=args.output_key, flat=False,
                        npz_default="codes")
        if y.dtype.kind not in "iu":
            raise UsageError(f"output {args.output!r} must hold integer codes, got dtype {y.dtype}")
        codes = _take_shape(np.asarray(y), shape, f"input has {n} elements", "output")
    codes_src = args.output
    if out_npz:
        keys = npz_keys(args.output)
        ckey = args.output_key or ("codes" if "codes" in keys or len(keys) != 1 else keys[0])
        codes_src = f"{args.output}[{ckey}]"
    _check_range(codes, ef, "output")

    # scale codes
    if args.scales is not None:
        s_dt = None
        if not args.scales.lower().endswith((".npy", ".npz")):
            s_dt = dtype_arg(args.scales_dtype) if args.scales_dtype else np.dtype(sf.code_dtype).newbyteorder("<")
        elif args.scales_dtype is not None:
            raise UsageError(f"--scales-dtype is for raw files; {args.scales!r} has its own dtype")
        sc = load_array(args.scales, role="scales", dtype=s_dt, key=args.scales_key, flat=False)
        src = args.scales
    elif out_npz:
        keys = npz_keys(args.output)
        key = args.scales_key or "scales"
        if key not in keys:
            raise UsageError(f"{args.output!r} has no array {key!r} of scale codes (it has {keys}); "
                             f"name it with --scales-key or give --scales FILE")
        sc = load_array(args.output, role="output", key=key, flat=False)
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
    elif out_npz and "tensor_scale" in npz_keys(args.output):
        tsa = load_array(args.output, role="output", key="tensor_scale", flat=False)
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
    res = compare_block(actual=actual, expected=expected, x=xs if xs.dtype.kind in "fiu" else None,
                        max_examples=args.max_examples)
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
