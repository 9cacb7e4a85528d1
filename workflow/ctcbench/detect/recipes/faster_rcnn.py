"""Faster R-CNN R50-FPN (docs/protocol.md#faster-rcnn)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..model_parts import resnet_backbone, stage_channels
from . import DetectorRecipe, sgd

if TYPE_CHECKING:
    from ..spec import RunSpec


BASE_CONFIG = "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py"


def faster_rcnn_model(spec: RunSpec, m: dict[str, Any], weights: Path | None) -> dict[str, Any]:
    """Faster R-CNN R50-FPN as in docs/protocol.md#faster-rcnn (one class, 1000 detections per image)."""
    cfg = spec.model
    neck = cfg["neck_channels"]
    m["backbone"] = resnet_backbone(spec, m["backbone"], weights)
    m["neck"].update(in_channels=stage_channels(spec), out_channels=neck)
    m["rpn_head"].update(in_channels=neck, feat_channels=neck)
    m["rpn_head"]["anchor_generator"]["scales"] = [cfg["anchor_scale"]]
    m["roi_head"]["bbox_roi_extractor"]["out_channels"] = neck
    m["roi_head"]["bbox_head"].update(in_channels=neck, fc_out_channels=cfg["roi_fc_channels"], num_classes=1)
    m["test_cfg"]["rcnn"].update(
        score_thr=cfg["score_thr"], nms=dict(type="nms", iou_threshold=cfg["nms_iou"]), max_per_img=cfg["max_per_img"]
    )
    return m


RECIPE = DetectorRecipe(
    name="faster_rcnn",
    title="Faster R-CNN",
    base_config=BASE_CONFIG,
    backbone_style="pytorch",
    imagenet_weights="imagenet_pytorch",
    build=faster_rcnn_model,
    optimizer=sgd,
    original_standardisation=lambda channels: None,  # none: its data_preprocessor was dropped (defect 12)
    pad_size_divisor=lambda channels: 32,  # its train pipeline pads to 32 ...
    original_test_pad_size_divisor=lambda channels: 1,  # ... and its test pipeline does not pad
)
