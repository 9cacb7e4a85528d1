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

from ..plan import ClassifierRun, DetectorRun, Pairing, Plan, plan
from ..plan.defects import variant_config, variant_trainings
from ..plan.grid import predicted_splits
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


@dataclass(frozen=True)
class Tag:
    """Marks work apart in compute.md: its tasks end in `suffix`, its models in `label`."""

    suffix: str = ""
    label: str = ""

    def task(self, name: str) -> str:
        return f"{name}{self.suffix}"

    def model(self, name: str) -> str:
        return f"{name}{self.label}"


GRID = Tag()
DEFECT_VARIANTS = Tag("_defect_variants", " (defect variants)")  # the variants' own runs (plan.defects)


def workload(config: dict[str, Any], counts: DatasetCounts) -> list[Work]:
    """Every piece of GPU work of the configured grid, in the plan's order, then the defect variants' own."""
    grid = plan(config)
    return [
        *classifier_work(config, grid, counts),
        *detector_work(config, grid, counts),
        *scoring_work(config, grid, counts),
        *defect_work(config, grid, counts),
    ]


def classifier_work(config: dict[str, Any], grid: Plan, counts: DatasetCounts) -> Iterator[Work]:
    pseudo_labels = grid.pseudo_labelled() is not None
    for run in grid.classifiers:
        if not run.training_set.kind.trains_in_grid:
            continue  # the brightfield-only track trains by epochs of its own: not projected (docs/experiments.md)
        yield from classifier_run_work(config, run, counts)
        if pseudo_labels and run.trainset == PSEUDO_BASE:
            network = classifier_network(classifier_spec(config, run))
            yield Work(INFERENCE, run.backbone, "pseudo_labels", network, INFER, 1, counts.crops["train"]["U"])


def classifier_run_work(
    config: dict[str, Any], run: ClassifierRun, counts: DatasetCounts, tag: Tag = GRID
) -> Iterator[Work]:
    """A classifier run's training, its validation passes and its evaluation."""
    spec = classifier_spec(config, run)
    network, schedule = classifier_network(spec), spec.schedule
    model = tag.model(run.backbone)
    yield Work(CLASSIFIERS, model, tag.task("train"), network, TRAIN, 1, schedule.iterations)
    passes = schedule.iterations // schedule.val_every
    val_crops = counts.crops_of("val", run.training_set.classes)
    yield Work(INFERENCE, model, tag.task("validation"), network, INFER, 1, passes * val_crops)
    yield Work(INFERENCE, model, tag.task("evaluation"), network, INFER, 1, counts.crops_of("val"))


def detector_work(config: dict[str, Any], grid: Plan, counts: DatasetCounts) -> Iterator[Work]:
    for run in grid.detectors:
        yield from detector_run_work(config, run, counts, grid.predicted_splits)


def detector_run_work(
    config: dict[str, Any], run: DetectorRun, counts: DatasetCounts, splits: list[str], tag: Tag = GRID
) -> Iterator[Work]:
    """A detector run's training and its predictions on `splits`."""
    detect = config["detect"]
    network = detector_network(config, run, counts.cancer_cells_per_train_image)
    images = counts.list_images(run.image_list)
    steps = detect["epochs"] * math.ceil(images / detect["batch_size"])
    estimate = "a patient's training images, estimated" if counts.list_is_estimate(run.image_list) else ""
    model = tag.model(run.detector)
    yield Work(DETECTORS, model, tag.task("train"), network, TRAIN, 1, steps, estimate)
    for split in splits:
        yield Work(INFERENCE, model, tag.task("predict"), network, INFER, 1, counts.images[split])


def max_proposals(block: dict[str, Any]) -> int:
    """Most detections a detector returns per image: its `max_per_img`, for DINO at most its queries."""
    return min(block["max_per_img"], block.get("num_queries", block["max_per_img"]))


def scoring_work(config: dict[str, Any], grid: Plan, counts: DatasetCounts) -> Iterator[Work]:
    for pairing in grid.pairings:
        if not pairing.classifier.training_set.kind.trains_in_grid:
            continue  # the brightfield-only track's pairings: not projected, as its training
        yield from pairing_work(config, pairing, counts, grid.predicted_splits)


def pairing_work(
    config: dict[str, Any], pairing: Pairing, counts: DatasetCounts, splits: list[str], tag: Tag = GRID
) -> Iterator[Work]:
    """A pairing's classifier scoring its detector's proposals on `splits`."""
    network = classifier_network(classifier_spec(config, pairing.classifier))
    proposals = max_proposals(config["detect"][pairing.detector])
    for split in splits:
        crops = counts.images[split] * proposals
        estimate = f"upper bound: {proposals} proposals per image (max_per_img)"
        task = tag.task(f"score_{pairing.detector}")
        yield Work(INFERENCE, tag.model(pairing.backbone), task, network, INFER, 1, crops, estimate)


def defect_work(config: dict[str, Any], grid: Plan, counts: DatasetCounts) -> Iterator[Work]:
    """The runs the defect variants train themselves, their predictions, and every variant's re-scoring."""
    configured = grid.protocol
    classifiers, detectors = variant_trainings(configured, grid.defects)
    for variant, run in classifiers:
        yield from classifier_run_work(variant_config(config, variant), run, counts, DEFECT_VARIANTS)
    for variant, run in detectors:
        # A detector switch changes the input or the schedule, not the network: the configured protocol's network
        # stands for every variant's (one FLOP count instead of one per variant).
        splits = predicted_splits(variant.protocol(configured))
        yield from detector_run_work(config, run, counts, splits, DEFECT_VARIANTS)
    for defect in grid.defects:
        if not defect.variant.is_configured(configured):
            variant_cfg = variant_config(config, defect.variant)
            splits = predicted_splits(defect.variant.protocol(configured))
            yield from pairing_work(variant_cfg, defect.pairing, counts, splits, DEFECT_VARIANTS)
