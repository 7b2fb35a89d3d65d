"""Quantize safetensors checkpoints, streaming: `quantize_checkpoint(src, dst, fmt)`.

The safetensors layout is read and written here directly (8-byte little-endian
header length, a JSON header of `dtype`/`shape`/`data_offsets`, then the
raw bytes), so neither the whole file nor the whole output is ever in memory:
tensors are read in slices of `chunk_elements` elements (whole rows for block
formats), encoded, written at their place in the output and measured against
the input. The `safetensors` package is not needed (files written here load
with it).

What is written, per quantized tensor `name`:

* `name`: the codes, stored with the safetensors dtype whose bits they are
  (`F8_E4M3` for `float8_e4m3fn`, `BF16`, `F8_E8M0` ...) or else as
  unsigned integers `U8`/`U16`/`U32` (one code per element, unpacked);
* block formats also `name.scales` (scale codes, blocks along the last axis)
  and, for two-level formats (NVFP4), `name.tensor_scale` (float32, shape []).

Tensors not selected (`include`/`exclude`), integer and bool tensors are
copied unchanged. The header metadata keeps the source's entries and adds
`numfmt.format`, `numfmt.recipe`, `numfmt.policy` and `numfmt.tensors`
(JSON: the role and format of every output tensor). [`load_quantized`][numfmt.io.load_quantized]
reads such a file back into codes and `numfmt.block.BlockArray`.

The output is written to a temporary file in the destination directory and
renamed at the end: on any error (corrupt input, NaN under `nan="raise"`,
Ctrl-C) no output file is left behind.

Examples
--------
>>> import os, tempfile, numpy as np, numfmt.io
>>> d = tempfile.mkdtemp()
>>> src, dst = os.path.join(d, "model.safetensors"), os.path.join(d, "model.e4m3.safetensors")
>>> numfmt.io.save({"w": np.array([[0.3, -1.0], [2.5, 1000.0]], np.float32)}, src)
>>> rep = numfmt.io.quantize_checkpoint(src, dst, "e4m3", saturation="finite", progress=False)
>>> rep["w"].max_abs, numfmt.io.load_quantized(dst)["w"].tolist()
(552.0, [[42, 184], [66, 126]])
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import math
import os
import struct
from dataclasses import dataclass

import numpy as np

from ._progress import Progress, atomic_write
from .presets import get_format

__all__ = ["quantize_checkpoint", "load_quantized", "save", "read_header", "TensorError", "DTYPES"]

_MAX_HEADER = 100_000_000  # the safetensors limit

# safetensors dtype -> (numpy storage dtype, numfmt format read by bits or None)
DTYPES = {
    "BOOL": (np.dtype(np.bool_), None),
    "U8": (np.dtype(np.uint8), None), "I8": (np.dtype(np.int8), None),
    "U16": (np.dtype(np.uint16), None), "I16": (np.dtype(np.int16), None),
    "U32": (np.dtype(np.uint32), None), "I32": (np.dtype(np.int32), None),
    "U64": (np.dtype(np.uint64), None), "I64": (np.dtype(np.int64), None),
    "F16": (np.dtype(np.float16), None), "F32": (np.dtype(np.float32), None),
    "F64": (np.dtype(np.float64), None),
    "BF16": (np.dtype(np.uint16), "bfloat16"),
    "F8_E4M3": (np.dtype(np.uint8), "float8_e4m3fn"),
    "F8_E4M3FNUZ": (np.dtype(np.uint8), "float8_e4m3fnuz"),
    "F8_E5M2": (np.dtype(np.uint8), "float8_e5m2"),
    "F8_E5M2FNUZ": (np.dtype(np.uint8), "float8_e5m2fnuz"),
    "F8_E8M0": (np.dtype(np.uint8), "float8_e8m0fnu"),
}
_FLOAT_DTYPES = ("F16", "F32", "F64", "BF16", "F8_E4M3", "F8_E4M3FNUZ", "F8_E5M2", "F8_E5M2FNUZ", "F8_E8M0")
# numfmt format -> safetensors dtype holding its codes bit for bit
_NATIVE = {
    "bfloat16": "BF16", "binary16": "F16", "binary32": "F32", "binary64": "F64",
    "float8_e4m3fn": "F8_E4M3", "float8_e4m3fnuz": "F8_E4M3FNUZ", "float8_e5m2": "F8_E5M2",
    "float8_e5m2fnuz": "F8_E5M2FNUZ", "float8_e8m0fnu": "F8_E8M0",
}
_UNSIGNED = {1: "U8", 2: "U16", 4: "U32", 8: "U64"}


# =========================================================================== header


@dataclass(frozen=True)
class _Entry:
    name: str
    dtype: str
    shape: tuple
    begin: int
    end: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def _bad(path, why: str) -> ValueError:
    return ValueError(f"{os.fspath(path)!r} is not a valid safetensors file: {why}")


def read_header(path) -> tuple[dict, list]:
    """(metadata, entries) of a safetensors file, validated against the file size.

    Entries are `(name, dtype, shape, begin, end)` records (offsets relative to
    the data section), in file order.

    Examples
    --------
    >>> import os, tempfile, numpy as np, numfmt.io
    >>> p = os.path.join(tempfile.mkdtemp(), "t.safetensors")
    >>> numfmt.io.save({"a": np.zeros((2, 3), np.float16)}, p, metadata={"k": "v"})
    >>> meta, entries = numfmt.io.read_header(p)
    >>> meta, [(e.name, e.dtype, e.shape) for e in entries]
    ({'k': 'v'}, [('a', 'F16', (2, 3))])
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise _bad(path, f"{size} bytes is too short for the 8-byte header length (truncated file?)")
        (n,) = struct.unpack("<Q", head)
        if n > _MAX_HEADER or 8 + n > size:
            raise _bad(path, f"header length {n} does not fit in a file of {size} bytes (truncated or corrupt)")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _bad(path, f"corrupt JSON header ({e})") from None
    if not isinstance(header, dict):
        raise _bad(path, f"header is a JSON {type(header).__name__}, expected an object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise _bad(path, "__metadata__ must map strings to strings")
    data_size = size - 8 - n
    entries = []
    for name, info in header.items():
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise _bad(path, f"tensor {name!r} needs dtype, shape and data_offsets; got {info!r}")
        dt, shape, offs = info["dtype"], info["shape"], info["data_offsets"]
        if dt not in DTYPES:
            raise ValueError(f"tensor {name!r} in {os.fspath(path)!r} has unsupported dtype {dt!r} "
                             f"(supported: {', '.join(DTYPES)})")
        if not (isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                for d in shape)):
            raise _bad(path, f"tensor {name!r} has an invalid shape {shape!r}")
        if not (isinstance(offs, list) and len(offs) == 2 and all(isinstance(o, int) and o >= 0 for o in offs)
                and offs[0] <= offs[1]):
            raise _bad(path, f"tensor {name!r} has invalid data_offsets {offs!r}")
        nbytes = math.prod(shape) * DTYPES[dt][0].itemsize
        if offs[1] - offs[0] != nbytes:
            raise _bad(path, f"tensor {name!r} of dtype {dt} and shape {shape} needs {nbytes} bytes, "
                             f"data_offsets {offs} give {offs[1] - offs[0]}")
        if offs[1] > data_size:
            raise _bad(path, f"tensor {name!r} ends at byte {offs[1]} of the data but the file holds only "
                             f"{data_size} data bytes (truncated file?)")
        entries.append(_Entry(name, dt, tuple(shape), offs[0], offs[1]))
    entries.sort(key=lambda e: e.begin)
    for prev, e in itertools.pairwise(entries):
        if e.begin < prev.end and e.end > e.begin:
            raise _bad(path, f"tensors {prev.name!r} and {e.name!r} overlap (data_offsets {prev.begin}..{prev.end} "
                             f"and {e.begin}..{e.end})")
    return meta, entries


