"""Split builders: image lists for the detectors and crop lists ("training sets") for the classifiers.

Image level (docs/dataset.md#splits, docs/protocol.md#per-patient-detectors): train/val/test as released, and
per-patient training lists filtered by id prefix (the release has no `trainr0X.txt`; validation stays on the full val
list).

Crop level (docs/protocol.md#classifier-ablations): the main set (R, G and U as three classes), one patient's crops,
seeded training fractions, and the unknown-cell variants: U dropped, and the U candidates that the
pseudo-label variants relabel once the drop-U classifiers have scored them.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError
from ..io import atomic_path, atomic_write_text
from .layout import CLASSES, PATIENTS, SPLITS, patient_of

TRAINSET_COLUMNS = ("key", "label", "image_id", "patient")


@dataclass(frozen=True)
class CropRecord:
    key: str
    label: str
    image_id: str

    @property
    def patient(self) -> str:
        return patient_of(self.image_id)


def per_patient(image_ids: list[str], patient: str) -> list[str]:
    return [i for i in image_ids if patient_of(i) == patient]


def check_fraction(fraction: float) -> None:
    if not 0 < fraction < 1:
        raise DatasetError(f"training fraction {fraction} must lie strictly between 0 and 1")


def sample_unstratified(n: int, fraction: float, seed: int) -> np.ndarray:
    """The original's subsample: floor(fraction * n) crops drawn uniformly, ignoring class and patient
    (docs/protocol.md#training-fractions).

    The original drew without a seed; here the seed makes each run's subset reproducible.
    """
    check_fraction(fraction)
    rng = np.random.default_rng(seed)
    return np.sort(rng.permutation(n)[: math.floor(fraction * n)])


def sample_stratified(strata: list[str], fraction: float, seed: int) -> np.ndarray:
    """floor(fraction * n) crops with every stratum (class x patient) represented in proportion.

    Quotas use largest remainders, so they add up exactly; every non-empty stratum keeps at least one crop when
    the total allows it.
    """
    check_fraction(fraction)
    rng = np.random.default_rng(seed)
    strata_arr = np.asarray(strata)
    names, counts = np.unique(strata_arr, return_counts=True)
    total = math.floor(fraction * len(strata_arr))
    exact = counts * (total / counts.sum())
    quota = np.floor(exact).astype(int)
    if total >= len(names):
        quota = np.maximum(quota, 1)
    remainder_order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    for index in remainder_order:
        if quota.sum() >= total:
            break
        quota[index] += 1
    while quota.sum() > total:  # only when the minimum of one per stratum overshot
        quota[np.argmax(quota)] -= 1
    chosen = []
    for name, take in zip(names, quota):
        members = np.flatnonzero(strata_arr == name)
        chosen.append(rng.choice(members, size=take, replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, int)


def sample_fraction(records: list[CropRecord], fraction: float, seed: int, stratified: bool) -> list[CropRecord]:
    if stratified:
        picked = sample_stratified([f"{r.label}/{r.patient}" for r in records], fraction, seed)
    else:
        picked = sample_unstratified(len(records), fraction, seed)
    return [records[i] for i in picked]


def drop_unknown(records: list[CropRecord]) -> list[CropRecord]:
    return [r for r in records if r.label != "U"]


def unknown_only(records: list[CropRecord]) -> list[CropRecord]:
    return [r for r in records if r.label == "U"]


def of_patient(records: list[CropRecord], patient: str) -> list[CropRecord]:
    return [r for r in records if r.patient == patient]


def records_from_cache(keys: np.ndarray, labels: np.ndarray, image_ids: np.ndarray) -> list[CropRecord]:
    return [CropRecord(str(k), CLASSES[int(label)], str(i)) for k, label, i in zip(keys, labels, image_ids)]


def write_image_list(path: Path | str, image_ids: list[str]) -> None:
    atomic_write_text(path, "".join(f"{i}\n" for i in image_ids))


def read_image_list(path: Path | str) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: image list missing; write the split lists first (rule image_splits)")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def write_trainset(path: Path | str, records: list[CropRecord]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(TRAINSET_COLUMNS)
        for r in records:
            writer.writerow((r.key, r.label, r.image_id, r.patient))


def read_trainset(path: Path | str) -> list[CropRecord]:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: training-set list missing; run the data stage (rule trainsets)")
    with open(path, newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header is None or tuple(header) != TRAINSET_COLUMNS:
            raise DatasetError(f"{path}: header {header}, expected {'/'.join(TRAINSET_COLUMNS)}")
        return [CropRecord(row[0], row[1], row[2]) for row in reader if row]


def image_list_name(split: str, patient: str | None = None) -> str:
    """Stem of an image list: a split (`train`), or a split's images of one patient (`train-r06`)."""
    return split if patient is None else f"{split}-{patient}"


def parse_image_list_name(stem: str) -> tuple[str, str | None]:
    """(split, patient or None) of an image list's stem; the inverse of `image_list_name`."""
    split, _, patient = stem.partition("-")
    if split not in SPLITS or (patient and patient not in PATIENTS):
        names = ", ".join([*SPLITS, *(image_list_name("train", p) for p in PATIENTS)])
        raise DatasetError(f"image list {stem!r}: expected a split or a split and a patient ({names})")
    return split, patient or None


def image_list(splits: dict[str, list[str]], stem: str) -> list[str]:
    """The image ids of an image list (docs/dataset.md#splits): a released split, or its images of one patient."""
    split, patient = parse_image_list_name(stem)
    return per_patient(splits[split], patient) if patient else list(splits[split])


def select_trainset(
    records: list[CropRecord], kind: str, value: object = None, seed: int = 0, stratified: bool = False
) -> list[CropRecord]:
    """The crops of a training set of `kind` (plan.trainsets) with its value: the patient, the fraction."""
    selections = {
        "all": lambda: records,
        "patient": lambda: of_patient(records, str(value)),
        "fraction": lambda: sample_fraction(records, float(value), seed, stratified),
        "u-drop": lambda: drop_unknown(records),
        "u-candidates": lambda: unknown_only(records),
    }
    if kind not in selections:
        raise DatasetError(f"training set kind {kind!r}: not cut from the train crops ({', '.join(selections)})")
    return selections[kind]()
