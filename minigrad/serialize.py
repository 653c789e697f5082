"""mg.save / mg.load: checkpoints as one `.npz` file, never pickle, written atomically.

    mg.save({"G": G.state_dict(), "optG": optG.state_dict(), "epoch": 3}, "ckpt.npz")
    ckpt = mg.load("ckpt.npz", device="gpu")

What can be saved: a tree of dicts, lists and tuples whose leaves are Tensors, numpy or
CuPy arrays, numpy scalars, and Python ints, floats, strings, bools and None. Dict keys
are strings or ints (an optimizer's state dict is keyed by parameter index).

The file is an ordinary `.npz` (a zip of `.npy` files) that `np.load` can open:

- every array or Tensor is one entry, named by its path with the parts joined by dots:
  {"G": {"fc.weight": w}} is stored as "G.fc.weight", exactly the name PyTorch would give.
  Keys may contain dots (a module's state dict keys do), so two different paths can give
  the same name ({"a.b": x} and {"a": {"b": y}}); `save` refuses such a tree with an error
  naming the clash instead of guessing.
- one more entry, "__minigrad__", holds the tree itself as UTF-8 JSON: its containers,
  the exact keys with their types (int or str), list vs tuple, the plain values, and for
  each array leaf the entry name and whether it was a Tensor (and required grad). That is
  how `load` rebuilds the same nested structure with the same Python types.

Loading reads every `.npy` entry with `allow_pickle=False`, so a file cannot run code;
a file with a pickled object array is refused. Any damage (a truncated file, flipped
bytes: zip keeps a CRC-32 of every entry) raises `SerializationError` naming the file, and
nothing is returned until everything has been read. A plain `.npz` without the
"__minigrad__" entry (e.g. from `np.savez`) loads as a flat dict {name: numpy array}.

Writing goes to a temporary file in the same directory, which is flushed, fsync'ed and
then renamed over the target with `os.replace` (atomic on POSIX and Windows): a crash
mid-save leaves either the old file or the new one, never half of one.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import backend
from .tensor import Tensor

META = "__minigrad__"  # the entry holding the tree as JSON
FORMAT_VERSION = 1


class SerializationError(ValueError):
    """A file could not be saved or loaded as a minigrad checkpoint (the message says
    which file and why)."""


# ---------------------------------------------------------------------- save
def save(obj: Any, path: str | os.PathLike) -> None:
    """Write `obj` (see the module docstring for what it may contain) to `path` as one
    .npz file, atomically. The file is written at exactly `path` (no suffix is added)."""
    path = os.fspath(path)
    if os.path.islink(path):   # write through a link (latest.npz -> run-7.npz), as a plain
        path = os.path.realpath(path)                 # open() would, not over the link
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, [], arrays)
    meta = json.dumps({"format": "minigrad", "version": FORMAT_VERSION, "tree": tree},
                      allow_nan=True)
    # The description goes first: if a damaged central directory drops entries, the
    # ones lost are arrays the description names, which `load` then reports as missing.
    arrays = {META: np.frombuffer(meta.encode("utf-8"), dtype=np.uint8), **arrays}
    if os.path.isdir(path):                    # else os.replace's error names a .tmp file
        raise IsADirectoryError(f"save: cannot write {path}: it is a directory; give the "
                                f"path of a file, e.g. {os.path.join(path, 'model.npz')}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):           # else mkstemp's error names a .tmp file
        raise FileNotFoundError(f"save: cannot write {path}: the folder {directory} does "
                                f"not exist")
    # The temporary file sits beside the target, named after it, cut to 100 bytes (not
    # characters: the file system's limit is 255 bytes) so that a target name near the
    # limit still fits.
    stem = os.fsdecode(os.fsencode(os.path.basename(path))[:100])
    handle, tmp = tempfile.mkstemp(dir=directory, prefix="." + stem + ".", suffix=".tmp")
    try:
        os.chmod(tmp, _new_file_mode(path))  # mkstemp makes 0600 files
        with os.fdopen(handle, "wb") as f:
            _write_npz(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_directory(directory)


def _write_npz(f, arrays: dict[str, np.ndarray]) -> None:
    """What np.savez does, without its keyword-name restrictions: one .npy per entry."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED,
                         allowZip64=True) as zf:
        for name, array in arrays.items():
            with zf.open(name + ".npy", mode="w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asarray(array), allow_pickle=False)


def _new_file_mode(path: str) -> int:
    """The mode `open(path, "w")` would give: the old file's, or 0666 minus the umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _encode(obj, path: list, arrays: dict) -> Any:
    """The JSON description of `obj`; its arrays go into `arrays` under dotted names.

    Plain JSON values (int, float, str, bool, None) stand for themselves; everything else
    is a dict {"t": type, ...}."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, Mapping):  # dict, OrderedDict (a module's state_dict)
        items = []
        for key, value in obj.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise SerializationError(f"save: dict keys must be str or int, got "
                                         f"{key!r} ({type(key).__name__}) at "
                                         f"{_where(path)}")
            items.append([key, _encode(value, path + [key], arrays)])
        return {"t": "dict", "items": items}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {"t": kind, "items": [_encode(v, path + [i], arrays) for i, v in enumerate(obj)]}
    if isinstance(obj, Tensor):
        name = _add_array(obj.data, path, arrays)
        return {"t": "tensor", "name": name, "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, np.ndarray) or backend.is_gpu_array(obj):
        return {"t": "array", "name": _add_array(obj, path, arrays)}
    if isinstance(obj, np.generic):
        return {"t": "scalar", "name": _add_array(np.asarray(obj), path, arrays)}
    hint = ""
    if hasattr(obj, "state_dict"):      # torch.save(model) pickles the module itself
        hint = (f" (a {type(obj).__name__} is code and state: save its numbers, "
                f"obj.state_dict(), and rebuild the object before load_state_dict)")
    raise SerializationError(f"save: cannot store a {type(obj).__name__} at {_where(path)}; "
                             f"allowed: dict, list, tuple, Tensor, array, int, float, str, "
                             f"bool, None{hint}")


def _add_array(array, path: list, arrays: dict) -> str:
    array = backend.to_numpy(array)
    if array.dtype.hasobject:
        raise SerializationError(f"save: the array at {_where(path)} has dtype object; "
                                 f"only numeric, bool and fixed-width string arrays can be "
                                 f"saved (no pickle)")
    name = ".".join(str(part) for part in path) or "value"
    try:
        name.encode("utf-8")
        if "\x00" in name:
            raise ValueError
    except (UnicodeEncodeError, ValueError):
        # A zip entry's name is UTF-8 and ends at a NUL: such a key would be stored under
        # another name, and the file would not load. Refused before anything is written.
        raise SerializationError(f"save: the key {name!r} cannot be stored: it contains a "
                                 f"NUL character or is not valid Unicode text") from None
    if name in arrays or name == META:
        raise SerializationError(f"save: two entries would both be stored as {name!r} "
                                 f"(a key containing dots clashes with a nested path, or "
                                 f"the name is reserved); rename one of them")
    arrays[name] = array
    return name


def _where(path: list) -> str:
    return "the top level" if not path else "key " + repr(".".join(map(str, path)))


# ---------------------------------------------------------------------- load
def load(path: str | os.PathLike, device: str = "cpu", *, map_location=None,
         weights_only: bool = True) -> Any:
    """Read a file written by `save`. Tensors come back as Tensors on `device`, arrays as
    numpy arrays, and plain values with their Python types. Raises SerializationError
    (naming the file) if it is damaged, not an .npz, or contains pickled objects,
    FileNotFoundError if there is no such file, and IsADirectoryError for a directory.
    Nothing is returned until every entry has been read and checked.

    As torch.load: `map_location` ("cpu", "cuda", "gpu") is another name for `device`.
    `weights_only` is accepted and changes nothing: every load here is data only (never
    pickled code), which is what weights_only=True asks of torch.load."""
    path = os.fspath(path)
    if map_location is not None:
        if not isinstance(map_location, str):
            raise TypeError(f"mg.load: map_location must be a device name ('cpu', 'gpu', "
                            f"'cuda'), got {type(map_location).__name__}")
        device = map_location
    device = backend.normalize_device(device)
    if device == backend.GPU:
        backend.cupy()  # no GPU: say so now, not as a "damaged file" later
    if not os.path.exists(path):
        raise FileNotFoundError(f"mg.load: no such file: {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"mg.load: {path!r} is a directory, not a file; pass the "
                                f"path of the .npz file inside it")
    try:
        arrays = _read_npz(path)
    except (SerializationError, MemoryError):
        raise
    except Exception as exc:  # BadZipFile, EOFError, OSError, ValueError, zlib.error, ...
        raise SerializationError(f"mg.load: {path!r} is truncated or corrupted, or is not "
                                 f"an .npz file ({type(exc).__name__}: {exc})") from exc
    if META not in arrays:
        return arrays  # a plain .npz from np.savez: {name: array}
    try:
        meta = json.loads(arrays.pop(META).tobytes().decode("utf-8"))
        if meta.get("format") != "minigrad" or meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"unknown format {meta.get('format')!r} version "
                             f"{meta.get('version')!r}")
        used: set[str] = set()
        result = _decode(meta["tree"], arrays, device, used)
        if used != set(arrays):
            raise ValueError(f"entries {sorted(set(arrays) - used)} are not in the "
                             f"description")
        return result
    except MemoryError:
        raise
    except Exception as exc:  # bad JSON, missing keys, a leaf naming no entry, ...
        raise SerializationError(f"mg.load: {path!r} has a damaged or unknown "
                                 f"'{META}' description ({type(exc).__name__}: "
                                 f"{exc})") from exc


def _read_npz(path: str) -> dict[str, np.ndarray]:
    """Every entry of the zip, read in full with allow_pickle=False (CRCs are checked
    when an entry has been read to its end)."""
    arrays = {}
    with zipfile.ZipFile(path, mode="r") as zf:
        for info in zf.infolist():
            if info.filename.endswith("data.pkl"):       # torch.save's zip holds a pickle
                raise SerializationError(
                    f"mg.load: {path!r} is a PyTorch file (torch.save), which is a pickle; "
                    f"mg.load reads only the .npz files that mg.save writes. In PyTorch, "
                    f"save the state dict's arrays with numpy.savez (each tensor "
                    f".numpy()) and load that .npz here")
            if not info.filename.endswith(".npy"):
                raise ValueError(f"unexpected entry {info.filename!r} (not a .npy)")
            name = info.filename[:-len(".npy")]
            with zf.open(info) as entry:
                array = _read_entry(entry, info.file_size, path, name)
                if entry.read(1):
                    raise ValueError(f"entry {name!r} has trailing bytes")
            arrays[name] = array
    return arrays


def _read_entry(entry, entry_size: int, path: str, name: str) -> np.ndarray:
    """One .npy entry, read with allow_pickle=False. Its header is read first and checked
    against the entry's size (the zip's uncompressed size, header included), so that a
    damaged header claiming a huge shape is refused before numpy allocates memory for it."""
    version = np.lib.format.read_magic(entry)
    # Version 3 has version 2's layout with a UTF-8 header (non-ASCII field names), which
    # the version 2 reader takes as Latin-1: the names may read wrong, the sizes cannot.
    header_readers = {(1, 0): np.lib.format.read_array_header_1_0,
                      (2, 0): np.lib.format.read_array_header_2_0,
                      (3, 0): np.lib.format.read_array_header_2_0}
    if version in header_readers:
        shape, _, dtype = header_readers[version](entry)
        needed = math.prod(shape) * dtype.itemsize       # Python ints: no overflow
        available = entry_size - entry.tell()            # the bytes after the header
        if not dtype.hasobject and needed > available:
            raise SerializationError(
                f"mg.load: {path!r} is damaged: entry {name!r} claims shape {shape} of "
                f"{dtype} ({needed} bytes), but only {available} bytes follow its header")
    entry.seek(0)                                        # numpy reads the header again
    try:
        return np.lib.format.read_array(entry, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise SerializationError(
                f"mg.load: {path!r} contains a pickled object array (entry {name!r}); "
                f"minigrad never unpickles, since that could run arbitrary code. Re-save "
                f"it without object arrays.") from exc
        raise


def _decode(node, arrays: dict, device: str, used: set):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    kind = node["t"]
    if kind == "dict":
        return {key: _decode(value, arrays, device, used) for key, value in node["items"]}
    if kind == "list":
        return [_decode(value, arrays, device, used) for value in node["items"]]
    if kind == "tuple":
        return tuple(_decode(value, arrays, device, used) for value in node["items"])
    if node["name"] not in arrays:
        raise ValueError(f"entry {node['name']!r} is missing")
    used.add(node["name"])
    array = arrays[node["name"]]
    if kind == "array":
        return array
    if kind == "scalar":
        return array[()]
    if kind == "tensor":
        t = Tensor(backend.to_device(array, device))
        if node.get("requires_grad"):
            t.requires_grad = True
        return t
    raise ValueError(f"unknown node type {kind!r}")
