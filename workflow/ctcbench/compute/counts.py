"""The dataset's size as the projection needs it: images per split and per training image list, crops per split and
class, cancer cells per training image.

It comes from a Table 1 CSV, chosen by `compute.dataset_counts`: `paper`, the published Table 1
(resources/paper/table1_dataset.csv; the projection then needs no data, and each patient's training images are
estimated from the paper's train+val counts per patient), or `dataset`, the preset's own Table 1
(results/{preset}/tables/table1.csv, written by rule validate_dataset; exact per patient).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data.layout import CLASSES, PATIENTS, SPLITS
from ..data.splits import parse_image_list_name
from ..errors import DatasetError

PAPER, DATASET = "paper", "dataset"
PAPER_TABLE1 = "table1_dataset.csv"  # under resources/paper/
CROP_SPLITS = ("train", "val")  # the splits whose G and U are annotated


@dataclass(frozen=True)
class DatasetCounts:
    source: str  # which Table 1 was read
    images: dict[str, int]  # split -> images
    crops: dict[str, dict[str, int]]  # train / val -> class -> annotated cells
    patient_train_images: dict[str, int]  # patient -> training images
    patients_estimated: bool  # patient_train_images are estimates (the paper publishes train+val per patient)

    def list_images(self, stem: str) -> int:
        """Images of an image list: a split (`train`) or one patient's training images (`train-r06`)."""
        split, patient = parse_image_list_name(stem)
        return self.images[split] if patient is None else self.patient_train_images[patient]

    def list_is_estimate(self, stem: str) -> bool:
        return parse_image_list_name(stem)[1] is not None and self.patients_estimated

    def crops_of(self, split: str, classes: tuple[str, ...] = CLASSES) -> int:
        return sum(self.crops[split][name] for name in classes)

    @property
    def cancer_cells_per_train_image(self) -> int:
        """Ground-truth boxes of an average training image (detectors train on R only)."""
        return max(1, round(self.crops["train"]["R"] / self.images["train"]))


def counts_file(config: dict[str, Any], paper_dir: Path | str, results: Path | str) -> Path:
    """The Table 1 CSV `compute.dataset_counts` chooses: the paper's, or the one rule validate_dataset writes."""
    choice = config["compute"]["dataset_counts"]
    return Path(paper_dir) / PAPER_TABLE1 if choice == PAPER else Path(results) / "tables" / "table1.csv"


def read_counts(path: Path | str) -> DatasetCounts:
    """The counts of a published (split, images, R, G, U) or a workflow (split, patient, measure, ours) Table 1."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"{path}: Table 1 missing; set compute.dataset_counts: paper, or run rule validate_dataset first"
        )
    with open(path, newline="") as handle:
        columns = set(next(csv.reader(handle), []))
    if {"split", "patient", "measure", "ours"} <= columns:
        return _workflow_counts(path)
    if {"split", "images", *CLASSES} <= columns:
        return _paper_counts(path)
    raise DatasetError(
        f"{path}: not a Table 1 CSV; expected the paper's columns (split,images,R,G,U) or those rule "
        "validate_dataset writes (split,patient,measure,ours)"
    )


def _paper_counts(path: Path) -> DatasetCounts:
    from ..data.table1 import PAPER_TRAINVAL_IMAGES_PER_PATIENT, read_paper_table1  # pandas: not for the Snakefile

    table = {split: row.counts for split, row in read_paper_table1(path).items()}
    _require(path, {split: set(table.get(split, {})) for split in SPLITS})
    train, trainval = table["train"]["images"], sum(PAPER_TRAINVAL_IMAGES_PER_PATIENT.values())
    # Each patient's share of the train+val images, applied to the train images.
    per_patient = {p: round(n * train / trainval) for p, n in PAPER_TRAINVAL_IMAGES_PER_PATIENT.items()}
    return DatasetCounts(
        source=f"the paper's Table 1 ({path.name})",
        images={split: table[split]["images"] for split in SPLITS},
        crops={split: {name: table[split][name] for name in CLASSES} for split in CROP_SPLITS},
        patient_train_images=per_patient,
        patients_estimated=True,
    )


def _workflow_counts(path: Path) -> DatasetCounts:
    from ..data.table1 import ALL_PATIENTS

    values: dict[tuple[str, str, str], int] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["ours"].strip():
                values[(row["split"], row["patient"], row["measure"])] = int(float(row["ours"]))
    found = {split: {m for s, p, m in values if s == split and p == ALL_PATIENTS} for split in SPLITS}
    _require(path, found)
    patients = {p: values.get(("train", p, "images"), 0) for p in PATIENTS}
    return DatasetCounts(
        source=f"the dataset's Table 1 ({path})",
        images={split: values[(split, ALL_PATIENTS, "images")] for split in SPLITS},
        crops={split: {name: values[(split, ALL_PATIENTS, name)] for name in CLASSES} for split in CROP_SPLITS},
        patient_train_images=patients,
        patients_estimated=False,
    )


def _require(path: Path, found: dict[str, set[str]]) -> None:
    """Images of every split and R/G/U of train and val, or one error naming what is missing."""
    missing = [f"{split} images" for split in SPLITS if "images" not in found[split]]
    missing += [f"{split} {name}" for split in CROP_SPLITS for name in CLASSES if name not in found[split]]
    if missing:
        raise DatasetError(f"{path}: Table 1 lacks {', '.join(missing)}; regenerate it (rule validate_dataset)")
