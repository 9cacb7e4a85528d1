"""One run of the k-fold track as plain data (torch-free): what `ctcbench classify-kfold` takes as its one JSON spec
and records (docs/experiments.md#k-fold-track). The plan builds it (`plan.kfold.kfold_spec`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from ..data.channels import check_setting
from ..data.kfold_splits import check_scheme
from ..errors import ConfigError
from ..protocol import Protocol, parse
from ..spec_json import JsonSpec
from .network import TIMM, TORCHVISION, Network
from .schedule import Schedule

FORMAT = "ctcbench.kfold/1"  # metrics.json of a k-fold run (classify.kfold; read by report.results)
HELDOUT, TEST_PART = "heldout", "test"  # the two parts every fold's model is scored on
SCRATCH, IMAGENET = "scratch", "imagenet"
INITS = (SCRATCH, IMAGENET)
# What the unknown (U) crops are in the k-fold track: left out (drop, the default), or not cancer (negative).
UNKNOWN_POLICIES = ("drop", "negative")


@dataclass(frozen=True)
class KFoldSpec(JsonSpec):
    """Everything that determines one k-fold run: the network and its start, the setting, the fold scheme and seed,
    the split sizes, the protocol and the schedule every fold trains with."""

    KIND: ClassVar[str] = "k-fold run spec"

    model: str  # key of ablations.kfold.networks
    library: str  # timm | torchvision
    network: str  # timm name or torchvision builder
    paper: str  # the study's label (VGG-16, ...)
    init: str  # scratch | imagenet
    setting: str
    scheme: str  # stratified | grouped (the protocol's kfold_folds, or the other one when both are planned)
    seed: int
    protocol: str
    folds: int = 5
    test_fraction: float = 0.2
    unknown: str = "drop"
    image_size: int = 128
    schedule: Schedule = field(default_factory=Schedule)

    def __post_init__(self) -> None:
        if isinstance(self.schedule, dict):
            object.__setattr__(self, "schedule", Schedule(**self.schedule))
        check_scheme(self.scheme)
        check_setting(self.setting, self.switches.hoechst_channels)
        for key, value, allowed in (("library", self.library, (TIMM, TORCHVISION)), ("init", self.init, INITS),
                                    ("unknown", self.unknown, UNKNOWN_POLICIES)):  # fmt: skip
            if value not in allowed:
                raise ConfigError(f"{self.KIND} {self.name}: {key} {value!r}; expected one of {', '.join(allowed)}")

    @property
    def switches(self) -> Protocol:
        return parse(self.protocol)

    @property
    def pretrained(self) -> bool:
        return self.init == IMAGENET

    @property
    def net(self) -> Network:
        return Network(self.library, self.network)

    @property
    def name(self) -> str:
        return f"{self.model}/{self.init}/{self.setting}/{self.scheme}/seed{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["schedule"] = self.schedule.to_dict()
        return data
