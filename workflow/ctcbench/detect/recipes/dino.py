"""DINO-4scale R50 (docs/protocol.md#dino): AdamW with the backbone's learning rate x0.1, from the COCO checkpoint
or from ImageNet weights on the backbone only (`detect.dino.init`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model_parts import resnet_backbone, stage_channels
from . import DetectorRecipe

if TYPE_CHECKING:
    from ..spec import RunSpec


BASE_CONFIG = "dino/dino-4scale_r50_8xb2-12e_coco.py"
# mmdet 3.3's DINO decoder encodes query positions with a fixed 128 features per coordinate (4 x 128 = 2 x 256),
# so its embedding width cannot change; its depth, queries and FFN width can.
DINO_EMBED_DIMS = 256
COCO_WEIGHTS = "coco_dino"


def dino_model(
    spec: RunSpec, m: dict[str, Any], weights: Path | None, backbone_weights: Path | None = None
) -> dict[str, Any]:
    """DINO-4scale R50 (docs/protocol.md#dino). `weights` (COCO) is loaded over the whole model by the runner;
    `backbone_weights` (ImageNet) initialises the backbone only."""
    cfg = spec.model
    embed = DINO_EMBED_DIMS
    m["num_queries"] = cfg["num_queries"]
    m["backbone"] = resnet_backbone(spec, m["backbone"], backbone_weights)
    if weights is not None:
        # The COCO checkpoint covers the backbone too: keep its frozen stem/BN recipe. No initialisation of its own
        # either (an empty init_cfg; None would make mmdet's ResNet re-draw every conv, Kaiming normal fan-out): the
        # original initialised it from ImageNet weights before loading COCO, so a conv1 that fits neither checkpoint
        # (4 or 6 channels, detector_stem random) keeps PyTorch's default initialisation, as in the original
        # (docs/protocol.md#detector-first-conv).
        m["backbone"].update(
            frozen_stages=spec.detect["frozen_stages"],
            norm_eval=True,
            norm_cfg=dict(type="BN", requires_grad=False),
            init_cfg=[],
        )
    m["neck"].update(in_channels=stage_channels(spec)[1:], out_channels=embed)
    m["encoder"]["num_layers"] = cfg["encoder_layers"]
    enc = m["encoder"]["layer_cfg"]
    enc["self_attn_cfg"]["embed_dims"] = embed
    enc["ffn_cfg"].update(embed_dims=embed, feedforward_channels=cfg["ffn_channels"])
    m["decoder"]["num_layers"] = cfg["decoder_layers"]
    dec = m["decoder"]["layer_cfg"]
    dec["self_attn_cfg"]["embed_dims"] = embed
    dec["cross_attn_cfg"]["embed_dims"] = embed
    dec["ffn_cfg"].update(embed_dims=embed, feedforward_channels=cfg["ffn_channels"])
    m["positional_encoding"]["num_feats"] = embed // 2
    m["bbox_head"].update(num_classes=1, embed_dims=embed)
    m["dn_cfg"]["group_cfg"]["num_dn_queries"] = cfg["dn_queries"]
    # DINO returns its top-k queries; more than it has would fail at test time.
    m["test_cfg"]["max_per_img"] = min(cfg["max_per_img"], cfg["num_queries"])
    return m


def build(spec: RunSpec, base: dict[str, Any], weights: Path | None) -> dict[str, Any]:
    """The COCO checkpoint is loaded over the whole model by the runner; ImageNet weights initialise the backbone."""
    coco = spec.weights_key == COCO_WEIGHTS
    return dino_model(spec, base, weights if coco else None, None if coco else weights)


def weights_key(model: dict[str, Any]) -> str:
    return COCO_WEIGHTS if model.get("init", "coco") == "coco" else "imagenet_pytorch"


def adamw(spec: RunSpec) -> dict[str, Any]:
    cfg = spec.model
    return dict(
        optimizer=dict(type="AdamW", lr=cfg["lr"], weight_decay=cfg["weight_decay"]),
        paramwise_cfg=dict(custom_keys={"backbone": dict(lr_mult=cfg["backbone_lr_mult"])}),
    )


RECIPE = DetectorRecipe(
    name="dino",
    title="DINO",
    base_config=BASE_CONFIG,
    backbone_style="pytorch",
    imagenet_weights="imagenet_pytorch",
    build=build,
    optimizer=adamw,
    original_standardisation=lambda channels: None,  # no mean/std in the original's DetDataPreprocessor
    pad_size_divisor=lambda channels: 1,
    pretrained_weights=weights_key,
    whole_model_weights=COCO_WEIGHTS,
)
