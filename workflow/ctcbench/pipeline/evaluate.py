"""Image-level metrics of the pipeline for one ω (docs/metrics.md#image-level; Table 4 "Full pipeline", Tables 5-6).

Per image: fuse S_det and S_cls (`fusion`), then class-agnostic NMS at `nms_iou` on the fused scores (the original's
second NMS, or the only one without `nms_before_classification`); then AP50 and best F1 of the pooled boxes, overall
and per patient, with the detection stage's ground truth, matching and protocol rules (`detect.evaluate`), so that
ω = 0 in the faithful protocol gives exactly the detection-stage numbers.

Best F1 is the original's oracle: its threshold is chosen on the test curve it is reported on
(docs/defects.md#defect-8). With `image_threshold: heldout`, given the scores of the same detector and classifier on
the val images, the fused-score threshold that maximises F1 on val (ground truth: the R boxes of the trainval XMLs)
is applied to test and reported under `heldout`, overall and per patient, beside the oracle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.layout import DatasetLayout
from ..detect.evaluate import (
    HELDOUT_CHOICE,
    ORACLE_CHOICE,
    evaluation_choices,
    f1_threshold,
    ground_truth,
    image_level_evaluation,
    nms,
    require_heldout,
)
from ..errors import ConfigError, DatasetError
from ..per_image import Evaluation
from ..protocol import Protocol, same_protocol
from .fusion import fuse
from .scores import ScoredImage, Scores

Detections = dict[str, tuple[np.ndarray, np.ndarray]]


def fuse_and_suppress(
    entry: ScoredImage, omega: float, gate: float | None, nms_iou: float
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the image's proposals that survive NMS on the fused score, by descending fused score, and
    those fused scores."""
    fused = fuse(entry.s_det, entry.s_cls, omega, gate)
    keep = nms(entry.boxes, fused, nms_iou)
    return keep, fused[keep]


def fused_detections(
    scores: Scores, image_ids: list[str], omega: float, gate: float | None, nms_iou: float, source: str = "scores"
) -> Detections:
    """Fused, suppressed boxes of every listed image, in list order (the order decides ties in the ranking)."""
    detections = {}
    for image_id in image_ids:
        entry = scores.images.get(image_id)
        if entry is None:
            raise DatasetError(f"{source}: no entry for image {image_id}; score the proposals of this image list")
        keep, fused = fuse_and_suppress(entry, omega, gate, nms_iou)
        detections[image_id] = (entry.boxes[keep].astype(np.float64), fused)
    return detections


def val_operating_point(
    val_scores: Scores,
    val_ids: list[str],
    layout: DatasetLayout,
    omega: float,
    protocol: Protocol,
    nms_iou: float,
    source: str = "val scores",
) -> tuple[float, dict[str, Any]]:
    """The fused-score threshold of the best F1 on the val images at ω, and its val summary: the held-out threshold
    of `image_threshold: heldout`, and the operating point of an exported pipeline (ctcbench.apply) under any
    protocol."""
    detections = fused_detections(val_scores, val_ids, omega, protocol.fusion_gate, nms_iou, source)
    return f1_threshold(detections, layout, val_ids, protocol)


def _same_runs(test: Scores, val: Scores, test_path: str, val_path: str) -> None:
    """The held-out threshold only transfers between scores of the same detector and classifier."""
    checks = (
        ("detector model", "detector", "model_sha256"),
        ("detector run", "detector", "run"),
        ("classifier", "classifier", "sha256"),
    )
    for what, section, key in checks:
        if test.meta.get(section, {}).get(key) != val.meta.get(section, {}).get(key):
            raise ConfigError(f"{val_path}: {what} differs from that of {test_path}; score val with the same runs")


def pipeline_metrics(scores: Scores, layout: DatasetLayout, image_ids: list[str], **options: Any) -> dict[str, Any]:
    """metrics.json of one ω: AP50 and best F1 overall and per patient, and `heldout` when `val` is given (the options
    of `pipeline_evaluation`)."""
    return pipeline_evaluation(scores, layout, image_ids, **options).metrics


def pipeline_evaluation(
    scores: Scores,
    layout: DatasetLayout,
    image_ids: list[str],
    *,
    omega: float,
    protocol: Protocol,
    nms_iou: float = 0.5,
    annotator: str = "Unioned",
    val: tuple[Scores, list[str]] | None = None,
    sources: tuple[str, str] = ("scores", "val scores"),
) -> Evaluation:
    """`pipeline_metrics` and the per-image matches they pool. The fusion gate is the protocol's `fusion_gate`."""
    if not same_protocol(scores.meta.get("protocol"), protocol):
        raise ConfigError(f"{sources[0]}: scored with protocol {scores.meta.get('protocol')!r}, not {protocol.name}")
    gate = protocol.fusion_gate
    detections = fused_detections(scores, image_ids, omega, gate, nms_iou, sources[0])
    truth = ground_truth(layout, "test", image_ids, annotator)
    threshold, val_record = None, None
    if val is not None:
        require_heldout(protocol)
        _same_runs(scores, val[0], *sources)
        threshold, val_record = val_operating_point(*val, layout, omega, protocol, nms_iou, sources[1])
    detector = scores.meta.get("detector", {})
    numbers, matches = image_level_evaluation(detections, truth, image_ids, protocol, threshold)
    metrics = {
        **numbers,
        **evaluation_choices(protocol, annotator, nms_iou),
        "pipeline_run": scores.meta.get("pipeline_run"),
        "run": detector.get("run"),
        "omega": omega,
        "gate": gate,
        "nms_iou_before_classification": scores.meta.get("nms_iou_before_classification"),
        "detector": {k: detector.get(k) for k in ("run", "detector", "setting", "trainset", "seed")},
        "classifier": scores.meta.get("classifier"),
        "threshold_choice": ORACLE_CHOICE + (HELDOUT_CHOICE if val is not None else ""),
    }
    if val_record is not None:
        metrics["val"] = val_record
    return Evaluation(metrics, matches)