def _data_start(path) -> int:
    with open(path, "rb") as f:
        return 8 + struct.unpack("<Q", f.read(8))[0]


def _header_bytes(meta: dict, layout: list) -> bytes:
    """JSON header (padded to 8 bytes) for `layout` = [(name, dtype, shape, nbytes)] in data order."""
    header = {"__metadata__": meta} if meta else {}
    pos = 0
    for name, dt, shape, nbytes in layout:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [pos, pos + nbytes]}
        pos += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    return raw


def _order(layout: list) -> list:
    """Largest itemsize first (keeps every tensor aligned, as safetensors does)."""
    return sorted(layout, key=lambda t: -DTYPES[t[1]][0].itemsize)


def save(tensors: dict, path, *, metadata: dict | None = None) -> None:
    """Write numpy arrays to a safetensors file (atomically).

    ml_dtypes arrays of bfloat16/float8 types are stored with their safetensors
    dtype (`BF16`, `F8_E4M3` ...).

    Examples
    --------
    >>> import os, tempfile, numpy as np, numfmt.io
    >>> p = os.path.join(tempfile.mkdtemp(), "t.safetensors")
    >>> numfmt.io.save({"x": np.arange(3, dtype=np.int32)}, p)
    >>> numfmt.io.read_header(p)[1][0].dtype
    'I32'
    """
    layout, arrays = [], {}
    for name, a in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"tensor names must be str, got {name!r}")
        a = np.asarray(a)
        if not a.flags.c_contiguous:
            a = a.copy()  # (np.ascontiguousarray would make 0-d arrays 1-d)
        dname = a.dtype.name
        st = {"bfloat16": "BF16", "float8_e4m3fn": "F8_E4M3", "float8_e4m3fnuz": "F8_E4M3FNUZ",
              "float8_e5m2": "F8_E5M2", "float8_e5m2fnuz": "F8_E5M2FNUZ", "float8_e8m0fnu": "F8_E8M0"}.get(dname)
        if st is None:
            st = next((k for k, (d, f) in DTYPES.items() if f is None and d == a.dtype), None)
        if st is None:
            raise TypeError(f"tensor {name!r} has dtype {a.dtype}, which safetensors cannot store")
        arrays[name] = a
        layout.append((name, st, a.shape, a.nbytes))
    layout = _order(layout)
    raw = _header_bytes(dict(metadata or {}), layout)
    with atomic_write(path) as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        for name, *_ in layout:
            f.write(arrays[name].tobytes())


