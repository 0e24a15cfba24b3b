"""The IDX file format of MNIST: read (plain or gzip) and write (e.g. for test fixtures)."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np

from .dataset import PathLike, as_path, read_maybe_gzip

__all__ = ["read_idx", "write_idx"]

# IDX type codes (third magic byte) -> big-endian numpy dtype.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {(d.kind, d.itemsize): c for c, d in _IDX_DTYPES.items()}
_IDX_NAMES = {0x08: "ubyte", 0x09: "byte", 0x0B: "short", 0x0C: "int", 0x0D: "float", 0x0E: "double"}


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), plain or gzip-compressed.

    The header is ``0x00 0x00 <type> <ndim>`` followed by ``ndim`` big-endian uint32
    sizes; type codes 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float and
    0x0E double are supported.  Compression is detected from the gzip magic bytes, not
    the file name.  Returns a native-byte-order array of the declared shape.  Raises
    ``ValueError`` naming the file for a bad magic number, unknown type, truncated or
    over-long data.
    """
    path = as_path(path, "path")
    data = read_maybe_gzip(path)
    hint = "pass an IDX file such as train-images-idx3-ubyte (plain or .gz)"
    if len(data) < 4:
        raise ValueError(
            f"{path}: IDX file is truncated: it has {len(data)} bytes but the magic number alone "
            f"needs 4; {hint}"
        )
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{path}: bad IDX magic number {data[:4].hex()}: the first two bytes must be 00 00; "
            f"this is not an IDX file; {hint}"
        )
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        valid = ", ".join(f"0x{c:02X} ({n})" for c, n in _IDX_NAMES.items())
        raise ValueError(
            f"{path}: bad IDX magic number {data[:4].hex()}: unknown type code 0x{code:02X}; valid codes are {valid}"
        )
    if ndim == 0:
        raise ValueError(f"{path}: bad IDX magic number {data[:4].hex()}: 0 dimensions; the 4th byte must be >= 1")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"{path}: IDX file is truncated: a {ndim}-D header needs {header} bytes but the file "
            f"has {len(data)}; re-download or re-copy the file"
        )
    shape = tuple(int(x) for x in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    actual = len(data) - header
    if actual < expected:
        raise ValueError(
            f"{path}: IDX file is truncated: header declares shape {shape} of {_IDX_NAMES[code]} "
            f"({expected} data bytes) but only {actual} bytes follow the header; re-download or "
            "re-copy the file"
        )
    if actual > expected:
        raise ValueError(
            f"{path}: IDX file has {actual - expected} trailing bytes after the {expected} data bytes "
            f"declared by its header (shape {shape} of {_IDX_NAMES[code]}); the file is corrupt or not IDX"
        )
    arr = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return arr.reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: PathLike, array: object, *, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file; gzip it if ``compress`` (default: name ends in ``.gz``).

    Supported dtypes: uint8, int8, int16, int32, float32, float64 (IDX has no other
    types).  Returns the path written.  The gzip header has no time stamp, so equal
    input gives equal bytes.
    """
    path = as_path(path, "path")
    arr = np.asarray(array)
    code = _IDX_CODES.get((arr.dtype.kind, arr.dtype.itemsize))
    if code is None:
        raise TypeError(
            f"write_idx: array has dtype {arr.dtype}, which IDX cannot store; cast it to one of "
            "uint8, int8, int16, int32, float32, float64 (e.g. array.astype(np.uint8))"
        )
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"write_idx: array must have 1 to 255 dimensions, got {arr.ndim}-D; pass at least a 1-D array")
    if any(n >= 2**32 for n in arr.shape):
        raise ValueError(f"write_idx: every dimension must be < 2**32, got shape {arr.shape}")
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(arr, dtype=_IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.name.endswith(".gz")
    if compress:
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return path
