"""A crop cache written one image at a time, so that the crop cache step never holds a split's crops in memory.

Packing a split in memory (`CropCache.from_crops`) keeps every crop in a list and then copies them into one buffer:
at the paper's size twice the train split's pixels, about 2 GB. The writer appends each image's crops to a spill
file beside the output as they are cut and keeps only the per-crop metadata; `close` writes the file
`CropCache.save` would write, the pixels copied from the spill file in chunks (npz_stream). Crops of several
pixel types are promoted as `np.concatenate` promotes them, so both ways give the same arrays.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import numpy as np

from ..io import atomic_path
from .crops import CropCache, CropRow, bf_channel_count
from .npz_stream import COPY_CHUNK, SpilledArray, write_npz


class CropCacheWriter:
    """`add` crops in cache order, then `close` (or leave the `with` block) to write the cache file."""

    def __init__(self, path: Path | str, reader: str, split: str, source: str = "cut") -> None:
        self.path = Path(path)
        self.reader, self.split, self.source = reader, split, source
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, spill = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".pixels", dir=self.path.parent)
        self._spill = Path(spill)
        self._handle = os.fdopen(fd, "wb")
        self.dtype: np.dtype | None = None
        self._sizes: list[int] = []
        self._shapes: list[tuple[int, int]] = []
        self._labels: list[int] = []
        self._image_ids: list[str] = []
        self._cells: list[int] = []
        self._boxes: list[tuple[int, int, int, int]] = []
        self._keys: list[str] = []

    @property
    def count(self) -> int:
        return len(self._labels)

    @property
    def images(self) -> int:
        return len(set(self._image_ids))

    def add(self, row: CropRow) -> None:
        """One crop and its metadata, appended after those added before."""
        self._promote(row.crop.dtype)
        self._handle.write(np.ascontiguousarray(row.crop, dtype=self.dtype).tobytes())
        self._sizes.append(row.crop.size)
        self._shapes.append(row.crop.shape[:2])
        self._labels.append(row.label)
        self._image_ids.append(row.image_id)
        self._cells.append(row.cell)
        self._boxes.append(tuple(row.box))
        self._keys.append(row.key)

    def add_all(self, rows: Iterable[CropRow]) -> None:
        for row in rows:
            self.add(row)

    def _promote(self, dtype: np.dtype) -> None:
        """Keep the spilled pixels in the type every crop so far fits, converting those already written if needed."""
        wider = dtype if self.dtype is None else np.result_type(self.dtype, dtype)
        if self.dtype is not None and wider != self.dtype:
            self._handle.close()
            converted = self._spill.with_suffix(".converting")
            with open(self._spill, "rb") as old, open(converted, "wb") as new:
                while chunk := old.read(COPY_CHUNK - COPY_CHUNK % self.dtype.itemsize):
                    new.write(np.frombuffer(chunk, self.dtype).astype(wider).tobytes())
            os.replace(converted, self._spill)
            self._handle = open(self._spill, "ab")
        self.dtype = wider

    def close(self) -> None:
        """Write the cache file (atomically) and remove the spill file."""
        self._handle.close()
        dtype = self.dtype if self.dtype is not None else np.dtype(np.uint8)
        metadata = CropCache(
            pixels=np.zeros(0, dtype),  # stands in for the spilled pixels below
            offsets=np.concatenate([[0], np.cumsum(np.array(self._sizes, dtype=np.int64))]).astype(np.int64),
            shapes=np.array(self._shapes, dtype=np.int32).reshape(-1, 2),
            labels=np.array(self._labels, dtype=np.int8),
            image_ids=np.array(self._image_ids, dtype=str),
            cells=np.array(self._cells, dtype=np.int32),
            boxes=np.array(self._boxes, dtype=np.int32).reshape(-1, 4),
            keys=np.array(self._keys, dtype=str),
            bf_channels=bf_channel_count(self.reader),
            reader=self.reader,
            split=self.split,
            source=self.source,
        )
        members = metadata.members()
        members["pixels"] = SpilledArray(self._spill, dtype, int(sum(self._sizes)))
        try:
            with atomic_path(self.path) as tmp:
                write_npz(tmp, members)
        finally:
            self._spill.unlink(missing_ok=True)

    def discard(self) -> None:
        self._handle.close()
        self._spill.unlink(missing_ok=True)

    def __enter__(self) -> CropCacheWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.discard()  # nothing is written when cutting failed
