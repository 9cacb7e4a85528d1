"""The detector registry: one module per detector registers its recipe, and nothing else dispatches on names.

A recipe says what the original used for that detector: the mmdet config it derives from, its backbone's style and
ImageNet weights, how its `model` dict is built from a run spec, its optimiser, its input standardisation and
padding (of training and test images) in the original, and which weights it starts from. Adding a detector is one
new module here (plus its `detect.<name>:` config block); the schema's detector names are tested against `RECIPES`.

Importing this package imports neither torch nor mmdet: the plan reads titles, names and weights keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from ..spec import RunSpec

CAFFE_MEAN = (103.530, 116.280, 123.675)


@dataclass(frozen=True)
class DetectorRecipe:
    name: str
    title: str  # as the paper's tables write it
    base_config: str  # the config shipped with mmdet it is derived from (path inside mmdet/.mim/configs)
    backbone_style: str  # "pytorch" (torchvision ResNet) or "caffe" (detectron2 ResNet): decides the ImageNet stats
    imagenet_weights: str  # key of detect.weights holding its ImageNet backbone
    # the run's `model` dict (without its data_preprocessor), from the spec, the shipped config's `model` dict
    # (changed in place) and the pretrained file
    build: Callable[[RunSpec, dict[str, Any], Path | None], dict[str, Any]]
    optimizer: Callable[[RunSpec], dict[str, Any]]  # `optimizer` (and `paramwise_cfg`) of its OptimWrapper
    # (mean, std) the original standardised its input with, by channel count; None: no standardisation
    original_standardisation: Callable[[int], tuple[list[float], list[float]] | None]
    pad_size_divisor: Callable[[int], int]  # by channel count, as the original padded its training images
    # by channel count, as the original padded its test images when that differs from training (Faster R-CNN)
    original_test_pad_size_divisor: Callable[[int], int] | None = None
    # key of detect.weights it starts from, given its `detect.<name>` block; default: its ImageNet backbone
    pretrained_weights: Callable[[dict[str, Any]], str] | None = None
    whole_model_weights: str | None = None  # a weights key loaded over the whole model by the runner (load_from)

    def weights_key(self, model: dict[str, Any]) -> str:
        return self.pretrained_weights(model) if self.pretrained_weights else self.imagenet_weights


def sgd(spec: RunSpec) -> dict[str, Any]:
    cfg = spec.model
    return dict(optimizer=dict(type="SGD", lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"]))


# Recipe modules import this package (DetectorRecipe, sgd) and the run spec only for type checking: importing
# `..spec` at run time from a recipe would be circular, since the spec reads the registry.
def _registered() -> dict[str, DetectorRecipe]:
    from . import dino, faster_rcnn, fcos

    return {module.RECIPE.name: module.RECIPE for module in (faster_rcnn, fcos, dino)}


RECIPES: dict[str, DetectorRecipe] = _registered()
DETECTORS: tuple[str, ...] = tuple(RECIPES)
DETECTOR_TITLES: dict[str, str] = {name: recipe.title for name, recipe in RECIPES.items()}


def recipe(name: str) -> DetectorRecipe:
    if name not in RECIPES:
        raise ConfigError(f"unknown detector {name!r}; expected one of {', '.join(RECIPES)}")
    return RECIPES[name]
