"""Tests for gans.data: the IDX reader, the MNIST sources and the batch iterator.

No test touches the network: an autouse fixture replaces the downloader with one that
fails (and counts its calls), and every test points the cache at a temporary folder.
"""
import gzip
import hashlib
import shutil
import struct

import numpy as np
import pytest

import gans.data as data

SHIPPED_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
IMAGES = data.SHIPPED_DIR / "images-idx3-ubyte.gz"
LABELS = data.SHIPPED_DIR / "labels-idx1-ubyte.gz"


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No network, an empty cache, and a fresh 'printed once' memory for every test."""
    calls = []

    def fail(url, timeout):
        calls.append(url)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(data, "_fetch", fail)
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "_ANNOUNCED", set())
    return calls


def idx_bytes(array, code=0x08):
    """Encode an array as an IDX file (big-endian header and data)."""
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=dtype[code]).tobytes()


def write_split(folder, prefix, n, seed, gz, images_name="images-idx3-ubyte"):
    """Write a small synthetic {prefix}-images/labels pair; return the arrays."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    names = (f"{prefix}-{images_name}", f"{prefix}-labels-idx1-ubyte")
    for name, array in zip(names, (images, labels)):
        body = idx_bytes(array)
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(body))
        else:
            (folder / name).write_bytes(body)
    return images, labels


# ------------------------------------------------------------------------------ read_idx

def test_read_shipped_files():
    images, labels = data.read_idx(IMAGES), data.read_idx(LABELS)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == SHIPPED_COUNTS
    assert images.max() == 255 and images.min() == 0
    images[0, 0, 0] = 1  # a writable copy, not a view of a read-only buffer


def test_shipped_files_are_the_documented_ones():
    readme = (data.SHIPPED_DIR / "README.md").read_text()
    assert "CC BY-SA 3.0" in readme and "LeCun" in readme
    for path in (IMAGES, LABELS):
        assert hashlib.sha256(path.read_bytes()).hexdigest() in readme


@pytest.mark.parametrize("code", [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E])
@pytest.mark.parametrize("gz", [False, True])
def test_read_every_idx_dtype(tmp_path, code, gz):
    array = np.arange(-12, 12).reshape(2, 3, 4)
    if code == 0x08:
        array = array + 12
    body = idx_bytes(array, code)
    path = tmp_path / "x.bin"  # no telling extension: gzip is detected by its magic bytes
    path.write_bytes(gzip.compress(body) if gz else body)
    out = data.read_idx(path)
    assert out.shape == (2, 3, 4) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


