"""MNIST on disk and in batches: the IDX reader, where the digits come from, and a
seeded batch iterator.

Three layers, each usable alone:

1. ``read_idx(path)`` reads one IDX file (the format MNIST ships in), gzipped or not,
   and refuses anything truncated or malformed with an ``IDXError`` (a ``ValueError``).
2. ``load_mnist(root, split, download)`` finds MNIST (or Fashion-MNIST) and returns
   ``(images uint8 [N, 28, 28], labels uint8 [N])``. It looks, in this order:

   a. in ``root``, for the canonical file names
      (``train-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``, ...);
   b. in the cache, ``$MINIGRAD_DATA/<dataset>`` or ``~/.cache/minigrad/<dataset>``;
   c. a download from known mirrors into the cache, verified by SHA-256
      (skipped with ``download=False``; any network failure falls through quietly);
   d. the 10,000 digits shipped inside this package (MNIST only).

   The source it used is printed once per process, so you always know what you train on.
3. ``BatchIterator`` cuts arrays into shuffled mini-batches. The order of every epoch is a
   pure function of ``(seed, epoch)``, so its whole state is three integers and a resumed
   run sees exactly the batches an uninterrupted one would.

``to_float_images`` maps uint8 pixels to float32 in [-1, 1] (the range of a tanh
generator); ``to_uint8_images`` maps back.

The IDX format (http://yann.lecun.com/exdb/mnist/), all integers big-endian::

    bytes 0-1   0x00 0x00
    byte  2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                           0x0D float32, 0x0E float64
    byte  3     number of dimensions D
    then        D uint32 sizes, then the data in C order (last index fastest)

so MNIST images start with magic 0x00000803 (uint8, 3-D: N, 28, 28) and labels with
0x00000801 (uint8, 1-D: N).
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import struct
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

__all__ = [
    "IDXError", "read_idx", "load_mnist", "cache_dir", "to_float_images",
    "to_uint8_images", "BatchIterator", "SHIPPED_DIR", "SHIPPED_TRAIN_SIZE",
]

# ----------------------------------------------------------------------------- IDX files

IMAGES_MAGIC = 0x00000803  # uint8, 3-D (N, rows, cols)
LABELS_MAGIC = 0x00000801  # uint8, 1-D (N,)

# IDX type code -> numpy dtype. IDX stores multi-byte numbers big-endian (">").
_IDX_DTYPES = {
    0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """A file is not a complete, well-formed IDX file. The message names the file."""


def read_idx(path: str | os.PathLike, *, expected_magic: int | None = None) -> np.ndarray:
    """Read one IDX file and return its contents as a native-endian numpy array.

    The file may be gzip-compressed or raw; this is decided by its first two bytes
    (gzip starts with 1f 8b), not by its name. Everything is checked before any data is
    returned: the gzip stream, the magic number (and ``expected_magic`` if given, e.g.
    ``0x00000803`` for MNIST images), the header, and that the file holds exactly
    ``prod(dims) * itemsize`` data bytes -- no fewer (truncated) and no more.

    Raises ``IDXError`` (a ``ValueError``) naming the file and the problem;
    ``FileNotFoundError`` if the file does not exist.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:  # bad header, CRC, truncation
            raise IDXError(f"{path}: corrupt or truncated gzip data ({err})") from err
    return _parse_idx(raw, path, expected_magic)


