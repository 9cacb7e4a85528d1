"""A bundle's pipeline on one new image, exactly as the evaluation ran it on the test images
(docs/apply.md#predict).

Per image, with the evaluation's own functions: the files read as the protocol's `image_read` reads the dataset and
brought into canonical channels (`data.channels`); the detector input built and scaled by `channels.detector_input`
and run through the detector's inference steps (`detect.predict.ArrayDetector`), tile by tile when the image is
larger than the training images (`tiling`); the detections kept as predictions.json keeps them; proposals formatted
by `pipeline.proposals.propose` under the protocol, cut by `cut_proposals` and scored by the classifier
(`pipeline.scoring.classify_proposals`, S_cls = P(R)); fused and suppressed by `pipeline.evaluate.fuse_and_suppress`
at the bundle's ω; a cell is called cancer when its fused score reaches the bundle's threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..classify.scorer import CellScorer
from ..data.channels import canonical_brightfield, canonical_pair, check_partner, detector_input
from ..data.crops import stack_pair
from ..data.imageio import read_image
from ..detect.predict import ArrayDetector
from ..detect.predictions import ImageDetections, Predictions
from ..errors import DatasetError
from ..pipeline.evaluate import fuse_and_suppress
from ..pipeline.proposals import cut_proposals, propose
from ..pipeline.scoring import check_pairing, classify_proposals
from .bundle import Bundle
from .images import ImageInput
from .tiling import merge, tiles


@dataclass
class ImageResult:
    """The cells found in one image: integer boxes (x1 y1 x2 y2, x2 and y2 exclusive), their scores and calls."""

    image: ImageInput
    width: int
    height: int
    tiles: int
    proposals: int  # boxes the classifier scored, before the NMS on the fused score
    boxes: np.ndarray
    s_det: np.ndarray
    s_cls: np.ndarray
    score: np.ndarray  # the fused score
    cancer: np.ndarray  # bool: score >= the bundle's threshold

    @property
    def cancer_cells(self) -> int:
        return int(self.cancer.sum())

    def cells(self) -> list[dict[str, Any]]:
        return [
            {
                "cell": index,
                "x1": int(box[0]),
                "y1": int(box[1]),
                "x2": int(box[2]),
                "y2": int(box[3]),
                "s_det": float(self.s_det[index]),
                "s_cls": float(self.s_cls[index]),
                "score": float(self.score[index]),
                "cancer": bool(self.cancer[index]),
            }
            for index, box in enumerate(self.boxes)
        ]


def read_input(image: ImageInput, reader: str) -> tuple[np.ndarray, np.ndarray]:
    """Canonical (bf, fl) of a new image, read as `channels.read_pair` reads the dataset's. Without a fluorescence
    file (a Brightfield bundle) fl is zeros: the bf setting never reads it."""
    bf = read_image(image.brightfield, reader)
    if bf.shape[2] not in (1, 3):
        raise DatasetError(f"{image.brightfield}: {bf.shape[2]} channels; a brightfield image is gray or RGB")
    if image.fluorescence is None:
        canonical = canonical_brightfield(bf, reader)
        return canonical, np.zeros((*canonical.shape[:2], 3), canonical.dtype)
    fl = read_image(image.fluorescence, reader)
    check_partner(bf, fl, image.fluorescence)
    return canonical_pair(bf, fl, reader)


class Pipeline:
    """A bundle's detector and classifier, loaded once on `device`, applied to one image at a time."""

    def __init__(self, bundle: Bundle, device: str, tile_overlap: int, workers: int = 0) -> None:
        self.bundle = bundle
        self.protocol = bundle.protocol
        self.scorer = CellScorer(bundle.classifier, device, workers)
        self.detector = ArrayDetector(bundle.detector, str(self.scorer.device))
        detector_meta = {"setting": self.detector.spec.setting, "protocol": self.detector.spec.protocol}
        check_pairing(self.scorer.spec, detector_meta, self.protocol, bundle.classifier, bundle.detector)
        self.setting = self.scorer.spec.setting  # the models' own, which check_pairing found equal
        self.tile_overlap = tile_overlap

    def detect(self, image_id: str, bf: np.ndarray, fl: np.ndarray) -> tuple[ImageDetections, int]:
        """The detector's boxes in image pixels, as predictions.json stores them, and the number of tiles."""
        full = detector_input(bf, fl, self.setting, self.protocol)
        height, width = full.shape[:2]
        grid = tiles(width, height, self.bundle.training_size, self.tile_overlap)
        if len(grid) == 1:
            return self.detector.detect(image_id, full).as_stored(), 1
        found = [(tile, self.detector.detect(image_id, tile.window(full))) for tile in grid]
        return merge(found, width, height).as_stored(), len(grid)

    def apply(self, image: ImageInput, bf: np.ndarray, fl: np.ndarray) -> ImageResult:
        """The cells of an image whose canonical channels `read_input` gave."""
        detections, tile_count = self.detect(image.image_id, bf, fl)
        key = image.image_id
        proposals = propose(Predictions({}, {key: detections}), [key], self.protocol, self.bundle.nms_iou)
        stacked = stack_pair(bf, fl)
        crops = cut_proposals(
            proposals,
            lambda _: stacked,
            self.protocol.image_read,
            progress=False,
            where=lambda _: str(image.brightfield),
        )
        scored = classify_proposals(self.scorer, proposals, crops)[key]
        keep, fused = fuse_and_suppress(scored, self.bundle.omega, self.protocol.fusion_gate, self.bundle.nms_iou)
        return ImageResult(
            image=image,
            width=detections.width,
            height=detections.height,
            tiles=tile_count,
            proposals=len(scored.boxes),
            boxes=scored.boxes[keep],
            s_det=scored.s_det[keep],
            s_cls=scored.s_cls[keep],
            score=fused,
            cancer=fused >= self.bundle.threshold,
        )
