"""mg.save / mg.load: exact round trips, damaged files refused, atomic writes."""
import io
import os
import zipfile

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn


def same(a, b) -> bool:
    """Equal values *and* equal types, dtypes and structure, all the way down."""
    if isinstance(a, dict):
        return (type(b) is dict and list(a) == list(b)
                and all(type(k) is type(j) for k, j in zip(a, b))
                and all(same(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, mg.Tensor):
        return (type(b) is mg.Tensor and a.dtype == b.dtype and a.shape == b.shape
                and a.requires_grad == b.requires_grad
                and np.array_equal(a.numpy(), b.numpy(), equal_nan=True))
    if isinstance(a, (np.ndarray, np.generic)):
        return (type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, float) and np.isnan(a):
        return type(b) is float and np.isnan(b)
    return type(a) is type(b) and a == b


def example():
    rng = np.random.default_rng(0)
    return {
        "G": {"fc.weight": mg.tensor(rng.standard_normal((3, 2))),           # float32
              "fc.bias": mg.tensor(rng.standard_normal(3), dtype=mg.float64,
                                   requires_grad=True)},
        "arrays": {"f32": rng.standard_normal((2, 2)).astype(np.float32),
                   "f64": rng.standard_normal(4), "i64": np.arange(5, dtype=np.int64),
                   "u8": np.arange(250, 256, dtype=np.uint8).reshape(2, 3),
                   "zero_d": np.array(2.5), "empty": np.zeros((0, 3), np.float32),
                   "bools": np.array([True, False]), "text": np.array(["ab", "c"])},
        "scalars": {"int": 7, "big": 2**100, "float": 0.1, "nan": float("nan"),
                    "inf": float("-inf"), "str": "héllo", "empty": "", "true": True,
                    "false": False, "none": None, "np_float32": np.float32(1.5),
                    "np_int64": np.int64(-3)},
        "seq": [1, 2.5, "x", None, (0.5, 0.999), [True]],
        "tuple": (0.9, 0.99),
        7: {"int keys": "stay ints"},
        "empty_dict": {}, "empty_list": [],
    }


def test_nested_round_trip_is_exact(tmp_path):
    obj = example()
    mg.save(obj, tmp_path / "ckpt.npz")
    back = mg.load(tmp_path / "ckpt.npz")
    assert same(obj, back)
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind


def test_the_file_is_an_ordinary_npz_with_dotted_names(tmp_path):
    mg.save(example(), tmp_path / "ckpt.npz")
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as npz:
        assert "G.fc.weight" in npz.files and "arrays.u8" in npz.files
        assert npz["arrays.u8"].dtype == np.uint8


def test_tensors_load_on_the_requested_device(device, tmp_path):
    t = mg.tensor([1.0, 2.0], device=device)
    mg.save({"t": t, "a": np.ones(2)}, tmp_path / "x.npz")
    back = mg.load(tmp_path / "x.npz", device=device)
    assert isinstance(back["t"], mg.Tensor) and back["t"].device == device
    assert type(back["a"]) is np.ndarray  # arrays always come back as numpy arrays
    np.testing.assert_array_equal(back["t"].numpy(), [1.0, 2.0])


def test_a_single_tensor_and_a_plain_npz(tmp_path):
    mg.save(mg.tensor([1.0, 2.0]), tmp_path / "t.npz")
    assert same(mg.load(tmp_path / "t.npz"), mg.tensor([1.0, 2.0]))
    np.savez(tmp_path / "plain.npz", w=np.arange(3), b=np.ones(2))
    plain = mg.load(tmp_path / "plain.npz")
    assert sorted(plain) == ["b", "w"] and plain["w"].dtype == np.arange(3).dtype


def test_what_cannot_be_saved(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(mg.SerializationError, match="'a.b'"):
        mg.save({"a.b": np.ones(1), "a": {"b": np.zeros(1)}}, path)  # same dotted name
    with pytest.raises(mg.SerializationError, match="dtype object"):
        mg.save({"x": np.array([{}, None], dtype=object)}, path)
    with pytest.raises(mg.SerializationError, match="set"):
        mg.save({"x": {1, 2}}, path)
    with pytest.raises(mg.SerializationError, match="keys must be str or int"):
        mg.save({(1, 2): 3}, path)
    assert not path.exists() and os.listdir(tmp_path) == []


# ---------------------------------------------------------------------- damaged files
def _small(tmp_path):
    obj = {"w": np.arange(6, dtype=np.float32).reshape(2, 3),
           "meta": {"step": 3, "betas": (0.5, 0.9), "name": "G"}, "t": mg.tensor([1.0, 2.0])}
    path = tmp_path / "ckpt.npz"
    mg.save(obj, path)
    return obj, path, path.read_bytes()


def test_every_truncation_fails_with_the_file_name(tmp_path):
    _, path, raw = _small(tmp_path)
    for length in range(len(raw)):
        path.write_bytes(raw[:length])
        with pytest.raises(mg.SerializationError, match="ckpt.npz"):
            mg.load(path)


def test_every_flipped_byte_fails_or_changes_nothing(tmp_path):
    """Flip each byte in turn: loading raises SerializationError, or (for bytes nobody
    reads, such as zip timestamps) returns exactly the saved data; never wrong data."""
    obj, path, raw = _small(tmp_path)
    failures = 0
    for i in range(len(raw)):
        damaged = bytearray(raw)
        damaged[i] ^= 0xFF
        path.write_bytes(bytes(damaged))
        try:
            back = mg.load(path)
        except mg.SerializationError as exc:
            assert "ckpt.npz" in str(exc)
            failures += 1
            continue
        assert same(obj, back), f"byte {i} flipped gave different data"
    assert failures > 0.8 * len(raw)


def test_a_flipped_byte_in_the_array_data_is_caught_by_the_crc(tmp_path):
    _, path, raw = _small(tmp_path)
    position = raw.index(np.arange(6, dtype=np.float32).tobytes()) + 5
    damaged = bytearray(raw)
    damaged[position] ^= 0x01
    path.write_bytes(bytes(damaged))
    with pytest.raises(mg.SerializationError, match=r"ckpt\.npz.*(CRC|corrupted)"):
        mg.load(path)


def test_a_pickled_object_array_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, payload=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(mg.SerializationError, match=r"evil\.npz.*pickled object.*payload"):
        mg.load(path)


def test_a_pytorch_file_is_named_as_one(tmp_path):
    """torch.save writes a zip holding a pickle (archive/data.pkl): refused as PyTorch's,
    with the way across (no PyTorch needed to build one)."""
    path = tmp_path / "ckpt.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ckpt/data.pkl", b"\x80\x02}q\x00.")
        zf.writestr("ckpt/version", b"3\n")
    with pytest.raises(mg.SerializationError, match=r"ckpt\.pt' is a PyTorch file .*numpy\.savez"):
        mg.load(path)


def test_not_a_zip_and_a_missing_file(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("hello")
    with pytest.raises(mg.SerializationError, match="notes.npz"):
        mg.load(path)
    with pytest.raises(FileNotFoundError, match="nothing.npz"):
        mg.load(tmp_path / "nothing.npz")


def _npz_with_header(path, name, shape, data: bytes, fortran_order=False, dtype="<f8"):
    """A zip with one .npy entry whose header says `shape` whatever `data` holds."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": dtype, "shape": shape,
                                                  "fortran_order": fortran_order})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(name + ".npy", header.getvalue() + data)   # the header has the magic


def test_a_header_claiming_a_huge_shape_is_refused_before_allocating(tmp_path):
    """728 TiB claimed, 8000 bytes present: a SerializationError naming the file and the
    entry, not a MemoryError from allocating what the header says."""
    path = tmp_path / "huge.npz"
    _npz_with_header(path, "w", (99_999_999_999_999,), np.arange(1000.0).tobytes())
    with pytest.raises(mg.SerializationError, match=r"huge\.npz.*entry 'w'.*8000 bytes"):
        mg.load(path)
    _npz_with_header(path, "w", (1001,), np.arange(1000.0).tobytes())   # one too many
    with pytest.raises(mg.SerializationError, match=r"huge\.npz.*entry 'w'"):
        mg.load(path)


def test_a_damaged_version_3_header_is_refused_before_allocating(tmp_path):
    path = tmp_path / "v3.npz"
    # Version 3: the magic, 3 0, a 4-byte length, a UTF-8 dict padded to 64 bytes
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    text += " " * (-(len(text) + 13) % 64) + "\n"
    header = b"\x93NUMPY\x03\x00" + len(text).to_bytes(4, "little") + text.encode()
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.npy", header + np.arange(2.0).tobytes())
    with pytest.raises(mg.SerializationError, match=r"v3\.npz.*entry 'a'.*16 bytes"):
        mg.load(path)


def test_a_key_that_a_zip_cannot_name_is_refused_and_the_old_file_kept(tmp_path):
    path = tmp_path / "keep.npz"
    mg.save({"w": np.arange(3)}, path)
    for key in ("w\x00", "\ud800"):
        with pytest.raises(mg.SerializationError, match="NUL character or is not valid"):
            mg.save({key: np.zeros(2)}, path)
    np.testing.assert_array_equal(mg.load(path)["w"], np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.npz"]


def test_a_file_name_near_the_length_limit_is_saved(tmp_path):
    # 244 bytes each, within the file system's 255: ASCII, and 3-byte UTF-8 characters
    for name in ("m" * 240 + ".npz", "\u20ac" * 80 + ".npz"):
        path = tmp_path / name
        mg.save({"w": np.arange(3)}, path)
        np.testing.assert_array_equal(mg.load(path)["w"], np.arange(3))


def test_entries_read_in_c_and_fortran_order(tmp_path):
    path = tmp_path / "orders.npz"
    a = np.arange(12, dtype=np.int32).reshape(3, 4)
    _npz_with_header(path, "f", (3, 4), a.T.tobytes(), fortran_order=True, dtype="<i4")
    back = mg.load(path)["f"]
    np.testing.assert_array_equal(back, a)
    back[0, 0] = 7                                  # an ordinary, writable array
    mg.save({"c": a, "f": np.asfortranarray(a), "big": a.astype(">f8")}, path)
    for value in mg.load(path).values():
        np.testing.assert_array_equal(value, a)


def test_loading_or_saving_to_a_directory_says_so(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"is a directory, not a file"):
        mg.load(tmp_path)
    with pytest.raises(IsADirectoryError, match=r"save: cannot write .* it is a directory"):
        mg.save({"w": np.zeros(2)}, tmp_path)
    assert list(tmp_path.iterdir()) == []                  # no .tmp file left behind


# ---------------------------------------------------------------------- atomic writes
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_an_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch, error):
    obj, path, raw = _small(tmp_path)
    real_write, calls = np.lib.format.write_array, []

    def write_then_fail(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # a few entries are already in the temporary file
            fp.write(b"partial")
            raise error
        return real_write(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)
    with pytest.raises(type(error)):
        mg.save({"w": np.zeros(100), "x": np.ones(3), "y": np.ones(4)}, path)
    monkeypatch.undo()
    assert len(calls) == 3
    assert path.read_bytes() == raw
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # the temporary file is gone
    assert same(obj, mg.load(path))


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    mg.save({"step": 1}, path)
    mg.save({"step": 2}, str(path))
    assert mg.load(str(path)) == {"step": 2}


def test_save_writes_through_a_symbolic_link(tmp_path):
    # latest.npz -> run-7.npz: the run's file is updated and the link stays a link
    mg.save({"step": 1}, tmp_path / "run-7.npz")
    os.symlink("run-7.npz", tmp_path / "latest.npz")
    mg.save({"step": 2}, tmp_path / "latest.npz")
    assert os.path.islink(tmp_path / "latest.npz")
    assert mg.load(tmp_path / "run-7.npz") == {"step": 2}
    assert sorted(os.listdir(tmp_path)) == ["latest.npz", "run-7.npz"]


def test_save_into_a_missing_folder_names_the_folder(tmp_path):
    path = tmp_path / "no_such_folder" / "ckpt.npz"
    with pytest.raises(FileNotFoundError, match="the folder .*no_such_folder does not exist"):
        mg.save({"step": 1}, path)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------- checkpoints
def test_optimizer_checkpoint_round_trip(tmp_path):
    params = [mg.tensor(np.ones((2, 3)), requires_grad=True), mg.tensor([0.5], requires_grad=True)]
    opt = mg.optim.Adam([{"params": params[:1], "lr": 4e-4}, {"params": params[1:]}],
                        lr=1e-4, betas=(0.0, 0.9))
    sum((p * p).sum() for p in params).backward()
    opt.step()
    ckpt = {"params": {str(i): p.detach() for i, p in enumerate(params)},
            "optD": opt.state_dict(), "rng": mg.backend.get_rng_state(), "epoch": 3}
    mg.save(ckpt, tmp_path / "ckpt.npz")
    back = mg.load(tmp_path / "ckpt.npz")
    assert same(ckpt, back)
    assert sorted(back["optD"]["state"]) == [0, 1]  # int keys stay ints
    mg.backend.set_rng_state(back["rng"])


def _net(nn):
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def _train(net, opt, steps, device):
    for _ in range(steps):
        x = mg.randn(8, 3, device=device)  # drawn from the seeded generator
        opt.zero_grad()
        (net(x) ** 2).mean().backward()
        opt.step()


def test_module_and_optimizer_checkpoint_resumes_exactly(device, tmp_path):
    """{"G": state_dict, "optG": state_dict, "rng": ...} through mg.save / mg.load: the
    resumed run is bit-identical to the uninterrupted one."""
    mg.manual_seed(1)
    net = _net(nn).to(device)
    opt = mg.optim.Adam(net.parameters(), lr=1e-2, betas=(0.5, 0.999))
    _train(net, opt, 2, device)
    ckpt = {"G": net.state_dict(), "optG": opt.state_dict(),
            "rng": mg.backend.get_rng_state(), "step": 2}
    mg.save(ckpt, tmp_path / "ckpt.npz")
    _train(net, opt, 2, device)  # the uninterrupted run

    back = mg.load(tmp_path / "ckpt.npz", device=device)
    assert list(back["G"]) == list(ckpt["G"]) and back["step"] == 2
    mg.manual_seed(123)  # a different initialisation and generator state
    resumed = _net(nn).to(device)
    resumed.load_state_dict(back["G"])
    opt2 = mg.optim.Adam(resumed.parameters())
    opt2.load_state_dict(back["optG"])
    mg.backend.set_rng_state(back["rng"])
    _train(resumed, opt2, 2, device)
    for (name, a), (_, b) in zip(net.state_dict().items(), resumed.state_dict().items()):
        assert a.dtype == b.dtype and np.array_equal(a.numpy(), b.numpy()), name


def test_a_damaged_checkpoint_leaves_the_module_unchanged(tmp_path):
    net = _net(nn)
    path = tmp_path / "net.npz"
    mg.save({k: v * 0 for k, v in net.state_dict().items()}, path)
    path.write_bytes(path.read_bytes()[:-10])
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    with pytest.raises(mg.SerializationError, match="net.npz"):
        net.load_state_dict(mg.load(path))
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
