"""Checkpoint files: trained models (best.pt, final.pt) and the resume state of an unfinished run (last.pt).

Models are saved as a state dict plus the record needed to rebuild them (`ModelSpec`), not as pickled modules as
the original did, so they load with `weights_only=True` and survive library upgrades that move classes around.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError
from ..io import atomic_torch_save
from ..protocol import Protocol, parse
from .augment import Normalisation
from .models import build_model
from .network import TORCHVISION, Network, choose_network
from .torchvision_models import build_torchvision_model

CHECKPOINT_FORMAT = 2  # 2: the spec names its protocol with every switch (ctcbench.protocol)


@dataclass(frozen=True)
class ModelSpec:
    """Everything that rebuilds a trained classifier and feeds it the inputs it was trained on."""

    backbone: str
    timm_name: str
    in_chans: int
    num_outputs: int
    classes: tuple[str, ...]
    image_size: int
    setting: str
    protocol: str  # the protocol's name (ctcbench.protocol): the stem rule and the Hoechst channels come from it
    drop_path: float = 0.0
    norm: dict[str, Any] = field(default_factory=dict)
    # The backbone's torchvision builder, if it has one (absent from older checkpoints, whose networks were timm's).
    torchvision_name: str | None = None

    @property
    def protocol_switches(self) -> Protocol:
        return parse(self.protocol)

    @property
    def hoechst_channels(self) -> int:
        return self.protocol_switches.hoechst_channels

    @property
    def normalisation(self) -> Normalisation:
        return Normalisation.from_dict(self.norm)

    @property
    def network(self) -> Network:
        """The network built: the protocol's `classifier_networks` choice for this backbone."""
        return choose_network(self.protocol_switches, self.timm_name, self.torchvision_name)

    def build(self, weights: Path | None = None) -> nn.Module:
        """The network this spec describes, its backbone initialised from `weights` when given (training)."""
        stem, network = self.protocol_switches.classifier_stem, self.network
        if network.library == TORCHVISION:
            return build_torchvision_model(
                network.name, self.in_chans, self.num_outputs, weights=weights, stem=stem, drop_path=self.drop_path
            )
        return build_model(
            self.timm_name,
            self.in_chans,
            self.num_outputs,
            image_size=self.image_size,
            weights=weights,
            stem=stem,
            drop_path=self.drop_path,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["classes"] = list(self.classes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        return cls(**{**data, "classes": tuple(data["classes"])})


def save_model(path: Path | str, model: nn.Module, spec: ModelSpec, info: dict[str, Any]) -> None:
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_torch_save(path, {"format": CHECKPOINT_FORMAT, "spec": spec.to_dict(), "info": info, "state_dict": state})


def load_model(path: Path | str, device: torch.device | str = "cpu") -> tuple[nn.Module, ModelSpec, dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: checkpoint missing; train the run first (`ctcbench classify-train`)")
    data = torch.load(path, map_location="cpu", weights_only=True)
    if data.get("format") != CHECKPOINT_FORMAT:
        raise ConfigError(
            f"{path}: checkpoint format {data.get('format')}, expected {CHECKPOINT_FORMAT}; retrain the run"
        )
    spec = ModelSpec.from_dict(data["spec"])
    model = spec.build()
    model.load_state_dict(data["state_dict"])
    return model.to(device), spec, data["info"]


def save_resume(path: Path | str, state: dict[str, Any]) -> None:
    atomic_torch_save(path, {"format": CHECKPOINT_FORMAT, **state})


def load_resume(path: Path | str) -> dict[str, Any]:
    # Our own file, holding RNG states (numpy arrays, python tuples) that weights_only cannot represent.
    data = torch.load(path, map_location="cpu", weights_only=False)
    if data.get("format") != CHECKPOINT_FORMAT:
        raise ConfigError(f"{path}: resume state format {data.get('format')}; delete it to restart the run")
    return data
