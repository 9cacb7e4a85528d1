"""Which images exist, which split each belongs to, who annotated it, and the random stream of each.

Every random decision draws from its own `SeedSequence(seed, spawn_key=(purpose, ...))`, so an image's content
depends only on the seed and the image's identity, never on how many images there are or in which order (or in
which process) they are generated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..layout import image_id
from .config import TwinConfig

# Purposes of independent random streams (the first element of every spawn key).
STREAM_SPLITS = 1
STREAM_IMAGE = 2
STREAM_PATIENT = 3
STREAM_ANNOTATORS = 4

# The release's annotators (docs/dataset.md#annotators): A1 is the experienced expert, A2 and A3 graduate students.
ANNOTATORS: tuple[str, ...] = ("A1", "A2", "A3")


def stream(seed: int, *key: int) -> np.random.Generator:
    """An independent generator for one purpose and one object (patient, image, ...)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(key)))


@dataclass(frozen=True)
class ImagePlan:
    """One field of view: its id, patient, split and annotators, and where its random stream comes from."""

    image_id: str
    patient: str
    patient_index: int
    field: int
    split: str
    annotators: tuple[str, ...]

    def rng(self, seed: int) -> np.random.Generator:
        return stream(seed, STREAM_IMAGE, self.patient_index, self.field)


def _split_of_fields(config: TwinConfig, patient_index: int, count: int) -> dict[int, str]:
    """Test fields drawn at random, then val from the rest, per patient (the paper splits 40 test per patient)."""
    rng = stream(config.seed, STREAM_SPLITS, patient_index)
    fields = rng.permutation(np.arange(1, count + 1))
    n_test = config.test_per_patient
    n_val = int(round(config.val_fraction * (count - n_test)))
    splits = {}
    for rank, fld in enumerate(fields.tolist()):
        splits[fld] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return splits


def _annotators(config: TwinConfig, patient_index: int, fld: int, split: str) -> tuple[str, ...]:
    """Test images were annotated by the expert plus one student; the others by a single annotator."""
    rng = stream(config.seed, STREAM_ANNOTATORS, patient_index, fld)
    if split == "test":
        return ("A1", str(rng.choice(ANNOTATORS[1:])))
    return (str(rng.choice(ANNOTATORS)),)


def plan_images(config: TwinConfig) -> list[ImagePlan]:
    """Every image of the twin, sorted by patient then field number."""
    plans = []
    for patient in config.patients:
        patient_index = int(patient[1:])
        count = config.images_per_patient[patient]
        splits = _split_of_fields(config, patient_index, count)
        for fld in range(1, count + 1):
            split = splits[fld]
            plans.append(
                ImagePlan(
                    image_id=image_id(patient, fld, config.id_width),
                    patient=patient,
                    patient_index=patient_index,
                    field=fld,
                    split=split,
                    annotators=_annotators(config, patient_index, fld, split),
                )
            )
    return plans
