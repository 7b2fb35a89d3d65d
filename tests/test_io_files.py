"""numfmt.io and the file system: special files, destinations, atomic output, signals, strict headers."""

from __future__ import annotations

import json
import os
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import numfmt.io as nio
from numfmt.io import checkpoint, files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")


def _src(tmp_path, name="src.safetensors", tensors=None):
    p = tmp_path / name
    nio.save(tensors if tensors is not None else {"w": np.linspace(-2, 2, 96, dtype=np.float32).reshape(3, 32)}, p)
    return p


def _corrupt(tmp_path):
    p = tmp_path / "corrupt.safetensors"
    p.write_bytes(b"\xff" * 16)
    return p


def _with_header(tmp_path, header: bytes, data=b"", name="bad.safetensors"):
    p = tmp_path / name
    p.write_bytes(struct.pack("<Q", len(header)) + header + data)
    return p


def _q(src, dst, **kw):
    kw.setdefault("progress", False)
    return nio.quantize_checkpoint(src, dst, "e4m3", saturation="finite", **kw)


# ------------------------------------------------------------------ item 1: dst that is not a regular file

@needs_fifo
def test_fifo_dst_is_refused_before_reading_and_kept(tmp_path):
    dst = tmp_path / "fifo"
    os.mkfifo(dst)
    # the source is corrupt: the error is about dst, so dst was checked before src was read
    with pytest.raises(ValueError, match=r"dst .*fifo.* not a regular file"):
        _q(_corrupt(tmp_path), dst)
    with pytest.raises(ValueError, match="not a regular file"):
        _q(_src(tmp_path), dst)
    with pytest.raises(ValueError, match=r"path .*fifo.* not a regular file"):
        nio.save({"a": np.zeros(2, np.float32)}, dst)
    assert stat.S_ISFIFO(os.stat(dst).st_mode)
    assert files.temp_files(dst) == []


@pytest.mark.parametrize("make", ["empty", "directory", "trailing_sep", "missing_dir"])
def test_bad_dst_fails_before_reading(tmp_path, make):
    bad = {"empty": "", "directory": str(tmp_path), "trailing_sep": str(tmp_path / "new") + os.sep,
           "missing_dir": str(tmp_path / "nope" / "o.safetensors")}[make]
    err = OSError if make == "missing_dir" else ValueError
    with pytest.raises(err, match="dst"):
        _q(_corrupt(tmp_path), bad)
    with pytest.raises(err, match="path"):
        nio.save({"a": np.zeros(2, np.float32)}, bad)
    assert sorted(os.listdir(tmp_path)) == ["corrupt.safetensors"]


