"""TIFF reading, by the protocol's `image_read` switch (docs/defects.md#defect-20), and writing.

`opencv` reproduces what `cv2.imread(path)` (OpenCV's default IMREAD_COLOR) returns, because every number of the
original depends on it (docs/dataset.md#image-formats, docs/defects.md#defect-20): always 8-bit, 3 channels, BGR order.
Checked against OpenCV 4.12 itself in the tests:

* grayscale is replicated into three identical channels;
* 16-bit grayscale becomes 8-bit by a right shift (`v >> 8`, truncation);
* 16-bit RGB goes through libtiff's RGBA path, which rounds `v / 257` to the nearest integer;
* RGB channel order is reversed (file R,G,B -> array B,G,R).

`native` keeps the full bit depth and the file's channel order, as H x W x C (C = 1 for grayscale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from ..errors import DatasetError
from ..io import atomic_path

READERS = ("opencv", "native")  # the values of Protocol.image_read


def tiff_series(path: Path | str, pixels: bool = True) -> tuple[str, Any]:
    """The axes of a TIFF's first series and its decoded pixels (or, without `pixels`, only its shape from the
    header); a missing or damaged file is a DatasetError naming it."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: image file missing")
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            return series.axes, series.asarray() if pixels else series.shape
    except Exception as exc:  # noqa: BLE001 - a damaged file fails in its codec (zlib, LZW, ...) with any error
        reason = f"{type(exc).__name__}: {exc}" if not isinstance(exc, (tifffile.TiffFileError, OSError)) else exc
        raise DatasetError(f"{path}: not a readable TIFF ({reason}); re-download or re-export the image") from None


def read_native(path: Path | str) -> np.ndarray:
    """Pixels as stored, H x W x C in file channel order (planar files are moved to channels-last)."""
    axes, array = tiff_series(path)
    if array.ndim == 2:
        return array[:, :, None]
    if array.ndim == 3 and axes in ("YXS", "YXC"):
        return array
    if array.ndim == 3 and axes in ("SYX", "CYX"):
        return np.moveaxis(array, 0, -1)
    raise DatasetError(f"{path}: unsupported TIFF layout {axes} {array.shape}; expected one 2-D gray or RGB image")


def image_size(path: Path | str) -> tuple[int, int]:
    """(width, height) of a TIFF from its header, without decoding its pixels (as `read_native` lays it out)."""
    axes, shape = tiff_series(path, pixels=False)
    sizes = dict(zip(axes, shape))
    if "X" not in sizes or "Y" not in sizes:
        raise DatasetError(f"{path}: unsupported TIFF layout {axes}; expected one 2-D gray or RGB image")
    return int(sizes["X"]), int(sizes["Y"])


def to_opencv_8bit(native: np.ndarray, path: Path | str = "<array>") -> np.ndarray:
    """What `cv2.imread` makes of these stored pixels: uint8, H x W x 3, BGR."""
    channels = native.shape[2]
    if channels not in (1, 3):
        raise DatasetError(f"{path}: {channels} samples per pixel; the OpenCV-style reader handles gray or RGB only")
    if native.dtype == np.uint8:
        eight = native
    elif native.dtype == np.uint16:
        if channels == 1:
            eight = (native >> 8).astype(np.uint8)
        else:
            # v / 257 never ends in .5 for integer v, so floor(v/257 + 1/2) is the exact rounding.
            eight = ((native.astype(np.uint32) + 128) // 257).astype(np.uint8)
    else:
        raise DatasetError(
            f"{path}: pixel type {native.dtype}; the OpenCV-style reader handles 8- and 16-bit TIFFs only"
        )
    if channels == 1:
        return np.repeat(eight, 3, axis=2)
    return np.ascontiguousarray(eight[:, :, ::-1])


def read_opencv(path: Path | str) -> np.ndarray:
    return to_opencv_8bit(read_native(path), path)


def read_image(path: Path | str, reader: str) -> np.ndarray:
    """An image as the reader `opencv` or `native` returns it (Protocol.image_read)."""
    if reader == "opencv":
        return read_opencv(path)
    if reader == "native":
        return read_native(path)
    raise ValueError(f"unknown image reader {reader!r}; expected one of {READERS}")


def write_tiff(path: Path | str, array: np.ndarray) -> None:
    """Write an H x W (gray) or H x W x 3 (RGB) image atomically, uncompressed."""
    array = np.asarray(array)
    photometric = "rgb" if array.ndim == 3 and array.shape[2] == 3 else "minisblack"
    with atomic_path(path) as tmp:
        tifffile.imwrite(tmp, array, photometric=photometric)
