"""Record ml_dtypes' codes on the compat tests' inputs, compactly (data/compat/ml_dtypes_0.6.npz).

Two steps, one per installed ml_dtypes version (one environment each):

    python tools/record_ml_dtypes_vectors.py codes DIR       # writes DIR/<version>/<type>.<set>.npy
    python tools/record_ml_dtypes_vectors.py combine DIR OLD NEW OUT.npz

`combine` stores, for every type and input set, the SHA-256 of OLD's code array, the number of
inputs where OLD and NEW differ and the first `KEEP` of them with both codes, so a test can check numfmt's
`compat="ml_dtypes==OLD"` profile on the whole sample without OLD installed.
"""

from __future__ import annotations

import hashlib
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from ml_dtypes_inputs import FLOATS, INTS, input_sets, ref_codes  # noqa: E402

KEEP = 1024  # differing inputs stored per type and input set


def codes(out: pathlib.Path) -> None:
    import ml_dtypes  # reason: the oracle is only needed when recording

    d = out / ml_dtypes.__version__
    d.mkdir(parents=True, exist_ok=True)
    for name in FLOATS + INTS:
        for key, x in input_sets(name).items():
            np.save(d / f"{name}.{key}.npy", ref_codes(x, name))
    print(d)


def combine(out: pathlib.Path, old: str, new: str, dest: pathlib.Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    for name in FLOATS + INTS:
        for key, x in input_sets(name).items():
            a = np.load(out / old / f"{name}.{key}.npy")
            b = np.load(out / new / f"{name}.{key}.npy")
            diff = np.flatnonzero(a != b)
            p = f"{name}.{key}"
            arrays[p + ".ndiff"] = np.array(diff.size, np.int64)
            diff = diff[:KEEP]
            arrays[p + ".sha256"] = np.frombuffer(hashlib.sha256(a.tobytes()).digest(), np.uint8)
            arrays[p + ".n"] = np.array(x.size, np.int64)
            arrays[p + ".x"] = x[diff]
            arrays[p + ".old"] = a[diff]
            arrays[p + ".new"] = b[diff]
            print(f"{p}: {x.size} inputs, {int(arrays[p + '.ndiff'])} differ between {old} and {new}")
    arrays["versions"] = np.array([old, new])
    dest.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(dest, **arrays)


if __name__ == "__main__":
    if sys.argv[1] == "codes":
        codes(pathlib.Path(sys.argv[2]))
    else:
        combine(pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4], pathlib.Path(sys.argv[5]))
