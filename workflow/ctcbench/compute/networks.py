"""The networks the projection counts, torch-free: one record per distinct network and input, built from a run's
spec exactly as its training step builds it, and the FLOPs counted for it.

Runs that build the same network share a record, so each is counted once: classifier runs of one backbone, channel
count and head; detector runs of one detector and channel count (a detector's setting reaches its network only
through the channel count, so every setting is represented by the first setting of its channel count).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..classify.spec import ClassifierSpec
from ..data.channels import SETTINGS, channel_count
from ..detect.spec import RunSpec, run_spec
from ..errors import ConfigError
from ..plan import DetectorRun
from ..plan.specs import detector_spec
from ..protocol import of_config

TRAIN, INFER = "train", "infer"  # one optimisation step of a batch; one crop or image through the network


@dataclass(frozen=True)
class ClassifierNetwork:
    backbone: str
    timm_name: str
    channels: int
    head_outputs: int
    image_size: int
    batch_size: int  # crops per training step
    drop_path: float

    @property
    def name(self) -> str:
        return f"{self.backbone}, {self.channels} channels, {self.head_outputs} outputs"

    def unit(self, mode: str) -> str:
        return f"{self.batch_size} crops, forward + backward" if mode == TRAIN else "1 crop, forward"


@dataclass(frozen=True)
class DetectorNetwork:
    detector: str
    channels: int
    spec_json: str  # the run spec that builds it (training set `all`, seed 0: neither changes the network)
    image_size: int  # pixels per side of the network's input
    batch_size: int  # images per training step
    boxes_per_image: int  # ground-truth boxes of a training image (assignment and DINO's denoising queries use them)

    @property
    def spec(self) -> RunSpec:
        return RunSpec.from_json(self.spec_json)

    @property
    def name(self) -> str:
        return f"{self.detector}, {self.channels} channels"

    def unit(self, mode: str) -> str:
        return f"{self.batch_size} images, forward + backward" if mode == TRAIN else "1 image, forward"


@dataclass(frozen=True)
class StepFlops:
    """FLOPs of one training step (the whole batch) and of one inference item; `*_analytic` is the part estimated for
    mmcv kernels the counter cannot see (mmcv_ops)."""

    train: int
    infer: int
    train_analytic: int = 0
    infer_analytic: int = 0

    def of(self, mode: str) -> int:
        return self.train if mode == TRAIN else self.infer

    def analytic(self, mode: str) -> int:
        return self.train_analytic if mode == TRAIN else self.infer_analytic


def classifier_network(spec: ClassifierSpec) -> ClassifierNetwork:
    """The network a classifier run's spec (plan.specs.classifier_spec) trains."""
    return ClassifierNetwork(
        backbone=spec.backbone,
        timm_name=spec.timm_name,
        channels=channel_count(spec.setting, spec.switches.hoechst_channels),
        head_outputs=spec.head_outputs,
        image_size=spec.image_size,
        batch_size=spec.schedule.batch_size,
        drop_path=spec.drop_path,
    )


def detector_image_size(config: dict[str, Any]) -> int:
    """The side of a detector's input: the resize target when set, else the dataset's (square) image size."""
    size = config["detect"].get("image_scale") or config["dataset"].get("expected_image_size")
    if not size:
        raise ConfigError(
            "compute: the detectors' input size is unknown; set dataset.expected_image_size (or detect.image_scale)"
        )
    return int(size)


def detector_network(config: dict[str, Any], run: DetectorRun, boxes_per_image: int) -> DetectorNetwork:
    channels = detector_spec(config, run).in_channels
    hoechst = of_config(config).hoechst_channels
    setting = next(s for s in SETTINGS if channel_count(s, hoechst) == channels)
    return DetectorNetwork(
        detector=run.detector,
        channels=channels,
        spec_json=run_spec(config, run.detector, setting, "all", 0).to_json(),
        image_size=detector_image_size(config),
        batch_size=int(config["detect"]["batch_size"]),
        boxes_per_image=boxes_per_image,
    )
