"""FLOPs of a detector network: one training step of `batch_size` images and one image's prediction.

The network is built from its run spec by `detect.configs.model_config` with the recipe of a real run (pretrained:
stem and first stage frozen, batch norm frozen, so they take no backward) but random weights: nothing is read.
Detector code depends on the data (anchors assigned to boxes, proposals sampled, NMS), so unlike the classifiers it
runs for real, on CPU, on random pixels with `boxes_per_image` cell-sized boxes (1/24 of the image side, 45 px at
1080, the size of a cell): about 30 s per count for Faster R-CNN and FCOS at 1080 px on 2 threads, 90 s for DINO.

Two shortcuts keep the paper grid to a few minutes, both exact (tests/compute):
* one image is counted and a step is `batch_size` times it: every FLOP of these detectors is per image (the
  images of a batch have one size, so padding adds nothing; proposals, RoIs and queries are per image);
* a network is counted in full once, with 3 input channels; another channel count changes only the backbone's
  first convolution, which is counted alone for both counts and the difference added.

What random weights leave open: Faster R-CNN's box head runs on the proposals that survive the RPN's NMS. Training
samples 512 RoIs per image whatever the weights; a prediction takes up to 1000, and at 1080 px random weights leave
about that many, so its prediction is counted near its upper bound (the box head is 28 of its 474 GFLOPs per image).
On tiny images fewer survive, and differently for different weights: the tests compare FCOS and DINO.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .flops import count
from .mmcv_ops import MmcvOpsEstimate
from .networks import DetectorNetwork, StepFlops

# model_config gives a pretrained run its frozen stages only when given a weights file; it is never read here.
NOT_READ = Path("pretrained-weights-not-read.pth")
CELL_SIDE = 1 / 24  # a ground-truth box's side as a fraction of the image's
BASE_SETTING = "bf"  # 3 channels in every protocol


def build(network: DetectorNetwork) -> nn.Module:
    from mmdet.registry import MODELS
    from mmengine.config import Config

    from ..detect import registry
    from ..detect.configs import model_config

    registry.ensure_registered()
    spec = network.spec
    config = model_config(spec, NOT_READ if spec.weights_key else None)
    config["backbone"]["init_cfg"] = None  # random weights
    torch.manual_seed(0)
    model = MODELS.build(Config(config))
    # Some parameters are allocated uninitialised and set only here (DINO's level embeddings): garbage in them can
    # make the predictions NaN and the matching fail. No init_cfg left reads a file.
    model.init_weights()
    return model


def sample_batch(network: DetectorNetwork, images: int, train: bool) -> dict[str, Any]:
    """Random pixels at the network's input size and, for training, `boxes_per_image` boxes of a cell's size."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    generator = torch.Generator().manual_seed(0)
    size, boxes = network.image_size, network.boxes_per_image
    side = size * CELL_SIDE
    inputs, samples = [], []
    for index in range(images):
        inputs.append(torch.randint(0, 256, (network.channels, size, size), dtype=torch.uint8, generator=generator))
        sample = DetDataSample(
            metainfo=dict(img_id=str(index), img_shape=(size, size), ori_shape=(size, size), scale_factor=(1.0, 1.0))
        )
        if train:
            corners = torch.rand(boxes, 2, generator=generator) * (size - side)
            instances = InstanceData()
            instances.bboxes = torch.cat([corners, corners + side], dim=1)
            instances.labels = torch.zeros(boxes, dtype=torch.long)
            sample.gt_instances = instances
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def training_step(model: nn.Module, network: DetectorNetwork, images: int) -> tuple[int, int, tuple[int, int]]:
    """(counted, analytic) FLOPs of the loss's forward and backward over `images` images, and the input's size."""
    model.train()
    data = model.data_preprocessor(sample_batch(network, images, train=True), True)

    def step() -> None:
        loss, _ = model.parse_losses(model.loss(data["inputs"], data["data_samples"]))
        loss.backward()

    with MmcvOpsEstimate(model) as ops:
        counted = count(step)
    return counted, ops.training_step, tuple(data["inputs"].shape[-2:])


def prediction(model: nn.Module, network: DetectorNetwork) -> tuple[int, int]:
    """(counted, analytic) FLOPs of predicting one image, in eval mode without gradients."""
    model.eval()
    data = model.data_preprocessor(sample_batch(network, 1, train=False), False)
    with torch.no_grad(), MmcvOpsEstimate(model) as ops:
        counted = count(lambda: model.predict(data["inputs"], data["data_samples"]))
    return counted, ops.forward


@dataclasses.dataclass(frozen=True)
class ImageFlops:
    """One image's FLOPs of a 3-channel network, and what the first convolution needs to be counted again."""

    train: int
    infer: int
    train_analytic: int
    infer_analytic: int
    stem: nn.Conv2d
    input_size: tuple[int, int]


def three_channels(network: DetectorNetwork) -> DetectorNetwork:
    spec = dataclasses.replace(network.spec, setting=BASE_SETTING)
    return dataclasses.replace(network, channels=spec.in_channels, spec_json=spec.to_json())


@functools.cache
def image_flops(network: DetectorNetwork) -> ImageFlops:
    model = build(network)
    train, train_analytic, input_size = training_step(model, network, 1)
    infer, infer_analytic = prediction(model, network)
    return ImageFlops(train, infer, train_analytic, infer_analytic, model.backbone.conv1, input_size)


def stem_flops(stem: nn.Conv2d, channels: int, input_size: tuple[int, int], train: bool) -> int:
    """The first convolution alone at `channels` inputs, on the meta device: its forward and, when training and its
    weight is trained, its weight gradient (the image itself takes none)."""
    meta = torch.device("meta")
    with meta:
        conv = copy.deepcopy(stem).to(meta)
        conv.in_channels = channels
        conv.weight = nn.Parameter(
            torch.empty(stem.out_channels, channels // stem.groups, *stem.kernel_size),
            requires_grad=stem.weight.requires_grad,
        )
    image = torch.empty(1, channels, *input_size, device=meta)
    if not (train and conv.weight.requires_grad):
        with torch.no_grad():
            return count(lambda: conv(image))
    return count(lambda: conv(image).sum().backward())


def detector_flops(network: DetectorNetwork) -> StepFlops:
    base = image_flops(three_channels(network))
    train, infer = base.train, base.infer
    if network.channels != base.stem.in_channels:
        for_channels = functools.partial(stem_flops, base.stem, input_size=base.input_size)
        train += for_channels(network.channels, train=True) - for_channels(base.stem.in_channels, train=True)
        infer += for_channels(network.channels, train=False) - for_channels(base.stem.in_channels, train=False)
    batch = network.batch_size
    return StepFlops(
        train=batch * (train + base.train_analytic),
        infer=infer + base.infer_analytic,
        train_analytic=batch * base.train_analytic,
        infer_analytic=base.infer_analytic,
    )
