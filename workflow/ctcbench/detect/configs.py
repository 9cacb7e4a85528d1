"""MMDetection configs of the three detectors, generated in code from a `RunSpec` (docs/protocol.md#detectors).

Each model starts from the config that MMDetection itself ships for it (inside the installed package, so no
config file is copied into this repository) and is then changed exactly where the original CTC configs differ:
one class, input channels, backbone initialisation, input standardisation, test thresholds; the schedule, the
optimiser, the data pipeline and the runtime are written here in full. Sizes (backbone depth and width, neck
and head widths, DINO's queries and layers) come from the `detect:` section, so that the demo trains a tiny
version of the same architecture on CPU.

These behaviours are switches of the protocol (ctcbench.protocol):

* `detector_standardise` (docs/defects.md#defect-12) -- `original`: per-detector input standardisation as the
  original configs did (docs/protocol.md#intensity-handling: none for Faster R-CNN, DINO and 6-channel FCOS; caffe
  BGR means for 3-channel FCOS); `imagenet`: the statistics the pretrained backbone expects (torchvision ImageNet
  mean/std for Faster R-CNN and DINO, caffe means with unit std for FCOS's caffe ResNet), repeated over every input
  channel.
* `detector_stem` (docs/defects.md#defect-9) -- `random`: for 4 or 6 input channels the pretrained conv1 does not
  fit, is skipped and keeps its random initialisation (and `frozen_stages` then freezes it,
  docs/protocol.md#detector-first-conv); `inflate`: the pretrained conv1 is tiled over the new channels and rescaled
  (see `weights.inflate_stem`).
* `detector_test_padding` (docs/defects.md#defect-12) -- `original`: test images padded as the original's test
  pipeline did (Faster R-CNN pads its training images to a multiple of 32, its test images not at all); `as_train`:
  test images padded as training images.
* `detector_schedule_scaling` (docs/defects.md#defect-4) -- the warm-up of short runs (`schedule.warmup_iterations`).
* `detector_checkpoint` (docs/defects.md#defect-22) -- `best_val` adds the hook that scores the val images and keeps
  the best epoch (`best_val.CtcBestValHook`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .model_parts import base_model
from .recipes import CAFFE_MEAN, RECIPES
from .schedule import warmup_iterations
from .spec import RunSpec

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
CLASSES = ("R",)


def _repeat(values: tuple[float, ...], channels: int) -> list[float]:
    return [values[i % 3] for i in range(channels)]


def inference_pad_size_divisor(spec: RunSpec) -> int:
    """The padding of test images: the original's own under `detector_test_padding: original`, else training's."""
    recipe = RECIPES[spec.detector]
    if spec.switches.detector_test_padding == "original" and recipe.original_test_pad_size_divisor is not None:
        return recipe.original_test_pad_size_divisor(spec.in_channels)
    return recipe.pad_size_divisor(spec.in_channels)


def data_preprocessor(spec: RunSpec) -> dict[str, Any]:
    """Per-detector standardisation and padding (docs/protocol.md#intensity-handling for `original`)."""
    channels = spec.in_channels
    recipe = RECIPES[spec.detector]
    mean: list[float] | None = None
    std: list[float] | None = None
    if spec.switches.detector_standardise == "imagenet":
        if recipe.backbone_style == "caffe":
            mean, std = _repeat(CAFFE_MEAN, channels), [1.0] * channels
        else:
            mean, std = _repeat(IMAGENET_MEAN, channels), _repeat(IMAGENET_STD, channels)
    elif (original := recipe.original_standardisation(channels)) is not None:
        mean, std = original
    return dict(
        type="CtcDetDataPreprocessor",
        mean=mean,
        std=std,
        bgr_to_rgb=False,
        pad_size_divisor=recipe.pad_size_divisor(channels),
        test_pad_size_divisor=inference_pad_size_divisor(spec),
    )


def model_config(spec: RunSpec, weights: Path | None = None) -> dict[str, Any]:
    """The full `model` dict of a run. `weights`: the (possibly stem-adapted) pretrained file, or None."""
    recipe = RECIPES[spec.detector]
    model = recipe.build(spec, base_model(recipe.base_config), weights)
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


def inference_steps(spec: RunSpec) -> list[dict[str, Any]]:
    """What inference does to a loaded detector input: the same for an image of the dataset and one in memory
    (`predict.ArrayDetector`, new images)."""
    return [
        _resize(spec),
        dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor")),
    ]


def inference_pipeline(spec: RunSpec, dataset_root: Path | str) -> list[dict[str, Any]]:
    return [load_image(spec, dataset_root), *inference_steps(spec)]


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
    """The recipe's optimiser (SGD for Faster R-CNN and FCOS, AdamW with backbone lr x0.1 for DINO), clipped when
    the detector's block sets `grad_clip`."""
    clip = spec.model.get("grad_clip")
    wrapper: dict[str, Any] = dict(type="OptimWrapper", clip_grad=dict(max_norm=clip, norm_type=2) if clip else None)
    wrapper.update(RECIPES[spec.detector].optimizer(spec))
    return wrapper


def param_schedulers(spec: RunSpec, train_images: int) -> list[dict[str, Any]]:
    """Linear warm-up over the first iterations from `warmup_ratio` (how many: `schedule.warmup_iterations`), then
    x0.1 at each milestone epoch."""
    detect = spec.detect
    schedulers = []
    warmup = warmup_iterations(spec, train_images)
    if warmup > 0:
        schedulers.append(
            dict(type="LinearLR", start_factor=detect["warmup_ratio"], by_epoch=False, begin=0, end=warmup)
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


def validation_hooks(
    spec: RunSpec, dataset_root: Path | str, val_list: Path | str | None, work_dir: Path | str
) -> list[dict[str, Any]]:
    """The hook that scores the val images and keeps the best epoch, when the protocol keeps it (`best_val`)."""
    if not spec.validates:
        if val_list is not None:
            raise ConfigError(
                f"detector run {spec.name}: its protocol keeps the final epoch (detector_checkpoint: final) and scores "
                "no val images; drop --val-list"
            )
        return []
    if val_list is None:
        raise ConfigError(
            f"detector run {spec.name}: detector_checkpoint best_val scores the val images; pass their list "
            "(detect-train --val-list)"
        )
    detect = spec.detect
    val_data = dataset_config(
        spec, dataset_root, val_list, "val", inference_pipeline(spec, dataset_root), annotations=False
    )
    return [
        dict(
            type="CtcBestValHook",
            dataset=val_data,
            protocol=spec.protocol,
            nms_iou=spec.val_nms_iou,
            interval=detect["checkpoint_interval"],
            batch_size=detect["batch_size"],
            work_dir=str(work_dir),
        )
    ]


def runner_config(
    spec: RunSpec,
    dataset_root: Path | str,
    train_list: Path | str,
    work_dir: Path | str,
    train_images: int,
    weights: Path | None = None,
    load_from: Path | str | None = None,
    resume: bool = False,
    val_list: Path | str | None = None,
):
    """The complete mmengine config of a training run of `train_images` images. mmengine runs no validation loop
    (the original validated for monitoring only); under `detector_checkpoint: best_val` a hook of ours scores the
    val images (`val_list`) as the test evaluation does (docs/protocol.md#detector-common)."""
    from mmengine.config import Config

    detect = spec.detect
    workers = detect["num_workers"]
    whole = RECIPES[spec.detector].whole_model_weights
    coco = whole is not None and spec.weights_key == whole
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
            param_scheduler=param_schedulers(spec, train_images),
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
            # detect/curves.py: the loss of every iteration; detect/resume.py: generator states in the checkpoints;
            # detect/best_val.py: the best val epoch
            custom_hooks=[
                dict(type="CtcCurvesHook"),
                dict(type="CtcRngStateHook"),
                *validation_hooks(spec, dataset_root, val_list, work_dir),
            ],
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
