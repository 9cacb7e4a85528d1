"""Generated configs: every detector builds with 3 and 6 input channels, at demo and paper size, and carries the
original's standardisation, schedule and test thresholds (docs/protocol.md#intensity-handling,
docs/protocol.md#detectors)."""

from __future__ import annotations

import copy

import pytest

pytest.importorskip("mmdet")

import torch  # noqa: E402
from mmdet.registry import MODELS  # noqa: E402
from mmengine.config import Config  # noqa: E402

from ctcbench.detect import registry  # noqa: E402
from ctcbench.detect.configs import (  # noqa: E402
    CAFFE_MEAN,
    IMAGENET_MEAN,
    IMAGENET_STD,
    data_preprocessor,
    model_config,
    optim_wrapper,
    param_schedulers,
    runner_config,
)
from ctcbench.detect.recipes import DETECTORS  # noqa: E402
from ctcbench.detect.spec import run_spec  # noqa: E402
from ctcbench.detect.weights import inflate_stem  # noqa: E402

registry.ensure_registered()


def build(spec):
    model = MODELS.build(Config(model_config(spec)))
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize("detector", DETECTORS)
@pytest.mark.parametrize("setting,channels", [("bf", 3), ("bf_hoechst", 3), ("bf_fluo", 6)])
def test_demo_models_build_and_predict(demo_config, detector, setting, channels):
    spec = run_spec(demo_config, detector, setting, "all", 0)
    model = build(spec)
    assert model.backbone.conv1.in_channels == channels
    assert model.backbone.depth == 18
    image = torch.rand(channels, 160, 160) * 255
    from mmdet.structures import DetDataSample

    sample = DetDataSample(metainfo=dict(img_shape=(160, 160), ori_shape=(160, 160), scale_factor=(1.0, 1.0)))
    with torch.no_grad():
        result = model.test_step(dict(inputs=[image], data_samples=[sample]))[0]
    assert result.pred_instances.bboxes.shape[1] == 4
    assert set(result.pred_instances.labels.tolist()) <= {0}


@pytest.mark.parametrize("detector", DETECTORS)
def test_paper_size_models_build_with_six_channels(paper_config, detector):
    spec = run_spec(paper_config, detector, "bf_fluo", "all", 0)
    model = MODELS.build(Config(model_config(spec)))
    assert model.backbone.conv1.weight.shape[:2] == (64, 6)
    assert model.backbone.depth == 50
    head = model.roi_head.bbox_head if detector == "faster_rcnn" else model.bbox_head
    assert head.num_classes == 1
    if detector == "dino":
        assert model.num_queries == 900
        assert model.encoder.num_layers == 6 and model.decoder.num_layers == 6


def preprocessor(config, detector, setting, protocol="faithful"):
    config = copy.deepcopy(config)
    config["protocol"] = protocol
    return data_preprocessor(run_spec(config, detector, setting, "all", 0))


def test_faithful_standardisation_per_detector(paper_config):
    """docs/protocol.md#intensity-handling: only 3-channel FCOS standardises (caffe BGR means, std 1, no swap)."""
    assert preprocessor(paper_config, "faster_rcnn", "bf")["mean"] is None
    assert preprocessor(paper_config, "faster_rcnn", "bf")["pad_size_divisor"] == 32
    fcos = preprocessor(paper_config, "fcos", "bf_hoechst")
    assert fcos["mean"] == list(CAFFE_MEAN) and fcos["std"] == [1.0] * 3 and fcos["bgr_to_rgb"] is False
    assert preprocessor(paper_config, "fcos", "bf_fluo")["mean"] is None
    assert preprocessor(paper_config, "fcos", "bf_fluo")["pad_size_divisor"] == 1
    dino = preprocessor(paper_config, "dino", "bf_fluo")
    assert dino["mean"] is None and dino["pad_size_divisor"] == 1 and dino["bgr_to_rgb"] is False