def test_truncated_gzip_names_the_file(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte.gz"
    body = IMAGES.read_bytes()
    bad.write_bytes(body[: len(body) // 2])
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz.*(truncated|corrupt)"):
        data.read_idx(bad)


def test_corrupt_gzip(tmp_path):
    bad = tmp_path / "labels.gz"
    bad.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    with pytest.raises(data.IDXError, match="labels.gz.*gzip"):
        data.read_idx(bad)


@pytest.mark.parametrize("cut, what", [(-1, "truncated"), (+3, "3 extra bytes")])
def test_wrong_byte_count(tmp_path, cut, what):
    body = gzip.decompress(LABELS.read_bytes())
    body = body[:cut] if cut < 0 else body + b"\0" * cut
    bad = tmp_path / "labels-idx1-ubyte"
    bad.write_bytes(body)
    with pytest.raises(data.IDXError, match=f"labels-idx1-ubyte.*{what}"):
        data.read_idx(bad)


def test_truncated_header(tmp_path):
    bad = tmp_path / "short"
    bad.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(data.IDXError, match="short.*header"):
        data.read_idx(bad)


@pytest.mark.parametrize("head", [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00",
                                  b"PK\x03\x04"])
def test_wrong_magic(tmp_path, head):
    bad = tmp_path / "weird-idx1-ubyte"
    bad.write_bytes(head + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(ValueError, match="weird-idx1-ubyte.*magic"):
        data.read_idx(bad)


def test_expected_magic(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(np.zeros((2, 28, 28), np.uint8)))
    with pytest.raises(data.IDXError, match="0x00000803, expected 0x00000801"):
        data.read_idx(path, expected_magic=data.LABELS_MAGIC)


# ---------------------------------------------------------------------------- load_mnist

@pytest.mark.parametrize("gz", [False, True])
def test_canonical_names_in_root(tmp_path, gz, offline, capsys):
    train = write_split(tmp_path / "mnist", "train", 12, seed=1, gz=gz)
    test = write_split(tmp_path / "mnist", "t10k", 5, seed=2, gz=gz)
    for split, (x_ref, y_ref) in (("train", train), ("test", test)):
        x, y = data.load_mnist(tmp_path / "mnist", split=split)
        np.testing.assert_array_equal(x, x_ref)
        np.testing.assert_array_equal(y, y_ref)
    x, y = data.load_mnist(tmp_path / "mnist", split="all")
    np.testing.assert_array_equal(x, np.concatenate([train[0], test[0]]))
    np.testing.assert_array_equal(y, np.concatenate([train[1], test[1]]))
    assert offline == []  # root had everything: no download attempted
    assert f"MNIST train from {tmp_path / 'mnist'}" in capsys.readouterr().out


def test_mirror_naming_and_torchvision_layout(tmp_path):
    folder = tmp_path / "FashionMNIST" / "raw"
    x_ref, _ = write_split(folder, "t10k", 4, seed=3, gz=True, images_name="images.idx3-ubyte")
    assert (folder / "t10k-images.idx3-ubyte.gz").is_file()  # the mirrors' spelling
    x, _ = data.load_mnist(tmp_path, split="test", dataset="fashion-mnist", download=False)
    np.testing.assert_array_equal(x, x_ref)


def test_corrupt_file_in_root_is_an_error_not_a_fallback(tmp_path):
    write_split(tmp_path, "train", 3, seed=0, gz=False)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.*truncated"):
        data.load_mnist(tmp_path, download=False)


def test_mismatched_counts(tmp_path):
    write_split(tmp_path, "train", 3, seed=0, gz=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(data.IDXError, match="3 images.*4 labels"):
        data.load_mnist(tmp_path)


@pytest.mark.parametrize("split, n", [("train", 8000), ("test", 2000), ("all", 10000)])
def test_fallback_to_shipped_subset(tmp_path, offline, capsys, split, n):
    x, y = data.load_mnist(tmp_path / "empty", split=split, download=False)
    assert x.shape == (n, 28, 28) and x.dtype == np.uint8 and y.shape == (n,)
    assert offline == []  # download=False: the downloader is never called
    assert "shipped 10k subset" in capsys.readouterr().out


def test_shipped_split_is_first_8000_and_last_2000():
    x_all, y_all = data.load_mnist(split="all", download=False)
    x_train, y_train = data.load_mnist(split="train", download=False)
    x_test, y_test = data.load_mnist(split="test", download=False)
    np.testing.assert_array_equal(np.concatenate([x_train, x_test]), x_all)
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), y_all)
    assert np.bincount(y_all).tolist() == SHIPPED_COUNTS
    assert np.bincount(y_test, minlength=10).min() > 100  # every class in the test part


def test_failed_download_falls_through(offline, capsys):
    x, _ = data.load_mnist(download=True)
    assert len(x) == 8000
    mirrors = data._DATASETS["mnist"].mirrors
    assert offline == [m + "train-images-idx3-ubyte.gz" for m in mirrors]  # then gave up
    assert "shipped 10k subset" in capsys.readouterr().out
    assert not (data.cache_dir() / "train-images-idx3-ubyte.gz").exists()


def test_verified_download_goes_to_cache(monkeypatch, offline, capsys):
    rng = np.random.default_rng(7)
    files = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
             "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 6, dtype=np.uint8)}
    bodies = {name: gzip.compress(idx_bytes(a)) for name, a in files.items()}
    for name, body in bodies.items():  # pretend these are the published hashes
        monkeypatch.setitem(data._DATASETS["mnist"].sha256, name, hashlib.sha256(body).hexdigest())
    first, second = data._DATASETS["mnist"].mirrors

    def fake_fetch(url, timeout):
        offline.append(url)
        if url.startswith(first):
            return b"tampered bytes"  # wrong hash: must be rejected, try the next mirror
        return bodies[url.rsplit("/", 1)[1]]

    monkeypatch.setattr(data, "_fetch", fake_fetch)
    x, y = data.load_mnist(download=True)
    np.testing.assert_array_equal(x, files["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(y, files["train-labels-idx1-ubyte.gz"])
    assert "downloaded into" in capsys.readouterr().out
    cache = data.cache_dir()
    assert sorted(p.name for p in cache.iterdir()) == sorted(files)  # no leftover .part
    offline.clear()
    x2, _ = data.load_mnist(download=True)  # now served from the cache
    np.testing.assert_array_equal(x2, x)
    assert offline == [] and "from the cache" in capsys.readouterr().out


def test_fashion_has_no_shipped_fallback(offline):
    with pytest.raises(FileNotFoundError, match="Fashion-MNIST"):
        data.load_mnist(dataset="fashion-mnist")
    assert offline and all("fashion" in url for url in offline)
    assert data.cache_dir("fashion-mnist").name == "fashion-mnist"


def test_source_is_printed_once(capsys):
    data.load_mnist(download=False)
    data.load_mnist(download=False)
    assert capsys.readouterr().out.count("gans.data:") == 1
    data.load_mnist(download=False, verbose=False, split="test")
    assert capsys.readouterr().out == ""


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        data.load_mnist(split="validation", download=False)
    with pytest.raises(ValueError, match="dataset"):
        data.load_mnist(dataset="cifar10", download=False)


# ------------------------------------------------------------------------------ scaling

def test_to_float_images():
    images = np.array([[[0, 255], [128, 1]]], dtype=np.uint8)  # (1, 2, 2)
    x = data.to_float_images(images)
    assert x.shape == (1, 1, 2, 2) and x.dtype == np.float32
    assert x[0, 0, 0, 0] == -1.0 and x[0, 0, 0, 1] == 1.0
    np.testing.assert_allclose(x[0, 0, 1], [128 / 127.5 - 1, 1 / 127.5 - 1], rtol=1e-6)
    np.testing.assert_array_equal(data.to_uint8_images(x)[:, 0], images)
    shipped = data.to_float_images(data.load_mnist(split="test", download=False)[0])
    assert shipped.min() == -1.0 and shipped.max() == 1.0
    with pytest.raises(TypeError):
        data.to_float_images(images.astype(np.float32))


# ------------------------------------------------------------------------------ batches

def make_loader(n=103, **kwargs):
    images = np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 4), np.float32)
    labels = np.arange(n) % 10
    kwargs.setdefault("batch_size", 10)
    return data.BatchIterator(images, labels, as_tensor=False, **kwargs)


def test_batches_cover_each_epoch_once():
    loader = make_loader(drop_last=False)
    assert len(loader) == 11
    seen = [x[:, 0] for x, _ in loader]
    assert [len(s) for s in seen] == [10] * 10 + [3]
    assert sorted(np.concatenate(seen).astype(int).tolist()) == list(range(103))
    assert loader.epoch == 1 and loader.batch == 0
    x, y = next(iter(loader))
    assert y.dtype == np.int64 and np.array_equal(y, x[:, 0].astype(int) % 10)


def test_drop_last_and_reshuffle():
    loader = make_loader(drop_last=True)
    epoch0 = np.concatenate([x[:, 0] for x, _ in loader])
    epoch1 = np.concatenate([x[:, 0] for x, _ in loader])
    assert len(epoch0) == len(epoch1) == 100
    assert not np.array_equal(epoch0, epoch1)  # a new order each epoch
    unshuffled = make_loader(shuffle=False)
    np.testing.assert_array_equal(next(unshuffled)[0][:, 0], np.arange(10))


def test_same_seed_same_batches():
    a, b, c = make_loader(seed=3), make_loader(seed=3), make_loader(seed=4)
    xs_a = [next(a)[0] for _ in range(25)]  # crosses two epoch boundaries
    xs_b = [next(b)[0] for _ in range(25)]
    xs_c = [next(c)[0] for _ in range(25)]
    assert all(np.array_equal(p, q) for p, q in zip(xs_a, xs_b))
    assert not all(np.array_equal(p, q) for p, q in zip(xs_a, xs_c))


def test_resume_from_state_dict():
    reference = make_loader(seed=5)
    expected = [next(reference)[0] for _ in range(30)]

    loader = make_loader(seed=5)
    for _ in range(13):  # stop mid-epoch (10 batches per epoch)
        next(loader)
    state = {k: np.asarray(v) for k, v in loader.state_dict().items()}  # as after mg.load
    assert all(isinstance(v, int) for v in loader.state_dict().values())
    resumed = make_loader(seed=0)  # the seed comes back from the state
    resumed.load_state_dict(state)
    got = [next(resumed)[0] for _ in range(17)]
    assert all(np.array_equal(p, q) for p, q in zip(expected[13:], got))
    assert resumed.state_dict() == reference.state_dict()


def test_for_loop_keeps_position_when_broken_off():
    loader, reference = make_loader(seed=1), make_loader(seed=1)
    for i, _ in enumerate(loader):
        if i == 3:
            break
    rest = [x for x, _ in loader]  # the remaining 6 batches of epoch 0
    assert len(rest) == 6 and loader.epoch == 1
    expected = [next(reference)[0] for _ in range(10)][4:]
    assert all(np.array_equal(p, q) for p, q in zip(rest, expected))


def test_load_state_dict_checks_layout():
    state = make_loader(n=103).state_dict()
    with pytest.raises(ValueError, match="num_samples"):
        make_loader(n=90).load_state_dict(state)
    with pytest.raises(ValueError, match="no batch"):
        make_loader(n=5)


def test_yields_minigrad_tensors():
    import minigrad as mg

    images = data.to_float_images(data.load_mnist(split="test", download=False, verbose=False)[0])
    loader = data.BatchIterator(images[:64], batch_size=32, seed=0)
    x = next(loader)
    assert isinstance(x, mg.Tensor) and tuple(x.shape) == (32, 1, 28, 28)
    np.testing.assert_array_equal(x.numpy(), images[:64][loader.order(0)[:32]])


def test_empty_dataset_message_names_the_real_reason():
    empty = np.zeros((0, 1, 4, 4), np.float32)
    with pytest.raises(ValueError, match=r"0 samples make no batch of 8 \(the dataset is "
                                         r"empty\)") as info:
        data.BatchIterator(empty, batch_size=8, drop_last=False)
    assert "drop_last=True" not in str(info.value)
    with pytest.raises(ValueError, match="with drop_last=True"):
        data.BatchIterator(np.zeros((5, 1, 4, 4), np.float32), batch_size=8, drop_last=True)


def test_batch_size_must_be_a_positive_int():
    images = np.zeros((10, 1, 4, 4), np.float32)
    for bad in (2.5, 2.0, "4", True, 0, -3):
        with pytest.raises(ValueError, match=r"batch_size must be an int >= 1"):
            data.BatchIterator(images, batch_size=bad)
    assert len(data.BatchIterator(images, batch_size=np.int64(4))) == 2


def test_load_state_dict_refuses_a_negative_epoch():
    loader = make_loader(n=103)
    next(loader)
    before = loader.state_dict()
    for key in ("epoch", "seed"):
        state = dict(before, **{key: -1})
        with pytest.raises(ValueError, match=f"{key} -1"):
            loader.load_state_dict(state)
        assert loader.state_dict() == before
