"""The original's classifier networks: torchvision builders with a new head and a 3-, 4- or 6-channel stem
(docs/protocol.md#classifier-backbones; the protocol's `classifier_networks`, docs/defects.md#defect-31).

As the original: the ImageNet-1k V1 state dict (staged as `<builder>.pth`) loads into the builder's ImageNet
network, its head becomes an identity, so the network returns its embedding, and a new Linear(feat_dim,
num_classes) goes on top; for C != 3 input channels only the first conv is replaced (`stems`, the protocol's
`classifier_stem`). The builder's own stochastic depth stays (ConvNeXt-B 0.5, Swin-S 0.3, EfficientNet 0.2, ...).

`TorchvisionClassifier` offers what the rest of ctcbench calls on a timm model (`forward_features`,
`forward_head`, `get_classifier`, `num_features`), so `models.embed`, scoring and training treat both alike.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torchvision import models
from torchvision.ops import StochasticDepth

from ..errors import ConfigError
from . import stems
from .network import TORCHVISION, Network, stage_command


@dataclass(frozen=True)
class Family:
    """Where a torchvision family keeps what the original replaced, and how its stochastic depth rises with depth."""

    stem: str  # the first conv
    head: str  # the ImageNet head, replaced by an identity (EfficientNet's includes its dropout)
    # The last of N blocks drops with the full rate (ConvNeXt, Swin) or with rate x (N - 1) / N (EfficientNet).
    last_block_full_rate: bool = True


FAMILIES = {
    "convnext": Family(stem="features.0.0", head="classifier.2"),  # avg pool -> LayerNorm2d -> flatten stay
    "swin": Family(stem="features.0.0", head="head"),  # final norm -> avg pool -> flatten stay
    "efficientnet": Family(stem="features.0.0", head="classifier", last_block_full_rate=False),
    "densenet": Family(stem="features.conv0", head="classifier"),  # ReLU -> avg pool stay
    "resnet": Family(stem="conv1", head="fc"),
    # The k-fold track's (docs/experiments.md#k-fold-track): the last Linear goes, the 4096-wide layers before it stay.
    "vgg": Family(stem="features.0", head="classifier.6"),
    "alexnet": Family(stem="features.0", head="classifier.6"),
}


def builder_problem(builder: str) -> str | None:
    """Why ctcbench cannot build the torchvision network `builder`; None if it can."""
    known = models.list_models(module=models)
    if builder not in known:
        close = difflib.get_close_matches(builder, known, n=3)
        return "not a torchvision builder" + (f"; did you mean {', '.join(close)}?" if close else "")
    if not builder.startswith(tuple(FAMILIES)):
        return f"not of a family whose head and stem ctcbench replaces ({', '.join(FAMILIES)})"
    return None


def family_of(builder: str) -> Family:
    problem = builder_problem(builder)
    if problem:
        raise ConfigError(f"torchvision builder {builder!r}: {problem}; check classify.backbones.*.torchvision")
    return next(FAMILIES[prefix] for prefix in FAMILIES if builder.startswith(prefix))


def stochastic_depth(model: nn.Module, family: Family) -> float:
    """The rate the builder gave the network, read back from its blocks (0 without stochastic depth)."""
    rates = [module.p for module in model.modules() if isinstance(module, StochasticDepth)]
    if not rates:
        return 0.0
    blocks = len(rates)
    return max(rates) if family.last_block_full_rate else max(rates) * blocks / (blocks - 1)


def check_stochastic_depth(model: nn.Module, family: Family, builder: str, drop_path: float) -> None:
    """The run's `drop_path` must be the builder's own rate: the original kept torchvision's default."""
    rate = stochastic_depth(model, family)
    if abs(rate - drop_path) > 1e-6:
        raise ConfigError(
            f"torchvision {builder}: drop_path {drop_path:g}, but the original's network keeps its builder's "
            f"stochastic depth {rate:g}; set classify.backbones.*.drop_path: {rate:g} for it, or build timm's "
            "network (protocol classifier_networks: timm)"
        )


def _stage(builder: str, path: Path) -> str:
    return stage_command(Network(TORCHVISION, builder), path)


def read_state(path: Path, builder: str) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ConfigError(f"{path}: pretrained weights missing; stage them with `{_stage(builder, path)}`")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ConfigError(f"{path}: not a state dict; stage it again with `{_stage(builder, path)}`")
    return state


def imagenet_network(builder: str, weights: Path | None) -> nn.Module:
    """The builder's ImageNet network: randomly initialised, or holding the staged state dict `weights`."""
    if weights is None:
        return models.get_model(builder, weights=None)
    state = read_state(weights, builder)
    with torch.device("meta"):  # no random init of tensors about to be replaced by the staged ones
        network = models.get_model(builder, weights=None)
    try:
        network.load_state_dict(state, assign=True)
    except RuntimeError as exc:
        raise ConfigError(
            f"{weights}: not the torchvision state dict of {builder} ({str(exc).splitlines()[0]}); stage it again "
            f"with `{_stage(builder, weights)}`"
        ) from None
    unset = [name for name, tensor in [*network.named_parameters(), *network.named_buffers()] if tensor.is_meta]
    if unset:
        raise ConfigError(f"{weights}: holds no {unset[0]} of torchvision {builder}; it cannot be built from it")
    return network


def head_features(head: nn.Module) -> int:
    """feat_dim: the input size of the head's Linear."""
    return [module for module in head.modules() if isinstance(module, nn.Linear)][-1].in_features


class TorchvisionClassifier(nn.Module):
    """A torchvision network that returns its embedding (its head an identity) and a new Linear on it."""

    def __init__(self, backbone: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.num_features = head.in_features

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.backbone(images)

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return features if pre_logits else self.head(features)

    def get_classifier(self) -> nn.Linear:
        return self.head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(images))


def build_torchvision_model(
    builder: str,
    in_chans: int,
    num_classes: int = 3,
    *,
    weights: Path | str | None = None,
    stem: str = "fresh",
    drop_path: float = 0.0,
) -> TorchvisionClassifier:
    """The original's classifier on `builder`; `weights` (a staged state dict) makes it pretrained. Without them the
    stem of a C-channel network is simply a fresh conv (there are no filters to adapt)."""
    family = family_of(builder)
    network = imagenet_network(builder, None if weights is None else Path(weights))
    check_stochastic_depth(network, family, builder, drop_path)
    feat_dim = head_features(network.get_submodule(family.head))
    stems.set_submodule(network, family.head, nn.Identity())
    if in_chans != 3:
        stems.replace_stem(network, family.stem, in_chans, stem if weights is not None else "fresh")
    return TorchvisionClassifier(network, nn.Linear(feat_dim, num_classes))
