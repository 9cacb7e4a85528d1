"""Cell crops: exact box slices of the raw images, kept in one array file per split.

How a box becomes a crop follows the original's proposal cropping (docs/dataset.md#cell-crops): truncate the XML
coordinates to int, clip to the image, skip boxes of non-positive area, slice rows ymin:ymax and columns
xmin:xmax (end-exclusive), no padding or margin. The cache stores the canonical brightfield and fluorescence
channels side by side (see `channels`), so every input setting can be composed from it later, and it replaces
the ~81 k small crop files the original read one by one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import DatasetError
from ..io import atomic_path
from ..parallel import ordered_stream
from .channels import read_pair
from .layout import CLASSES, DatasetLayout, crop_name, patient_of
from .npz_stream import write_npz
from .voc import read_voc

CACHE_FORMAT = 3  # 2: the cache records its image reader, not a protocol name; 3: and its crop source
SOURCES = ("released", "cut")  # the protocol's crop_source: the release's crop files, or cut from the raw images


def clip_box(coords: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int] | None:
    """Clip integer box corners to the image; None when nothing of positive area is left."""
    xmin, ymin, xmax, ymax = coords
    xmin, xmax = max(0, min(xmin, width)), max(0, min(xmax, width))
    ymin, ymax = max(0, min(ymin, height)), max(0, min(ymax, height))
    if xmax <= xmin or ymax <= ymin:
        return None
    return xmin, ymin, xmax, ymax


def cut(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    xmin, ymin, xmax, ymax = box
    return image[ymin:ymax, xmin:xmax]


@dataclass
class CropCache:
    """All crops of one split: ragged pixels in one flat buffer plus per-crop metadata.

    `pixels[offsets[i]:offsets[i+1]]` reshaped to (height, width, channels) is crop i, with the canonical
    brightfield in the first `bf_channels` channels and the fluorescence [Hoechst, green, red] after them.
    """

    pixels: np.ndarray
    offsets: np.ndarray
    shapes: np.ndarray  # (N, 2) height, width
    labels: np.ndarray  # (N,) index into CLASSES
    image_ids: np.ndarray  # (N,) str
    cells: np.ndarray  # (N,) object index in the XML
    boxes: np.ndarray  # (N, 4) clipped integer xmin, ymin, xmax, ymax
    keys: np.ndarray  # (N,) released crop name, from the unclipped integer XML box
    bf_channels: int
    reader: str  # the image reader that made it (Protocol.image_read)
    split: str
    source: str = "cut"  # where the crops came from (Protocol.crop_source; data/released_crops.py)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def channels(self) -> int:
        return self.bf_channels + 3

    @property
    def patients(self) -> np.ndarray:
        return np.array([patient_of(i) for i in self.image_ids])

    def crop(self, index: int) -> np.ndarray:
        height, width = self.shapes[index]
        return self.pixels[self.offsets[index] : self.offsets[index + 1]].reshape(height, width, self.channels)

    def pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Canonical (bf, fl) of crop `index`, ready for `channels.compose`."""
        crop = self.crop(index)
        return crop[..., : self.bf_channels], crop[..., self.bf_channels :]

    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for array in (self.pixels, self.offsets, self.labels, self.boxes):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update("\n".join(self.keys.tolist()).encode())
        return digest.hexdigest()

    def members(self) -> dict[str, Any]:
        """The cache file's members by name, as `load` reads them back (the format first)."""
        return {"format": CACHE_FORMAT, **{f.name: getattr(self, f.name) for f in fields(self)}}

    def save(self, path: Path | str) -> None:
        with atomic_path(path) as tmp:
            write_npz(tmp, self.members())

    @classmethod
    def load(cls, path: Path | str, *, pixels: bool = True) -> CropCache:
        """The cache file `path`; `pixels=False` leaves the pixels out (an empty array) for steps that read only the
        crops' metadata, which at the paper's size is a few MB beside about a GB of pixels."""
        path = Path(path)
        if not path.is_file():
            raise DatasetError(f"{path}: crop cache missing; build it with `ctcbench crop-cache` (rule crop_cache)")
        with np.load(path, allow_pickle=False) as data:  # members are read when accessed
            if int(data["format"]) != CACHE_FORMAT:
                raise DatasetError(
                    f"{path}: crop cache format {int(data['format'])}, expected {CACHE_FORMAT}; rebuild it"
                )
            return cls(
                pixels=data["pixels"] if pixels else np.zeros(0, np.uint8),
                offsets=data["offsets"],
                shapes=data["shapes"],
                labels=data["labels"],
                image_ids=data["image_ids"],
                cells=data["cells"],
                boxes=data["boxes"],
                keys=data["keys"],
                bf_channels=int(data["bf_channels"]),
                reader=str(data["reader"]),
                split=str(data["split"]),
                source=str(data["source"]),
            )

    @classmethod
    def from_rows(cls, rows: Iterable[CropRow], reader: str, split: str, source: str = "cut") -> CropCache:
        """Pack crop rows into one cache in memory."""
        rows = list(rows)
        return cls.from_crops(
            crops=[r.crop for r in rows],
            labels=[r.label for r in rows],
            image_ids=[r.image_id for r in rows],
            cells=[r.cell for r in rows],
            boxes=[r.box for r in rows],
            keys=[r.key for r in rows],
            reader=reader,
            split=split,
            source=source,
        )

    @classmethod
    def from_crops(
        cls,
        crops: list[np.ndarray],
        labels: list[int],
        image_ids: list[str],
        cells: list[int],
        boxes: list,
        keys: list[str],
        reader: str,
        split: str,
        source: str = "cut",
    ) -> CropCache:
        """Pack H x W x C crops (canonical [bf, fl] channels) into one flat buffer with their metadata."""
        dtype = crops[0].dtype if crops else np.uint8
        sizes = np.array([c.size for c in crops], dtype=np.int64)
        return cls(
            pixels=np.concatenate([c.ravel() for c in crops]) if crops else np.zeros(0, dtype),
            offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            shapes=np.array([c.shape[:2] for c in crops], dtype=np.int32).reshape(-1, 2),
            labels=np.array(labels, dtype=np.int8),
            image_ids=np.array(image_ids, dtype=str),
            cells=np.array(cells, dtype=np.int32),
            boxes=np.array(boxes, dtype=np.int32).reshape(-1, 4),
            keys=np.array(keys, dtype=str),
            bf_channels=bf_channel_count(reader),
            reader=reader,
            split=split,
            source=source,
        )