def _parse_idx(raw: bytes, path: Path, expected_magic: int | None) -> np.ndarray:
    """Decode the bytes of an uncompressed IDX file (see the module docstring)."""
    if len(raw) < 4:
        raise IDXError(f"{path}: {len(raw)} bytes is too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    code, ndim = raw[2], raw[3]
    if raw[0] != 0 or raw[1] != 0 or code not in _IDX_DTYPES or ndim == 0:
        raise IDXError(
            f"{path}: bad magic number 0x{magic:08X}; an IDX file starts with 00 00, "
            f"a type code in {{{', '.join(f'0x{c:02X}' for c in _IDX_DTYPES)}}} "
            f"and a dimension count >= 1")
    if expected_magic is not None and magic != expected_magic:
        raise IDXError(f"{path}: magic number 0x{magic:08X}, expected 0x{expected_magic:08X}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"{path}: truncated header ({len(raw)} of {header} bytes)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _IDX_DTYPES[code]
    expected = header + math.prod(dims) * dtype.itemsize
    if len(raw) != expected:
        what = ("truncated" if len(raw) < expected
                else f"{len(raw) - expected} extra bytes after the data")
        raise IDXError(f"{path}: {len(raw)} bytes, but an IDX file of shape {dims} and "
                       f"dtype {dtype.name} has {expected} bytes ({what})")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


# ------------------------------------------------------------------------ MNIST sources

SHIPPED_DIR = Path(__file__).resolve().parent / "data_files" / "mnist-10k"
"""The 10,000 MNIST digits shipped with the package (see the README there)."""

SHIPPED_TRAIN_SIZE = 8_000
"""The shipped subset is split 8,000 "train" / 2,000 "test" (see ``load_mnist``)."""

DOWNLOAD_TIMEOUT = 5.0  # seconds per request; a slow network falls through quickly
_MAX_DOWNLOAD = 64 * 2**20  # the largest canonical file is ~26 MB (Fashion train images)


@dataclass(frozen=True)
class _Dataset:
    """Where one dataset lives: display name, cache subfolder, mirrors, file hashes."""
    title: str
    subdir: str
    torchvision_dir: str  # torchvision's layout: root/<this>/raw/<files>
    mirrors: tuple[str, ...]
    sha256: dict[str, str]  # canonical .gz file name -> SHA-256 hex digest
    shipped: bool


# SHA-256 of the canonical gzip files (they agree with torchvision's md5 list:
# MNIST f68b3c2d.., d53e105e.., 9fb629c4.., ec29112d..; Fashion 8d4fb7e6.., 25c81989..,
# bef4ecab.., bb300cfd..). A download is kept only if its SHA-256 matches.
_DATASETS = {
    "mnist": _Dataset(
        "MNIST", "mnist", "MNIST",
        ("https://ossci-datasets.s3.amazonaws.com/mnist/",
         "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        {"train-images-idx3-ubyte.gz":
             "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
         "train-labels-idx1-ubyte.gz":
             "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
         "t10k-images-idx3-ubyte.gz":
             "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
         "t10k-labels-idx1-ubyte.gz":
             "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"},
        shipped=True),
    "fashion-mnist": _Dataset(
        "Fashion-MNIST", "fashion-mnist", "FashionMNIST",
        ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
         "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
        {"train-images-idx3-ubyte.gz":
             "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
         "train-labels-idx1-ubyte.gz":
             "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
         "t10k-images-idx3-ubyte.gz":
             "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
         "t10k-labels-idx1-ubyte.gz":
             "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf"},
        shipped=False),
}
_SPLIT_PREFIX = {"train": "train", "test": "t10k"}
_ANNOUNCED: set[str] = set()  # messages already printed in this process


def load_mnist(root: str | os.PathLike | None = None, split: str = "train",
               download: bool = True, verbose: bool = True, *,
               dataset: str = "mnist") -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images, labels)``: uint8 arrays of shape [N, 28, 28] and [N].

    ``split`` is ``"train"`` (60,000 in the canonical files), ``"test"`` (10,000) or
    ``"all"`` (train followed by test). ``dataset`` is ``"mnist"`` or
    ``"fashion-mnist"`` (same format and file names, so the same code loads both).

    Sources, tried in order (the first that has every file needed wins):

    a. ``root``, if given: the canonical names ``{train|t10k}-images-idx3-ubyte`` and
       ``{train|t10k}-labels-idx1-ubyte``, raw or with ``.gz``; the
       ``-images.idx3-ubyte`` spelling of some mirrors; also ``root/MNIST/raw`` or
       ``root/FashionMNIST/raw`` (torchvision's layout).
    b. the cache ``cache_dir(dataset)``: ``$MINIGRAD_DATA/<dataset>`` if that variable
       is set, else ``~/.cache/minigrad/<dataset>``.
    c. if ``download``: the canonical ``.gz`` files from the mirrors (5 s timeout), kept
       only if their SHA-256 matches the published one, written atomically into the
       cache. A failed download (offline, timeout, bad hash) falls through quietly.
    d. MNIST only: the 10,000 digits shipped in ``gans/data_files/mnist-10k``. They have
       no official train/test split, so we make one: ``"train"`` is the first 8,000,
       ``"test"`` the last 2,000 and ``"all"`` all 10,000. The order was shuffled
       before shipping, so both parts are class-balanced. Numbers measured on this
       "test" part are not comparable with published MNIST test-set numbers.

    Fashion-MNIST has no shipped copy: if a-c fail, ``FileNotFoundError``. Files that
    are found but corrupt raise ``IDXError`` rather than being skipped. The source used
    is printed once per process unless ``verbose=False``.
    """
    spec = _dataset_spec(dataset)
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    what = f"{spec.title} {split}"
    for folder in ([] if root is None else _root_folders(Path(root), spec)):
        if (found := _load_from_folder(folder, split)) is not None:
            _announce(f"{what} from {folder}", verbose)
            return found
    cache = cache_dir(dataset)
    if (found := _load_from_folder(cache, split)) is not None:
        _announce(f"{what} from the cache {cache}", verbose)
        return found
    if download and _download_split(spec, split, cache):
        if (found := _load_from_folder(cache, split)) is not None:
            _announce(f"{what} downloaded into {cache} (SHA-256 verified)", verbose)
            return found
    if not spec.shipped:
        why = "the download failed" if download else "download=False"
        raise FileNotFoundError(
            f"{spec.title} {split}: no files in root={root!r} nor in the cache {cache}, "
            f"{why}, and only MNIST ships with the package; put the canonical files "
            f"({', '.join(spec.sha256)}) in root or in the cache")
    return _load_shipped(split, verbose)


def cache_dir(dataset: str = "mnist") -> Path:
    """The download cache of ``dataset``: ``$MINIGRAD_DATA/<name>`` if the variable
    is set, else ``~/.cache/minigrad/<name>`` (``<name>``: mnist, fashion-mnist)."""
    base = os.environ.get("MINIGRAD_DATA") or Path.home() / ".cache" / "minigrad"
    return Path(base).expanduser() / _dataset_spec(dataset).subdir


def _dataset_spec(dataset: str) -> _Dataset:
    key = dataset.lower().replace("_", "-")
    if key not in _DATASETS:
        raise ValueError(f"dataset must be one of {sorted(_DATASETS)}, got {dataset!r}")
    return _DATASETS[key]


def _root_folders(root: Path, spec: _Dataset) -> list[Path]:
    return [root, root / spec.torchvision_dir / "raw"]


def _find(folder: Path, prefix: str, kind: str, rank: int) -> Path | None:
    """The file for e.g. prefix='t10k', kind='labels', rank=1 in folder, or None."""
    for stem in (f"{prefix}-{kind}-idx{rank}-ubyte", f"{prefix}-{kind}.idx{rank}-ubyte"):
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    return None


def _load_from_folder(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Images and labels of ``split`` from canonical files in folder, None if missing."""
    prefixes = ["train", "t10k"] if split == "all" else [_SPLIT_PREFIX[split]]
    pairs = [(_find(folder, p, "images", 3), _find(folder, p, "labels", 1)) for p in prefixes]
    if any(images is None or labels is None for images, labels in pairs):
        return None
    parts = [_read_pair(images, labels) for images, labels in pairs]
    return (np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts]))


