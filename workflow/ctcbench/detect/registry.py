"""The dataset, loading transform and data preprocessor that the generated configs name, registered in mmdet.

They are thin adapters over `ctcbench.data`: ids come from our image lists, boxes from our VOC reader and pixels from
`channels.read_pair` + `channels.detector_input`, so the detectors see exactly the arrays every other stage and test of
the package sees; there is no second image reader (docs/protocol.md#detector-input `LoadCTCImageFromFile` and
`CTCDataset`, re-implemented).

Importing this module registers them; call `ensure_registered()` before building configs outside a Runner.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.datasets import BaseDetDataset
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.registry import DATASETS, MODELS, TRANSFORMS

from ..data.channels import detector_input, read_pair
from ..data.layout import DatasetLayout
from ..data.splits import read_image_list
from ..data.voc import read_voc
from ..errors import DatasetError
from ..protocol import parse

CLASSES = ("R",)


def image_instances(
    layout: DatasetLayout, image_id: str, split: str, test_annotator: str = "Unioned", box_shift: int = 0
) -> tuple[list[dict[str, Any]], int | None, int | None]:
    """mmdet instances of an image's R boxes: corners as `int(float())` plus `box_shift`, difficult -> ignored.

    G and U are background for the detectors (docs/protocol.md#detector-common); test images carry R only.
    """
    annotation = read_voc(layout.annotation_xml(split, image_id, test_annotator))
    instances = []
    for box in annotation.boxes_of(*CLASSES):
        instances.append(
            dict(
                bbox=[float(c + box_shift) for c in box.int_coords()],
                bbox_label=CLASSES.index(box.name),
                ignore_flag=int(box.difficult),
            )
        )
    return instances, annotation.width, annotation.height


@DATASETS.register_module()
class CtcDetDataset(BaseDetDataset):
    """Images of one image list (`ann_file`: one id per line) of a dataset root in the figshare layout.

    `split` picks the ground truth: trainval XMLs for train/val lists (per-patient lists included), the chosen
    annotator's XMLs under Annotations/test/ for the test list (docs/defects.md#defect-6: never trainval for test).
    `annotations=False` reads no XML at all, for inference on any list of ids.
    """

    METAINFO = {"classes": CLASSES, "palette": [(220, 20, 60)]}

    def __init__(
        self,
        *args: Any,
        split: str = "train",
        test_annotator: str = "Unioned",
        box_shift: int = 0,
        annotations: bool = True,
        **kwargs: Any,
    ) -> None:
        if split not in ("train", "val", "test"):
            raise DatasetError(f"CtcDetDataset split {split!r}; expected train, val or test")
        self.split = split
        self.test_annotator = test_annotator
        self.box_shift = box_shift
        self.annotations = annotations
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> list[dict[str, Any]]:
        layout = DatasetLayout(Path(self.data_root))
        list_path = Path(self.ann_file)
        if not list_path.is_file():
            raise DatasetError(f"{list_path}: image list missing; run the data stage (rule image_splits)")
        data_list = []
        for image_id in read_image_list(list_path):
            instances, width, height = [], None, None
            if self.annotations:
                instances, width, height = image_instances(
                    layout, image_id, self.split, self.test_annotator, self.box_shift
                )
            data_list.append(
                dict(
                    img_id=image_id,
                    img_path=str(layout.brightfield(image_id)),
                    width=width,
                    height=height,
                    instances=instances,
                )
            )
        if not data_list:
            raise DatasetError(f"{list_path}: no image ids; a detector needs at least one image")
        return data_list

    def filter_data(self) -> list[dict[str, Any]]:
        # Images without any R box stay in training: they are the detector's negatives.
        return self.data_list


def with_image(results: dict[str, Any], image: np.ndarray) -> dict[str, Any]:
    """`results` holding a detector input as mmdet's loading transforms leave it (float32 H x W x C, 0-255)."""
    results["img"] = image
    results["img_shape"] = image.shape[:2]
    results["ori_shape"] = image.shape[:2]
    return results


@TRANSFORMS.register_module()
class LoadCtcImage(BaseTransform):
    """Detector input of an image id for a setting, read and scaled by the protocol's switches: float32 H x W x C,
    0-255 (docs/protocol.md#detector-input). `protocol` is the protocol's name (ctcbench.protocol)."""

    def __init__(self, dataset_root: str, setting: str, protocol: str) -> None:
        self.layout = DatasetLayout(Path(dataset_root))
        self.setting = setting
        self.protocol = parse(protocol)

    def transform(self, results: dict[str, Any]) -> dict[str, Any]:
        bf, fl = read_pair(self.layout, results["img_id"], self.protocol.image_read)
        return with_image(results, detector_input(bf, fl, self.setting, self.protocol))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(dataset_root={str(self.layout.root)!r}, setting={self.setting!r}, "
            f"protocol={self.protocol.name!r})"
        )


@MODELS.register_module()
class CtcDetDataPreprocessor(DetDataPreprocessor):
    """mmdet's DetDataPreprocessor with a mean/std of any length and a padding of its own for test images.

    mmengine accepts only 1 or 3 values, but the 4- and 6-channel settings need one per channel; the
    normalisation itself, `(x - mean) / std` per channel before padding, is mmengine's own. `test_pad_size_divisor`
    (default: `pad_size_divisor`) pads the batches of inference: the original Faster R-CNN padded its training
    images only (docs/protocol.md#faster-rcnn).
    """

    def __init__(
        self,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        test_pad_size_divisor: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(mean=None, std=None, **kwargs)
        self.train_pad_size_divisor = self.pad_size_divisor
        self.test_pad_size_divisor = self.pad_size_divisor if test_pad_size_divisor is None else test_pad_size_divisor
        if (mean is None) != (std is None):
            raise ValueError("CtcDetDataPreprocessor needs both mean and std, or neither")
        if mean is not None:
            if len(mean) != len(std):  # type: ignore[arg-type]
                raise ValueError(f"mean has {len(mean)} values and std {len(std)}")  # type: ignore[arg-type]
            self._enable_normalize = True
            self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(-1, 1, 1), False)
            self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(-1, 1, 1), False)

    def forward(self, data: dict, training: bool = False) -> dict:
        # mmengine's padding and mmdet's pad shapes both read `pad_size_divisor`.
        self.pad_size_divisor = self.train_pad_size_divisor if training else self.test_pad_size_divisor
        return super().forward(data, training)


def ensure_registered() -> None:
    """Register mmdet's own modules and make `mmdet` the default registry scope.

    Our classes registered on import; building a config outside a Runner (inference, tests) also needs the
    scope that the generated configs name (`default_scope='mmdet'`), or mmengine looks in its own registries.
    """
    from mmdet.utils import register_all_modules

    from . import best_val, curves, resume  # noqa: F401  (register the hooks the configs name)

    register_all_modules(init_default_scope=True)
