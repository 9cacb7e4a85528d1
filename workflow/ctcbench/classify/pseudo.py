"""Pseudo-labels for the unknown cells (Table 5, docs/protocol.md#unknown-cells).

The paper assigns pseudo-labels "from the average of three inference runs from the models of different seeds":
every training U crop (`u-candidates`) is scored by each drop-U model (`u-drop`, all seeds) and P(R) is averaged.
Neither the threshold of row 2 nor the fate of the U crops below 0.8 in row 3 is stated; the literal reading is
implemented and recorded in the summary:

* `u-pseudo-all`: every U crop joins R when mean P(R) > 0.5, else G; added to the R + G set;
* `u-pseudo-0.8`: U crops with mean P(R) > threshold (0.8) join R; all other U crops are dropped.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.crops import CropCache
from ..data.splits import CropRecord
from ..errors import DatasetError
from ..io import atomic_path
from .data import trainset_indices
from .scorer import CellScorer

ALL_THRESHOLD = 0.5


@dataclass(frozen=True)
class PseudoSets:
    all_relabelled: list[CropRecord]
    confident: list[CropRecord]


def cancer_probabilities(
    models: list[Path],
    cache: CropCache,
    candidates: list[CropRecord],
    device: str = "auto",
    workers: int = 0,
    candidates_path: Path | str = "u-candidates",
) -> np.ndarray:
    """P(R) of every candidate crop (rows, in the candidates' order) under every model (columns)."""
    if not models:
        raise DatasetError("no drop-U models given; pseudo-labels need the u-drop runs of every seed")
    indices, _ = trainset_indices(cache, candidates, candidates_path)
    columns = [CellScorer(path, device, workers).p_cancer(cache, indices, desc=f"score {path}") for path in models]
    return np.stack(columns, axis=1)


def pseudo_label_sets(
    base: list[CropRecord], candidates: list[CropRecord], mean_p: np.ndarray, threshold: float
) -> PseudoSets:
    """The two Table 5 training sets from the R+G set, the U candidates and their mean P(R)."""
    if any(r.label == "U" for r in base):
        raise DatasetError("the base set of the pseudo-label variants must hold R and G crops only (u-drop)")
    relabelled = [CropRecord(r.key, "R" if p > ALL_THRESHOLD else "G", r.image_id) for r, p in zip(candidates, mean_p)]
    confident = [CropRecord(r.key, "R", r.image_id) for r, p in zip(candidates, mean_p) if p > threshold]
    return PseudoSets(all_relabelled=base + relabelled, confident=base + confident)


def write_scores(path: Path | str, candidates: list[CropRecord], per_model: np.ndarray, models: list[Path]) -> None:
    """Every candidate's P(R) per model and their mean, for inspection and for re-deriving the sets."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["key", "image_id", "mean_p_cancer", *[f"p_cancer_{i}" for i in range(len(models))]])
        for record, row in zip(candidates, per_model):
            writer.writerow([record.key, record.image_id, f"{row.mean():.6f}", *[f"{v:.6f}" for v in row]])
