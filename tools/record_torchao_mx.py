"""Record torchao's `to_mx` scales and element codes on edge-case blocks (data/compat/torchao_mx_*.npz).

torchao's main branch has no release after 0.18, so the tests cannot install it; this script runs
torchao's `to_mx` (CPU, eager) from a source checkout and stores its bytes for numfmt's
`recipe="torchao"` test. Usage (torch 2.13 installed; SRC is a torchao checkout, its Python
sources are enough):

    python tools/record_torchao_mx.py SRC COMMIT DATE OUT.npz

The inputs are the edge-case blocks of `tests/test_block_torchao.py` (`edge_data`): random blocks of
every magnitude, all-zero and float32-subnormal blocks, +-inf and NaN blocks, amax near the float32
maximum, planted element ties and amax at the scale rules' boundaries.
"""

from __future__ import annotations

import pathlib
import sys
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main(src: str, commit: str, date: str, dest: str) -> None:
    sys.path.insert(0, src)
    sys.path.insert(1, str(ROOT / "tests"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import torch  # reason: only the recorder needs torch and torchao
        import torchao  # reason: as above
        from torchao.prototype.mx_formats.config import ScaleCalculationMode as Mode  # reason: as above
        from torchao.prototype.mx_formats.constants import DTYPE_FP6_E2M3, DTYPE_FP6_E3M2  # reason: as above
        from torchao.prototype.mx_formats.kernels import unpack_uint4  # reason: as above
        from torchao.prototype.mx_formats.mx_tensor import to_mx  # reason: as above
    from test_block_torchao import edge_data  # reason: the test's inputs, shared

    assert pathlib.Path(torchao.__file__).resolve().is_relative_to(pathlib.Path(src).resolve()), torchao.__file__
    elems = {"mxfp8_e4m3": torch.float8_e4m3fn, "mxfp8_e5m2": torch.float8_e5m2,
             "mxfp6_e2m3": DTYPE_FP6_E2M3, "mxfp6_e3m2": DTYPE_FP6_E3M2, "mxfp4": torch.float4_e2m1fn_x2}
    modes = {"floor": Mode.FLOOR, "ceil": Mode.CEIL, "even": Mode.EVEN, "rceil": Mode.RCEIL}
    x = edge_data()
    out = {"x": x, "source": np.array([f"pytorch/ao commit {commit} ({date}), torch {torch.__version__}"])}
    for name, dt in elems.items():
        for rule, mode in modes.items():
            s, d = to_mx(torch.from_numpy(x), dt, 32, mode)
            s = s.view(torch.uint8).numpy()
            d = unpack_uint4(d.view(torch.uint8)) if name == "mxfp4" else d.view(torch.uint8)
            out[f"{name}.{rule}.scales"] = s.reshape(x.shape[0], -1)
            out[f"{name}.{rule}.codes"] = d.numpy().reshape(x.shape)
    np.savez_compressed(dest, **out)
    print(dest, out["source"][0])


if __name__ == "__main__":
    main(*sys.argv[1:5])
