"""Which network a classifier run builds, and the staged weights file it starts from (torch-free: the workflow asks
while it plans; docs/protocol.md#classifier-backbones).

A backbone of `classify.backbones` names its timm architecture (with a weight tag) and, where one exists, the
torchvision builder the original used. The protocol's `classifier_networks` picks between them
(docs/defects.md#defect-31); a backbone without a torchvision builder is timm's under either value.

Staged weights live in `classify.weights_dir`: `<timm name>.safetensors` (or a hand-staged `.pth`) for timm, the
torchvision state dict `<builder>.pth` for torchvision; `ctcbench stage-weights` writes both.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..protocol import Protocol

TIMM, TORCHVISION = "timm", "torchvision"
# First existing wins; the first is what `ctcbench stage-weights` writes.
WEIGHT_SUFFIXES = {TIMM: (".safetensors", ".pth"), TORCHVISION: (".pth",)}


@dataclass(frozen=True)
class Network:
    """A classifier network: the library that builds it and its name there (timm name with tag, or builder)."""

    library: str
    name: str

    def __str__(self) -> str:
        return f"{self.library}:{self.name}"

    def to_dict(self) -> dict[str, str]:
        return {"library": self.library, "name": self.name}


def choose_network(protocol: Protocol, timm_name: str, torchvision_name: str | None) -> Network:
    """The network a backbone builds under `protocol`: torchvision's where asked for and the backbone has one."""
    if protocol.classifier_networks == TORCHVISION and torchvision_name:
        return Network(TORCHVISION, torchvision_name)
    return Network(TIMM, timm_name)


def weights_file(weights_dir: Path | str, network: Network) -> Path:
    """The staged weights of `network`: the first existing file of its suffixes, else the one staging writes."""
    suffixes = WEIGHT_SUFFIXES[network.library]
    for suffix in suffixes:
        candidate = Path(weights_dir) / f"{network.name}{suffix}"
        if candidate.is_file():
            return candidate
    return Path(weights_dir) / f"{network.name}{suffixes[0]}"


def stage_options(network: Network) -> str:
    """The `ctcbench stage-weights` options that name `network` (its --out aside)."""
    return f"--model {shlex.quote(network.name)} --library {network.library}"


def stage_command(network: Network, out: Path | str) -> str:
    """The `ctcbench stage-weights` command line that writes `out` for `network`."""
    return f"ctcbench stage-weights {stage_options(network)} --out {shlex.quote(str(out))}"


def require_weights(weights_dir: Path | str, network: Network) -> Path:
    """The staged weights file of `network`; ConfigError naming it and how to stage it when it is missing."""
    path = weights_file(weights_dir, network)
    if not path.is_file():
        raise ConfigError(
            f"{path}: pretrained {network.library} weights missing; stage them with `{stage_command(network, path)}` "
            "where the network allows (or --from-file a downloaded checkpoint), or set classify.pretrained: false"
        )
    return path
