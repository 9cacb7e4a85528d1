"""The release's own cell crops (`raw_cell_images/`), listed and packed into a crop cache.

The original trained and validated its classifiers on these files, not on crops it cut itself; the script that made
them is not in its repository (docs/defects.md#defect-7). With the protocol's `crop_source: released` the crop
caches of train and val are built from them (`build_released_cache`), in the same format as the caches cut from the
raw images (`crops.build_crop_cache`), so everything downstream reads either the same way.

How a released crop enters the cache: its class is its folder (R, G or U), its image id, object index and box come
from its file name (docs/dataset.md#file-naming), its brightfield and fluorescence files are read with the
protocol's image reader and stored as the canonical channels, exactly as a cut crop. The box is the name's box
moved inside the image, with the crop's own size: for a crop that is the exact clipped slice (what the audit
checks) this is the clipped box the cut cache stores. Crops are ordered as the cut cache orders them: by the
image's position in the split list, then by object index.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..parallel import ordered_stream
from .channels import canonical_pair, check_partner
from .crops import CropCache, CropRow
from .imageio import read_image
from .layout import CLASSES, MODALITIES, DatasetLayout, parse_crop_name

CROP_SPLITS: tuple[str, ...] = ("train", "val")  # the released crop folders (docs/dataset.md#release-layout)
TIFF_SUFFIXES = (".tif", ".tiff")


@dataclass(frozen=True)
class ReleasedCrop:
    path: Path
    split: str
    modality: str
    label: str

    @property
    def stem(self) -> str:
        """The reference's crop key: the file name up to its first dot (docs/dataset.md#file-naming)."""
        return self.path.name.split(".", 1)[0]


def released_crops(layout: DatasetLayout, split: str) -> list[ReleasedCrop]:
    """Every crop file of a split in the expected nesting {split}/{modality}/{R,G,U}/, in a fixed order."""
    crops = []
    for modality in MODALITIES:
        for label in CLASSES:
            folder = layout.cell_crop(split, modality, label, "x").parent
            if folder.is_dir():
                with os.scandir(folder) as entries:  # file types come with the listing: no stat per crop
                    files = sorted(
                        folder / e.name for e in entries if e.is_file() and Path(e.name).suffix.lower() in TIFF_SUFFIXES
                    )
                crops += [ReleasedCrop(p, split, modality, label) for p in files]
    return crops


def released_crops_of(layout: DatasetLayout) -> dict[str, list[ReleasedCrop]]:
    """Crop files of each released crop split; empty when the copy has no raw_cell_images."""
    if not layout.cells_dir.is_dir():
        return {}
    return {split: released_crops(layout, split) for split in CROP_SPLITS}


@dataclass(frozen=True)
class _Cell:
    """One released cell: its class, name fields and the brightfield and fluorescence files."""

    label: str
    key: str
    image_id: str
    cell: int
    box: tuple[int, int, int, int]
    brightfield: Path
    fluorescence: Path


def _paired_cells(layout: DatasetLayout, split: str) -> list[_Cell]:
    """Each released cell of `split` with both of its files; a crop without its partner is an error."""
    by_name: dict[str, dict[str, ReleasedCrop]] = defaultdict(dict)
    for crop in released_crops(layout, split):
        other = by_name[crop.stem].get(crop.modality)
        if other is not None:
            raise DatasetError(
                f"{crop.path}: the crop {crop.stem} is also in {other.path.parent}; a released crop must be in one "
                "class folder only: remove the wrong copy, or use `crop_source: cut`"
            )
        by_name[crop.stem][crop.modality] = crop
    cells = []
    for key, files in by_name.items():
        missing = [m for m in MODALITIES if m not in files]
        if missing:
            present = next(iter(files.values()))
            raise DatasetError(
                f"{present.path}: no {missing[0]} crop of the same name under {layout.cells_dir / split}; every "
                "released crop needs its brightfield and fluorescence file: restore it, or use `crop_source: cut`"
            )
        bf, fl = files["brightfield"], files["fluorescence"]
        if bf.label != fl.label:
            raise DatasetError(
                f"{fl.path}: class {fl.label}, but its brightfield crop {bf.path} is in class {bf.label}; fix the "
                "release copy, or use `crop_source: cut`"
            )
        try:
            image_id, cell, box = parse_crop_name(key)
        except DatasetError as error:
            raise DatasetError(f"{bf.path}: {error}; rename it, or use `crop_source: cut`") from None
        cells.append(_Cell(bf.label, key, image_id, cell, box, bf.path, fl.path))
    return cells


def _read_cell(cell: _Cell, reader: str) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The cell's canonical [bf, fl] crop and its box inside the image."""
    bf_raw, fl_raw = read_image(cell.brightfield, reader), read_image(cell.fluorescence, reader)
    check_partner(bf_raw, fl_raw, cell.fluorescence)
    bf, fl = canonical_pair(bf_raw, fl_raw, reader)
    height, width = bf.shape[:2]
    x0, y0 = max(0, cell.box[0]), max(0, cell.box[1])
    return np.ascontiguousarray(np.concatenate([bf, fl.astype(bf.dtype)], axis=2)), (x0, y0, x0 + width, y0 + height)


def released_rows(
    layout: DatasetLayout, split: str, image_ids: list[str], reader: str, threads: int = 1
) -> Iterator[CropRow]:
    """Every released crop of a train or val split in cut-cache order, read in parallel, a few at a time."""
    if split not in CROP_SPLITS:
        raise DatasetError(f"the release has crops of {' and '.join(CROP_SPLITS)} only, not of {split}")
    folder = layout.cells_dir / split
    if not folder.is_dir():
        raise DatasetError(
            f"{folder}: missing; the protocol's `crop_source: released` trains on the release's own crops: use a "
            "complete copy of the release, or set the switch `crop_source: cut` to cut them from the raw images"
        )
    position = {image_id: index for index, image_id in enumerate(image_ids)}
    in_split_order = lambda c: (position.get(c.image_id, len(position)), c.image_id, c.cell)  # noqa: E731
    cells = sorted(_paired_cells(layout, split), key=in_split_order)
    if not cells:
        raise DatasetError(f"{folder}: no crop files in {{brightfield,fluorescence}}/{{R,G,U}}/")

    def work(cell: _Cell) -> CropRow:
        crop, box = _read_cell(cell, reader)
        return CropRow(crop, CLASSES.index(cell.label), cell.image_id, cell.cell, box, cell.key)

    yield from ordered_stream(work, cells, threads, desc=f"released crops {split}", unit="crop")


def build_released_cache(
    layout: DatasetLayout, split: str, image_ids: list[str], reader: str, threads: int = 1
) -> CropCache:
    """Every released crop of a train or val split in one crop cache in memory, in cut-cache order."""
    return CropCache.from_rows(released_rows(layout, split, image_ids, reader, threads), reader, split, "released")
