"""What the plan runs, as work per network (torch-free): training steps of every classifier and detector run and the
crops and images every inference pass puts through a network (docs/experiments.md#compute-projection).

* classifiers: `iterations` steps of `batch_size` crops each, whatever the size of the training set (fractions and
  patients train as long as `all`); the `2x` schedule doubles them;
* detectors: `epochs` x ceil(images / batch_size) steps, the images of the run's list (a patient's are fewer);
* inference: a validation pass over the val crops of the trained classes every `val_every` steps, the evaluation
  pass over all val crops, the drop-U models scoring the unknown training crops (pseudo-labels), every detector
  predicting the planned splits' images, and every pairing's classifier scoring the proposals on those splits (at
  most `max_per_img` per image: an upper bound).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..plan import Plan, plan
from ..plan.specs import classifier_spec
from ..plan.trainsets import PSEUDO_BASE
from .counts import DatasetCounts
from .networks import INFER, TRAIN, ClassifierNetwork, DetectorNetwork, classifier_network, detector_network

CLASSIFIERS, DETECTORS, INFERENCE = "classifiers", "detectors", "inference"
STAGES = (CLASSIFIERS, DETECTORS, INFERENCE)


@dataclass(frozen=True)
class Work:
    stage: str
    model: str  # a backbone or a detector (the row it is summed into)
    task: str  # train, validation, evaluation, pseudo_labels, predict, score_<detector>
    network: ClassifierNetwork | DetectorNetwork
    mode: str  # TRAIN: optimisation steps; INFER: crops or images through the network
    runs: int  # the runs (trained models) doing it
    steps: int
    estimate: str = ""  # why `steps` is an estimate; empty when it is exact


def workload(config: dict[str, Any], counts: DatasetCounts) -> list[Work]:
    """Every piece of GPU work of the configured grid, in the plan's order."""
    grid = plan(config)
    return [
        *classifier_work(config, grid, counts),
        *detector_work(config, grid, counts),
        *scoring_work(config, grid, counts),
    ]


def classifier_work(config: dict[str, Any], grid: Plan, counts: DatasetCounts) -> Iterator[Work]:
    pseudo_labels = grid.pseudo_labelled() is not None
    for run in grid.classifiers:
        if not run.training_set.kind.trains_in_grid:
            continue  # the brightfield-only track trains by epochs of its own: not projected (docs/experiments.md)
        spec = classifier_spec(config, run)
        network, schedule = classifier_network(spec), spec.schedule
        yield Work(CLASSIFIERS, run.backbone, "train", network, TRAIN, 1, schedule.iterations)
        passes = schedule.iterations // schedule.val_every
        val_crops = counts.crops_of("val", run.training_set.classes)
        yield Work(INFERENCE, run.backbone, "validation", network, INFER, 1, passes * val_crops)
        yield Work(INFERENCE, run.backbone, "evaluation", network, INFER, 1, counts.crops_of("val"))
        if pseudo_labels and run.trainset == PSEUDO_BASE:
            yield Work(INFERENCE, run.backbone, "pseudo_labels", network, INFER, 1, counts.crops["train"]["U"])


def detector_work(config: dict[str, Any], grid: Plan, counts: DatasetCounts) -> Iterator[Work]:
    detect = config["detect"]
    boxes = counts.cancer_cells_per_train_image
    for run in grid.detectors:
        network = detector_network(config, run, boxes)
        images = counts.list_images(run.image_list)
        steps = detect["epochs"] * math.ceil(images / detect["batch_size"])
        estimate = "a patient's training images, estimated" if counts.list_is_estimate(run.image_list) else ""
        yield Work(DETECTORS, run.detector, "train", network, TRAIN, 1, steps, estimate)
        for split in grid.predicted_splits:
            yield Work(INFERENCE, run.detector, "predict", network, INFER, 1, counts.images[split])


def max_proposals(block: dict[str, Any]) -> int:
    """Most detections a detector returns per image: its `max_per_img`, for DINO at most its queries."""
    return min(block["max_per_img"], block.get("num_queries", block["max_per_img"]))


def scoring_work(config: dict[str, Any], grid: Plan, counts: DatasetCounts) -> Iterator[Work]:
    for pairing in grid.pairings:
        if not pairing.classifier.training_set.kind.trains_in_grid:
            continue  # the brightfield-only track's pairings: not projected, as its training
        network = classifier_network(classifier_spec(config, pairing.classifier))
        proposals = max_proposals(config["detect"][pairing.detector])
        for split in grid.predicted_splits:
            crops = counts.images[split] * proposals
            estimate = f"upper bound: {proposals} proposals per image (max_per_img)"
            yield Work(INFERENCE, pairing.backbone, f"score_{pairing.detector}", network, INFER, 1, crops, estimate)
