"""`quantize_checkpoint`: stream a safetensors file through an encoder, tensor by tensor."""

from __future__ import annotations

import fnmatch
import json
import math
import os
import struct

import numpy as np

from .. import __version__, block
from .._progress import Progress
from ..frontend import check_block_keywords, decode, encode
from ..interop import counter_bits, preset_name, seed_spec
from ..presets import get_format
from .files import atomic_output, check_destination, check_source
from .header import DTYPES, FLOAT_DTYPES, NATIVE, UNSIGNED, Entry, data_start, header_bytes, order, read_header
from .reader import read_slice, to_float
from .stats import Stats


def _patterns(value, kind: str):
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if callable(value):
        return value
    try:
        pats = tuple(value)
    except TypeError:
        raise TypeError(f"{kind} must be a glob pattern, a list of patterns or a callable, got {value!r}") from None
    if not all(isinstance(p, str) for p in pats):
        raise TypeError(f"{kind} patterns must be str, got {pats!r}")
    return pats


def _matches(name: str, pats) -> bool:
    if callable(pats):
        return bool(pats(name))
    return any(fnmatch.fnmatchcase(name, p) for p in pats)


def _code_dtype_name(f, native: bool) -> str:
    if native:
        nm = preset_name(f, NATIVE)
        if nm is not None:
            return NATIVE[nm]
    return UNSIGNED[f.code_dtype.itemsize]


def _storage(codes: np.ndarray, st: str) -> bytes:
    """Raw bytes of codes stored as safetensors dtype `st` (same bits, never a value conversion)."""
    return codes.astype(np.dtype(f"u{DTYPES[st][0].itemsize}"), copy=False).tobytes()