def _read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an images file and its labels file and check that they belong together."""
    images = read_idx(images_path, expected_magic=IMAGES_MAGIC)  # uint8 (N, H, W)
    labels = read_idx(labels_path, expected_magic=LABELS_MAGIC)  # uint8 (N,)
    if len(images) != len(labels):
        raise IDXError(f"{images_path} holds {len(images)} images but {labels_path} "
                       f"holds {len(labels)} labels")
    return images, labels


def _load_shipped(split: str, verbose: bool) -> tuple[np.ndarray, np.ndarray]:
    images, labels = _read_pair(SHIPPED_DIR / "images-idx3-ubyte.gz",
                                SHIPPED_DIR / "labels-idx1-ubyte.gz")
    n, cut = len(images), SHIPPED_TRAIN_SIZE
    part = {"train": slice(0, cut), "test": slice(cut, n), "all": slice(0, n)}[split]
    which = {"train": f"the first {cut:,} of {n:,}", "test": f"the last {n - cut:,} of {n:,}",
             "all": f"all {n:,}"}[split]
    _announce(f"MNIST {split} from the shipped 10k subset (gans/data_files/mnist-10k): "
              f"{which} digits", verbose)
    return images[part], labels[part]


def _announce(message: str, verbose: bool) -> None:
    if verbose and message not in _ANNOUNCED:
        _ANNOUNCED.add(message)
        print(f"gans.data: {message}", flush=True)


# ----------------------------------------------------------------------------- download

def _fetch(url: str, timeout: float) -> bytes:
    """GET url and return the body. Tests replace this function to stay offline."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body = response.read(_MAX_DOWNLOAD + 1)
    if len(body) > _MAX_DOWNLOAD:
        raise ValueError(f"{url}: larger than {_MAX_DOWNLOAD} bytes")
    return body