# =========================================================================== reading


def _read(f, data_start: int, e: _Entry, a: int, b: int) -> np.ndarray:
    """Raw elements a..b of entry `e` in its storage dtype."""
    dt = DTYPES[e.dtype][0]
    buf = np.empty(b - a, dt)
    f.seek(data_start + e.begin + a * dt.itemsize)
    got = f.readinto(memoryview(buf).cast("B")) if buf.nbytes else 0
    if got != buf.nbytes:
        raise ValueError(f"tensor {e.name!r}: the file ended after {got} of {buf.nbytes} bytes (truncated file?)")
    return buf


def _to_float(raw: np.ndarray, dtype: str) -> np.ndarray:
    fmt = DTYPES[dtype][1]
    if fmt is None:
        return raw
    if fmt == "bfloat16":
        return (raw.astype(np.uint32) << np.uint32(16)).view(np.float32)
    from .codec import decode

    return np.asarray(decode(raw, fmt))


# =========================================================================== quantize


@dataclass(frozen=True)
class TensorError:
    """What quantizing one tensor cost.

    Attributes
    ----------
    name, source_dtype, shape :
        The tensor.
    max_abs : float
        Largest `|q - x|` over the finite inputs (inf when a finite input
        became inf or NaN).
    rms : float
        Root mean square of `q - x` over the finite inputs.
    relative : float
        `rms / rms(x)` (0 when both are 0).
    nonfinite : int
        Number of inputs that are inf or NaN (not counted in the errors).
    """

    name: str
    source_dtype: str
    shape: tuple
    max_abs: float
    rms: float
    relative: float
    nonfinite: int

    def __str__(self) -> str:
        return (f"{self.name:<40} {self.source_dtype:>6} {self.max_abs:12.4g} {self.rms:12.4g} "
                f"{self.relative:10.3%}")


