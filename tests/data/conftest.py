"""A tiny, valid dataset in the figshare layout, written directly with tifffile and write_voc.

Twelve 32x32 images of three patients (train 5, val 3, test 3), a few boxes each. The object counts are fixed
below so that tests can check counting against numbers worked out by hand.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from ctcbench.data.imageio import write_tiff
from ctcbench.data.layout import TEST_ANNOTATORS, DatasetLayout
from ctcbench.data.voc import Box, VocAnnotation, read_voc, write_voc

SIZE = 32

# split -> image id -> objects per class. Test images carry R only, one count per annotator.
TRAINVAL_OBJECTS: dict[str, dict[str, dict[str, int]]] = {
    "train": {
        "r06c04f01p01": {"R": 2, "G": 1, "U": 1},
        "r06c04f02p01": {"R": 1, "G": 2, "U": 0},
        "r07c04f01p01": {"R": 3, "G": 0, "U": 1},
        "r07c04f02p01": {"R": 0, "G": 1, "U": 2},
        "r08c04f01p01": {"R": 1, "G": 1, "U": 1},
    },
    "val": {
        "r06c04f03p01": {"R": 1, "G": 1, "U": 1},
        "r07c04f03p01": {"R": 2, "G": 0, "U": 1},
        "r08c04f02p01": {"R": 1, "G": 2, "U": 0},
    },
}
TEST_R_OBJECTS: dict[str, dict[str, int]] = {
    "r06c04f04p01": {"Unioned": 2, "Expert1": 2, "Expert2": 1},
    "r07c04f04p01": {"Unioned": 1, "Expert1": 1, "Expert2": 1},
    "r08c04f03p01": {"Unioned": 3, "Expert1": 2, "Expert2": 3},
}


def slot_box(name: str, slot: int) -> Box:
    """A 6x6 box in cell `slot` of a 4x4 grid of 8x8 cells: never overlapping, always inside a 32x32 image."""
    x0, y0 = (slot % 4) * 8 + 1, (slot // 4) * 8 + 1
    return Box(name=name, xmin=x0, ymin=y0, xmax=x0 + 6, ymax=y0 + 6)


def make_annotation(image_id: str, per_class: dict[str, int], size: int | None = SIZE) -> VocAnnotation:
    names = [name for name, n in per_class.items() for _ in range(n)]
    return VocAnnotation(
        filename=f"{image_id}.tiff",
        width=size,
        height=size,
        depth=1 if size else None,
        objects=[slot_box(name, slot) for slot, name in enumerate(names)],
    )


def image_pair(
    seed: int, size: int = SIZE, bf_rgb: bool = False, sixteen_bit: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Brightfield (gray or RGB) and 3-channel fluorescence noise images."""
    rng = np.random.default_rng(seed)
    dtype, top = (np.uint16, 65535) if sixteen_bit else (np.uint8, 255)
    bf_shape = (size, size, 3) if bf_rgb else (size, size)
    return (
        rng.integers(0, top, bf_shape, dtype=dtype, endpoint=True),
        rng.integers(0, top, (size, size, 3), dtype=dtype, endpoint=True),
    )


@dataclass
class TinyDataset:
    """A writable copy of the tiny dataset, with helpers to break it one file at a time."""

    layout: DatasetLayout

    @property
    def root(self) -> Path:
        return self.layout.root

    def ids(self, split: str) -> list[str]:
        return self.layout.read_split(split)

    def write_images(self, image_id: str, bf: np.ndarray | None = None, fl: np.ndarray | None = None) -> None:
        if bf is not None:
            write_tiff(self.layout.brightfield(image_id), bf)
        if fl is not None:
            write_tiff(self.layout.fluorescence(image_id), fl)

    def xml(self, split: str, image_id: str, annotator: str = "Unioned") -> Path:
        return self.layout.annotation_xml(split, image_id, annotator)

    def annotation(self, split: str, image_id: str, annotator: str = "Unioned") -> VocAnnotation:
        return read_voc(self.xml(split, image_id, annotator))

    def write_annotation(
        self, split: str, image_id: str, annotation: VocAnnotation, annotator: str = "Unioned"
    ) -> None:
        write_voc(self.xml(split, image_id, annotator), annotation)

    def add_object(self, split: str, image_id: str, box: Box, annotator: str = "Unioned") -> None:
        annotation = self.annotation(split, image_id, annotator)
        annotation.objects.append(box)
        self.write_annotation(split, image_id, annotation, annotator)

    def append_split_line(self, split: str, line: str) -> None:
        path = self.layout.split_file(split)
        path.write_text(path.read_text() + line + "\n")


