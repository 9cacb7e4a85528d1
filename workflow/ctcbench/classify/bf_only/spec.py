"""One run of the brightfield-only track as plain data (torch-free): what `ctcbench classify-bf-only` takes as its
one JSON spec, built from the config's `ablations.bf_only` block and the protocol by `bf_only_spec`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ...errors import ConfigError
from ...protocol import Protocol, of_config, parse
from ...spec_json import JsonSpec
from ..network import Network, choose_network
from .variants import UNKNOWN_CHOICES, Variant, variant

BLOCK = "bf_only"


@dataclass(frozen=True)
class BfOnlySpec(JsonSpec):
    """Everything that determines one run of the track."""

    KIND: ClassVar[str] = "brightfield-only run spec"

    backbone: str  # key of classify.backbones
    timm_name: str
    trainset: str  # bfo-<variant>
    seed: int
    protocol: str
    image_size: int
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    expansion: int
    unknown: str
    pretrained: bool = False
    torchvision_name: str | None = None
    drop_path: float = 0.0
    # Seed of the val halves the checkpoints are also chosen on (classifier_checkpoint: cross_fitted), else None
    val_halves_seed: int | None = None

    def __post_init__(self) -> None:
        self.variant  # noqa: B018 - the name's grammar, checked once here
        if self.unknown not in UNKNOWN_CHOICES:
            raise ConfigError(f"{self.name}: unknown {self.unknown!r}: expected one of {', '.join(UNKNOWN_CHOICES)}")
        if (self.val_halves_seed is not None) != (self.switches.classifier_checkpoint == "cross_fitted"):
            raise ConfigError(f"{self.name}: a val halves seed is given exactly when checkpoints are cross-fitted")

    @property
    def variant(self) -> Variant:
        return variant(self.trainset.removeprefix("bfo-"))

    @property
    def switches(self) -> Protocol:
        return parse(self.protocol)

    @property
    def network(self) -> Network:
        return choose_network(self.switches, self.timm_name, self.torchvision_name)

    @property
    def name(self) -> str:
        return f"{self.backbone}/bf/{self.trainset}/seed{self.seed}"


def learning_rate(block: dict[str, Any], protocol: Protocol) -> float:
    """AdamW's learning rate: the study's printed 1e-7 or the block's working one (protocol `bf_only_lr`)."""
    return float(block["printed_lr"] if protocol.bf_only_lr == "printed" else block["lr"])


def bf_only_spec(config: dict[str, Any], backbone: str, trainset: str, seed: int) -> BfOnlySpec:
    """The spec of one run of the track from the resolved config."""
    classify, block = config["classify"], config["ablations"][BLOCK]
    entry = classify["backbones"].get(backbone)
    if entry is None:
        raise ConfigError(f"ablations.bf_only: backbone {backbone!r} is not a key of classify.backbones")
    protocol = of_config(config)
    return BfOnlySpec(
        backbone=backbone,
        timm_name=entry["timm"],
        trainset=trainset,
        seed=int(seed),
        protocol=protocol.name,
        image_size=int(block["image_size"]),
        epochs=int(block["epochs"]),
        batch_size=int(block["batch_size"]),
        lr=learning_rate(block, protocol),
        weight_decay=float(block["weight_decay"]),
        expansion=int(block["expansion"]),
        unknown=block["unknown"],
        pretrained=bool(classify["pretrained"]),
        torchvision_name=entry.get("torchvision"),
        drop_path=float(entry.get("drop_path", 0.0)),
        val_halves_seed=classify["threshold_split_seed"] if protocol.classifier_checkpoint == "cross_fitted" else None,
    )
