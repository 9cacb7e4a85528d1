"""One detector training run as plain data: what the workflow passes to `ctcbench detect-train` and records.

This module imports neither torch nor mmdet, so that the Snakefile can build run specs while planning the DAG.
A run is identified by its wildcards (detector, setting, training set, seed); everything else that changes its
numbers (protocol, the `detect:` section, test annotator) travels with it, so that the spec
is a complete, hashable description of the run and a change of any of it invalidates an interrupted run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..data.channels import channel_count, check_setting
from ..errors import ConfigError
from ..protocol import Protocol, of_config, parse
from ..spec_json import JsonSpec
from .recipes import DETECTORS, RECIPES, recipe


@dataclass(frozen=True)
class RunSpec(JsonSpec):
    """Everything that determines one detector run; `detect` is the resolved `detect:` config section."""

    KIND: ClassVar[str] = "detector run spec"

    detector: str
    setting: str
    trainset: str
    seed: int
    protocol: str  # the protocol's name (ctcbench.protocol)
    test_annotator: str
    detect: dict[str, Any] = field(default_factory=dict)
    # pipeline.nms_iou, with which the val images choose the kept epoch (detector_checkpoint: best_val); None
    # otherwise, so that the evaluation's NMS does not retrain runs that keep their final epoch
    val_nms_iou: float | None = None

    def __post_init__(self) -> None:
        recipe(self.detector)  # an unknown name is a one-line error naming the registered ones
        check_setting(self.setting, self.switches.hoechst_channels)
        shape = (self.detect.get("backbone_depth", 50), self.detect.get("backbone_width", 64))
        if self.detect.get("pretrained") and shape != (50, 64):
            raise ConfigError(
                f"detect.backbone_depth/backbone_width = {shape[0]}/{shape[1]} with detect.pretrained: true; "
                "the staged weights are ResNet-50: use 50/64 or set detect.pretrained: false"
            )
        if self.validates and self.val_nms_iou is None:
            raise ConfigError(f"detector run spec {self.name}: detector_checkpoint best_val needs val_nms_iou")

    @property
    def switches(self) -> Protocol:
        return parse(self.protocol)

    @property
    def in_channels(self) -> int:
        return channel_count(self.setting, self.switches.hoechst_channels)

    @property
    def model(self) -> dict[str, Any]:
        """The detector's own block of the `detect:` section (widths, learning rate, test thresholds)."""
        return self.detect[self.detector]

    @property
    def box_shift(self) -> int:
        """Offset added to VOC corners for training: the original's loader subtracted 1 (docs/defects.md#defect-18)."""
        return self.switches.box_shift

    @property
    def validates(self) -> bool:
        """Whether the run scores the val images during training to keep its best epoch (docs/defects.md#defect-22)."""
        return self.switches.detector_checkpoint == "best_val"

    @property
    def weights_key(self) -> str | None:
        """Key of detect.weights this run initialises from, or None for random initialisation."""
        if not self.detect["pretrained"]:
            return None
        return RECIPES[self.detector].weights_key(self.model)

    @property
    def name(self) -> str:
        return f"{self.detector}/{self.setting}/{self.trainset}/seed{self.seed}"


def run_spec(config: dict[str, Any], detector: str, setting: str, trainset: str, seed: int | str) -> RunSpec:
    """The spec of one run from the resolved workflow configuration (ctcbench.config.resolve)."""
    detect = {k: v for k, v in config["detect"].items() if k not in ("detectors", "resources", "threads", "weights")}
    # Only the run's own detector block matters; the others must not invalidate it when they change.
    for other in DETECTORS:
        if other != detector:
            detect.pop(other, None)
    protocol = of_config(config)
    return RunSpec(
        detector=detector,
        setting=setting,
        trainset=trainset,
        seed=int(seed),
        protocol=protocol.name,
        test_annotator=config["dataset"]["test_annotator"],
        detect=detect,
        val_nms_iou=config["pipeline"]["nms_iou"] if protocol.detector_checkpoint == "best_val" else None,
    )
