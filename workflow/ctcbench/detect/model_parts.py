"""Model parts every detector recipe shares: the shipped mmdet config it starts from, the ResNet backbone at the
run's depth, width and channels, and the widths of its stages."""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from .spec import RunSpec


def mmdet_config_path(relative: str) -> Path:
    """A config file shipped inside the installed mmdet package."""
    path = Path(str(resources.files("mmdet"))) / ".mim" / "configs" / relative
    if not path.is_file():
        raise ConfigError(f"{path}: missing from the installed mmdet; reinstall it with `make install-detect`")
    return path


def base_model(relative: str) -> dict[str, Any]:
    """The `model` dict of a config shipped with mmdet (`relative`: its path inside mmdet/.mim/configs)."""
    from mmengine.config import Config

    return Config.fromfile(str(mmdet_config_path(relative))).model.to_dict()


def stage_channels(spec: RunSpec) -> list[int]:
    """Output channels of the run's four ResNet stages (the neck's inputs): width * 2^i, times 4 for bottleneck
    ResNets (depth >= 50)."""
    depth, width = spec.detect["backbone_depth"], spec.detect["backbone_width"]
    if depth not in (18, 34, 50, 101, 152):
        raise ConfigError(f"detect.backbone_depth = {depth}: expected 18, 34, 50, 101 or 152")
    expansion = 4 if depth >= 50 else 1
    return [width * 2**i * expansion for i in range(4)]


def resnet_backbone(spec: RunSpec, base: dict[str, Any], weights: Path | None) -> dict[str, Any]:
    """ResNet with the run's depth, width and channels; frozen stem and BN only when it starts pretrained."""
    detect = spec.detect
    pretrained = weights is not None
    backbone = copy.deepcopy(base)
    backbone.update(
        depth=detect["backbone_depth"],
        in_channels=spec.in_channels,
        base_channels=detect["backbone_width"],
        # Freezing randomly initialised layers only removes capacity: freeze and use frozen BN statistics
        # (norm_eval) only on top of pretrained weights.
        frozen_stages=detect["frozen_stages"] if pretrained else -1,
        norm_eval=pretrained,
        init_cfg=dict(type="Pretrained", checkpoint=str(weights)) if pretrained else None,
    )
    # FCOS's caffe backbone keeps BN affine parameters fixed, as in its pretrained recipe; random init trains them.
    backbone["norm_cfg"] = dict(type="BN", requires_grad=bool(base["norm_cfg"]["requires_grad"] or not pretrained))
    return backbone


def check_multiple_of_32(spec: RunSpec, name: str) -> None:
    value = spec.model[name]
    if value % 32:
        raise ConfigError(
            f"detect.{spec.detector}.{name} = {value}: expected a multiple of 32 (GroupNorm with 32 groups)"
        )
