"""Classifier re-scoring of proposals (docs/protocol.md#fusion): S_cls = P(R) of every proposal crop.

The original paired classifier run i with detector run i of the same input setting; a checkpoint trained on
another setting or protocol would silently see the wrong channels or intensities, so the pairing is checked
and refused with both files named. Crops go through the classifier's own evaluation path (composition for its
setting, resize, its normalisation), a chunk of images at a time so that a detector returning hundreds of
boxes per image (DINO, the corrected protocol without NMS) never holds every crop of the test set at once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from typing import Protocol as Interface

import numpy as np
from tqdm import tqdm

from .. import provenance
from ..data.crops import CropCache
from ..data.layout import DatasetLayout
from ..detect.predictions import read_predictions
from ..errors import ConfigError
from ..protocol import CLASSIFIER, DETECTOR, Protocol, agrees
from .proposals import ImageProposals, proposal_crops, propose
from .scores import ScoredImage, Scores

if TYPE_CHECKING:
    from ..classify.checkpoint import ModelSpec

IMAGES_PER_CHUNK = 16


def check_pairing(
    spec: ModelSpec, detector_meta: dict[str, Any], protocol: Protocol, classifier: Path, predictions: Path
) -> None:
    """The classifier and the detector must share the input setting, and each the requested protocol in every switch
    its stage reads (a run of another protocol that differs elsewhere is the same run: protocol.agrees)."""
    if spec.setting != detector_meta.get("setting"):
        raise ConfigError(
            f"{classifier}: classifier of setting {spec.setting!r}, but {predictions} come from a detector of "
            f"setting {detector_meta.get('setting')!r}; pair runs of the same setting"
        )
    for path, found, reader in (
        (classifier, spec.protocol, CLASSIFIER),
        (predictions, detector_meta.get("protocol"), DETECTOR),
    ):
        if not agrees(found, protocol, reader):
            raise ConfigError(
                f"{path}: protocol {found!r}, but --protocol {protocol.name} (with {classifier} and {predictions}); "
                f"use runs of the same protocol (at least in every switch a {reader} reads)"
            )


class CropScorer(Interface):
    """What scores proposal crops: P(R) of every crop of a cache, in its order (the trained classifier,
    `classify.scorer.CellScorer`; the feature classifier of the controls, `pipeline.nucleus_features`)."""

    def p_cancer(self, cache: CropCache) -> np.ndarray: ...


def classify_proposals(
    scorer: CropScorer, proposals: Mapping[str, ImageProposals], crops: CropCache
) -> dict[str, ScoredImage]:
    """The proposals with the S_cls of their crops (`proposals.proposal_crops` or `cut_proposals` of them)."""
    p_cancer = scorer.p_cancer(crops)
    # Crops are in image order and box order within an image, so each image's scores are a mask.
    return {
        image_id: ScoredImage(**vars(entry), s_cls=p_cancer[crops.image_ids == image_id])
        for image_id, entry in proposals.items()
    }


def classify_in_chunks(
    layout: DatasetLayout, proposals: Mapping[str, ImageProposals], scorer: CropScorer, reader: str
) -> dict[str, ScoredImage]:
    """`classify_proposals` of every image's proposals, cutting the crops of a chunk of images at a time."""
    image_ids = list(proposals)
    images: dict[str, ScoredImage] = {}
    with tqdm(total=len(image_ids), desc="score proposals", unit="image") as bar:
        for start in range(0, len(image_ids), IMAGES_PER_CHUNK):
            chunk = {i: proposals[i] for i in image_ids[start : start + IMAGES_PER_CHUNK]}
            crops = proposal_crops(layout, chunk, reader, progress=False)
            images.update(classify_proposals(scorer, chunk, crops))
            bar.update(len(chunk))
    return images


def score_proposals(
    layout: DatasetLayout,
    predictions_path: Path,
    image_ids: list[str],
    classifier: Path,
    protocol: Protocol,
    nms_iou: float,
    *,
    device: str = "auto",
    workers: int = 0,
) -> Scores:
    """Proposals of every listed image with S_det and S_cls, and the record of what produced them."""
    from ..classify.scorer import CellScorer  # torch: only this step of the module needs it

    started = time.time()
    scorer = CellScorer(classifier, device, workers)
    spec, info = scorer.spec, scorer.info
    predictions = read_predictions(predictions_path)
    check_pairing(spec, predictions.meta, protocol, Path(classifier), Path(predictions_path))
    proposals = propose(predictions, image_ids, protocol, nms_iou, str(predictions_path))
    images = classify_in_chunks(layout, proposals, scorer, protocol.image_read)
    # The pairing's name in results/ (docs/experiments.md#results-layout): the detector's kind and setting, the
    # classifier's training set and seed (the grid pairs seed i with seed i; both seeds stay in their own records).
    pipeline_run = f"{predictions.meta.get('detector')}/{spec.setting}/{info.get('trainset')}/seed{info.get('seed')}"
    meta = {
        "pipeline_run": pipeline_run,
        "detector": predictions.meta,
        "predictions": str(predictions_path),
        "predictions_sha256": provenance.file_sha256(predictions_path),
        "classifier": {
            "path": str(classifier),
            "sha256": provenance.file_sha256(classifier),
            **{k: info.get(k) for k in ("backbone", "trainset", "seed", "step")},
            "setting": spec.setting,
            "checkpoint_val_accuracy": info.get("val_accuracy"),
        },
        "protocol": protocol.name,
        "nms_iou_before_classification": nms_iou if protocol.nms_before_classification else None,
        "n_images": len(images),
        "n_proposals": int(sum(len(v.boxes) for v in images.values())),
        "device": provenance.device_info(str(scorer.device)),
        "wall_time_s": round(time.time() - started, 1),
    }
    return Scores(meta=meta, images=images)
