"""FCOS R50 caffe with GIoU, center sampling, centerness on regression and norm_on_bbox (docs/protocol.md#fcos)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model_parts import check_multiple_of_32, resnet_backbone, stage_channels
from . import CAFFE_MEAN, DetectorRecipe, sgd

if TYPE_CHECKING:
    from ..spec import RunSpec


BASE_CONFIG = "fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py"


def fcos_model(spec: RunSpec, m: dict[str, Any], weights: Path | None) -> dict[str, Any]:
    """FCOS R50 caffe with GIoU, center sampling, centerness on reg and norm_on_bbox (docs/protocol.md#fcos)."""
    check_multiple_of_32(spec, "neck_channels")
    cfg = spec.model
    neck = cfg["neck_channels"]
    m["backbone"] = resnet_backbone(spec, m["backbone"], weights)
    m["neck"].update(in_channels=stage_channels(spec), out_channels=neck)
    # The head keeps mmdet's GroupNorm with 32 groups at every width (one channel per group at width 32).
    m["bbox_head"].update(num_classes=1, in_channels=neck, feat_channels=neck, stacked_convs=cfg["head_convs"])
    m["test_cfg"].update(
        nms_pre=1000,
        score_thr=cfg["score_thr"],
        nms=dict(type="nms", iou_threshold=cfg["nms_iou"]),
        max_per_img=cfg["max_per_img"],
    )
    return m


def original_standardisation(channels: int) -> tuple[list[float], list[float]] | None:
    """The original 3-channel FCOS subtracts caffe BGR means from min-max-scaled channels, without a swap; its
    6-channel configs standardise nothing."""
    return (list(CAFFE_MEAN), [1.0, 1.0, 1.0]) if channels == 3 else None


RECIPE = DetectorRecipe(
    name="fcos",
    title="FCOS",
    base_config=BASE_CONFIG,
    backbone_style="caffe",
    imagenet_weights="imagenet_caffe",
    build=fcos_model,
    optimizer=sgd,
    original_standardisation=original_standardisation,
    pad_size_divisor=lambda channels: 32 if channels == 3 else 1,  # 3-channel FCOS pads to 32, 6-channel does not
)