def _download_split(spec: _Dataset, split: str, cache: Path) -> bool:
    """Download into cache the files of split that it lacks; True if all are there."""
    prefixes = ["train", "t10k"] if split == "all" else [_SPLIT_PREFIX[split]]
    for prefix in prefixes:
        for kind, rank in (("images", 3), ("labels", 1)):
            if _find(cache, prefix, kind, rank) is None:
                if not _download_file(spec, f"{prefix}-{kind}-idx{rank}-ubyte.gz", cache):
                    return False  # give up at the first file no mirror could deliver
    return True


def _download_file(spec: _Dataset, name: str, cache: Path) -> bool:
    """Try each mirror for name; keep the first body whose SHA-256 is the known one."""
    for mirror in spec.mirrors:
        try:
            body = _fetch(mirror + name, timeout=DOWNLOAD_TIMEOUT)
        except (OSError, ValueError, http.client.HTTPException):  # URLError is an OSError
            continue
        if hashlib.sha256(body).hexdigest() != spec.sha256[name]:
            continue
        try:
            _atomic_write(cache / name, body)
        except OSError:  # e.g. a read-only home: fall through to the next source
            return False
        return True
    return False


def _atomic_write(path: Path, body: bytes) -> None:
    """Write bytes to path atomically (write_atomically)."""
    write_atomically(path, lambda tmp: tmp.write_bytes(body))


def write_atomically(path, write) -> None:
    """write(tmp) into a temporary file beside path (a Path to write to), then rename it to
    path: readers never see half a file, and a failed write (a full disk) leaves the old
    file whole and no temporary behind. The downloads, the pictures and evaluate's JSON
    all go through here."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # (named by the process, not by mkstemp, whose 0600 files would keep the pictures
    # from the other users of a shared machine)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------ pixel scaling

def to_float_images(images: np.ndarray) -> np.ndarray:
    """uint8 images [N, H, W] -> float32 [N, 1, H, W] in [-1, 1] ([N, C, H, W] keeps C).

    x = pixel / 127.5 - 1 = (2 * pixel - 255) / 255, so 0 -> -1.0 and 255 -> 1.0
    exactly: the range of a generator whose last layer is tanh.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise TypeError(f"to_float_images expects uint8 pixels, got {images.dtype}")
    if images.ndim == 3:
        images = images[:, None]  # (N, H, W) -> (N, 1, H, W)
    elif images.ndim != 4:
        raise ValueError(f"expected images of shape (N, H, W) or (N, C, H, W), "
                         f"got {images.shape}")
    # (2 * pixel - 255) is exact in float32, so the division is the only rounding
    return (images.astype(np.float32) * 2 - 255) / np.float32(255)


def to_uint8_images(x: np.ndarray) -> np.ndarray:
    """The inverse of ``to_float_images``: values in [-1, 1] -> uint8 0..255.

    pixel = round((x + 1) * 127.5), clipped to 0..255; the shape is kept.
    """
    x = np.asarray(x, dtype=np.float64)
    return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------ batches