def test_corrected_standardisation_covers_every_channel(paper_config):
    six = preprocessor(paper_config, "faster_rcnn", "bf_fluo", "corrected")
    assert six["mean"] == list(IMAGENET_MEAN) * 2 and six["std"] == list(IMAGENET_STD) * 2
    fcos = preprocessor(paper_config, "fcos", "bf_fluo", "corrected")
    assert fcos["mean"] == list(CAFFE_MEAN) * 2 and fcos["std"] == [1.0] * 6


def test_six_channel_preprocessor_normalises_per_channel(paper_config):
    config = preprocessor(paper_config, "dino", "bf_fluo", "corrected")
    module = MODELS.build(config)
    image = torch.full((6, 8, 8), 100.0)
    out = module(dict(inputs=[image], data_samples=None), training=False)["inputs"][0]
    expected = (100.0 - torch.tensor(IMAGENET_MEAN * 2)) / torch.tensor(IMAGENET_STD * 2)
    assert torch.allclose(out[:, 0, 0], expected)


def test_schedules_and_thresholds_of_the_paper(paper_config):
    faster = run_spec(paper_config, "faster_rcnn", "bf", "all", 0)
    warmup, steps = param_schedulers(faster, 967)
    assert (warmup["type"], warmup["start_factor"], warmup["end"]) == ("LinearLR", 0.001, 1000)
    assert (steps["type"], steps["milestones"], steps["gamma"]) == ("MultiStepLR", [16, 24], 0.1)
    assert warmup["by_epoch"] is False and steps["by_epoch"] is True
    assert optim_wrapper(faster)["optimizer"] == dict(type="SGD", lr=1e-3, momentum=0.9, weight_decay=1e-4)
    assert optim_wrapper(faster)["clip_grad"] is None
    rcnn = model_config(faster)["test_cfg"]["rcnn"]
    assert (rcnn["score_thr"], rcnn["nms"]["iou_threshold"], rcnn["max_per_img"]) == (0.05, 0.5, 1000)
    fcos = model_config(run_spec(paper_config, "fcos", "bf", "all", 0))
    head = fcos["bbox_head"]
    assert head["loss_bbox"]["type"] == "GIoULoss"
    assert head["center_sampling"] and head["centerness_on_reg"] and head["norm_on_bbox"]
    assert (fcos["test_cfg"]["nms"]["iou_threshold"], fcos["test_cfg"]["max_per_img"]) == (0.6, 100)
    dino = run_spec(paper_config, "dino", "bf", "all", 0)
    wrapper = optim_wrapper(dino)
    assert wrapper["optimizer"]["type"] == "AdamW" and wrapper["optimizer"]["lr"] == 1e-4
    assert wrapper["paramwise_cfg"]["custom_keys"]["backbone"]["lr_mult"] == 0.1
    assert wrapper["clip_grad"]["max_norm"] == 0.1
    assert model_config(dino)["test_cfg"]["max_per_img"] == 300


def test_dino_never_returns_more_boxes_than_queries(demo_config):
    config = copy.deepcopy(demo_config)
    config["detect"]["dino"].update(num_queries=50, max_per_img=300)
    assert model_config(run_spec(config, "dino", "bf", "all", 0))["test_cfg"]["max_per_img"] == 50


def test_pretrained_backbone_is_frozen_and_random_one_is_not(paper_config, demo_config, tmp_path):
    weights = tmp_path / "w.pth"
    spec = run_spec(paper_config, "faster_rcnn", "bf", "all", 0)
    backbone = model_config(spec, weights)["backbone"]
    assert backbone["frozen_stages"] == 1 and backbone["norm_eval"] is True
    assert backbone["init_cfg"] == dict(type="Pretrained", checkpoint=str(weights))
    backbone = model_config(run_spec(demo_config, "faster_rcnn", "bf", "all", 0))["backbone"]
    assert backbone["frozen_stages"] == -1 and backbone["norm_eval"] is False and backbone["init_cfg"] is None


def test_coco_dino_is_loaded_over_the_whole_model(paper_config, tmp_path):
    weights = tmp_path / "coco.pth"
    spec = run_spec(paper_config, "dino", "bf_fluo", "all", 0)
    cfg = runner_config(spec, tmp_path, tmp_path / "train.txt", tmp_path / "work", 967, weights=weights)
    assert cfg.load_from == str(weights)
    # No initialisation of the backbone's own: what COCO does not cover keeps PyTorch's default (test_stem.py).
    assert cfg.model.backbone.init_cfg == [] and cfg.model.backbone.frozen_stages == 1


