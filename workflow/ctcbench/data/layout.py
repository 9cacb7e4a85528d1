"""The figshare release layout (docs/dataset.md#release-layout, docs/dataset.md#file-naming): where every file of an
image id lives.

Nothing else in the package builds dataset paths by hand, so a change of layout is a change here only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetError

PATIENTS: tuple[str, ...] = ("r06", "r07", "r08")
CLASSES: tuple[str, ...] = ("R", "G", "U")  # label index = position: R=0 (cancer), G=1 (normal), U=2 (unknown)
SPLITS: tuple[str, ...] = ("train", "val", "test")
MODALITIES: tuple[str, ...] = ("brightfield", "fluorescence")
TEST_ANNOTATORS: tuple[str, ...] = ("Expert1", "Expert2", "Unioned")
# The two folders that make a directory a dataset root.
ROOT_MARKERS: tuple[str, ...] = ("Annotations", "raw_images_for_model")
_ALTERNATIVES = "or set `dataset.source: synth` (synthetic twin) or `figshare` (ctcbench fetch-dataset)"

# Opera Phenix export names: r{row}c{column}f{field}p{plane}; the plate row is the patient.
IMAGE_ID_RE = re.compile(r"^r(?P<row>\d{2})c(?P<col>\d{2})f(?P<field>\d+)p(?P<plane>\d+)$")
CROP_NAME_RE = re.compile(
    r"^(?P<image_id>r\d{2}c\d{2}f\d+p\d+)_(?P<cell>\d+)_(?P<xmin>-?\d+)_(?P<ymin>-?\d+)_(?P<xmax>-?\d+)_(?P<ymax>-?\d+)$"
)


def check_dataset_root(root: Path) -> Path:
    """A staged copy's root must be a directory holding Annotations/ and raw_images_for_model/."""
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset root does not exist; point it at a copy of the release, {_ALTERNATIVES}")
    missing = [f"{marker}/" for marker in ROOT_MARKERS if not (root / marker).is_dir()]
    if missing:
        raise DatasetError(
            f"{root}: not a dataset root, missing {', '.join(missing)}; point it at the directory holding "
            f"{' and '.join(f'{m}/' for m in ROOT_MARKERS)}, {_ALTERNATIVES}"
        )
    return root


def is_image_id(text: str) -> bool:
    return IMAGE_ID_RE.match(text) is not None


def patient_of(image_id: str) -> str:
    """Patient of an image or crop: the plate row prefix (`r06`, `r07`, `r08`)."""
    if not IMAGE_ID_RE.match(image_id.split("_", 1)[0]):
        raise DatasetError(f"{image_id!r} is not an image id of the form r06c04f01p01")
    return image_id[:3]


def image_id(patient: str, field: int, width: int = 2) -> str:
    """The image id of a field of a patient's well (column 04, plane 01 as in the release)."""
    return f"{patient}c04f{field:0{width}d}p01"


def crop_name(image_id: str, cell: int, box: tuple[int, int, int, int]) -> str:
    """`{stem}_{cell}_{xmin}_{ymin}_{xmax}_{ymax}`: the released crop file stem, also our crop key."""
    xmin, ymin, xmax, ymax = box
    return f"{image_id}_{cell}_{xmin}_{ymin}_{xmax}_{ymax}"


def parse_crop_name(stem: str) -> tuple[str, int, tuple[int, int, int, int]]:
    match = CROP_NAME_RE.match(stem)
    if match is None:
        raise DatasetError(f"{stem!r} is not a crop name of the form <image id>_<cell>_<xmin>_<ymin>_<xmax>_<ymax>")
    box = tuple(int(match[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
    return match["image_id"], int(match["cell"]), box  # type: ignore[return-value]


@dataclass(frozen=True)
class DatasetLayout:
    """Paths of one copy of the dataset in the figshare layout, rooted at `root`."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def images_dir(self) -> Path:
        return self.root / "raw_images_for_model"

    @property
    def annotations_dir(self) -> Path:
        return self.root / "Annotations"

    @property
    def cells_dir(self) -> Path:
        return self.root / "raw_cell_images"

    @property
    def expert_csv(self) -> Path:
        return self.root / "expert_annotation_id.csv"

    def image(self, modality: str, image_id: str) -> Path:
        return self.images_dir / modality / f"{image_id}.tiff"

    def brightfield(self, image_id: str) -> Path:
        return self.image("brightfield", image_id)

    def fluorescence(self, image_id: str) -> Path:
        return self.image("fluorescence", image_id)

    def split_file(self, split: str) -> Path:
        return self.annotations_dir / f"{split}.txt"

    def trainval_xml(self, image_id: str) -> Path:
        return self.annotations_dir / "trainval" / f"{image_id}.xml"

    def test_xml(self, image_id: str, annotator: str = "Unioned") -> Path:
        return self.annotations_dir / "test" / annotator / f"{image_id}.xml"

    def annotation_xml(self, split: str, image_id: str, test_annotator: str = "Unioned") -> Path:
        """Ground truth of an image: trainval XML (R/G/U) or a test annotator's XML (R only)."""
        if split == "test":
            return self.test_xml(image_id, test_annotator)
        return self.trainval_xml(image_id)

    def cell_crop(self, split: str, modality: str, label: str, name: str) -> Path:
        return self.cells_dir / split / modality / label / f"{name}.tiff"

    def read_split(self, split: str) -> list[str]:
        """Image ids of a split file: one bare stem per line, whitespace stripped, blank lines skipped."""
        path = self.split_file(split)
        if not path.is_file():
            raise DatasetError(f"{path}: split file missing; the dataset root must hold Annotations/{split}.txt")
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
