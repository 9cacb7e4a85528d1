"""Evaluate a method ctcbench did not train exactly as its own models are evaluated.

Detections go through `detect.evaluate.detection_stage_metrics` (the detection stage's formatting, NMS, matching,
AP50 and best F1, per patient, and the F1 at the val-chosen threshold when val detections are given and the protocol
asks for it); cell scores through `classify.evaluate.cell_metrics` (the cell level's threshold sweep, AUROC,
accuracy and confusion, with the protocol's threshold rule). The metrics.json then names the method, its setting and
its seed, which is how the results table tells it from the built-in runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..classify.evaluate import cell_evaluation
from ..classify.predict import Predictions as CellPredictions
from ..data.crops import CropCache
from ..data.layout import DatasetLayout
from ..detect.evaluate import detection_stage_evaluation
from ..errors import ConfigError
from ..per_image import Evaluation
from ..protocol import Protocol
from .cell_scores import read_cell_scores
from .detections import image_sizes, read_detections

KIND_DETECTIONS, KIND_CELLS = "detections", "cell_scores"


def identity(name: str, setting: str, seed: int, kind: str, source: Path | str) -> dict[str, Any]:
    return {"name": name, "setting": setting, "seed": int(seed), "kind": kind, "file": str(source)}


def score_detections(
    predictions: Path | str,
    method: dict[str, Any],
    layout: DatasetLayout,
    image_ids: list[str],
    annotator: str,
    protocol: Protocol,
    nms_iou: float,
    val: tuple[Path | str, list[str]] | None = None,
) -> Evaluation:
    """metrics.json of a detections file on the test images (and its val detections for a held-out threshold), with
    its per-image matches."""
    test = read_detections(predictions, image_sizes(layout, "test", image_ids, annotator))
    val_input = None
    if val is not None:
        if not protocol.threshold_on_val:
            raise ConfigError(
                f"{val[0]}: val detections choose a threshold only under image_threshold: heldout (protocol "
                f"{protocol.name}); leave them out"
            )
        val_path, val_ids = val
        val_input = (read_detections(val_path, image_sizes(layout, "val", val_ids, annotator)), val_ids)
    evaluation = detection_stage_evaluation(test, layout, image_ids, annotator, protocol, nms_iou, val_input)
    metrics = {**evaluation.metrics, "run": None, "external_method": method, "meta": test.meta}
    return Evaluation(metrics, evaluation.per_image)


def score_cells(
    scores: Path | str, method: dict[str, Any], cache: CropCache, protocol: Protocol, split_seed: int
) -> Evaluation:
    """metrics.json of a cell-scores file on the val crops, under the protocol's threshold rule, with its per-crop
    records."""
    probs, meta = read_cell_scores(scores, cache)
    labels = cache.labels.astype(np.int64)
    evaluation = cell_evaluation(
        labels, CellPredictions(probs, None), protocol.cell_threshold, cache.image_ids, cache.patients, split_seed
    )
    metrics = {**evaluation.metrics, "checkpoint_choice": "the submitted scores"}
    metrics = {"external_method": method, "protocol": protocol.name, "meta": meta,
               "val_cache_hash": cache.content_hash(), **metrics}  # fmt: skip
    return Evaluation(metrics, evaluation.per_image)
