"""FLOPs of a classifier network: one training step of `batch_size` crops and one crop's forward.

The network is built by `classify.models.build_model` from its timm name, channels, head and stochastic depth, as a
training run builds it (a pretrained run loads weights into the same shapes: its FLOPs are those of random weights),
on PyTorch's meta device: shapes without storage, so even ConvNeXt-L's step of 64 crops costs no arithmetic. The
step is the loss's forward and backward in train mode; the optimiser's update is elementwise work, not counted.
"""

from __future__ import annotations

import torch
from torch import nn

from ..classify.models import build_model
from .flops import count
from .networks import ClassifierNetwork, StepFlops

META = torch.device("meta")


def build(network: ClassifierNetwork) -> nn.Module:
    with META:
        return build_model(
            network.timm_name,
            network.channels,
            network.head_outputs,
            image_size=network.image_size,
            drop_path=network.drop_path,
        )


def crops(network: ClassifierNetwork, number: int) -> torch.Tensor:
    return torch.empty(number, network.channels, network.image_size, network.image_size, device=META)


def train_step_flops(model: nn.Module, images: torch.Tensor) -> int:
    """Forward and backward of the cross-entropy of one batch, in train mode."""
    model.train()
    targets = torch.zeros(len(images), dtype=torch.long, device=images.device)

    def step() -> None:
        nn.functional.cross_entropy(model(images), targets).backward()

    return count(step)


def forward_flops(model: nn.Module, images: torch.Tensor) -> int:
    """One forward in eval mode without gradients, as the scoring code runs it."""
    model.eval()
    with torch.no_grad():
        return count(lambda: model(images))


def classifier_flops(network: ClassifierNetwork) -> StepFlops:
    model = build(network)
    train = train_step_flops(model, crops(network, network.batch_size))
    return StepFlops(train=train, infer=forward_flops(model, crops(network, 1)))
