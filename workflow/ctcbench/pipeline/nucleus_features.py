"""The nucleus detector with a feature classifier: a non-deep pipeline, a control of the image-level results
(docs/metrics.md#controls).

The classical nucleus detector's boxes (`detect.nucleus`, trained on nothing) are the proposals, formatted as the
pipeline formats a detector's (`proposals.propose`). Each proposal crop, composed for one setting's channels as the
classifier composes them, gets S_cls from a logistic regression on hand-made crop features (`data.crop_features`:
size, shape, per-channel intensity statistics, radial profile, texture), fitted on the train crops, cancer (R)
against the rest (G and U). The scores are evaluated by the pipeline's own code (`evaluate.pipeline_evaluation`) at
ω = 1: the feature classifier alone ranks the boxes, as Table 4's ω = 1 rows rank by the network's P(R), under the
protocol's proposal formatting, NMS, ground-truth and threshold rules.

Without the fusion gate, whatever the protocol: the faithful gate (a box whose S_det is below 0.1 keeps S_det,
docs/defects.md#defect-15) is a cut on a trained detector's confidence, and the nucleus detector's score is a
brightness, mostly below 0.1 (on the demo twin every box's), so the gate would leave the classifier nothing to rank.
The metrics record the protocol they were computed under (`<protocol>,fusion_gate=null`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.crop_features import linear_classifier, setting_features
from ..data.crops import CropCache
from ..data.layout import CLASSES, DatasetLayout
from ..detect.predictions import Predictions
from ..errors import ConfigError, DatasetError
from ..per_image import Evaluation
from ..plan.controls import CONTROLS, FEATURE_CLASSIFIER, NUCLEUS_CLASSIFIER, NUCLEUS_FEATURES
from ..plan.runs import ControlRun
from ..protocol import Protocol, same_protocol
from ..provenance import file_sha256
from .evaluate import pipeline_evaluation
from .proposals import propose
from .scores import Scores
from .scoring import CropScorer, classify_in_chunks

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

OMEGA = CONTROLS[NUCLEUS_FEATURES].omega
CANCER = CLASSES.index("R")


@dataclass
class FeatureScorer:
    """A logistic regression on the crop features of one setting: P(R) of any crop cache (a `scoring.CropScorer`)."""

    model: Pipeline
    setting: str
    hoechst_channels: int

    def p_cancer(self, cache: CropCache) -> np.ndarray:
        if len(cache) == 0:
            return np.zeros(0)
        return self.model.predict_proba(self.features(cache))[:, 1]

    def features(self, cache: CropCache) -> np.ndarray:
        pairs = (cache.pair(index) for index in range(len(cache)))
        return setting_features(pairs, self.setting, self.hoechst_channels)

    def digest(self) -> str:
        """Checksum of the fitted parameters: the held-out threshold only transfers between scores of one fit."""
        scaler, regression = self.model[0], self.model[-1]
        numbers = [scaler.mean_, scaler.scale_, regression.coef_.ravel(), regression.intercept_]
        return hashlib.sha256(np.concatenate(numbers).astype(np.float64).tobytes()).hexdigest()


def fit_feature_scorer(
    cache: CropCache, setting: str, hoechst_channels: int = 3, seed: int = 0, source: str = "train crops"
) -> FeatureScorer:
    """The feature classifier of `setting` fitted on every crop of `cache`, R against the rest."""
    is_cancer = cache.labels == CANCER
    if is_cancer.all() or not is_cancer.any():
        which = "every crop is" if len(cache) and is_cancer.all() else "no crop is"
        raise DatasetError(f"{source}: {which} cancer (R); the feature classifier needs both R and other cells")
    scorer = FeatureScorer(linear_classifier(seed), setting, hoechst_channels)
    scorer.model.fit(scorer.features(cache), is_cancer)
    return scorer


def score_nucleus_boxes(
    layout: DatasetLayout,
    predictions: Predictions,
    image_ids: list[str],
    scorer: CropScorer,
    protocol: Protocol,
    nms_iou: float,
    meta: dict[str, Any],
    source: str = "nucleus predictions",
) -> Scores:
    """The nucleus detector's proposals on `image_ids` with S_det (its score) and S_cls (`scorer`'s)."""
    proposals = propose(predictions, image_ids, protocol, nms_iou, source)
    images = classify_in_chunks(layout, proposals, scorer, protocol.image_read)
    return Scores(meta={**meta, "n_images": len(images)}, images=images)


def nucleus_features_evaluation(
    layout: DatasetLayout,
    train_crops: CropCache,
    test: tuple[Predictions, list[str]],
    setting: str,
    protocol: Protocol,
    *,
    seed: int = 0,
    annotator: str = "Unioned",
    nms_iou: float = 0.5,
    val: tuple[Predictions, list[str]] | None = None,
    sources: tuple[str, str, str] = ("train crops", "nucleus predictions", "nucleus val predictions"),
) -> Evaluation:
    """The control of `setting`: fit on `train_crops`, score the nucleus boxes of the test images (and of the val
    images with `val`, which choose the held-out threshold), evaluate at ω = 1. Its metrics name the control run."""
    scorer = fit_feature_scorer(train_crops, setting, protocol.hoechst_channels, seed, sources[0])
    classifier = {"backbone": FEATURE_CLASSIFIER, "kind": "logistic regression on hand-made crop features",
                  "setting": setting, "trainset": CONTROLS[NUCLEUS_FEATURES].trainset, "seed": seed,
                  "sha256": scorer.digest(), "train_crops": sources[0], "n_train": len(train_crops),
                  "n_train_cancer": int((train_crops.labels == CANCER).sum())}  # fmt: skip
    run = ControlRun(NUCLEUS_FEATURES, setting, seed)
    return rescored_evaluation(layout, run, scorer, classifier, test, protocol, annotator=annotator,
                               nms_iou=nms_iou, val=val, sources=sources[1:])  # fmt: skip


def nucleus_classifier_evaluation(
    layout: DatasetLayout,
    classifier: Path,
    test: tuple[Predictions, list[str]],
    protocol: Protocol,
    *,
    device: str = "auto",
    workers: int = 0,
    annotator: str = "Unioned",
    nms_iou: float = 0.5,
    val: tuple[Predictions, list[str]] | None = None,
    sources: tuple[str, str] = ("nucleus predictions", "nucleus val predictions"),
) -> Evaluation:
    """The nucleus detector as the pipeline's proposal source: its boxes scored by a trained classifier run
    (`best.pt`), evaluated at ω = 1; the control run is the classifier's setting and seed."""
    from ..classify.scorer import CellScorer  # torch: only this control needs it

    scorer = CellScorer(classifier, device, workers)
    spec, info = scorer.spec, scorer.info
    if not same_protocol(spec.protocol, protocol):
        raise ConfigError(f"{classifier}: trained under protocol {spec.protocol!r}, not {protocol.name}; "
                          "give a classifier run of this protocol")  # fmt: skip
    record = {"backbone": spec.backbone, "setting": spec.setting, "trainset": info.get("trainset"),
              "seed": info.get("seed"), "checkpoint": str(classifier), "sha256": file_sha256(classifier)}  # fmt: skip
    run = ControlRun(NUCLEUS_CLASSIFIER, spec.setting, int(info.get("seed", 0)))
    return rescored_evaluation(layout, run, scorer, record, test, protocol, annotator=annotator, nms_iou=nms_iou,
                               val=val, sources=sources)  # fmt: skip