def _is_int(value) -> bool:
    """A Python or numpy integer, but not a bool (True is an int to Python)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


class BatchIterator:
    """Seeded mini-batches of ``images`` (and ``labels``), reshuffled every epoch.

    ``for x in loader:`` yields the remaining batches of the current epoch and then
    moves to the next epoch; ``next(loader)`` returns one batch and never stops (it rolls
    over into the next epoch), which suits step-counted GAN loops. Leaving a ``for`` loop
    early keeps the position: the next loop continues where that one stopped.

    Each batch is ``x`` or, with labels, ``(x, y)``; ``x`` holds ``images[idx]`` as
    given (pass ``to_float_images(images)`` for [-1, 1] floats) and ``y`` holds
    ``labels[idx]`` as int64. With ``as_tensor=True`` (default) they are minigrad
    tensors on ``device``; with ``as_tensor=False``, numpy arrays.

    The order of epoch ``e`` is ``default_rng([seed, e]).permutation(N)`` (or
    ``arange(N)`` with ``shuffle=False``), a pure function of ``(seed, epoch)``. So the
    whole state is three integers -- ``seed``, ``epoch`` and ``batch`` (the next batch
    within the epoch) -- which ``state_dict()`` returns and ``load_state_dict()``
    restores: a resumed run gets exactly the batches the uninterrupted run would have.
    With ``drop_last=True`` the last ``N % batch_size`` samples of each epoch's order are
    skipped (a different few each epoch); otherwise the last batch is smaller.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray | None = None,
                 batch_size: int = 64, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = True, device: str = "cpu", as_tensor: bool = True):
        self.images = np.asarray(images)
        self.labels = None if labels is None else np.asarray(labels)
        if self.labels is not None and len(self.labels) != len(self.images):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"BatchIterator: batch_size must be an int >= 1, got "
                             f"{batch_size!r}")
        if seed < 0:
            raise ValueError(f"BatchIterator: seed must be >= 0, got {seed}")
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), shuffle, drop_last
        self.device, self.as_tensor = device, as_tensor
        self.seed, self.epoch, self.batch = int(seed), 0, 0
        self._order_key: tuple[int, int] | None = None  # (seed, epoch) of self._order
        if len(self) == 0:
            why = (f"with drop_last=True (fewer than {batch_size} samples)" if drop_last
                   else "(the dataset is empty)")
            raise ValueError(f"BatchIterator: {len(self.images)} samples make no batch of "
                             f"{batch_size} {why}")

    def __len__(self) -> int:
        """Batches per epoch."""
        n, b = len(self.images), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def order(self, epoch: int) -> np.ndarray:
        """The sample indices of ``epoch``, in the order they are served."""
        n = len(self.images)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    def __iter__(self) -> Iterator[Any]:
        epoch = self.epoch
        while self.epoch == epoch:  # next() moves self.epoch on after the last batch
            yield next(self)

    def __next__(self) -> Any:
        if self._order_key != (self.seed, self.epoch):
            self._order, self._order_key = self.order(self.epoch), (self.seed, self.epoch)
        start = self.batch * self.batch_size
        idx = self._order[start:start + self.batch_size]
        self.batch += 1
        if self.batch == len(self):
            self.epoch, self.batch = self.epoch + 1, 0
        return self._make_batch(idx)

    def _make_batch(self, idx: np.ndarray) -> Any:
        x = self.images[idx]
        y = None if self.labels is None else self.labels[idx].astype(np.int64)
        if self.as_tensor:
            import minigrad as mg  # imported here so gans.data works without minigrad
            x = mg.tensor(x, device=self.device)
            y = None if y is None else mg.tensor(y, device=self.device)
        return x if y is None else (x, y)

    def state_dict(self) -> dict[str, int]:
        """Plain ints: the position (seed, epoch, batch) and, for checking, the layout."""
        return {"seed": self.seed, "epoch": self.epoch, "batch": self.batch,
                "num_samples": len(self.images), "batch_size": self.batch_size,
                "shuffle": int(self.shuffle), "drop_last": int(self.drop_last)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a ``state_dict()`` (ints, numpy scalars or 0-d arrays, as after
        ``mg.load``). The data layout must match, or the positions would mean nothing."""
        state = {k: int(np.asarray(v)) for k, v in state.items()}
        mine = self.state_dict()
        for key in ("num_samples", "batch_size", "shuffle", "drop_last"):
            if key in state and state[key] != mine[key]:
                raise ValueError(f"state_dict was saved with {key}={state[key]}, "
                                 f"this iterator has {key}={mine[key]}")
        if not 0 <= state["batch"] < len(self):
            raise ValueError(f"batch {state['batch']} out of range for {len(self)} batches")
        if state["epoch"] < 0 or state["seed"] < 0:
            raise ValueError(f"state_dict has epoch {state['epoch']} and seed "
                             f"{state['seed']}; both must be >= 0")
        self.seed, self.epoch, self.batch = state["seed"], state["epoch"], state["batch"]
