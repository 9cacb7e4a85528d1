"""The crop cache step writes its cache image by image: the same arrays as a cache packed in memory, without ever
holding a split's crops."""

from __future__ import annotations

import argparse
import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from ctcbench.data import crop_cache_cli
from ctcbench.data.crop_writer import CropCacheWriter
from ctcbench.data.crops import CropCache, CropRow
from ctcbench.data.pointer import write_pointer
from ctcbench.data.voc import read_voc, write_voc
from ctcbench.errors import DatasetError

ARRAYS = ("pixels", "offsets", "shapes", "labels", "image_ids", "cells", "boxes", "keys")


def assert_same_cache(written: CropCache, packed: CropCache) -> None:
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(written, name), getattr(packed, name), err_msg=name)
        assert getattr(written, name).dtype == getattr(packed, name).dtype, name
    assert (written.bf_channels, written.reader, written.split, written.source) == (
        packed.bf_channels,
        packed.reader,
        packed.split,
        packed.source,
    )


def crop_cache_args(pointer, split, reader, source, out) -> argparse.Namespace:
    return argparse.Namespace(
        dataset=pointer, split=split, reader=reader, source=source, test_annotator="Unioned", threads=2, out=out
    )


@pytest.mark.parametrize(("split", "reader", "source"), [("train", "opencv", "cut"), ("val", "native", "released"),
                                                         ("test", "native", "cut")])  # fmt: skip
def test_the_command_writes_the_cache_packed_in_memory(crop_twin, tmp_path, split, reader, source):
    pointer = tmp_path / "dataset.json"
    write_pointer(pointer, crop_twin.root, "synth")
    out = tmp_path / "crops" / f"{split}.npz"
    crop_cache_cli.run(crop_cache_args(pointer, split, reader, source, out))
    packed = crop_cache_cli.build_cache(crop_twin, split, reader, source)
    assert len(packed) > 0
    assert_same_cache(CropCache.load(out), packed)
    assert sorted(p.name for p in out.parent.iterdir()) == [f"{split}.npz"]  # no spill file left behind


def test_a_split_without_cells_writes_nothing(crop_twin, tmp_path):
    for image_id in crop_twin.read_split("test"):
        xml = crop_twin.annotation_xml("test", image_id, "Unioned")
        write_voc(xml, replace(read_voc(xml), objects=[]))
    pointer = tmp_path / "dataset.json"
    write_pointer(pointer, crop_twin.root, "synth")
    out = tmp_path / "crops" / "test.npz"
    with pytest.raises(DatasetError, match="no annotated cells in the test split"):
        crop_cache_cli.run(crop_cache_args(pointer, "test", "opencv", "cut", out))
    assert list(out.parent.iterdir()) == []


def rows(count: int, dtype_of=lambda index: np.uint8, side: int = 40):
    """`count` crops of side x side x 6, made one at a time as a crop step cuts them."""
    rng = np.random.default_rng(0)
    for index in range(count):
        dtype = dtype_of(index)
        high = 255 if np.dtype(dtype).kind == "u" and np.dtype(dtype).itemsize == 1 else 4000
        crop = rng.integers(0, high, (side - index % 7, side, 6)).astype(dtype)
        yield CropRow(crop, index % 3, f"r0{6 + index % 3}c04f{index:02d}p01", index, (0, 0, side, side - index % 7),
                      f"crop{index}")  # fmt: skip


def test_crops_of_several_pixel_types_are_promoted_as_in_memory(tmp_path):
    """Native reads may mix 8- and 16-bit images and a float brightfield mean: the file holds what np.concatenate
    makes of them."""
    types = [np.uint8, np.uint8, np.uint16, np.uint8, np.float32, np.uint16]
    with CropCacheWriter(tmp_path / "mixed.npz", "native", "train") as writer:
        writer.add_all(rows(len(types), lambda index: types[index]))
    packed = CropCache.from_rows(rows(len(types), lambda index: types[index]), "native", "train")
    assert packed.pixels.dtype == np.float32
    assert_same_cache(CropCache.load(tmp_path / "mixed.npz"), packed)


def peak_traced_bytes(work) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_memory_of_writing_does_not_grow_with_the_pixels(tmp_path):
    """Twice the crops: packing in memory holds their pixels twice over, the writer only their metadata more."""

    def streamed(count: int) -> int:
        def write() -> None:
            with CropCacheWriter(tmp_path / f"{count}.npz", "opencv", "train") as writer:
                writer.add_all(rows(count))

        return peak_traced_bytes(write)

    def packed(count: int) -> int:
        return peak_traced_bytes(lambda: CropCache.from_rows(rows(count), "opencv", "train"))

    count = 1000
    more_pixels = sum(row.crop.nbytes for row in rows(2 * count)) - sum(row.crop.nbytes for row in rows(count))
    assert packed(2 * count) - packed(count) > more_pixels
    assert streamed(2 * count) - streamed(count) < more_pixels / 10
    assert_same_cache(CropCache.load(tmp_path / f"{count}.npz"), CropCache.from_rows(rows(count), "opencv", "train"))


def test_metadata_without_pixels(crop_twin, tmp_path):
    """The training-set step reads only the crops' names, labels and images."""
    cache = crop_cache_cli.build_cache(crop_twin, "train", "opencv", "cut")
    cache.save(tmp_path / "train.npz")
    index = CropCache.load(tmp_path / "train.npz", pixels=False)
    assert index.pixels.size == 0
    for name in ("keys", "labels", "image_ids"):
        np.testing.assert_array_equal(getattr(index, name), getattr(cache, name))
