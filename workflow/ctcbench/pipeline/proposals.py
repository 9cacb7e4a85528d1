"""Proposals: a detector's boxes as the integer boxes the classifier sees, and their crops
(docs/protocol.md#pipeline-formatting, docs/dataset.md#cell-crops).

With the protocol's `nms_before_classification` (docs/defects.md#defect-16) proposals are formatted like the
original's format_output: class-agnostic NMS on S_det at `nms_iou` (the first of its two NMS passes), then corners
truncated to int, clipped to the image, empty boxes dropped. Without it, the same without the NMS: suppression before
re-scoring would throw away boxes the classifier might rank first, so the only NMS runs after fusion (`evaluate`).

Crops are the exact box slices of the images as the protocol's `image_read` reads them, stored
in a `CropCache` like the annotated crops, so the classifier composes and resizes them with its training code.
Proposals carry no label (`UNLABELLED`); a crop's key is `<image_id>_<index>`, the index in its image's list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ..data.crops import CropCache, cut, stacked_pair
from ..data.layout import DatasetLayout
from ..detect.evaluate import format_detections, integer_boxes
from ..detect.predictions import Predictions
from ..errors import DatasetError
from ..protocol import Protocol

UNLABELLED = -1


@dataclass
class ImageProposals:
    width: int
    height: int
    boxes: np.ndarray  # N x 4 int64: x1 y1 x2 y2, clipped, positive area
    s_det: np.ndarray  # N detector scores


def propose(
    predictions: Predictions, image_ids: list[str], protocol: Protocol, nms_iou: float, source: str = "predictions"
) -> dict[str, ImageProposals]:
    """Proposals of every listed image, in list order; `source` names the predictions file in errors."""
    proposals = {}
    for image_id in image_ids:
        entry = predictions.images.get(image_id)
        if entry is None:
            raise DatasetError(f"{source}: no entry for image {image_id}; run the detector on this image list")
        if protocol.nms_before_classification:
            boxes, s_det = format_detections(entry.boxes, entry.scores, entry.width, entry.height, nms_iou)
        else:
            boxes, s_det = integer_boxes(entry.boxes, entry.scores, entry.width, entry.height)
        proposals[image_id] = ImageProposals(entry.width, entry.height, boxes.astype(np.int64), s_det)
    return proposals


def proposal_crops(
    layout: DatasetLayout,
    proposals: Mapping[str, ImageProposals],
    reader: str,
    split: str = "proposals",
    progress: bool = True,
) -> CropCache:
    """Crops of every proposal, image by image in the given order; each image with proposals is read once."""
    return cut_proposals(
        proposals,
        lambda image_id: stacked_pair(layout, image_id, reader),
        reader,
        split,
        progress,
        where=lambda image_id: str(layout.brightfield(image_id)),
    )


def cut_proposals(
    proposals: Mapping[str, ImageProposals],
    stacked_of: Callable[[str], np.ndarray],
    reader: str,
    split: str = "proposals",
    progress: bool = True,
    where: Callable[[str], str] = str,
) -> CropCache:
    """`proposal_crops` from any source of images: `stacked_of(image_id)` gives the image's canonical brightfield
    and fluorescence channels side by side (`crops.stacked_pair`), `where(image_id)` names it in errors."""
    crops: list[np.ndarray] = []
    image_of_crop: list[str] = []
    index_in_image: list[int] = []
    boxes: list[np.ndarray] = []
    bar = tqdm(proposals.items(), desc="proposal crops", unit="image", leave=False, disable=not progress)
    for image_id, entry in bar:
        if len(entry.boxes) == 0:
            continue
        stacked = stacked_of(image_id)
        if stacked.shape[:2] != (entry.height, entry.width):
            raise DatasetError(
                f"{where(image_id)}: {stacked.shape[1]}x{stacked.shape[0]} pixels, but the detector "
                f"saw {entry.width}x{entry.height}; predict again on this dataset"
            )
        for index, box in enumerate(entry.boxes):
            crops.append(np.ascontiguousarray(cut(stacked, tuple(int(c) for c in box))))
            image_of_crop.append(image_id)
            index_in_image.append(index)
            boxes.append(box)
    return CropCache.from_crops(
        crops=crops,
        labels=[UNLABELLED] * len(crops),
        image_ids=image_of_crop,
        cells=index_in_image,
        boxes=boxes,
        keys=[f"{i}_{k}" for i, k in zip(image_of_crop, index_in_image)],
        reader=reader,
        split=split,
    )
