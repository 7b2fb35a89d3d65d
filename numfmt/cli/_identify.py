"""`numfmt identify` (find the rule behind a dump) and `numfmt check-gemm` (a GEMM dump against a model)."""

from __future__ import annotations

import json

import numpy as np

from .. import block
from ..accum_models import Exact, Sequential
from ..accumulate import as_model, matmul
from ..compare import compare
from ..identify import dump_codes, identify, identify_matmul
from ._check_block import parse_shape
from ._common import UsageError, dtype_arg
from ._files import load_array


def _load(path, role, args, shape=None, flag="--dtype"):
    """An array from .npy/.npz (its own shape) or raw (`--dtype`, reshaped to `shape`)."""
    raw = not path.lower().endswith((".npy", ".npz"))
    dt = dtype_arg(args.dtype) if (raw and args.dtype) else None
    if raw and dt is None:
        raise UsageError(f"raw {role} file {path!r} needs {flag} (or use .npy/.npz)")
    a = np.asarray(load_array(path, role=role, dtype=dt, flat=False))
    if shape is not None:
        if a.size != int(np.prod(shape)):
            raise UsageError(f"{role} {path!r} has {a.size} elements, not the {int(np.prod(shape))} of shape "
                             f"{shape}")
        a = a.reshape(shape)
    return a


def _print_results(res, args, head: dict) -> int:
    best = res[0]
    if args.json:
        print(json.dumps({**head, "results": [r.to_dict() for r in res]}, indent=1, default=str))
    else:
        print(" ".join(f"{k} {v}" for k, v in head.items() if v is not None))
        for i, r in enumerate(res, 1):
            print(f"{i}. {r}")
    return 0 if best.exact else 1


def _gemm_inputs(args):
    shape = parse_shape(args.shape) if args.shape else None
    if shape is not None and len(shape) != 3:
        raise UsageError(f"--shape for a GEMM is M,K,N; got {args.shape!r}")
    M, K, N = shape if shape else (None, None, None)
    A = _load(args.a, "A", args, None if shape is None else (M, K))
    B = _load(args.b, "B", args, None if shape is None else (K, N))
    D = _load(args.output, "output", args, None if shape is None else (M, N))
    c = None if args.c is None else _load(args.c, "c", args, None if shape is None else (M, N))
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0] or D.shape != (A.shape[0], B.shape[1]):
        raise UsageError(f"A {A.shape}, B {B.shape} and the output {D.shape} are not (M,K), (K,N), (M,N)"
                         " (raw files: pass --shape M,K,N)")
    if D.dtype.kind != "f":
        raise UsageError(f"the GEMM output must hold floats, got dtype {D.dtype}")
    return A, B, D, c


def cmd_identify(args) -> int:
    if args.max_results < 1:
        raise UsageError(f"--max-results must be >= 1, got {args.max_results}")
    if args.gemm or args.a or args.b:
        if not (args.a and args.b and args.output):
            raise UsageError("identify of a GEMM needs --a A, --b B and --output D")
        A, B, D, c = _gemm_inputs(args)
        res = identify_matmul(A, B, D, c=c, max_results=args.max_results)
        return _print_results(res, args, {"identify": "gemm", "shape": f"{A.shape[0]}x{A.shape[1]}x{B.shape[1]}"})
    if not (args.format and args.input and args.output):
        raise UsageError("identify of a conversion needs --format FMT, --input X and --output Y (a GEMM: --a, --b)")
    shape = parse_shape(args.shape) if args.shape else None
    x = _load(args.input, "input", args, shape, "--dtype (of the input)")
    if block.is_block_format(args.format):
        bf = block.get_block_format(args.format)
        if not args.output.lower().endswith(".npz"):
            raise UsageError("a block dump is an .npz with arrays 'scales' and 'codes'")
        codes = np.asarray(load_array(args.output, role="output", key="codes", flat=False)).reshape(x.shape)
        scales = np.asarray(load_array(args.output, role="output", key="scales", flat=False))
        res = identify(x, (scales, codes), bf, max_results=args.max_results)
        return _print_results(res, args, {"identify": bf.name, "shape": "x".join(map(str, x.shape))})
    from ..presets import get_format  # reason: kept beside its only use

    f = get_format(args.format)
    out_dt = dtype_arg(args.output_dtype) if args.output_dtype else None
    if out_dt is None and not args.output.lower().endswith((".npy", ".npz")):
        out_dt = np.dtype(f.code_dtype)
    y = np.asarray(load_array(args.output, role="output", dtype=out_dt, flat=False))
    if y.size != x.size:
        raise UsageError(f"mismatched lengths: input has {x.size} elements, output has {y.size} codes")
    y = dump_codes(y.reshape(x.shape), f, "output")
    res = identify(x, y, f, max_results=args.max_results)
    return _print_results(res, args, {"identify": f.name, "shape": "x".join(map(str, x.shape))})


def parse_model(text: str):
    """A model from the command line: a preset `gpu/format`, `exact[:OUT[:ROUNDING]]` or
    `sequential:ACC[:ROUNDING]`."""
    kind, _, rest = text.partition(":")
    parts = [p for p in rest.split(":") if p]
    if kind.lower() == "exact":
        return Exact(*parts[:2]) if parts else Exact()
    if kind.lower() == "sequential":
        if not parts:
            raise UsageError("--model sequential:ACC[:ROUNDING] needs the accumulator format")
        return Sequential(*parts[:2])
    return as_model(text)


def cmd_check_gemm(args) -> int:
    A, B, D, c = _gemm_inputs(args)
    model = parse_model(args.model)
    want = matmul(A, B, model=model, c=c)
    fmt, dt, ui = ("binary16", np.float16, np.uint16) if D.dtype == np.float16 else ("binary32", np.float32,
                                                                                     np.uint32)
    r = compare(actual=np.asarray(D, dt).view(ui), expected=np.asarray(want, dt).view(ui), fmt=fmt,
                max_examples=args.max_examples)
    exact = np.asarray(matmul(A, B, model=Exact("binary64", in_format="fp32"), c=c), np.float64)
    with np.errstate(all="ignore"):
        scale = np.where(exact != 0, np.abs(exact), 1.0)
        rel_act = np.abs(np.asarray(D, np.float64) - exact) / scale
        rel_mod = np.abs(np.asarray(want, np.float64) - exact) / scale

    def stats(rel):
        fin = rel[np.isfinite(rel)]
        return {"max": float(fin.max()) if fin.size else None, "mean": float(fin.mean()) if fin.size else None}

    errs = {"actual_vs_exact": stats(rel_act), "model_vs_exact": stats(rel_mod)}
    if args.json:
        d = r.to_dict()
        d["indices"] = r.indices(nd=True).tolist()[: args.max_examples] if not r.ok else []
        print(json.dumps({"model": repr(model), "relative_error": errs, **d}, indent=1, default=str))
    else:
        print(f"check-gemm {A.shape[0]}x{A.shape[1]}x{B.shape[1]} against {args.model}")
        print(r)
        for name, s in errs.items():
            if s["max"] is None:
                print(f"  relative error {name.replace('_', ' ')}: no finite value")
            else:
                print(f"  relative error {name.replace('_', ' ')}: max {s['max']:.3g}, mean {s['mean']:.3g}")
    return 0 if r.ok else 1
