"""The protocol's `crop_source: released`: crop caches read from the release's `raw_cell_images` files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from ctcbench.data.crops import CropCache, build_crop_cache
from ctcbench.data.imageio import read_image, write_tiff
from ctcbench.data.layout import DatasetLayout
from ctcbench.data.released_crops import build_released_cache
from ctcbench.errors import DatasetError


@pytest.fixture
def twin(crop_twin) -> DatasetLayout:
    return crop_twin


def caches(layout: DatasetLayout, split: str, reader: str) -> tuple[CropCache, CropCache]:
    ids = layout.read_split(split)
    return build_released_cache(layout, split, ids, reader, threads=2), build_crop_cache(layout, split, ids, reader)


@pytest.mark.parametrize("reader", ["opencv", "native"])
@pytest.mark.parametrize("split", ["train", "val"])
def test_exact_released_crops_give_the_cut_cache(twin, split, reader):
    """The twin's crop files are exact box slices: the released cache equals the cut one, array for array."""
    released, cut = caches(twin, split, reader)
    assert (released.source, cut.source) == ("released", "cut")
    assert len(released) == len(cut) > 0
    for name in ("pixels", "offsets", "shapes", "labels", "image_ids", "cells", "boxes", "keys"):
        np.testing.assert_array_equal(getattr(released, name), getattr(cut, name), err_msg=name)
    assert released.bf_channels == cut.bf_channels and released.content_hash() == cut.content_hash()


def test_the_cache_holds_what_the_files_hold(twin, tmp_path):
    """A released crop that differs from the raw image's slice enters the cache as the file has it, and the source
    survives a save and load."""
    released, cut = caches(twin, "train", "native")
    key = released.keys[3]
    label = "RGU"[released.labels[3]]
    path = twin.cell_crop("train", "brightfield", label, key)
    changed = read_image(path, "native")[..., 0] // 2 + 1
    write_tiff(path, changed)
    again = build_released_cache(twin, "train", twin.read_split("train"), "native")
    np.testing.assert_array_equal(again.crop(3)[..., 0], changed)
    assert not np.array_equal(again.crop(3), cut.crop(3))
    np.testing.assert_array_equal(again.crop(4), cut.crop(4))
    again.save(tmp_path / "train.npz")
    assert CropCache.load(tmp_path / "train.npz").source == "released"


def test_membership_and_class_come_from_the_folders(twin):
    """The original trained on the folder's crops: a crop moved to another class folder changes its label, a
    removed one is absent."""
    released, _ = caches(twin, "val", "opencv")
    key, label = released.keys[0], "RGU"[released.labels[0]]
    other = "G" if label == "R" else "R"
    for modality in ("brightfield", "fluorescence"):
        source = twin.cell_crop("val", modality, label, key)
        target = twin.cell_crop("val", modality, other, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        source.rename(target)
        removed = twin.cell_crop("val", modality, "RGU"[released.labels[1]], released.keys[1])
        removed.unlink()
    again = build_released_cache(twin, "val", twin.read_split("val"), "opencv")
    assert len(again) == len(released) - 1
    assert released.keys[1] not in again.keys.tolist()
    assert "RGU"[again.labels[again.keys.tolist().index(key)]] == other


def one_crop(layout: DatasetLayout, split: str = "train") -> tuple[str, str]:
    path = next(iter(sorted((layout.cells_dir / split / "brightfield" / "R").glob("*.tiff"))))
    return path.stem, "R"


def test_a_crop_without_its_partner_is_named(twin):
    key, label = one_crop(twin)
    twin.cell_crop("train", "fluorescence", label, key).unlink()
    with pytest.raises(DatasetError, match=rf"{key}\.tiff: no fluorescence crop of the same name.*crop_source: cut"):
        build_released_cache(twin, "train", twin.read_split("train"), "opencv")


def test_a_crop_in_two_class_folders_is_named(twin):
    key, label = one_crop(twin)
    copy = twin.cell_crop("train", "brightfield", "G", key)
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(twin.cell_crop("train", "brightfield", label, key), copy)
    with pytest.raises(DatasetError, match=rf"{key}.* is also in .*one class folder only"):
        build_released_cache(twin, "train", twin.read_split("train"), "opencv")


def test_an_unparsable_crop_name_is_named(twin):
    key, label = one_crop(twin)
    for modality in ("brightfield", "fluorescence"):
        crop = twin.cell_crop("train", modality, label, key)
        crop.rename(crop.with_name("notacrop.tiff"))
    with pytest.raises(DatasetError, match=r"notacrop\.tiff: 'notacrop' is not a crop name.*rename it"):
        build_released_cache(twin, "train", twin.read_split("train"), "opencv")


def test_a_copy_without_released_crops_says_what_to_do(twin):
    shutil.rmtree(twin.cells_dir)
    with pytest.raises(DatasetError, match=r"raw_cell_images/train: missing.*crop_source: cut"):
        build_released_cache(twin, "train", twin.read_split("train"), "opencv")
    with pytest.raises(DatasetError, match="crops of train and val only"):
        build_released_cache(twin, "test", twin.read_split("test"), "opencv")
