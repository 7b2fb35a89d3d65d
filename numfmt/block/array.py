"""[`BlockArray`][numfmt.block.BlockArray]: element codes plus one scale code per block."""

from __future__ import annotations

import numpy as np

from ..packing import pack
from .formats import get_block_format
from .layout import check_shape
from .layout import from_bytes as read_layout
from .layout import to_bytes as write_layout


class BlockArray:
    """Encoded block-scaled data: element codes plus one scale code per block.

    Attributes
    ----------
    codes : ndarray
        Element codes (unpacked), the shape of the encoded array.
    scales : ndarray
        Scale codes: `codes.shape` with `axis` reduced to `ceil(n / block_size)`.
    format : BlockFormat
    axis : int
        The blocked axis (non-negative).
    tensor_scale : numpy.float32 or None
        Second-level decode scale (values are multiplied by it): non-negative and
        exact in float32 (NaN, a negative value or a finite value beyond float32 such
        as 1e40 is a ValueError naming tensor_scale). +inf is accepted: it is what
        `numfmt.encode(x, "nvfp4", recipe="torchao")` gives a tensor holding an
        infinity (torchao's `per_tensor_scale = amax / (448 * 6)`), so such an
        array can be rebuilt from its parts.
    scale_rule, recipe : str
        How the array was encoded (informational).

    Examples
    --------
    >>> import numpy as np, numfmt
    >>> ba = numfmt.encode(np.arange(8, dtype=np.float32), "mxfp4")
    >>> ba.scales.tolist(), ba.codes.tolist()
    ([127], [0, 2, 4, 5, 6, 6, 7, 7])
    >>> numfmt.decode(ba).tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 4.0, 6.0, 6.0]
    """

    __slots__ = ("axis", "codes", "format", "recipe", "scale_rule", "scales", "tensor_scale")

    def __init__(self, codes, scales, fmt, *, axis: int = -1, tensor_scale=None,
                 scale_rule: str | None = None, recipe: str | None = None):
        f = get_block_format(fmt)
        codes = np.asarray(codes)
        scales = np.asarray(scales)
        for name, arr, sub in (("codes", codes, f.element), ("scales", scales, f.scale)):
            if arr.dtype.kind not in "iu":
                raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
            if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= (1 << sub.bits)):
                bad = int(arr.min()) if int(arr.min()) < 0 else int(arr.max())
                raise ValueError(f"{name} contains {bad:#x}, outside the {sub.bits}-bit codes of {sub.name}")
        if codes.ndim == 0:
            raise ValueError("codes must have at least one dimension")
        ax = norm_axis(axis, codes.ndim)
        expect = list(codes.shape)
        expect[ax] = -(-codes.shape[ax] // f.block_size)
        if scales.shape != tuple(expect):
            raise ValueError(f"scales has shape {scales.shape}, expected {tuple(expect)} for codes of shape "
                             f"{codes.shape}, axis={ax} and block_size={f.block_size}")
        self.codes = codes.astype(f.element.code_dtype, copy=False)
        self.scales = scales.astype(f.scale.code_dtype, copy=False)
        self.format = f
        self.axis = ax
        if tensor_scale is not None:
            with np.errstate(over="ignore"):
                ts = np.float32(tensor_scale)
            # NaN, a negative value or a finite value beyond float32 (1e40); +inf is what encode
            # gives a tensor holding an infinity
            if not ts >= 0 or (np.isinf(ts) and np.isfinite(float(tensor_scale))):
                raise ValueError(f"tensor_scale must be a non-negative float32 (not NaN), got {tensor_scale!r}")
            if float(ts) != float(tensor_scale):
                raise ValueError(f"tensor_scale {tensor_scale!r} is not exact in float32")
            tensor_scale = ts
        self.tensor_scale = tensor_scale
        self.scale_rule = scale_rule if scale_rule is not None else f.scale_rule
        self.recipe = recipe if recipe is not None else f.recipe

    @classmethod
    def _trusted(cls, codes, scales, f, axis: int, tensor_scale, scale_rule: str, recipe: str):
        """Construction for encode's own output, without the validation of `__init__`
        (no scan of the codes): the arguments are already checked, shaped and typed."""
        self = object.__new__(cls)
        self.codes = codes.astype(f.element.code_dtype, copy=False)
        self.scales = scales.astype(f.scale.code_dtype, copy=False)
        self.format = f
        self.axis = axis
        self.tensor_scale = None if tensor_scale is None else np.float32(tensor_scale)
        self.scale_rule = scale_rule
        self.recipe = recipe
        return self

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the encoded array."""
        return self.codes.shape

    def pack(self, *, order: str = "low_first") -> np.ndarray:
        """Element codes packed along the flattened array (C order), see [`numfmt.pack`][numfmt.pack].

        Examples
        --------
        >>> import numfmt
        >>> numfmt.encode([1.0, 6.0], "mxfp4").pack().tolist()   # 0x2 low, 0x7 high
        [114]
        """

        return pack(self.codes.reshape(-1), self.format.element.bits, order=order)

    def to_bytes(self) -> np.ndarray:
        """The format's serialized layout (`BlockFormat.layout`) as a uint8 array.

        GGUF formats give exactly llama.cpp's block bytes, shape `(n_blocks, bytes_per_block)`
        (17 for `gguf_mxfp4`, 36 for `gguf_nvfp4`); they need blocks along the last axis and
        a last axis that is a multiple of 32 (64). Other formats give the flat `"planar"`
        layout: scale codes, then the packed element codes (docs/block-formats.md,
        "Serialized layouts"). A tensor scale has no place in either: ValueError.

        Examples
        --------
        >>> import numpy as np, numfmt
        >>> x = np.zeros(32, np.float32); x[0], x[16] = 1.0, -6.0
        >>> numfmt.encode(x, "gguf_mxfp4").to_bytes()[0, :3].tolist()   # E8M0 byte, then nibbles
        [127, 242, 0]
        """
        return write_layout(self)

    @classmethod
    def from_bytes(cls, raw, fmt, shape, *, axis: int = -1) -> BlockArray:
        """Read back the bytes of [`to_bytes`][numfmt.block.BlockArray.to_bytes] (a block format's
        serialized layout) as a `BlockArray` of `shape`.

        Parameters
        ----------
        raw : bytes or uint8 array
            The serialized bytes (any array shape: read in C order).
        fmt : str or BlockFormat
        shape : int or tuple of int
            Shape of the encoded array (GGUF: the tensor's numpy shape).
        axis : int
            The blocked axis (GGUF layouts: the last).

        Examples
        --------
        >>> import numpy as np, numfmt
        >>> ba = numfmt.encode(np.linspace(-3, 3, 64, dtype=np.float32), "gguf_nvfp4")
        >>> back = numfmt.BlockArray.from_bytes(ba.to_bytes(), "gguf_nvfp4", (64,))
        >>> bool((back.codes == ba.codes).all() and (back.scales == ba.scales).all())
        True
        """
        f = get_block_format(fmt)
        shape = check_shape(shape)
        norm_axis(axis, len(shape))
        codes, scales, ax = read_layout(raw, f, shape, axis)
        return cls(codes, scales, f, axis=ax)

    def __repr__(self) -> str:
        ts = "" if self.tensor_scale is None else f", tensor_scale={float(self.tensor_scale)!r}"
        return (f"BlockArray(format={self.format.name!r}, shape={self.shape}, axis={self.axis}, "
                f"scale_rule={self.scale_rule!r}, recipe={self.recipe!r}{ts})")


def norm_axis(axis, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis={axis} is out of range for an array of {ndim} dimension(s)")
    return int(axis) % ndim
