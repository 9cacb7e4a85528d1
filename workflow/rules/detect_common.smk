# Constants, target lists and input functions of the detection stage (included by detect.smk); runs come from the
# plan.
import re

from ctcbench.detect.nucleus import NAME as NUCLEUS
from ctcbench.detect.nucleus import NucleusParams
from ctcbench.detect.recipes import DETECTORS
from ctcbench.plan import (
    SPLIT_SUFFIXES,
    ClassicalRun,
    ControlRun,
    DetectorRun,
    split_file,
    split_of,
)
from ctcbench.plan.controls import (
    ANY_SETTING,
    NUCLEUS_CLASSIFIER,
    NUCLEUS_FEATURES,
    RANDOM_BOXES,
    control_classifier,
)
from ctcbench.plan import weights as detect_weights
from ctcbench.plan.specs import detector_spec
from ctcbench.plan.trainsets import detector_pattern
from ctcbench.protocol import DETECTOR

DETECT = config["detect"]
DETECT_RESOURCES = DETECT["resources"]
DETECT_ENV = "../../envs/detect.yaml"
DETECT_RUN = DetectorRun.template(RESULTS)
DETECT_LOG = f"{LOGS}/detect/{{detector}}/{{setting}}/{{trainset}}/seed{{seed}}"
DETECT_BENCH = DetectorRun.benchmarks_template(RESULTS)
DETECT_WEIGHTS = detect_weights.needed_weights(config)
DETECT_CONSTRAINTS = dict(
    detector="|".join(DETECTORS),
    setting="|".join(config["settings"]),
    trainset=detector_pattern(),
    seed=r"\d+",
)
DETECT_FILES = (split_file("predictions", "test"), "metrics.json", "run.json")
# The split suffixes of predictions and scores files the plan can make ('' for test, '-val' with a held-out threshold
# or for a bundle's threshold). (A group, so that the test split's empty suffix alone is still a pattern.)
SPLIT_PATTERN = (
    "(?:" + "|".join(SPLIT_SUFFIXES[split] for split in PLAN.scored_splits) + ")"
)
# With a held-out image threshold the detection stage also reports the F1 at the threshold chosen on val.
DETECT_VAL_INPUTS = (
    {
        "val_predictions": f"{DETECT_RUN}/{split_file('predictions', 'val')}",
        "val_list": image_list("val"),
    }
    if "val" in PLAN.predicted_splits
    else {}
)


# The classical nucleus detector (detect.nucleus): no training; it predicts the same splits as the trained ones.
NUCLEUS_RUN = ClassicalRun(NUCLEUS).path(RESULTS)
NUCLEUS_PARAMS = NucleusParams.from_dict(DETECT[NUCLEUS]).to_json()
NUCLEUS_VAL_INPUTS = (
    {
        "val_predictions": f"{NUCLEUS_RUN}/{split_file('predictions', 'val')}",
        "val_list": image_list("val"),
    }
    if "val" in PLAN.predicted_splits
    else {}
)


# The controls of the image level (plan.controls, docs/metrics.md#controls): random boxes here, the nucleus detector
# with a feature classifier in pipeline.smk; each writes metrics.json and its per-image record.
CONTROL_RUN = ControlRun.template(RESULTS)
CONTROL_LOG = f"{LOGS}/controls/{{control}}/{{setting}}/seed{{seed}}"
CONTROL_BENCH = ControlRun.benchmarks_template(RESULTS)
RANDOM_BOXES_VAL_INPUTS = (
    {"val_list": image_list("val")} if "val" in PLAN.predicted_splits else {}
)


def control_metrics(feeds=None):
    """metrics.json of every planned control run, or of those that feed one of the tables `feeds`."""
    return [
        f"{run.path(RESULTS)}/metrics.json"
        for run, fed in PLAN.controls.items()
        if feeds is None or fed & set(feeds)
    ]


def evaluate_val_option(wildcards, input):
    """detect-evaluate's val options when the rule has val predictions (a held-out image threshold)."""
    if "val_predictions" not in input.keys():
        return ""
    return f"--val-predictions {input.val_predictions} --val-list {input.val_list}"


def detect_train_inputs(wildcards):
    """The dataset, the run's training list, its staged weights and, with detector_checkpoint best_val (a detector
    that scores the val images during training and keeps its best epoch), the val list.
    """
    run = detect_run(wildcards)
    inputs = {
        "dataset": DATASET,
        "train_list": image_list(run.image_list),
        "weights": detect_weights.weights_inputs(config_of(wildcards), run.detector),
    }
    if protocol_of(wildcards).detector_checkpoint == "best_val":
        inputs["val_list"] = image_list("val")
    return inputs


def detect_model(wildcards):
    """model.pth of a detector job's run (in its defect variant's folder for a variant's)."""
    return f"{detect_run(wildcards).path(root_of(wildcards, DETECTOR))}/model.pth"


def detect_targets():
    """predictions.json, metrics.json and run.json of every planned detector run, and the classical detector's
    predictions.json and metrics.json (the Snakefile's `all`)."""
    trained = [
        f"{run.path(RESULTS)}/{name}" for run in PLAN.detectors for name in DETECT_FILES
    ]
    return trained + [
        f"{run.path(RESULTS)}/{name}"
        for run in PLAN.classical
        for name in DETECT_FILES[:2]
    ]


def detect_metrics(feeds=None):
    """metrics.json of every planned detector run, or of the runs that feed one of the tables `feeds`."""
    return [
        f"{run.path(RESULTS)}/metrics.json"
        for run, fed in PLAN.detectors.items()
        if feeds is None or fed & set(feeds)
    ]


def classical_metrics(feeds=None):
    """metrics.json of every planned classical detector run, or of those that feed one of the tables `feeds`."""
    return [
        f"{run.path(RESULTS)}/metrics.json"
        for run, fed in PLAN.classical.items()
        if feeds is None or fed & set(feeds)
    ]


def detect_run(wildcards):
    return DetectorRun(
        wildcards.detector, wildcards.setting, wildcards.trainset, int(wildcards.seed)
    )