class _Stats:
    def __init__(self):
        self.max_abs = 0.0
        self.sq = 0.0
        self.sqx = 0.0
        self.n = 0
        self.nonfinite = 0

    def add(self, x, q, piece: int = 1 << 15):
        """Accumulate the errors of `q` against `x` (in float64, a piece at a time to bound memory)."""
        x = np.asarray(x).reshape(-1)
        q = np.asarray(q).reshape(-1)
        for a in range(0, x.size, piece):
            self._add(x[a:a + piece].astype(np.float64), q[a:a + piece].astype(np.float64))

    def _add(self, x, q):
        fin = np.isfinite(x)
        nf = int(fin.size - np.count_nonzero(fin))
        if nf:
            self.nonfinite += nf
            x, q = x[fin], q[fin]
        with np.errstate(invalid="ignore", over="ignore"):
            d = np.abs(q - x)
        d[np.isnan(d)] = np.inf
        if d.size:
            self.max_abs = max(self.max_abs, float(d.max()))
            with np.errstate(over="ignore", invalid="ignore"):
                self.sq += float(np.einsum("i,i->", d, d))  # (BLAS dot: thread overhead)
                self.sqx += float(np.einsum("i,i->", x, x))
        self.n += d.size

    def result(self, e: _Entry) -> TensorError:
        rms = math.sqrt(self.sq / self.n) if self.n else 0.0
        rx = math.sqrt(self.sqx / self.n) if self.n else 0.0
        rel = rms / rx if rx else (0.0 if rms == 0 else math.inf)
        return TensorError(e.name, e.dtype, e.shape, self.max_abs, rms, rel, self.nonfinite)


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
        from .interop import _preset_name

        nm = _preset_name(f, _NATIVE)
        if nm is not None:
            return _NATIVE[nm]
    return _UNSIGNED[f.code_dtype.itemsize]


def _storage(codes: np.ndarray, st: str) -> bytes:
    """Raw bytes of codes stored as safetensors dtype `st` (same bits, never a value conversion)."""
    return codes.astype(np.dtype(f"u{DTYPES[st][0].itemsize}"), copy=False).tobytes()


class _Plan:
    """Everything decided before writing: what each source tensor becomes."""

    def __init__(self, fmt, options, native):
        from . import block as B

        self.block = B.is_block_format(fmt)
        self.options = dict(options)
        if self.block:
            self.fmt = B.get_block_format(fmt)
            if self.options.get("axis", -1) not in (-1, None):
                raise ValueError(f"quantize_checkpoint blocks along the last axis only; got axis={options['axis']!r}")
            self.options.pop("axis", None)
            ts = self.options.get("tensor_scale")
            if ts not in (None, False) or self.options.get("tensor_amax") is not None:
                raise ValueError("quantize_checkpoint computes a tensor scale per tensor; tensor_scale may only "
                                 "be None or False and tensor_amax is not accepted")
            f = self.fmt
            rule = self.options.get("scale_rule") or f.scale_rule
            recipe = self.options.get("recipe")
            if recipe is None:
                recipe = f.recipe if (rule == "amax") == (f.scale_rule == "amax") else (
                    "te" if rule == "amax" else "ocp")
            self.rule, self.recipe = rule, recipe
            self.two_level = rule == "amax" and ts is None and f.tensor_scale
            self.code_st = _code_dtype_name(f.element, native)
            self.scale_st = _code_dtype_name(f.scale, native)
            self.name = f.name
        else:
            self.fmt = get_format(fmt)
            self.code_st = _code_dtype_name(self.fmt, native)
            self.name = self.fmt.name
        from .interop import _seed_spec

        random = self.options.get("random")
        spec = _seed_spec(random, self.options.get("rbits"), self.options.get("rounding", "nearest_even"))
        if spec == "array":
            raise TypeError("quantize_checkpoint takes random= as an int seed or a numpy Generator, not an array")
        self.rand = spec  # None or (key, nbits)
        if spec is not None:
            self.options["rbits"] = spec[1]
        self.options.pop("random", None)

    def outputs(self, e: _Entry) -> list:
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
        from .interop import _counter_bits

        key, nbits = self.rand
        return _counter_bits(key, np.arange(start, start + n, dtype=np.uint64), nbits)