def test_read_only_directory_fails_before_reading(tmp_path, monkeypatch):
    """A directory the process may not write to (permissions do not bind root, so `os.access` says it)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if os.fspath(path) == os.fspath(ro)
                        else real(path, mode, **kw))
    with pytest.raises(PermissionError, match="not writable"):
        _q(_corrupt(tmp_path), ro / "o.safetensors")


def test_dst_type_is_checked():
    with pytest.raises(TypeError, match="dst"):
        nio.quantize_checkpoint("a.safetensors", 3, "e4m3", progress=False)


# ------------------------------------------------------------------ item 8: a FIFO as source never blocks

@needs_fifo
def test_fifo_src_is_refused_without_opening(tmp_path):
    fifo = tmp_path / "src.fifo"
    os.mkfifo(fifo)

    def unblock():  # if the FIFO were opened for reading, this writer would release it (bounded test)
        time.sleep(5)
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO when no reader waits
        except OSError:
            return
        os.close(fd)

    t = threading.Thread(target=unblock, daemon=True)
    t0 = time.monotonic()
    t.start()
    with pytest.raises(ValueError, match="not a regular file"):
        _q(fifo, tmp_path / "o.safetensors")
    with pytest.raises(ValueError, match="not a regular file"):
        nio.read_header(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        nio.load_quantized(fifo)
    assert time.monotonic() - t0 < 4
    t.join(10)
    with pytest.raises(FileNotFoundError, match="src"):
        _q(tmp_path / "missing.safetensors", tmp_path / "o.safetensors")


# ------------------------------------------------------------------ atomic output: name, umask, stale files

def test_output_mode_follows_umask(tmp_path):
    src = _src(tmp_path)
    for umask, mode in [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)]:
        old = os.umask(umask)
        try:
            dst = tmp_path / f"o{umask:o}.safetensors"
            _q(src, dst)
            nio.save({"a": np.zeros(2, np.float32)}, tmp_path / f"s{umask:o}.safetensors")
        finally:
            os.umask(old)
        assert stat.S_IMODE(os.stat(dst).st_mode) == mode
        assert stat.S_IMODE(os.stat(tmp_path / f"s{umask:o}.safetensors").st_mode) == mode


def test_temp_file_is_recognisable_and_in_dst_directory(tmp_path, monkeypatch):
    src = _src(tmp_path)
    dst = tmp_path / "o.safetensors"
    seen = []
    real = checkpoint.quantize_elems

    def spy(*a, **k):
        seen.extend(os.listdir(tmp_path))
        return real(*a, **k)

    monkeypatch.setattr(checkpoint, "quantize_elems", spy)
    _q(src, dst)
    assert f".o.safetensors.numfmt-tmp-{os.getpid()}-{threading.get_ident()}" in seen
    assert sorted(os.listdir(tmp_path)) == ["o.safetensors", "src.safetensors"]


def test_only_numfmt_temp_names_are_removed(tmp_path):
    """A user file that merely starts like a temp name is kept; a leftover with this process's own pid
    (a reused pid, e.g. PID 1 in a container) that this process is not writing is removed."""
    dst = tmp_path / "w.safetensors"
    mine = tmp_path / ".w.safetensors.numfmt-tmp-notes.txt"
    mine.write_text("keep")
    reused = tmp_path / f".w.safetensors.numfmt-tmp-{os.getpid()}-1"
    reused.write_bytes(b"x" * 16)
    nio.save({"a": np.zeros(4, np.float32)}, dst)
    assert mine.read_text() == "keep"
    assert not reused.exists()


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait(30)
    return p.pid


def test_stale_temp_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    src = _src(tmp_path)
    dst = tmp_path / "o.safetensors"
    dst.write_bytes(b"old")
    stale = tmp_path / f".o.safetensors.numfmt-tmp-{_dead_pid()}"
    stale.write_bytes(b"\0" * 1000)
    live = tmp_path / ".o.safetensors.numfmt-tmp-1"  # pid 1 is alive: its writer may still be working
    live.write_bytes(b"x")
    other = tmp_path / f".other.safetensors.numfmt-tmp-{_dead_pid()}"  # another dst's: not ours to remove
    other.write_bytes(b"y")
    _q(src, dst)
    assert not stale.exists() and live.exists() and other.exists()
    assert nio.load_quantized(dst)["w"].shape == (3, 32)
    stale.write_bytes(b"\0")
    nio.save({"a": np.zeros(2, np.float32)}, dst)
    assert not stale.exists()


def test_sigint_in_process_removes_temp_and_restores_handlers(tmp_path, monkeypatch):
    src = _src(tmp_path)
    dst = tmp_path / "o.safetensors"
    dst.write_bytes(b"old")
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    real = checkpoint.quantize_elems

    def interrupt(*a, **k):
        real(*a, **k)
        assert files.temp_files(dst)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)  # the handler runs here

    monkeypatch.setattr(checkpoint, "quantize_elems", interrupt)
    with pytest.raises(KeyboardInterrupt):
        _q(src, dst)
    assert dst.read_bytes() == b"old" and files.temp_files(dst) == []
    assert {s: signal.getsignal(s) for s in before} == before


_WRITER = textwrap.dedent("""
    import sys
    import numfmt.io as nio
    print("ready", flush=True)
    nio.quantize_checkpoint(sys.argv[1], sys.argv[2], "e4m3", saturation="finite", chunk_elements=1024,
                            progress=False)
    print("finished", flush=True)