@dataclass(frozen=True)
class ImageFormat:
    """One storage format of the release's TIFFs; a valid copy uses one per modality throughout."""

    bf_rgb: bool = False
    sixteen_bit: bool = False


def build_tiny_dataset(root: Path, image_format: ImageFormat = ImageFormat()) -> DatasetLayout:
    layout = DatasetLayout(root)
    seed = 0
    for objects in TRAINVAL_OBJECTS.values():
        for image_id, per_class in objects.items():
            seed += 1
            _write_pair(layout, image_id, seed, image_format)
            write_voc(layout.trainval_xml(image_id), make_annotation(image_id, per_class))
    for image_id, per_annotator in TEST_R_OBJECTS.items():
        seed += 1
        _write_pair(layout, image_id, seed, image_format)
        for annotator in TEST_ANNOTATORS:
            write_voc(layout.test_xml(image_id, annotator), make_annotation(image_id, {"R": per_annotator[annotator]}))
    splits = {**{s: list(o) for s, o in TRAINVAL_OBJECTS.items()}, "test": list(TEST_R_OBJECTS)}
    for split, ids in splits.items():
        layout.split_file(split).write_text("".join(f"{i}\n" for i in ids))
    return layout


def _write_pair(layout: DatasetLayout, image_id: str, seed: int, image_format: ImageFormat) -> None:
    bf, fl = image_pair(seed, bf_rgb=image_format.bf_rgb, sixteen_bit=image_format.sixteen_bit)
    write_tiff(layout.brightfield(image_id), bf)
    write_tiff(layout.fluorescence(image_id), fl)


@pytest.fixture(scope="session")
def _tiny_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny_template") / "dataset"
    build_tiny_dataset(root)
    return root


@pytest.fixture
def tiny_dataset_in_format(tmp_path: Path) -> Callable[..., TinyDataset]:
    """Build the tiny dataset with every image in one format: `tiny_dataset_in_format(bf_rgb=..., sixteen_bit=...)`."""

    def build(**image_format: bool) -> TinyDataset:
        return TinyDataset(build_tiny_dataset(tmp_path / "formatted" / "dataset", ImageFormat(**image_format)))

    return build


@pytest.fixture
def tiny_dataset(_tiny_template: Path, tmp_path: Path) -> TinyDataset:
    """A fresh copy of the tiny dataset per test, so tests may break it freely."""
    root = tmp_path / "dataset"
    shutil.copytree(_tiny_template, root)
    return TinyDataset(DatasetLayout(root))


@pytest.fixture(scope="session")
def _crop_twin_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic twin with the release's crop folders (raw_cell_images), made once per session."""
    from ctcbench.data.synth import TwinConfig, generate_twin

    root = tmp_path_factory.mktemp("crop_twin") / "CTC"
    config = TwinConfig.demo(
        image_size=128,
        images_per_patient={"r06": 4, "r07": 4, "r08": 3},
        test_per_patient=1,
        cells_per_image=6.0,
        cell_radius=9.0,
        write_crops=True,
    )
    generate_twin(root, config, progress=False)
    return root


@pytest.fixture
def crop_twin(_crop_twin_template: Path, tmp_path: Path) -> DatasetLayout:
    """A fresh copy of the crop twin per test, so tests may tamper with it."""
    root = tmp_path / "CTC"
    shutil.copytree(_crop_twin_template, root)
    return DatasetLayout(root)
