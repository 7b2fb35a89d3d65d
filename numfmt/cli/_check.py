"""`numfmt check` of element formats: emulate the inputs chunk by chunk, compare with the output codes."""

from __future__ import annotations

import json
import sys

import numpy as np

from .. import block
from ..codec import as_input, encode
from ..compare._acc import Acc
from ..engine import prepare, run_encode
from ..explain import explain
from ..identify import identify
from ..identify._conv import unsigned_view
from ..packing import unpack
from ..plan import make_plan
from ..policy import is_stochastic
from ..steps import check_steps, flush_inputs, flush_outputs
from ._check_block import BLOCK_ONLY, cmd_check_block, parse_shape
from ._common import UsageError, dtype_arg, format_arg, policy_args
from ._files import byte_offset, load_array, packed_bytes


def _encode_chunk(xs, f, policy, offset):
    """encode() of one chunk; stochastic seeds use the global element index."""
    plan = make_plan(f, policy["rounding"], policy["saturation"], policy["nan"], policy.get("compat"))
    if offset and is_stochastic(plan.mode) and isinstance(policy.get("random"), int):
        steps = check_steps(plan.fmt, daz=policy.get("daz", False), ftz=policy.get("ftz", False),
                            via=policy.get("via"), rounding=policy["rounding"], compat=policy.get("compat"))
        xa = as_input(xs)
        if steps.daz is not None:
            xa = flush_inputs(xa, steps.daz, np.asarray(xs).dtype)
        xa, rkind, rarr, key, nbits = prepare(plan, xa, policy["random"], policy.get("rbits"))
        codes = run_encode(xa, plan, rkind, rarr, key, nbits, None, 1, offset=offset)
        if steps.ftz:
            flush_outputs(codes, plan.fmt)
        return codes
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
    if block.is_block_format(args.format):
        return cmd_check_block(args, block.get_block_format(args.format))
    given = [flag for flag, dest in BLOCK_ONLY if getattr(args, dest) is not None and flag != "--shape"]
    if given:
        raise UsageError(f"{given[0]} is an option of block formats (mxfp4, nvfp4 ...); "
                         f"{args.format!r} is an element format")
    f = format_arg(args.format)
    p = policy_args(args)
    in_dt = dtype_arg(args.input_dtype) if args.input_dtype else None
    x = load_array(args.input, role="input", dtype=in_dt, key=args.input_key, flat=False)
    shape = x.shape
    if args.shape:
        shape = parse_shape(args.shape)
        if int(np.prod(shape)) != x.size:
            raise UsageError(f"--shape {args.shape} has {int(np.prod(shape))} elements, the input {x.size}")
    x = x.reshape(-1) if x.flags.c_contiguous else np.asarray(x).reshape(-1)
    if x.dtype.kind not in "fiuV":
        raise UsageError(f"input {args.input!r} has dtype {x.dtype}; expected floats or integers")
    n = x.size
    order = {"low": "low_first", "high": "high_first"}.get(args.order, args.order)
    if args.packed:
        if args.output.lower().endswith((".npy", ".npz")):
            y = load_array(args.output, role="output", key=args.output_key)
            if y.dtype != np.uint8:
                raise UsageError(f"packed output must be bytes (uint8), got {y.dtype}")
        else:
            y = load_array(args.output, role="output", dtype=np.dtype(np.uint8))
        if f.bits not in (1, 2, 4, 6):
            raise UsageError(f"--packed takes 1-, 2-, 4- or 6-bit codes; {f.name} has {f.bits} bits")
        if order == "ptx" and f.bits != 6:
            raise UsageError(f"--order ptx is the 6-bit e2m3x2/e3m2x2 layout; {f.name} has {f.bits} bits")
        need = packed_bytes(n, f.bits, order)
        if y.size != need:
            raise UsageError(f"mismatched lengths: input has {n} elements, which pack into {need} bytes of "
                             f"{f.bits}-bit codes, but output has {y.size} bytes")
    else:
        out_dt = dtype_arg(args.output_dtype) if args.output_dtype else None
        if out_dt is None and not args.output.lower().endswith((".npy", ".npz")):
            out_dt = np.dtype(f.code_dtype).newbyteorder("<")
        y = load_array(args.output, role="output", dtype=out_dt, key=args.output_key)
        if y.dtype.kind not in "iu":
            raise UsageError(f"output {args.output!r} must hold integer codes, got dtype {y.dtype}")
        y = unsigned_view(y)  # int8/int16 dumps (tensor.view(torch.int8)): the unsigned codes of that width
        if y.size != n:
            raise UsageError(f"mismatched lengths: input has {n} elements, output has {y.size} codes")
    chunk = args.chunk_size
    if chunk < 1:
        raise UsageError(f"--chunk-size must be >= 1, got {chunk}")
    chunk = -(-chunk // 8) * 8  # packed chunks start on byte boundaries
    top = (1 << f.bits) - 1
    acc = Acc(f, max_examples=args.max_examples, shape=shape, masks=args.mismatches is not None)
    show = sys.stderr.isatty() and not args.no_progress and n > chunk
    first_x = None
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        xs = np.asarray(x[s:e])
        exp = np.asarray(_encode_chunk(xs, f, p, s)).reshape(-1).astype(np.int64)
        if args.packed:
            b0 = byte_offset(s, f.bits, order)
            b1 = y.size if e == n else byte_offset(e, f.bits, order)
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
    if args.mismatches is not None:
        np.save(args.mismatches, res.indices(nd=True))
        head["mismatches_file"] = args.mismatches
    found = ()
    if args.identify and not res.ok:
        codes = (unpack(np.asarray(y), f.bits, n, order=order) if args.packed else np.asarray(y)).reshape(shape)
        found = identify(np.asarray(x).reshape(shape), codes, f, max_results=3)
    if args.json:
        d = {**head, **res.to_dict()}
        if not args.no_explain:
            d["explanations"] = [_explain_dict(m, f, p) for m in res.examples]
        if args.identify:
            d["identification"] = [r.to_dict() for r in found]
        print(json.dumps(d, indent=1))
    else:
        pol = ", ".join(f"{k}={v}" for k, v in p.items())
        dims = "x".join(map(str, shape))
        print(f"check {args.input} ({x.dtype}, shape ({dims})) against {args.output} as {f.name} ({pol})")
        print(res)
        if found:
            print("\nrules that explain the output (numfmt.identify):")
            for i, r in enumerate(found, 1):
                print(f"  {i}. {r}")
        if first_x is not None and not args.no_explain:
            idx, xv = first_x
            try:
                ex = explain(xv[()] if hasattr(xv, "shape") else xv, f, index=int(idx), **p)
                print(f"\nwhy the expected code at index {idx}:")
                print(ex)
            except (ValueError, TypeError):
                pass
    return 0 if res.ok else 1


def _explain_dict(m, f, policy) -> dict | None:
    """The explanation of the expected code of one mismatch (None where it cannot be explained)."""
    if m.x is None:
        return None
    try:
        return {"index": list(m.index), **explain(m.x, f, **{k: v for k, v in policy.items() if k != "random"})
                .to_dict()}
    except (ValueError, TypeError):
        return None