def _tensor_amax(f, data_start, e, plan, chunk) -> float:
    """The tensor amax exactly as numfmt.block computes it (float32; recipe te ignores NaN)."""
    ignore_nan = plan.recipe == "te"
    g = np.float32(0)
    for a in range(0, e.size, chunk):
        v = _to_float(_read(f, data_start, e, a, min(a + chunk, e.size)), e.dtype)
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
        Input and output files (different paths). `dst` appears only when
        everything succeeded.
    fmt : str or format or BlockFormat
        Element format (`"e4m3"`, `"binary8p3se"` ...) or block format
        (`"mxfp4"`, `"nvfp4"` ...; blocks along the last axis).
    include, exclude : glob pattern(s) or callable, optional
        Tensors to quantize (default: every floating-point tensor) and to leave
        alone; names matched by `fnmatch`. Others are copied unchanged.
    rounding, saturation, nan, random, rbits :
        As in [`numfmt.encode`][numfmt.encode] (block formats: `saturation`/`nan` do not
        apply). `random` is an int seed or a Generator: tensor `t` gets
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
        is not floating point, name clashes; nothing is written.

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
    if os.path.exists(dst) and os.path.exists(src) and os.path.samefile(src, dst):
        raise ValueError(f"dst must differ from src, got {os.fspath(dst)!r} for both")
    if isinstance(chunk_elements, bool) or not isinstance(chunk_elements, int) or chunk_elements < 1:
        raise ValueError(f"chunk_elements must be a positive int, got {chunk_elements!r}")
    inc, exc = _patterns(include, "include"), _patterns(exclude, "exclude")
    options = dict(rounding=rounding, random=random, rbits=rbits)
    from . import block as B

    if B.is_block_format(fmt):
        if saturation != "none" or nan != "raise":
            raise ValueError("saturation= and nan= do not apply to block formats (elements saturate to finite)")
        options.update(block_options)
    else:
        if block_options:
            raise TypeError(f"unexpected keyword(s) {sorted(block_options)} for an element format")
        options.update(saturation=saturation, nan=nan)
    plan = _Plan(fmt, options, native_dtypes)
    # validate the options once, on a tiny input, before touching any file
    _probe(plan)

    meta, entries = read_header(src)
    selected, layout, roles = [], [], {}
    names = {e.name for e in entries}
    for e in entries:
        want = (_matches(e.name, inc) if inc is not None else e.dtype in _FLOAT_DTYPES)
        if want and exc is not None and _matches(e.name, exc):
            want = False
        if want and e.dtype not in _FLOAT_DTYPES:
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
    layout = _order(layout)
    out_meta = {k: v for k, v in meta.items() if not k.startswith("numfmt.")}
    out_meta.update(_metadata(plan, roles))
    raw_header = _header_bytes(out_meta, layout)
    offsets, pos = {}, 8 + len(raw_header)
    for name, _st, _shape, nbytes in layout:
        offsets[name] = pos
        pos += nbytes
    src_start = _data_start(src)
    total = sum(e.end - e.begin for e in entries)
    report = {}
    sel = {e.name for e in selected}
    with open(src, "rb") as fin, atomic_write(dst) as fout, \
            Progress(total, "numfmt quantize", enabled=progress) as bar:
        fout.write(struct.pack("<Q", len(raw_header)) + raw_header)
        fout.truncate(pos)
        for e in entries:
            if e.name not in sel:
                _copy(fin, fout, src_start, e, offsets[e.name], chunk_elements, bar)
                continue
            stats = _Stats()
            if plan.block:
                _quantize_block(fin, fout, src_start, e, plan, offsets, chunk_elements, stats, bar)
            else:
                _quantize_elems(fin, fout, src_start, e, plan, offsets[e.name], chunk_elements, stats, bar)
            report[e.name] = stats.result(e)
    return report


def _metadata(plan, roles) -> dict:
    import numfmt

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
        "numfmt.version": numfmt.__version__,
        "numfmt.format": plan.name,
        "numfmt.recipe": json.dumps(recipe, sort_keys=True),
        "numfmt.policy": json.dumps(policy, sort_keys=True),
        "numfmt.tensors": json.dumps(roles, sort_keys=True),
    }


def _probe(plan) -> None:
    from .codec import encode

    x = np.ones((1, plan.fmt.block_size if plan.block else 1), np.float32)
    rnd = plan.random_for(0, x.size)
    encode(x, plan.fmt, random=None if rnd is None else rnd.reshape(x.shape), **plan.options)


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


