"""timm backbones with a new 3-output head and a 3-, 4- or 6-channel stem (docs/protocol.md#classifier-backbones).

The original used torchvision ImageNet weights, replaced each ImageNet head by an identity and put a new
Linear(feat_dim, num_classes) on the pooled feature. timm's `num_classes` does the same: the head is a fresh
Linear on the pooled (for ConvNeXt: pooled and LayerNorm-ed) feature, which `embed` returns. The original's own
torchvision networks are built by `torchvision_models` with the same interface (the protocol's
`classifier_networks`, docs/defects.md#defect-31).

Stem for C != 3 input channels (the protocol's `classifier_stem`, docs/defects.md#defect-9; `stems`): `fresh`
replaces the first conv after loading; `adapted` lets timm adapt the pretrained filters while it loads them
(`adapt_input_conv`: repeated over the C channels and scaled by 3/C).

Pretrained weights are never fetched implicitly: they come from a staged file (`network.weights_file`), written by
`ctcbench stage-weights`, so a run behaves the same on an offline cluster node.
"""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from torch import nn

from ..errors import ConfigError
from . import stems


def _model_kwargs(timm_name: str, image_size: int, drop_path: float) -> dict:
    kwargs: dict = {"drop_path_rate": drop_path} if drop_path else {}
    cfg = timm.models.get_pretrained_cfg(timm_name)
    if cfg is not None and getattr(cfg, "fixed_input_size", False):
        kwargs["img_size"] = image_size  # ViT/Swin position tables are built for one input size
    return kwargs


def stem_path(model: nn.Module) -> str:
    first = model.pretrained_cfg.get("first_conv")
    if isinstance(first, (list, tuple)):
        first = first[0]
    if not first:
        raise ConfigError(f"{type(model).__name__}: timm does not name its first conv; cannot adapt its input channels")
    return first


def replace_stem(model: nn.Module, in_chans: int) -> nn.Conv2d:
    """Swap the first conv for a fresh one with `in_chans` inputs and otherwise the same geometry and class.

    The class matters: the TensorFlow-ported EfficientNets' stem is timm's `Conv2dSame`, whose "same" padding a plain
    Conv2d with padding 0 would lose (64 x 64 features of a 128 px input would become 63 x 63).
    """
    return stems.replace_stem(model, stem_path(model), in_chans, "fresh")


def build_model(
    timm_name: str,
    in_chans: int,
    num_classes: int = 3,
    *,
    image_size: int = 128,
    weights: Path | str | None = None,
    stem: str = "fresh",
    drop_path: float = 0.0,
) -> nn.Module:
    """A timm classifier; `weights` (a staged file) makes it pretrained, its stem as `stem` says (fresh | adapted)."""
    kwargs = _model_kwargs(timm_name, image_size, drop_path)
    try:
        if weights is None:
            return timm.create_model(timm_name, pretrained=False, num_classes=num_classes, in_chans=in_chans, **kwargs)
        path = Path(weights)
        if not path.is_file():
            raise ConfigError(f"{path}: pretrained weights missing; stage them with `ctcbench stage-weights`")
        # The file overrides every remote source; timm then drops the ImageNet head (num_classes differs),
        # resizes position tables if needed and, for in_chans != 3, adapts the stem.
        overlay = {"file": str(path), "source": "", "hf_hub_id": None, "url": ""}
        fresh_stem = stem == "fresh" and in_chans != 3
        model = timm.create_model(
            timm_name,
            pretrained=True,
            pretrained_cfg_overlay=overlay,
            num_classes=num_classes,
            in_chans=3 if fresh_stem else in_chans,
            **kwargs,
        )
    except RuntimeError as exc:
        raise ConfigError(f"{timm_name}: cannot build the model ({str(exc).splitlines()[0]})") from None
    if fresh_stem:
        replace_stem(model, in_chans)
    return model


def embed(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The pooled feature the head sees (docs/experiments.md#embeddings): what the original saved as the embedding."""
    return model.forward_head(model.forward_features(images), pre_logits=True)


def logits_and_embedding(model: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    features = embed(model, images)
    return model.get_classifier()(features), features


def count_parameters(model: nn.Module, backbone_only: bool = True) -> int:
    """Parameter count; the paper's Table 3 counts the backbone without the head."""
    head = {id(p) for p in model.get_classifier().parameters()} if backbone_only else set()
    return sum(p.numel() for p in model.parameters() if id(p) not in head)
