"""The first conv of a classifier for C != 3 input channels (the protocol's `classifier_stem`,
docs/defects.md#defect-9), for timm and torchvision networks alike.

* `fresh`: a new conv of the same geometry and class, initialised as PyTorch initialises a freshly built conv of
  that shape; the pretrained filters are thrown away, as the original did;
* `adapted`: the pretrained RGB filters repeated over the C channels and scaled by 3/C (timm's `adapt_input_conv`),
  so a constant input gives the same response as before.
"""

from __future__ import annotations

import copy

import torch
from timm.models import adapt_input_conv
from torch import nn

from ..errors import ConfigError


def stem_conv(model: nn.Module, path: str) -> nn.Conv2d:
    """The conv at `path`; ConfigError if the network has something else there."""
    module = model.get_submodule(path)
    if not isinstance(module, nn.Conv2d):
        raise ConfigError(f"{path} of {type(model).__name__} is a {type(module).__name__}, not a Conv2d")
    return module


def fresh_conv(old: nn.Conv2d, in_chans: int) -> nn.Conv2d:
    """A copy of `old` (its class keeps e.g. timm's "same" padding) with `in_chans` inputs and a new weight."""
    new = copy.deepcopy(old)
    new.in_channels = in_chans
    new.weight = nn.Parameter(torch.empty(old.out_channels, in_chans // old.groups, *old.kernel_size))
    new.reset_parameters()
    return new


def adapted_conv(old: nn.Conv2d, in_chans: int) -> nn.Conv2d:
    """A copy of `old` with `in_chans` inputs whose filters are the pretrained RGB ones adapted to them."""
    new = copy.deepcopy(old)
    new.in_channels = in_chans
    new.weight = nn.Parameter(adapt_input_conv(in_chans, old.weight.detach().clone()))
    return new


def set_submodule(model: nn.Module, path: str, module: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, name, module)


def replace_stem(model: nn.Module, path: str, in_chans: int, rule: str) -> nn.Conv2d:
    """Swap the conv at `path` for one with `in_chans` inputs made by `rule` (fresh | adapted)."""
    makers = {"fresh": fresh_conv, "adapted": adapted_conv}
    new = makers[rule](stem_conv(model, path), in_chans)
    set_submodule(model, path, new)
    return new
