"""One classifier training run as plain data: what the workflow passes to `ctcbench classify-train` and records.

Torch-free, so that the workflow builds specs while it plans the DAG (as `detect.spec` does for detectors). A spec
holds everything that changes the run's numbers: its identity (backbone, setting, training set, seed), the
protocol, the effective schedule, the network's shape, and the classes of its training set with the head they get
(from the training-set registry, `plan.trainsets`; `plan.specs.classifier_spec` builds specs). Its digest guards
resumption: a resume state written under another spec is refused. What does not change the numbers (files, device,
threads, workers, how often the resume state is written) stays on the command line, and so do the speed options that
change them only by float rounding on CUDA (--fast-cuda, --compile, --fused-optimizer), recorded in run.json.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from ..data.channels import check_setting
from ..errors import ConfigError
from ..protocol import Protocol, parse
from ..spec_json import JsonSpec
from .network import Network, choose_network
from .schedule import Schedule

# Where training crops are augmented: in the loader's CPU workers (`augment`, the default) or on the training device
# (`device_augment`). The two draw from different generators, so they give different runs.
IN_LOADER, ON_DEVICE = "loader", "device"
AUGMENT_ON = (IN_LOADER, ON_DEVICE)


@dataclass(frozen=True)
class ClassifierSpec(JsonSpec):
    """Everything that determines one classifier run."""

    KIND: ClassVar[str] = "classifier run spec"

    backbone: str  # key of classify.backbones
    timm_name: str  # timm architecture name, with its weight tag
    setting: str
    trainset: str
    seed: int
    protocol: str  # the protocol's name (ctcbench.protocol)
    classes: tuple[str, ...] = ("R", "G", "U")  # the training set's classes, in label order
    head_outputs: int = 3  # outputs of the classifier's head (3 for drop-U under the stale head switch)
    schedule: Schedule = field(default_factory=Schedule)
    image_size: int = 128
    drop_path: float = 0.0
    pretrained: bool = False
    # Seed of the val halves its checkpoints are also chosen on (classifier_checkpoint: cross_fitted), else None
    val_halves_seed: int | None = None
    torchvision_name: str | None = None  # the backbone's torchvision builder, if it has one
    augment_on: str = IN_LOADER

    def __post_init__(self) -> None:
        if isinstance(self.schedule, dict):
            object.__setattr__(self, "schedule", Schedule(**self.schedule))
        object.__setattr__(self, "classes", tuple(self.classes))
        if self.head_outputs < len(self.classes):
            raise ConfigError(f"{self.name}: a head of {self.head_outputs} outputs for classes {self.classes}")
        check_setting(self.setting, self.switches.hoechst_channels)
        if (self.val_halves_seed is not None) != (self.switches.classifier_checkpoint == "cross_fitted"):
            raise ConfigError(
                f"{self.name}: val_halves_seed={self.val_halves_seed} under classifier_checkpoint="
                f"{self.switches.classifier_checkpoint}; a seed is given exactly when checkpoints are cross-fitted"
            )
        if self.augment_on not in AUGMENT_ON:
            raise ConfigError(f"{self.name}: augment_on {self.augment_on!r}: expected one of {', '.join(AUGMENT_ON)}")

    @property
    def switches(self) -> Protocol:
        return parse(self.protocol)

    @property
    def network(self) -> Network:
        """The network the run builds: the protocol's `classifier_networks` choice for this backbone."""
        return choose_network(self.switches, self.timm_name, self.torchvision_name)

    @property
    def name(self) -> str:
        return f"{self.backbone}/{self.setting}/{self.trainset}/seed{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["schedule"] = self.schedule.to_dict()
        data["classes"] = list(self.classes)
        if self.augment_on == IN_LOADER:
            # Left out at its default, so that a loader run's spec, digest and rule parameters stay what they were
            # before the field existed (finished runs are not retrained, resume states stay valid).
            del data["augment_on"]
        return data
