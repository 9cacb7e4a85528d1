"""A submitted cell-scores file (`ctcbench.cell_scores/1`): class probabilities of every val crop, by crop name.

    {
      "format": "ctcbench.cell_scores/1",
      "meta": {...},                                   # anything; kept in the metrics
      "scores": {"r06c04f03p01_0_12_40_30_58": [0.91, 0.06, 0.03], ...}
    }

Each val crop (named as the release names its crops: docs/dataset.md#file-naming) gets its probabilities of R, G
and U, in that order, summing to 1 (a two-class method gives U probability 0). Every problem is reported at once with
its crop name: a crop that is not a val crop, a missing crop, a crop given twice, a value that is not a list of three
finite probabilities in [0, 1] summing to 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..data.crops import CropCache
from ..data.layout import CLASSES
from .validation import Problems, duplicates_of, is_finite_number, open_submission

FORMAT = "ctcbench.cell_scores/1"
SUM_TOLERANCE = 1e-3  # probabilities written with a few decimals still sum to 1 within this


def _probabilities(key: str, value: Any, problems: Problems) -> np.ndarray | None:
    if not (isinstance(value, list) and len(value) == len(CLASSES) and all(is_finite_number(v) for v in value)):
        problems.add(f"crop {key}", f"{value!r}: expected [P(R), P(G), P(U)], three finite numbers")
        return None
    probs = np.asarray(value, dtype=np.float64)
    if np.any(probs < 0) or np.any(probs > 1) or abs(probs.sum() - 1) > SUM_TOLERANCE:
        problems.add(f"crop {key}", f"{value!r}: probabilities must lie in [0, 1] and sum to 1")
        return None
    return probs


def read_cell_scores(path: Path | str, cache: CropCache) -> tuple[np.ndarray, dict[str, Any]]:
    """The N x 3 probabilities of the cache's crops, in cache order, and the file's meta; or a DatasetError listing
    every problem of the file."""
    path = Path(path)
    problems, data, scores = open_submission(path, FORMAT, "cell-scores file", "scores", "crop name")
    for key in duplicates_of(scores):
        problems.add(f"crop {key}", "given twice; give each crop once")
    keys = cache.keys.tolist()
    known = set(keys)
    for key in scores:
        if key not in known:
            problems.add(f"crop {key}", f"not a crop of the {cache.split} split; remove it or correct its name")
    for key in keys:
        if key not in scores:
            problems.add(f"crop {key}", f"missing; score every crop of the {cache.split} split")
    parsed = {key: _probabilities(key, value, problems) for key, value in scores.items() if key in known}
    problems.raise_if_any()
    meta = data.get("meta", {})
    return np.stack([parsed[key] for key in keys]), meta if isinstance(meta, dict) else {}