""")


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("sig,old", [(signal.SIGTERM, True), (signal.SIGTERM, False), (signal.SIGINT, True)])
def test_signal_during_quantize_checkpoint_leaves_old_or_nothing(tmp_path, sig, old):
    src = tmp_path / "big.safetensors"
    n = 1 << 22  # 16 MiB of float32 in 4096 chunks: seconds of work
    nio.save({"w": np.resize(np.float32([0.5, -1.25, 3.0, 7.5]), n)}, src)
    dst = tmp_path / "out.safetensors"
    if old:
        dst.write_bytes(b"old")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen([sys.executable, "-c", _WRITER, str(src), str(dst)], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not files.temp_files(dst):  # the write has started
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline, "the writer never started"
            time.sleep(0.005)
        p.send_signal(sig)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "finished" not in out, "the write ended before the signal: make the source larger"
    assert p.returncode != 0
    if sig == signal.SIGTERM:
        assert p.returncode == -signal.SIGTERM
    else:
        assert "KeyboardInterrupt" in err
    assert files.temp_files(dst) == []
    assert sorted(os.listdir(tmp_path)) == sorted(["big.safetensors"] + (["out.safetensors"] if old else []))
    if old:
        assert dst.read_bytes() == b"old"


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("old", [True, False])
def test_sigkill_during_quantize_checkpoint_then_next_write_cleans_up(tmp_path, old):
    """kill -9 mid-write (no handler can run): dst is the old file or absent, the killed writer's
    temp file is the only other new file and is recognisable; the next write to dst removes it and
    leaves only the new dst."""
    src = tmp_path / "big.safetensors"
    n = 1 << 22  # 16 MiB of float32 in 4096 chunks: seconds of work
    nio.save({"w": np.resize(np.float32([0.5, -1.25, 3.0, 7.5]), n)}, src)
    dst = tmp_path / "out.safetensors"
    if old:
        dst.write_bytes(b"old")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen([sys.executable, "-c", _WRITER, str(src), str(dst)], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not files.temp_files(dst):  # the write has started
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline, "the writer never started"
            time.sleep(0.005)
        time.sleep(0.05)  # mid-write: some chunks are out
        p.send_signal(signal.SIGKILL)
        out, _ = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "finished" not in out, "the write ended before the signal: make the source larger"
    assert p.returncode == -signal.SIGKILL
    left = files.temp_files(dst)
    assert len(left) == 1 and os.path.basename(left[0]).startswith(f".out.safetensors{files.TMP_TAG}{p.pid}-")
    new = sorted(set(os.listdir(tmp_path)) - {"big.safetensors", "out.safetensors"})
    assert new == [os.path.basename(left[0])]  # nothing else was created
    if old:
        assert dst.read_bytes() == b"old"
    else:
        assert not dst.exists()
    _q(src, dst, chunk_elements=1 << 20)  # the next write to dst
    assert files.temp_files(dst) == []
    assert sorted(os.listdir(tmp_path)) == ["big.safetensors", "out.safetensors"]
    assert nio.load_quantized(dst)["w"].shape == (n,)


def test_signal_handlers_untouched_outside_the_main_thread(tmp_path):
    src, dst = _src(tmp_path), tmp_path / "o.safetensors"
    errors = []

    def work():
        try:
            _q(src, dst)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=work)
    t.start()
    t.join(60)
    assert not errors and nio.read_header(dst)[1][0].name == "w"


# ------------------------------------------------------------------ item 8: headers as strict as safetensors

@pytest.mark.parametrize("header,data,match", [
    # an overlap hidden behind an empty tensor: a[0,16], e[4,4], b[8,16]
    (b'{"a": {"dtype": "U8", "shape": [16], "data_offsets": [0, 16]}, '
     b'"e": {"dtype": "U8", "shape": [0], "data_offsets": [4, 4]}, '
     b'"b": {"dtype": "U8", "shape": [8], "data_offsets": [8, 16]}}', 16, "overlaps"),
    (b'{"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, '
     b'"b": {"dtype": "U8", "shape": [4], "data_offsets": [8, 12]}}', 12, "gap"),
    (b'{"a": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}}', 8, "gap"),
    (b'{"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, '
     b'"a": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}}', 8, "duplicate key 'a'"),
    (b'{"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4], "dtype": "I8"}}', 4, "duplicate key 'dtype'"),
    (b'{"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}', 6, "trailing bytes"),
    (b'{"a": {"dtype": "F16", "shape": [4], "data_offsets": [0, 4]}}', 4, "needs 8 bytes"),
    (b'{"__metadata__": [], "a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}', 1, "strings to strings"),
])
def test_headers_validated_like_safetensors(tmp_path, header, data, match):
    p = _with_header(tmp_path, header, b"\0" * data)
    with pytest.raises(ValueError, match=match):
        nio.read_header(p)
    with pytest.raises(ValueError, match=match):
        _q(p, tmp_path / "o.safetensors")
    assert sorted(os.listdir(tmp_path)) == ["bad.safetensors"]


def test_contiguous_header_in_any_key_order_is_accepted(tmp_path):
    p = _with_header(tmp_path, b'{"b": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6]}, '
                               b'"e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [4, 4]}, '
                               b'"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', b"\0" * 6)
    assert [e.name for e in nio.read_header(p)[1]] == ["a", "e", "b"]


def test_save_refuses_metadata_it_could_not_read_back(tmp_path):
    p = tmp_path / "t.safetensors"
    with pytest.raises(ValueError, match="__metadata__"):
        nio.save({"__metadata__": np.zeros(2, np.float32)}, p)
    with pytest.raises(TypeError, match="metadata"):
        nio.save({"a": np.zeros(2, np.float32)}, p, metadata={"k": 1})
    with pytest.raises(TypeError, match="metadata"):
        nio.save({"a": np.zeros(2, np.float32)}, p, metadata=[("k", "v")])
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------ item 8: errors name file, tensor, element

def _quantized_with_meta(tmp_path, **meta):
    src = _src(tmp_path)
    dst = tmp_path / "q.safetensors"
    nio.quantize_checkpoint(src, dst, "mxfp4", progress=False)
    m, entries = nio.read_header(dst)
    m.update(meta)
    with open(dst, "rb") as f:
        raw = f.read()
    start = 8 + struct.unpack("<Q", raw[:8])[0]
    tensors = {}
    for e in entries:
        dt = nio.DTYPES[e.dtype][0]
        tensors[e.name] = np.frombuffer(raw[start + e.begin:start + e.end], dt).reshape(e.shape)
    out = tmp_path / "edited.safetensors"
    nio.save(tensors, out, metadata={k: v for k, v in m.items() if v is not None})
    return out


@pytest.mark.parametrize("meta,match", [
    ({"numfmt.tensors": "{not json"}, r"'numfmt.tensors' is not valid JSON"),
    ({"numfmt.recipe": "[1]"}, r"'numfmt.recipe' must be a JSON object"),
    ({"numfmt.tensors": json.dumps({"w": {"role": "codes"}})}, r"tensor 'w'.*KeyError"),
    ({"numfmt.tensors": json.dumps({"w": {"role": "codes", "format": "e9m9"}})}, r"tensor 'w'"),
    ({"numfmt.tensors": json.dumps({"w": {"role": "weights"}})}, r"tensor 'w'.*unknown role"),
    ({"numfmt.tensors": json.dumps({"w.scales": {"role": "codes", "format": "float8_e8m0fnu"}})},
     r"tensor 'w.scales'.*'w.scales.scales' is missing"),
    ({"numfmt.recipe": json.dumps({"block_format": "nope"})}, r"tensor 'w'"),
])
def test_load_quantized_with_inconsistent_metadata_is_a_value_error(tmp_path, meta, match):
    p = _quantized_with_meta(tmp_path, **meta)
    with pytest.raises(ValueError, match=match) as info:
        nio.load_quantized(p)
    assert "edited.safetensors" in str(info.value)


def test_nan_error_names_file_tensor_and_element(tmp_path):
    x = np.ones((3, 100), np.float32)
    x[2, 50] = np.nan
    src = _src(tmp_path, "m.safetensors", {"first": np.ones(7, np.float32), "layer.w": x})
    with pytest.raises(ValueError, match=r"tensor 'layer.w' in .*m\.safetensors.* element \(2, 50\) "
                                         r"\(flat index 250\)"):
        nio.quantize_checkpoint(src, tmp_path / "o.safetensors", "e2m1", chunk_elements=64, progress=False)
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]
