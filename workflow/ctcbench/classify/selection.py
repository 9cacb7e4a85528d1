"""Which checkpoints a run keeps, chosen on the val crops (docs/protocol.md#classifier-checkpoints).

Every run keeps `best.pt`, the best argmax accuracy on all val crops after the warm-up, as the original did: the
pipeline and the pseudo-labels use it, and it gives the original's (oracle) cell-level numbers. With the protocol's
`classifier_checkpoint: cross_fitted` (docs/defects.md#defect-8) a run also keeps the best checkpoint on each half
of the val images (`HALF_BEST`), so that the cell-level numbers of each half come from a checkpoint chosen on the
other half. The halves are those of the cross-fitted threshold: the same seed gives the same halves.
"""

from __future__ import annotations

import numpy as np

HALF_BEST = ("best-half0.pt", "best-half1.pt")  # chosen on val half 0, on val half 1


def image_halves(image_ids: np.ndarray, patients: np.ndarray, seed: int) -> np.ndarray:
    """Half (0 or 1) of every crop: each patient's images shuffled with `seed` and dealt alternately."""
    half_of_image: dict[str, int] = {}
    rng = np.random.default_rng(seed)
    for patient in sorted(set(patients.tolist())):
        images = sorted(set(image_ids[patients == patient].tolist()))
        for rank, position in enumerate(rng.permutation(len(images))):
            half_of_image[images[position]] = rank % 2
    return np.array([half_of_image[i] for i in image_ids.tolist()], np.int64)


def improves(best: float | None, accuracy: float, step: int, warmup: int) -> bool:
    """Whether a validation at `step` replaces the best so far: only after the warm-up, only when strictly better
    (the original's rule: a later equal accuracy keeps the earlier checkpoint)."""
    return step > warmup and (best is None or accuracy > best)


def half_accuracies(correct: np.ndarray, halves: np.ndarray) -> list[float]:
    """Argmax accuracy on each val half (NaN for an empty half, which then never improves)."""
    return [float(correct[halves == half].mean()) if np.any(halves == half) else float("nan") for half in (0, 1)]