def rescored_evaluation(
    layout: DatasetLayout,
    run: ControlRun,
    scorer: CropScorer,
    classifier: dict[str, Any],
    test: tuple[Predictions, list[str]],
    protocol: Protocol,
    *,
    annotator: str,
    nms_iou: float,
    val: tuple[Predictions, list[str]] | None,
    sources: tuple[str, str],
) -> Evaluation:
    """A control whose S_cls comes from `scorer`: the nucleus boxes of the test images (and of the val images with
    `val`, which choose the held-out threshold) scored and evaluated at ω = 1 without the fusion gate."""
    protocol = protocol.replace(fusion_gate=None)
    meta = {
        "pipeline_run": run.name,
        "protocol": protocol.name,
        "nms_iou_before_classification": nms_iou if protocol.nms_before_classification else None,
        "classifier": classifier,
    }

    def scored(predictions: Predictions, ids: list[str], source: str) -> Scores:
        own = {**meta, "detector": predictions.meta, "predictions": source}
        return score_nucleus_boxes(layout, predictions, ids, scorer, protocol, nms_iou, own, source)

    test_scores = scored(*test, sources[0])
    val_scores = None if val is None else (scored(*val, sources[1]), val[1])
    evaluation = pipeline_evaluation(test_scores, layout, test[1], omega=OMEGA, protocol=protocol, nms_iou=nms_iou,
                                     annotator=annotator, val=val_scores, sources=sources)  # fmt: skip
    return Evaluation({**evaluation.metrics, "control": run.name}, evaluation.per_image)
