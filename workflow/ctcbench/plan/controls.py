"""The controls of the image-level results in the plan (docs/metrics.md#controls, config `report.controls`): which
control runs exist, what each is in results.csv, and the table they feed.

Three controls are runs of their own: random boxes (one run per configured draw; they read no image, so one run
stands for every setting), the classical nucleus detector's boxes re-scored by a feature classifier (one run per
setting) and the same boxes scored by the grid's main classifier (one run per setting and seed: the nucleus detector
as the pipeline's proposal source). The table also reads runs the grid has anyway: the nucleus detector alone (its
classical run) and the main pipeline (`arms.control_arms`). Importing this module imports no numerical library: the
workflow plans with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..detect.nucleus import NAME as NUCLEUS
from ..detect.nucleus import SWITCH
from ..errors import ConfigError
from .runs import ClassifierRun, ControlRun

CONTROLS_TABLE = "controls"  # its table spec's name and the name its runs feed
RANDOM_BOXES = "random_boxes"
NUCLEUS_FEATURES = "nucleus_features"
NUCLEUS_CLASSIFIER = "nucleus_classifier"
ANY_SETTING = "any"  # the setting of a control that reads no image channel
FEATURES_SEED = 0  # the feature classifier's fit is deterministic: one run per setting
FEATURE_CLASSIFIER = "crop_features"  # the backbone column of its rows: a logistic regression on crop features


@dataclass(frozen=True)
class Control:
    """One control: its title, and its identity columns in results.csv (stage `control`)."""

    name: str
    title: str
    detector: str  # where its boxes come from
    backbone: str  # what re-scores them ('' for none or for the grid's main classifier, named in its record)
    trainset: str  # what its classifier is fitted on ('' for nothing)
    per_setting: bool  # one run per setting, or one run (setting `any`) for every setting
    omega: float | None  # the fusion weight it is evaluated at, for one scored by the pipeline's evaluation


CONTROLS = {
    RANDOM_BOXES: Control(RANDOM_BOXES, "Random boxes", RANDOM_BOXES, "", "", False, None),
    # Scored at omega 1: the feature classifier alone ranks the nucleus boxes, as Table 4's omega 1 rows rank by P(R).
    NUCLEUS_FEATURES: Control(NUCLEUS_FEATURES, "Nucleus detector + feature classifier", NUCLEUS,
                              FEATURE_CLASSIFIER, "all", True, 1.0),
    # The nucleus detector as the pipeline's proposal source: its boxes scored by the main classifier run of the
    # same setting and seed, at omega 1 (the brightness S_det is no detector confidence to fuse with).
    NUCLEUS_CLASSIFIER: Control(NUCLEUS_CLASSIFIER, "Nucleus detector + trained classifier", NUCLEUS, "", "all",
                                True, 1.0),
}  # fmt: skip


def controls_block(config: dict[str, Any]) -> dict[str, Any]:
    return config["report"]["controls"]


def controls_detector(config: dict[str, Any], block: str = CONTROLS_TABLE) -> str:
    """The detector of a report block's pipeline rows (`report.<block>.detector`, the controls' by default), one of
    Table 4's detectors; null (the default) for the first of `detect.detectors`."""
    detectors, chosen = config["detect"]["detectors"], config["report"][block].get("detector")
    if chosen is None:
        return detectors[0]
    if chosen not in detectors:
        raise ConfigError(
            f"report.{block}.detector: {chosen} is not among detect.detectors ({', '.join(detectors)}); its rows are "
            "Table 4's pipeline: name one of those, or null for the first"
        )
    return chosen


def control_runs(config: dict[str, Any]) -> list[ControlRun]:
    """The control runs of the config, in a stable order: the random draws, then, when the nucleus detector is
    planned, the feature classifier in each setting and the main classifier in each setting and seed; none when
    `report.controls.enabled` is off."""
    block = controls_block(config)
    if not block["enabled"]:
        return []
    runs = [ControlRun(RANDOM_BOXES, ANY_SETTING, int(seed)) for seed in block["random_seeds"]]
    if config["detect"][NUCLEUS][SWITCH]:
        runs += [ControlRun(NUCLEUS_FEATURES, setting, FEATURES_SEED) for setting in config["settings"]]
        runs += [ControlRun(NUCLEUS_CLASSIFIER, s, seed) for s in config["settings"] for seed in config["seeds"]]
    return runs


def control_classifier(config: dict[str, Any], run: ControlRun) -> ClassifierRun:
    """The classifier run that scores a `nucleus_classifier` control's boxes: the main backbone on all crops, of the
    control's setting and seed (Table 2's and Table 4's run)."""
    trainset = CONTROLS[NUCLEUS_CLASSIFIER].trainset
    return ClassifierRun(config["classify"]["main_backbone"], run.setting, trainset, run.seed)


def control_identity(run: ControlRun, classifier: str = "") -> dict[str, Any]:
    """A control run's identity columns in results.csv (report.results); `classifier`: the backbone its record
    names, for a control scored by a trained classifier."""
    control = CONTROLS[run.control]
    return {
        "backbone": control.backbone or classifier,
        "detector": control.detector,
        "setting": run.setting if control.per_setting else "",
        "trainset": control.trainset,
        "seed": run.seed,
        "omega": control.omega,
    }
