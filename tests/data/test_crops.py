"""Crop extraction (exact slices, clipping) and the one-file-per-split crop cache."""

import numpy as np
import pytest

from ctcbench.data.channels import read_pair
from ctcbench.data.crops import CropCache, build_crop_cache, clip_box, cut
from ctcbench.data.imageio import write_tiff
from ctcbench.data.layout import DatasetLayout, crop_name
from ctcbench.data.voc import Box, VocAnnotation, write_voc
from ctcbench.errors import DatasetError


def test_clip_box():
    assert clip_box((5, 6, 15, 20), 40, 30) == (5, 6, 15, 20)
    assert clip_box((-3, -2, 15, 50), 40, 30) == (0, 0, 15, 30)
    assert clip_box((38, 5, 45, 9), 40, 30) == (38, 5, 40, 9)
    assert clip_box((41, 5, 45, 9), 40, 30) is None  # nothing left inside
    assert clip_box((5, 5, 5, 9), 40, 30) is None  # zero width


def test_cut_is_exact_end_exclusive_slice():
    image = np.arange(12 * 10).reshape(12, 10)
    np.testing.assert_array_equal(cut(image, (2, 3, 5, 7)), image[3:7, 2:5])


@pytest.fixture()
def layout(tmp_path):
    layout = DatasetLayout(tmp_path / "ds")
    rng = np.random.default_rng(0)
    for image_id in ("r06c04f01p01", "r07c04f02p01"):
        write_tiff(layout.brightfield(image_id), rng.integers(0, 65536, (40, 50), dtype=np.uint16))
        write_tiff(layout.fluorescence(image_id), rng.integers(0, 65536, (40, 50, 3), dtype=np.uint16))
    write_voc(
        layout.trainval_xml("r06c04f01p01"),
        VocAnnotation("r06c04f01p01.tiff", objects=[Box("R", 1, 2, 11.9, 9), Box("U", 45, 30, 60, 45)]),
    )
    write_voc(
        layout.trainval_xml("r07c04f02p01"),
        VocAnnotation(
            "r07c04f02p01.tiff", objects=[Box("G", 0, 0, 4, 4), Box("R", 20, 20, 20, 30), Box("R", 3, 3, 9, 8)]
        ),
    )
    return layout


@pytest.mark.parametrize("reader", ["opencv", "native"])
def test_cache_holds_exact_slices(layout, tmp_path, reader):
    ids = ["r06c04f01p01", "r07c04f02p01"]
    cache = build_crop_cache(layout, "train", ids, reader, threads=2)
    # the zero-width box (20,20,20,30) is skipped like the original; the clipped one is kept
    assert len(cache) == 4
    assert cache.keys.tolist() == [
        crop_name("r06c04f01p01", 0, (1, 2, 11, 9)),
        crop_name("r06c04f01p01", 1, (45, 30, 60, 45)),
        crop_name("r07c04f02p01", 0, (0, 0, 4, 4)),
        crop_name("r07c04f02p01", 2, (3, 3, 9, 8)),
    ]
    assert cache.labels.tolist() == [0, 2, 1, 0]
    assert cache.boxes[1].tolist() == [45, 30, 50, 40]  # clipped to the 50x40 image
    assert cache.patients.tolist() == ["r06", "r06", "r07", "r07"]
    cache.save(tmp_path / "train.npz")
    loaded = CropCache.load(tmp_path / "train.npz")
    assert loaded.content_hash() == cache.content_hash()
    for index in range(len(loaded)):
        image_id = str(loaded.image_ids[index])
        bf, fl = read_pair(layout, image_id, reader)
        crop_bf, crop_fl = loaded.pair(index)
        np.testing.assert_array_equal(crop_bf, cut(bf, tuple(loaded.boxes[index])))
        np.testing.assert_array_equal(crop_fl, cut(fl, tuple(loaded.boxes[index])))
    assert loaded.bf_channels == (3 if reader == "opencv" else 1)
    assert loaded.pixels.dtype == (np.uint8 if reader == "opencv" else np.uint16)


def test_unknown_class_and_missing_cache(layout, tmp_path):
    write_voc(layout.trainval_xml("r06c04f01p01"), VocAnnotation("x", objects=[Box("X", 1, 1, 5, 5)]))
    with pytest.raises(DatasetError, match="class 'X'"):
        build_crop_cache(layout, "train", ["r06c04f01p01"], "opencv")
    with pytest.raises(DatasetError, match="crop cache missing"):
        CropCache.load(tmp_path / "nope.npz")