def schedule(config, train_images, scaling):
    config = copy.deepcopy(config)
    config["protocol"] = f"faithful,detector_schedule_scaling={scaling}"
    return param_schedulers(run_spec(config, "faster_rcnn", "bf_hoechst", "patient-r08", 0), train_images)


@pytest.mark.parametrize(
    "train_images, fixed, scaled",
    [
        (91, 1000, 96),  # the third patient: 23 iterations x 32 epochs = 736; 0.13 x 736 = 95.7
        (493, 1000, 516),  # the first patient: 124 x 32 = 3,968
        (967, 1000, 1000),  # the main run: 242 x 32 = 7,744; 0.13 x 7,744 = 1,006.7 keeps the configured 1000
    ],
)
def test_a_short_run_warms_up_over_its_own_share_only_when_scaled(paper_config, train_images, fixed, scaled):
    for scaling, warmup in (("fixed", fixed), ("scaled", scaled)):
        linear, steps = schedule(paper_config, train_images, scaling)
        assert (linear["type"], linear["end"], linear["by_epoch"]) == ("LinearLR", warmup, False)
        # The drops are counted in epochs, so they sit at 1/2 and 3/4 of every run under both values.
        assert (steps["milestones"], steps["end"], steps["by_epoch"]) == ([16, 24], 32, True)


def test_no_warm_up_stays_none_when_scaled(paper_config):
    config = copy.deepcopy(paper_config)
    config["detect"]["warmup_iters"] = 0
    (steps,) = schedule(config, 91, "scaled")
    assert steps["type"] == "MultiStepLR"


def preprocessed_shape(config, detector, padding, training, size=100):
    """The batch a data preprocessor makes of one image of `size` x `size` pixels, 3 channels."""
    config = copy.deepcopy(config)
    config["protocol"] = f"faithful,detector_test_padding={padding}"
    module = MODELS.build(data_preprocessor(run_spec(config, detector, "bf", "all", 0)))
    image = torch.rand(3, size, size) * 255
    return tuple(module(dict(inputs=[image], data_samples=None), training=training)["inputs"].shape)


def test_faster_rcnn_pads_test_images_only_when_told_to_pad_as_in_training(paper_config):
    """docs/protocol.md#faster-rcnn: the original padded training images to a multiple of 32, test images not."""
    for padding in ("original", "as_train"):
        assert preprocessed_shape(paper_config, "faster_rcnn", padding, training=True) == (1, 3, 128, 128)
    assert preprocessed_shape(paper_config, "faster_rcnn", "original", training=False) == (1, 3, 100, 100)
    assert preprocessed_shape(paper_config, "faster_rcnn", "as_train", training=False) == (1, 3, 128, 128)
    # FCOS (3 channels) padded its test images to 32 as well, DINO padded nothing: the switch leaves them.
    for padding in ("original", "as_train"):
        assert preprocessed_shape(paper_config, "fcos", padding, training=False) == (1, 3, 128, 128)
        assert preprocessed_shape(paper_config, "dino", padding, training=False) == (1, 3, 100, 100)


def test_inflated_stem_keeps_the_response_to_replicated_channels():
    generator = torch.Generator().manual_seed(0)  # not the shared RNG: earlier tests must not change the draw
    weight = torch.randn(8, 3, 7, 7, generator=generator)
    inflated = inflate_stem(weight, 6)
    assert inflated.shape == (8, 6, 7, 7)
    image3 = torch.rand(1, 3, 16, 16, generator=generator)
    image6 = torch.cat([image3, image3], dim=1)
    out3 = torch.nn.functional.conv2d(image3, weight)
    out6 = torch.nn.functional.conv2d(image6, inflated)
    # Outputs of ~10 summed in a different order: float32 rounding is relative to their size.
    assert torch.allclose(out3, out6, rtol=1e-5, atol=1e-5 * float(out3.abs().max()))