class CheckpointPlan:
    """Everything decided before writing: what each source tensor becomes."""

    def __init__(self, fmt, options, native):
        self.block = block.is_block_format(fmt)
        self.options = dict(options)
        if self.block:
            self.fmt = block.get_block_format(fmt)
            if self.options.get("axis", -1) not in (-1, None):
                raise ValueError(f"quantize_checkpoint blocks along the last axis only; got axis={options['axis']!r}")
            self.options.pop("axis", None)
            ts = self.options.get("tensor_scale")
            if ts not in (None, False) or self.options.get("tensor_amax") is not None:
                raise ValueError("quantize_checkpoint computes a tensor scale per tensor; tensor_scale may only "
                                 "be None or False and tensor_amax is not accepted")
            f = self.fmt
            # what the encoder decides (scale rule, recipe, a tensor scale or not): set by probe() from its result
            self.rule = self.recipe = None
            self.two_level = False
            self.code_st = _code_dtype_name(f.element, native)
            self.scale_st = _code_dtype_name(f.scale, native)
            self.name = f.name
        else:
            self.fmt = get_format(fmt)
            self.code_st = _code_dtype_name(self.fmt, native)
            self.name = self.fmt.name
        random = self.options.get("random")
        spec = seed_spec(random, self.options.get("rbits"), self.options.get("rounding", "nearest_even"))
        if spec == "array":
            raise TypeError("quantize_checkpoint takes random= as an int seed or a numpy Generator, not an array")
        self.rand = spec  # None or (key, nbits)
        if spec is not None:
            self.options["rbits"] = spec[1]
        self.options.pop("random", None)

    def outputs(self, e: Entry) -> list:
        """[(out name, safetensors dtype, shape, role)] for a quantized source tensor."""
        outs = [(e.name, self.code_st, e.shape, "codes")]
        if self.block:
            bs = self.fmt.block_size
            sshape = e.shape[:-1] + (-(-e.shape[-1] // bs),)
            outs.append((e.name + ".scales", self.scale_st, sshape, "scales"))
            if self.two_level:
                outs.append((e.name + ".tensor_scale", "F32", (), "tensor_scale"))
        return outs

    def random_for(self, start: int, n: int):
        if self.rand is None:
            return None
        key, nbits = self.rand
        return counter_bits(key, np.arange(start, start + n, dtype=np.uint64), nbits)


def _tensor_amax(f, data_start, e, plan, chunk) -> float:
    """The tensor amax exactly as numfmt.block computes it (float32; recipe te ignores NaN)."""
    ignore_nan = plan.recipe == "te"
    g = np.float32(0)
    for a in range(0, e.size, chunk):
        v = to_float(read_slice(f, data_start, e, a, min(a + chunk, e.size)), e.dtype)
        ax = np.abs(v.astype(np.float32))
        m = np.fmax.reduce(ax) if ignore_nan else np.max(ax)
        if not ignore_nan and np.isnan(m):
            return float("nan")
        g = np.fmax(g, m)
    return float(g)


def quantize_checkpoint(src, dst, fmt, *, include=None, exclude=None, rounding: str = "nearest_even",
                        saturation: str = "none", nan: str = "raise", random=None, rbits: int | None = None,
                        native_dtypes: bool = True, chunk_elements: int = 1 << 16, progress: bool | None = None,
                        **block_options) -> dict:
    """Quantize the floating-point tensors of a safetensors file into `fmt`; stream to `dst`.

    Parameters
    ----------
    src, dst : str or path
        Input and output files (different paths). `src` must be a regular file
        (a FIFO or device is refused, never opened). `dst` is checked before
        anything is read: it must not be empty, a directory or an existing
        special file (FIFO, device: refused, never replaced), and its directory
        must exist and be writable. The output is written to
        `.{name}.numfmt-tmp-<pid>` beside `dst` and renamed over it at the end,
        so `dst` is always either the old file or the complete new one; the
        temporary file is removed on any error, on Ctrl-C and on SIGTERM, and
        one left by a killed process is removed by the next write to `dst`.
        The new file gets mode `0o666` less the umask.
    fmt : str or format or BlockFormat
        Element format (`"e4m3"`, `"binary8p3se"` ...) or block format
        (`"mxfp4"`, `"nvfp4"` ...; blocks along the last axis).
    include, exclude : glob pattern(s) or callable, optional
        Tensors to quantize (default: every floating-point tensor) and to leave
        alone; names matched by `fnmatch`. Others are copied unchanged.
    rounding, saturation, nan, random, rbits :
        As in [`numfmt.encode`][numfmt.encode] (block formats: `saturation`/`nan`
        do not apply: other than their defaults they are a TypeError, as in
        `encode`). `random` is an int seed or a Generator: tensor `t` gets
        exactly the codes of `numfmt.encode(t, fmt, random=seed)`.
    native_dtypes : bool
        Store codes with the safetensors float dtype that has the same bits when
        there is one (`F8_E4M3`, `BF16` ...); else always `U8`/`U16`/`U32`.
    chunk_elements : int
        Elements processed at a time (memory use is a few bytes times this).
    progress : bool, optional
        Progress bar on stderr; default: when stderr is a terminal.
    **block_options :
        `scale_rule`, `recipe`, `nonfinite`, `tensor_scale=False` for block formats.

    Returns
    -------
    dict
        `{name: TensorError}` for every quantized tensor, in file order.

    Raises
    ------
    ValueError
        Truncated or corrupt `src`, unsupported dtypes, a selected tensor that
        is not floating point, name clashes, a NaN under `nan="raise"` (the
        message names the file, the tensor and the element), an unusable
        `src` or `dst`; nothing is written.
    TypeError
        `saturation=` or `nan=` other than the default with a block format,
        block keywords with an element format.
    OSError
        `src` cannot be read, `dst`'s directory is missing or not writable.

    Examples
    --------
    >>> import os, tempfile, numpy as np, numfmt.io
    >>> d = tempfile.mkdtemp()
    >>> src, dst = os.path.join(d, "m.safetensors"), os.path.join(d, "m.mxfp4.safetensors")
    >>> numfmt.io.save({"w": np.linspace(-1, 1, 64, dtype=np.float32).reshape(2, 32),
    ...                 "step": np.array(7, np.int64)}, src)
    >>> rep = numfmt.io.quantize_checkpoint(src, dst, "mxfp4", progress=False)
    >>> round(rep["w"].relative, 4), sorted(numfmt.io.read_header(dst)[1][i].name for i in range(3))
    (0.0965, ['step', 'w', 'w.scales'])
    """
    dst = check_destination(dst, "dst")  # before anything is read
    src = check_source(src, "src")
    if os.path.exists(dst) and os.path.samefile(src, dst):
        raise ValueError(f"dst must differ from src, got {dst!r} for both")
    if isinstance(chunk_elements, bool) or not isinstance(chunk_elements, int) or chunk_elements < 1:
        raise ValueError(f"chunk_elements must be a positive int, got {chunk_elements!r}")
    inc, exc = _patterns(include, "include"), _patterns(exclude, "exclude")
    options = dict(rounding=rounding, random=random, rbits=rbits)
    if block.is_block_format(fmt):
        check_block_keywords(saturation=saturation, nan=nan)  # TypeError, as encode's
        options.update(block_options)
    else:
        if block_options:
            raise TypeError(f"unexpected keyword(s) {sorted(block_options)} for an element format")
        options.update(saturation=saturation, nan=nan)
    plan = CheckpointPlan(fmt, options, native_dtypes)
    _probe(plan)

    meta, entries = read_header(src)
    selected, layout, roles = [], [], {}
    names = {e.name for e in entries}
    for e in entries:
        want = (_matches(e.name, inc) if inc is not None else e.dtype in FLOAT_DTYPES)
        if want and exc is not None and _matches(e.name, exc):
            want = False
        if want and e.dtype not in FLOAT_DTYPES:
            raise ValueError(f"tensor {e.name!r} has dtype {e.dtype}; only floating-point tensors can be "
                             f"quantized (exclude it or narrow include=)")
        if want and plan.block and len(e.shape) == 0:
            want = False  # a scalar has no blocks: copied
        if not want:
            layout.append((e.name, e.dtype, e.shape, e.end - e.begin))
            roles[e.name] = {"role": "copy", "source_dtype": e.dtype}
            continue
        selected.append(e)
        for oname, st, shape, role in plan.outputs(e):
            if oname != e.name and oname in names:
                raise ValueError(f"output tensor {oname!r} (the {role} of {e.name!r}) clashes with a tensor of "
                                 f"the same name in {os.fspath(src)!r}")
            names.add(oname)
            nbytes = math.prod(shape) * DTYPES[st][0].itemsize
            layout.append((oname, st, shape, nbytes))
            fname = plan.fmt.element.name if (plan.block and role == "codes") else (
                plan.fmt.scale.name if role == "scales" else ("binary32" if role == "tensor_scale" else plan.name))
            roles[oname] = {"role": role, "of": e.name, "format": fname, "source_dtype": e.dtype}
    layout = order(layout)
    out_meta = {k: v for k, v in meta.items() if not k.startswith("numfmt.")}
    out_meta.update(_metadata(plan, roles))
    raw_header = header_bytes(out_meta, layout)
    offsets, pos = {}, 8 + len(raw_header)
    for name, _st, _shape, nbytes in layout:
        offsets[name] = pos
        pos += nbytes
    src_start = data_start(src)
    total = sum(e.end - e.begin for e in entries)
    report = {}
    sel = {e.name for e in selected}
    with open(src, "rb") as fin, atomic_output(dst, "dst") as fout, \
            Progress(total, "numfmt quantize", enabled=progress) as bar:
        fout.write(struct.pack("<Q", len(raw_header)) + raw_header)
        fout.truncate(pos)
        for e in entries:
            if e.name not in sel:
                _copy(fin, fout, src_start, e, offsets[e.name], chunk_elements, bar)
                continue
            stats = Stats()
            if plan.block:
                quantize_block(fin, fout, src_start, e, plan, offsets, chunk_elements, stats, bar)
            else:
                quantize_elems(fin, fout, src_start, e, plan, offsets[e.name], chunk_elements, stats, bar, src)
            report[e.name] = stats.result(e)
    return report


def _metadata(plan, roles) -> dict:
    policy = {k: v for k, v in plan.options.items() if k in ("rounding", "saturation", "nan", "rbits")}
    if plan.rand is not None:
        policy["random"] = "counter-based (SplitMix64 of seed key and flat index)"
    if plan.block:
        recipe = {"block_format": plan.fmt.name, "element": plan.fmt.element.name, "scale": plan.fmt.scale.name,
                  "block_size": plan.fmt.block_size, "axis": -1, "scale_rule": plan.rule, "recipe": plan.recipe,
                  "two_level": bool(plan.two_level)}
        recipe.update({k: v for k, v in plan.options.items() if k in ("nonfinite",)})
    else:
        recipe = {"element_format": plan.fmt.name}
    return {
        "numfmt.version": __version__,
        "numfmt.format": plan.name,
        "numfmt.recipe": json.dumps(recipe, sort_keys=True),
        "numfmt.policy": json.dumps(policy, sort_keys=True),
        "numfmt.tensors": json.dumps(roles, sort_keys=True),
    }


def _probe(plan) -> None:
    """Validate the options on a tiny input before touching any file; for a block format, record the
    scale rule, recipe and tensor-scale level the encoder chose (read from its result, never re-derived)."""
    x = np.ones((1, plan.fmt.block_size if plan.block else 1), np.float32)
    rnd = plan.random_for(0, x.size)
    res = encode(x, plan.fmt, random=None if rnd is None else rnd.reshape(x.shape), **plan.options)
    if plan.block:
        plan.rule, plan.recipe, plan.two_level = res.scale_rule, res.recipe, res.tensor_scale is not None


def _copy(fin, fout, src_start, e, dst_off, chunk, bar) -> None:
    step = max(chunk * 4, 1 << 20)
    fin.seek(src_start + e.begin)
    fout.seek(dst_off)
    left = e.end - e.begin
    while left:
        buf = fin.read(min(step, left))
        if not buf:
            raise ValueError(f"tensor {e.name!r}: the file ended early (truncated file?)")
        fout.write(buf)
        left -= len(buf)
        bar.update(len(buf), e.name)


def _nan_error(src, e: Entry, a: int, x: np.ndarray, fmt) -> ValueError | None:
    """The error for a NaN under nan="raise": the file, the tensor and the element's index in the tensor."""
    mask = np.isnan(x) if x.dtype.kind == "f" else None
    if mask is None or not mask.any():
        return None
    flat = a + int(np.argmax(mask))
    idx = tuple(int(i) for i in np.unravel_index(flat, e.shape)) if e.shape else ()
    return ValueError(f"tensor {e.name!r} in {src!r} has a NaN at element {idx} (flat index {flat}) and format "
                      f"{fmt.name} has no NaN; pass nan='zero' or nan='max' to choose a code")


def quantize_elems(fin, fout, src_start, e, plan, dst_off, chunk, stats, bar, src="src") -> None:
    itemsize = DTYPES[plan.code_st][0].itemsize
    in_size = DTYPES[e.dtype][0].itemsize
    for a in range(0, e.size, chunk):
        b = min(a + chunk, e.size)
        x = to_float(read_slice(fin, src_start, e, a, b), e.dtype)
        rnd = plan.random_for(a, b - a)
        try:
            codes = np.atleast_1d(encode(x, plan.fmt, random=rnd, **plan.options))
        except ValueError:
            err = _nan_error(src, e, a, x, plan.fmt)
            if err is None:
                raise
            raise err from None
        fout.seek(dst_off + a * itemsize)
        fout.write(_storage(codes, plan.code_st))
        stats.add(x, decode(codes, plan.fmt))
        bar.update((b - a) * in_size, e.name)


def quantize_block(fin, fout, src_start, e, plan, offsets, chunk, stats, bar) -> None:
    n = e.shape[-1]
    rows = e.size // n if n else 0
    f = plan.fmt
    nb = -(-n // f.block_size)
    opts = dict(plan.options)
    if plan.two_level:
        opts["tensor_amax"] = _tensor_amax(fin, src_start, e, plan, chunk)
    csize = DTYPES[plan.code_st][0].itemsize
    ssize = DTYPES[plan.scale_st][0].itemsize
    in_size = DTYPES[e.dtype][0].itemsize
    step = max(1, chunk // max(n, 1))
    ts = None
    for r in range(0, rows, step):
        r2 = min(r + step, rows)
        a, b = r * n, r2 * n
        x = to_float(read_slice(fin, src_start, e, a, b), e.dtype).reshape(r2 - r, n)
        rnd = plan.random_for(a, b - a)
        ba = block.encode(x, f, random=None if rnd is None else rnd.reshape(x.shape), **opts)
        fout.seek(offsets[e.name] + a * csize)
        fout.write(_storage(ba.codes, plan.code_st))
        fout.seek(offsets[e.name + ".scales"] + r * nb * ssize)
        fout.write(_storage(ba.scales, plan.scale_st))
        ts = ba.tensor_scale
        sub = max(1, (1 << 15) // max(n, 1))  # exact float64 decode, a few rows at a time (bounded memory)
        for s0 in range(0, r2 - r, sub):
            part = block.BlockArray(ba.codes[s0:s0 + sub], ba.scales[s0:s0 + sub], f, axis=-1,
                                    tensor_scale=ba.tensor_scale)
            stats.add(x[s0:s0 + sub], block.decode(part, dtype=np.float64))
        bar.update((b - a) * in_size, e.name)
    if plan.two_level:
        if ts is None:  # empty tensor: the scale of its amax (0)
            ts = block.encode(np.zeros((1, 1), np.float32), f, **opts).tensor_scale
        fout.seek(offsets[e.name + ".tensor_scale"])
        fout.write(np.float32(ts).tobytes())
