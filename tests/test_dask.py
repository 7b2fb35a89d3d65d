"""numfmt.daskarray: lazy, chunking-invariant, bit-identical to the numpy path."""

from __future__ import annotations

import numpy as np
import pytest

import numfmt

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
nda = pytest.importorskip("numfmt.daskarray")

RNG = np.random.default_rng(99)
X = (RNG.standard_normal((45, 70)) * 2.0 ** RNG.integers(-6, 6, (45, 70))).astype(np.float32)
X[3, 4] = np.inf
CHUNKINGS = [(45, 70), (7, 9), (1, 70), (45, 1), (16, 32)]


class _Counter(dask.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.tasks = 0

    def _pretask(self, key, dsk, state):
        self.tasks += 1


def _threads(*objs):
    return dask.compute(*objs, scheduler="threads")


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("fmt,kw", [
    ("e4m3", {"saturation": "finite"}),
    ("binary8p3se", {"rounding": "stochastic", "random": 17}),
    ("e2m1", {"rounding": "stochastic_b", "random": 5, "rbits": 7, "saturation": "finite"}),
    ("e5m2", {"rounding": "to_odd"}),
])
def test_element_formats_match_numpy_for_every_chunking(chunks, fmt, kw):
    x = da.from_array(X, chunks=chunks)
    c = nda.encode(x, fmt, **kw)
    q = nda.quantize(x, fmt, **kw)
    ref_c = numfmt.encode(X, fmt, **kw)
    ref_q = numfmt.quantize(X, fmt, **kw)
    got_c, got_q, got_d = _threads(c, q, nda.decode(c, fmt))
    assert got_c.dtype == ref_c.dtype and c.dtype == ref_c.dtype
    np.testing.assert_array_equal(got_c, ref_c)
    np.testing.assert_array_equal(got_q, ref_q)
    assert q.dtype == ref_q.dtype == got_q.dtype
    np.testing.assert_array_equal(got_d, numfmt.decode(ref_c, fmt))


def test_generator_and_explicit_bits():
    x = da.from_array(X, chunks=(10, 10))
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    np.testing.assert_array_equal(nda.encode(x, "e4m3", rounding="sr", random=g1).compute(),
                                  numfmt.encode(X, "e4m3", rounding="sr", random=g2))
    bits = RNG.integers(0, 1 << 12, X.shape, dtype=np.uint32)
    ref = numfmt.encode(X, "e4m3", rounding="sr", random=bits, rbits=12)
    np.testing.assert_array_equal(nda.encode(x, "e4m3", rounding="sr", random=bits, rbits=12).compute(), ref)
    dbits = da.from_array(bits, chunks=(45, 7))  # chunked differently from x: rechunked to match
    np.testing.assert_array_equal(nda.encode(x, "e4m3", rounding="sr", random=dbits, rbits=12).compute(), ref)
    row = bits[0]  # broadcast
    np.testing.assert_array_equal(nda.encode(x, "e4m3", rounding="sr", random=row, rbits=12).compute(),
                                  numfmt.encode(X, "e4m3", rounding="sr", random=row, rbits=12))


def test_3d_and_0d_arrays():
    x3 = RNG.standard_normal((6, 7, 8)).astype(np.float64)
    for chunks in ((6, 7, 8), (2, 3, 5), (1, 7, 1)):
        got = nda.encode(da.from_array(x3, chunks=chunks), "binary8p4sf", rounding="sr", random=2).compute()
        np.testing.assert_array_equal(got, numfmt.encode(x3, "binary8p4sf", rounding="sr", random=2))
    x0 = da.from_array(np.float32(1.3))
    assert nda.encode(x0, "e4m3", rounding="sr", random=1).compute() == numfmt.encode(np.float32(1.3), "e4m3",
                                                                                     rounding="sr", random=1)


def test_nothing_computes_before_compute():
    counter = _Counter()
    x = da.from_array(X, chunks=(9, 10))
    with counter:
        c = nda.encode(x, "e4m3", rounding="sr", random=1)
        d = nda.decode(c, "e4m3")
        q = nda.quantize(x, "e2m1", saturation="finite")
        b = nda.encode(x, "nvfp4", rechunk=True)
        bd = nda.decode(b)
        bq = nda.quantize(x, "mxfp4", rechunk=True)
    assert counter.tasks == 0
    with counter:
        _threads(d, q, bd, bq)
    assert counter.tasks > 0


def test_errors_surface_lazily_or_eagerly():
    x = da.from_array(np.array([1.0, np.nan], np.float32), chunks=1)
    c = nda.encode(x, "e2m1")  # data-dependent: raised at compute time
    with pytest.raises(ValueError, match="NaN"):
        c.compute()
    with pytest.raises(ValueError, match="rounding"):
        nda.encode(x, "e4m3", rounding="upward")
    with pytest.raises(ValueError, match="needs random"):
        nda.encode(x, "e4m3", rounding="sr")
    with pytest.raises(ValueError, match="unknown format"):
        nda.encode(x, "e9m9")
    with pytest.raises(TypeError, match="integer dtype"):
        nda.decode(x, "e4m3")
    with pytest.raises(TypeError, match="block formats"):
        nda.encode(x, "e4m3", axis=0)
    with pytest.raises(ValueError, match="does not broadcast"):
        nda.encode(x, "e4m3", rounding="sr", random=np.zeros(3, np.uint32))


# ------------------------------------------------------------------ block formats


@pytest.mark.parametrize("fmt,kw", [
    ("mxfp4", {}),
    ("mxfp8_e4m3", {"scale_rule": "rceil", "rounding": "stochastic", "random": 8}),
    ("nvfp4", {}),
    ("nvfp4", {"recipe": "torchao", "rounding": "stochastic", "random": 2}),
    ("nvfp4", {"recipe": "modelopt", "tensor_scale": False}),
    ("mxfp4", {"axis": 0}),
])
@pytest.mark.parametrize("chunks", [(45, 70), (5, 32), (32, 64)])
def test_block_formats_match_numpy(fmt, kw, chunks):
    x = da.from_array(X, chunks=chunks)
    kw = dict(kw)
    axis = kw.get("axis", -1)
    bs = numfmt.block.get_block_format(fmt).block_size
    aligned = all(c % bs == 0 for c in x.chunks[axis][:-1])
    if not aligned:
        with pytest.raises(ValueError, match="multiple of block_size"):
            nda.encode(x, fmt, **kw)
        kw["rechunk"] = True
    b = nda.encode(x, fmt, **kw)
    kw.pop("rechunk", None)
    ref = numfmt.encode(X, fmt, **kw)
    got = b.compute(scheduler="threads")
    np.testing.assert_array_equal(got.codes, ref.codes)
    np.testing.assert_array_equal(got.scales, ref.scales)
    assert got.axis == ref.axis
    if ref.tensor_scale is None:
        assert got.tensor_scale is None
    else:
        assert got.tensor_scale.tobytes() == ref.tensor_scale.tobytes()
    vals, q = _threads(nda.decode(b), nda.quantize(x, fmt, rechunk=True, **kw))
    np.testing.assert_array_equal(vals, numfmt.decode(ref))
    np.testing.assert_array_equal(q, numfmt.quantize(X, fmt, **kw))


def test_block_rechunk_message():
    x = da.from_array(X, chunks=(45, 20))
    with pytest.raises(ValueError, match=r"chunks along axis 1 are \(20, 20, 20, 10\).*rechunk=True"):
        nda.encode(x, "mxfp4")
    with pytest.raises(ValueError, match="at least one dimension"):
        nda.encode(da.from_array(np.float32(1.0)), "mxfp4")


# ------------------------------------------------------------------ distributed


@pytest.mark.slow
def test_distributed_local_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) \
            as cluster, distributed.Client(cluster) as client:
        x = da.from_array(X, chunks=(10, 32))
        c = nda.encode(x, "binary8p3se", rounding="sr", random=4)
        got = client.compute(c).result()
        np.testing.assert_array_equal(got, numfmt.encode(X, "binary8p3se", rounding="sr", random=4))
        b = nda.encode(x, "nvfp4", rounding="sr", random=6)
        ref = numfmt.encode(X, "nvfp4", rounding="sr", random=6)
        codes, scales, ts = client.compute([b.codes, b.scales, b.tensor_scale], sync=True)
        np.testing.assert_array_equal(codes, ref.codes)
        np.testing.assert_array_equal(scales, ref.scales)
        assert np.float32(ts).tobytes() == ref.tensor_scale.tobytes()


def test_nvfp4_nan_tensor_scale_round_trips():
    """A NaN tensor amax gives a NaN tensor scale (as numpy encode does), although a caller may not
    pass tensor_scale=nan to BlockArray."""
    x = np.ones((2, 32), np.float32)
    x[0, 3] = np.nan
    want = numfmt.encode(x, "nvfp4", recipe="torchao")
    got = numfmt.encode(da.from_array(x, chunks=(1, 32)), "nvfp4", recipe="torchao").compute()
    assert np.isnan(want.tensor_scale) and np.isnan(got.tensor_scale)
    assert np.array_equal(got.codes, want.codes) and np.array_equal(got.scales, want.scales)
    assert np.isnan(nda.decode(nda.encode(da.from_array(x, chunks=(1, 32)), "nvfp4", recipe="torchao"))
                    .compute()).all()