def _quantize_elems(fin, fout, src_start, e, plan, dst_off, chunk, stats, bar) -> None:
    from .codec import decode, encode

    itemsize = DTYPES[plan.code_st][0].itemsize
    in_size = DTYPES[e.dtype][0].itemsize
    for a in range(0, e.size, chunk):
        b = min(a + chunk, e.size)
        x = _to_float(_read(fin, src_start, e, a, b), e.dtype)
        rnd = plan.random_for(a, b - a)
        codes = np.atleast_1d(encode(x, plan.fmt, random=rnd, **plan.options))
        fout.seek(dst_off + a * itemsize)
        fout.write(_storage(codes, plan.code_st))
        stats.add(x, decode(codes, plan.fmt))
        bar.update((b - a) * in_size, e.name)


def _quantize_block(fin, fout, src_start, e, plan, offsets, chunk, stats, bar) -> None:
    from . import block as B

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
        x = _to_float(_read(fin, src_start, e, a, b), e.dtype).reshape(r2 - r, n)
        rnd = plan.random_for(a, b - a)
        ba = B.encode(x, f, random=None if rnd is None else rnd.reshape(x.shape), **opts)
        fout.seek(offsets[e.name] + a * csize)
        fout.write(_storage(ba.codes, plan.code_st))
        fout.seek(offsets[e.name + ".scales"] + r * nb * ssize)
        fout.write(_storage(ba.scales, plan.scale_st))
        ts = ba.tensor_scale
        sub = max(1, (1 << 15) // max(n, 1))  # exact float64 decode, a few rows at a time (bounded memory)
        for s0 in range(0, r2 - r, sub):
            part = B.BlockArray(ba.codes[s0:s0 + sub], ba.scales[s0:s0 + sub], f, axis=-1, tensor_scale=ba.tensor_scale)
            stats.add(x[s0:s0 + sub], B.decode(part, dtype=np.float64))
        bar.update((b - a) * in_size, e.name)
    if plan.two_level:
        if ts is None:  # empty tensor: the scale of its amax (0)
            ts = B.encode(np.zeros((1, 1), np.float32), f, **opts).tensor_scale
        fout.seek(offsets[e.name + ".tensor_scale"])
        fout.write(np.float32(ts).tobytes())


# =========================================================================== loading


def load_quantized(path, names=None) -> dict:
    """Read a file written by [`quantize_checkpoint`][numfmt.io.quantize_checkpoint]: codes, BlockArrays and
    copied tensors.

    Quantized tensors come back as code arrays (element formats) or
    `numfmt.block.BlockArray` (block formats); decode them with
    [`numfmt.decode`][numfmt.decode]. Copied tensors come back as stored (bfloat16/float8
    as their codes).

    Examples
    --------
    >>> import os, tempfile, numpy as np, numfmt, numfmt.io
    >>> d = tempfile.mkdtemp()
    >>> src, dst = os.path.join(d, "a.safetensors"), os.path.join(d, "b.safetensors")
    >>> numfmt.io.save({"w": np.float32([[1.0, 2.5, -3.0, 0.1]])}, src)
    >>> _ = numfmt.io.quantize_checkpoint(src, dst, "nvfp4", progress=False)
    >>> numfmt.decode(numfmt.io.load_quantized(dst)["w"]).tolist()
    [[1.0, 2.0, -3.0, 0.0]]
    """
    meta, entries = read_header(path)
    roles = json.loads(meta.get("numfmt.tensors", "{}"))
    recipe = json.loads(meta.get("numfmt.recipe", "{}"))
    by_name = {e.name: e for e in entries}
    start = _data_start(path)
    out = {}
    with open(path, "rb") as f:
        def get(name):
            e = by_name[name]
            return _read(f, start, e, 0, e.size).reshape(e.shape)

        for e in entries:
            info = roles.get(e.name, {"role": "copy"})
            if info["role"] in ("scales", "tensor_scale"):
                continue
            if names is not None and e.name not in names:
                continue
            arr = get(e.name)
            if info["role"] == "codes":
                arr = arr.view(get_format(info["format"]).code_dtype) if arr.dtype.kind != "u" else arr
                if "block_format" in recipe:
                    from .block import BlockArray

                    ts = None
                    if e.name + ".tensor_scale" in by_name:
                        ts = np.float32(get(e.name + ".tensor_scale"))
                    arr = BlockArray(arr, get(e.name + ".scales"), recipe["block_format"], axis=-1,
                                     tensor_scale=ts, scale_rule=recipe.get("scale_rule"),
                                     recipe=recipe.get("recipe"))
            out[e.name] = arr
    return out
