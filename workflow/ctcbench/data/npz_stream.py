"""An .npz file written member by member, where a member may be a file of raw values copied in chunks.

`np.savez` needs every array in memory. A crop cache's pixels are most of its size (about a gigabyte for the
paper's train split), so the crop cache step spills them to a file as it cuts them and this module copies that file
into the archive without loading it. The archive is the one `np.savez` writes (uncompressed zip, ZIP64, one `.npy`
member per name, format 1.0 headers), so `np.load` reads it as any other.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

COPY_CHUNK = 2**20  # bytes copied at a time from a spilled member (a read allocates all of them)


@dataclass(frozen=True)
class SpilledArray:
    """A 1-d array stored as raw values (C order, native byte order) in `path`."""

    path: Path
    dtype: np.dtype
    length: int


def _write_spilled(handle: BinaryIO, array: SpilledArray) -> None:
    header = {"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False, "shape": (array.length,)}
    np.lib.format.write_array_header_1_0(handle, header)
    with open(array.path, "rb") as source:
        shutil.copyfileobj(source, handle, COPY_CHUNK)


def write_npz(path: Path | str, members: dict[str, np.ndarray | SpilledArray | int | str]) -> None:
    """Write `members` to the .npz `path` (which the caller makes atomic); scalars become 0-d arrays as in np.savez."""
    with zipfile.ZipFile(path, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in members.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as handle:
                if isinstance(value, SpilledArray):
                    _write_spilled(handle, value)
                else:
                    np.lib.format.write_array(handle, np.asanyarray(value), allow_pickle=False)