def bf_channel_count(reader: str) -> int:
    """Brightfield channels of a crop: OpenCV's 3 replicated ones (reader `opencv`) or the single native one."""
    return 3 if reader == "opencv" else 1


def stacked_pair(layout: DatasetLayout, image_id: str, reader: str) -> np.ndarray:
    """The image's canonical brightfield and fluorescence channels side by side, as every crop stores them."""
    return stack_pair(*read_pair(layout, image_id, reader))


def stack_pair(bf: np.ndarray, fl: np.ndarray) -> np.ndarray:
    """Canonical (bf, fl) side by side in one array of the brightfield's type, as every crop stores them."""
    return np.concatenate([bf, fl.astype(bf.dtype)], axis=2)


class CropRow(NamedTuple):
    """One crop and its metadata, as a crop cache stores them (crop: H x W x C, canonical [bf, fl] channels)."""

    crop: np.ndarray
    label: int  # index into CLASSES
    image_id: str
    cell: int  # object index in the XML
    box: tuple[int, int, int, int]  # clipped integer xmin, ymin, xmax, ymax
    key: str  # released crop name, from the unclipped integer XML box


def _crops_of_image(
    layout: DatasetLayout, split: str, image_id: str, reader: str, test_annotator: str
) -> list[CropRow]:
    both = stacked_pair(layout, image_id, reader)
    height, width = both.shape[:2]
    xml = layout.annotation_xml(split, image_id, test_annotator)
    rows = []
    for cell, box in enumerate(read_voc(xml).objects):
        if box.name not in CLASSES:
            raise DatasetError(f"{xml}: object {cell} has class {box.name!r}; expected one of {', '.join(CLASSES)}")
        coords = box.int_coords()
        clipped = clip_box(coords, width, height)
        if clipped is None:
            continue  # the original skips boxes with no area left after clipping
        crop = np.ascontiguousarray(cut(both, clipped))  # a copy: the image is freed once its crops are cut
        rows.append(CropRow(crop, CLASSES.index(box.name), image_id, cell, clipped, crop_name(image_id, cell, coords)))
    return rows


def cut_crops(
    layout: DatasetLayout,
    split: str,
    image_ids: list[str],
    reader: str,
    test_annotator: str = "Unioned",
    threads: int = 1,
) -> Iterator[CropRow]:
    """Every annotated cell of `image_ids` in split order, image by image; images are read in parallel, and only a
    few at a time are held (`ordered_stream`)."""

    def work(image_id: str) -> list[CropRow]:
        return _crops_of_image(layout, split, image_id, reader, test_annotator)

    for rows in ordered_stream(work, image_ids, threads, desc=f"crops {split}"):
        yield from rows


def build_crop_cache(
    layout: DatasetLayout,
    split: str,
    image_ids: list[str],
    reader: str,
    test_annotator: str = "Unioned",
    threads: int = 1,
) -> CropCache:
    """Cut every annotated cell of `image_ids` into a crop cache in memory (the crop cache step writes the same
    cache image by image instead: crop_writer.CropCacheWriter)."""
    return CropCache.from_rows(cut_crops(layout, split, image_ids, reader, test_annotator, threads), reader, split)
