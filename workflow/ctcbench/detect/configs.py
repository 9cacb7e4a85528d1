"""MMDetection configs of the three detectors, generated in code from a `RunSpec` (docs/protocol.md#detectors).

Each model starts from the config that MMDetection itself ships for it (inside the installed package, so no
config file is copied into this repository) and is then changed exactly where the original CTC configs differ:
one class, input channels, backbone initialisation, input standardisation, test thresholds; the schedule, the
optimiser, the data pipeline and the runtime are written here in full. Sizes (backbone depth and width, neck
and head widths, DINO's queries and layers) come from the `detect:` section, so that the demo trains a tiny
version of the same architecture on CPU.

Two behaviours follow the protocol unless the config sets them explicitly:

* `standardise` -- `original`: per-detector input standardisation as the original configs did
  (docs/protocol.md#intensity-handling: none for Faster R-CNN, DINO and 6-channel FCOS; caffe BGR means for
  3-channel FCOS); `imagenet`: the
  statistics the pretrained backbone expects (torchvision ImageNet mean/std for Faster R-CNN and DINO, caffe
  means with unit std for FCOS's caffe ResNet), repeated over every input channel.
* `stem` -- `random`: for 4 or 6 input channels the pretrained conv1 does not fit, is skipped and keeps its random
  initialisation (and `frozen_stages` then freezes it, docs/protocol.md#detector-first-conv); `inflate`: the pretrained
  conv1 is tiled over the new channels and rescaled (see `weights.inflate_stem`).
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .spec import RunSpec

# The shipped configs each detector is derived from (paths inside mmdet/.mim/configs).
BASE_CONFIGS = {
    "faster_rcnn": "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py",
    "fcos": "fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py",
    "dino": "dino/dino-4scale_r50_8xb2-12e_coco.py",
}
# Backbone style of the pretrained weights each detector uses (torchvision vs caffe/detectron2 ResNet).
STYLE = {"faster_rcnn": "pytorch", "fcos": "caffe", "dino": "pytorch"}
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
CAFFE_MEAN = (103.530, 116.280, 123.675)
CLASSES = ("R",)
# mmdet 3.3's DINO decoder encodes query positions with a fixed 128 features per coordinate (4 x 128 = 2 x 256),
# so its embedding width cannot change; its depth, queries and FFN width can.
DINO_EMBED_DIMS = 256


def mmdet_config_path(relative: str) -> Path:
    """A config file shipped inside the installed mmdet package."""
    path = Path(str(resources.files("mmdet"))) / ".mim" / "configs" / relative
    if not path.is_file():
        raise ConfigError(f"{path}: missing from the installed mmdet; reinstall it with `make install-detect`")
    return path


def base_model(detector: str) -> dict[str, Any]:
    """The `model` dict of the shipped config a detector is derived from."""
    from mmengine.config import Config

    return Config.fromfile(str(mmdet_config_path(BASE_CONFIGS[detector]))).model.to_dict()


def stage_channels(spec: RunSpec) -> list[int]:
    """Output channels of the run's four ResNet stages (the neck's inputs): width * 2^i, times 4 for bottleneck
    ResNets (depth >= 50)."""
    depth, width = spec.detect["backbone_depth"], spec.detect["backbone_width"]
    if depth not in (18, 34, 50, 101, 152):
        raise ConfigError(f"detect.backbone_depth = {depth}: expected 18, 34, 50, 101 or 152")
    expansion = 4 if depth >= 50 else 1
    return [width * 2**i * expansion for i in range(4)]


def standardisation(spec: RunSpec) -> str:
    mode = spec.detect.get("standardise")
    return mode if mode else ("original" if spec.protocol == "faithful" else "imagenet")


def stem_mode(spec: RunSpec) -> str:
    mode = spec.detect.get("stem")
    return mode if mode else ("random" if spec.protocol == "faithful" else "inflate")


def _repeat(values: tuple[float, ...], channels: int) -> list[float]:
    return [values[i % 3] for i in range(channels)]


def data_preprocessor(spec: RunSpec) -> dict[str, Any]:
    """Per-detector standardisation and padding (docs/protocol.md#intensity-handling for `original`)."""
    channels = spec.in_channels
    mean: list[float] | None = None
    std: list[float] | None = None
    if standardisation(spec) == "imagenet":
        if STYLE[spec.detector] == "caffe":
            mean, std = _repeat(CAFFE_MEAN, channels), [1.0] * channels
        else:
            mean, std = _repeat(IMAGENET_MEAN, channels), _repeat(IMAGENET_STD, channels)
    elif spec.detector == "fcos" and channels == 3:
        # The original 3-channel FCOS subtracts caffe BGR means from min-max-scaled channels, without a swap.
        mean, std = list(CAFFE_MEAN), [1.0, 1.0, 1.0]
    # Padding: Faster R-CNN's train pipeline and 3-channel FCOS pad to 32; DINO and 6-channel FCOS do not.
    pad = 32 if spec.detector == "faster_rcnn" or (spec.detector == "fcos" and channels == 3) else 1
    return dict(type="CtcDetDataPreprocessor", mean=mean, std=std, bgr_to_rgb=False, pad_size_divisor=pad)


def _backbone(spec: RunSpec, base: dict[str, Any], weights: Path | None) -> dict[str, Any]:
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


def _check_multiple_of_32(spec: RunSpec, name: str) -> None:
    value = spec.model[name]
    if value % 32:
        raise ConfigError(
            f"detect.{spec.detector}.{name} = {value}: expected a multiple of 32 (GroupNorm with 32 groups)"
        )


def faster_rcnn_model(spec: RunSpec, weights: Path | None) -> dict[str, Any]:
    """Faster R-CNN R50-FPN as in docs/protocol.md#faster-rcnn (one class, 1000 detections per image)."""
    m = base_model("faster_rcnn")
    cfg = spec.model
    neck = cfg["neck_channels"]
    m["backbone"] = _backbone(spec, m["backbone"], weights)
    m["neck"].update(in_channels=stage_channels(spec), out_channels=neck)
    m["rpn_head"].update(in_channels=neck, feat_channels=neck)
    m["rpn_head"]["anchor_generator"]["scales"] = [cfg["anchor_scale"]]
    m["roi_head"]["bbox_roi_extractor"]["out_channels"] = neck
    m["roi_head"]["bbox_head"].update(in_channels=neck, fc_out_channels=cfg["roi_fc_channels"], num_classes=1)
    m["test_cfg"]["rcnn"].update(
        score_thr=cfg["score_thr"], nms=dict(type="nms", iou_threshold=cfg["nms_iou"]), max_per_img=cfg["max_per_img"]
    )
    return m


def fcos_model(spec: RunSpec, weights: Path | None) -> dict[str, Any]:
    """FCOS R50 caffe with GIoU, center sampling, centerness on reg and norm_on_bbox (docs/protocol.md#fcos)."""
    _check_multiple_of_32(spec, "neck_channels")
    m = base_model("fcos")
    cfg = spec.model
    neck = cfg["neck_channels"]
    m["backbone"] = _backbone(spec, m["backbone"], weights)
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


def dino_model(spec: RunSpec, weights: Path | None, backbone_weights: Path | None = None) -> dict[str, Any]:
    """DINO-4scale R50 (docs/protocol.md#dino). `weights` (COCO) is loaded over the whole model by the runner;
    `backbone_weights` (ImageNet) initialises the backbone only."""
    cfg = spec.model
    embed = DINO_EMBED_DIMS
    m = base_model("dino")
    m["num_queries"] = cfg["num_queries"]
    m["backbone"] = _backbone(spec, m["backbone"], backbone_weights)
    if weights is not None:
        # The COCO checkpoint covers the backbone too: keep its frozen stem/BN recipe.
        m["backbone"].update(
            frozen_stages=spec.detect["frozen_stages"], norm_eval=True, norm_cfg=dict(type="BN", requires_grad=False)
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


def model_config(spec: RunSpec, weights: Path | None = None) -> dict[str, Any]:
    """The full `model` dict of a run. `weights`: the (possibly stem-adapted) pretrained file, or None."""
    if spec.detector == "dino":
        coco = spec.weights_key == "coco_dino"
        model = dino_model(spec, weights if coco else None, None if coco else weights)
    elif spec.detector == "fcos":
        model = fcos_model(spec, weights)
    else:
        model = faster_rcnn_model(spec, weights)
    model["data_preprocessor"] = data_preprocessor(spec)
    return model


def _resize(spec: RunSpec) -> dict[str, Any]:
    # Always present: it records the scale factor that maps predictions back to the original pixel grid.
    scale = spec.detect.get("image_scale")
    if scale:
        return dict(type="Resize", scale=(scale, scale), keep_ratio=True)
    return dict(type="Resize", scale_factor=1.0, keep_ratio=True)


def load_image(spec: RunSpec, dataset_root: Path | str) -> dict[str, Any]:
    return dict(
        type="LoadCtcImage",
        dataset_root=str(dataset_root),
        setting=spec.setting,
        protocol=spec.protocol,
        hoechst_channels=spec.hoechst_channels,
    )


def train_pipeline(spec: RunSpec, dataset_root: Path | str) -> list[dict[str, Any]]:
    """Only a horizontal flip as augmentation, for every detector (docs/protocol.md#detector-common)."""
    return [
        load_image(spec, dataset_root),
        dict(type="LoadAnnotations", with_bbox=True),
        _resize(spec),
        dict(type="RandomFlip", prob=0.5),
        dict(type="PackDetInputs"),
    ]


def inference_pipeline(spec: RunSpec, dataset_root: Path | str) -> list[dict[str, Any]]:
    return [
        load_image(spec, dataset_root),
        _resize(spec),
        dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor")),
    ]


def dataset_config(
    spec: RunSpec,
    dataset_root: Path | str,
    image_list: Path | str,
    split: str,
    pipeline: list[dict[str, Any]],
    annotations: bool = True,
) -> dict[str, Any]:
    """A CtcDetDataset over an image list; `annotations=False` for inference, which needs no ground truth."""
    return dict(
        type="CtcDetDataset",
        data_root=str(dataset_root),
        ann_file=str(Path(image_list).resolve()),
        split=split,
        test_annotator=spec.test_annotator,
        box_shift=spec.box_shift if split != "test" else 0,
        test_mode=split == "test",
        annotations=annotations,
        pipeline=pipeline,
    )


def optim_wrapper(spec: RunSpec) -> dict[str, Any]:
    """SGD for Faster R-CNN and FCOS (schedule_half), AdamW with backbone lr x0.1 for DINO (schedule_dino)."""
    cfg = spec.model
    clip = cfg.get("grad_clip")
    wrapper: dict[str, Any] = dict(type="OptimWrapper", clip_grad=dict(max_norm=clip, norm_type=2) if clip else None)
    if spec.detector == "dino":
        wrapper["optimizer"] = dict(type="AdamW", lr=cfg["lr"], weight_decay=cfg["weight_decay"])
        wrapper["paramwise_cfg"] = dict(custom_keys={"backbone": dict(lr_mult=cfg["backbone_lr_mult"])})
    else:
        wrapper["optimizer"] = dict(
            type="SGD", lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"]
        )
    return wrapper


def param_schedulers(spec: RunSpec) -> list[dict[str, Any]]:
    """Linear warm-up over the first iterations from `warmup_ratio`, then x0.1 at each milestone epoch."""
    detect = spec.detect
    schedulers = []
    if detect["warmup_iters"] > 0:
        schedulers.append(
            dict(
                type="LinearLR",
                start_factor=detect["warmup_ratio"],
                by_epoch=False,
                begin=0,
                end=detect["warmup_iters"],
            )
        )
    schedulers.append(
        dict(
            type="MultiStepLR",
            begin=0,
            end=detect["epochs"],
            by_epoch=True,
            milestones=list(detect["milestones"]),
            gamma=0.1,
        )
    )
    return schedulers


def runner_config(
    spec: RunSpec,
    dataset_root: Path | str,
    train_list: Path | str,
    work_dir: Path | str,
    weights: Path | None = None,
    load_from: Path | str | None = None,
    resume: bool = False,
):
    """The complete mmengine config of a training run (no validation loop: the final epoch is used,
    docs/protocol.md#detector-common)."""
    from mmengine.config import Config

    detect = spec.detect
    workers = detect["num_workers"]
    coco = spec.weights_key == "coco_dino"
    return Config(
        dict(
            default_scope="mmdet",
            model=model_config(spec, weights),
            work_dir=str(work_dir),
            train_dataloader=dict(
                batch_size=detect["batch_size"],
                num_workers=workers,
                persistent_workers=workers > 0,
                sampler=dict(type="DefaultSampler", shuffle=True),
                dataset=dataset_config(spec, dataset_root, train_list, "train", train_pipeline(spec, dataset_root)),
            ),
            train_cfg=dict(type="EpochBasedTrainLoop", max_epochs=detect["epochs"]),
            optim_wrapper=optim_wrapper(spec),
            param_scheduler=param_schedulers(spec),
            default_hooks=dict(
                timer=dict(type="IterTimerHook"),
                logger=dict(type="LoggerHook", interval=detect["log_interval"]),
                param_scheduler=dict(type="ParamSchedulerHook"),
                # Two kept: mmengine deletes the oldest before writing the next, so with one a kill during that
                # write would leave no complete checkpoint to resume from.
                checkpoint=dict(
                    type="CheckpointHook", interval=detect["checkpoint_interval"], max_keep_ckpts=2, save_last=True
                ),
                sampler_seed=dict(type="DistSamplerSeedHook"),
            ),
            # detect/curves.py: the loss of every iteration; detect/resume.py: generator states in the checkpoints
            custom_hooks=[dict(type="CtcCurvesHook"), dict(type="CtcRngStateHook")],
            env_cfg=dict(
                cudnn_benchmark=False,
                mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
                dist_cfg=dict(backend="nccl"),
            ),
            randomness=dict(seed=spec.seed, deterministic=False),
            log_processor=dict(type="LogProcessor", window_size=detect["log_interval"], by_epoch=True),
            log_level="INFO",
            # The COCO DINO checkpoint is loaded over the whole model; shapes that differ (80-class branches,
            # a 6-channel conv1) are skipped by mmengine's non-strict load.
            load_from=str(load_from) if load_from else (str(weights) if coco and weights else None),
            resume=resume,
        )
    )
