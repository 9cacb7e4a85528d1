"""Proposals: the original's formatting (NMS, truncation, clipping, dropping) on a hand-made case, none of the NMS
without `nms_before_classification`, and crops that are exactly the box slices of the images as read."""

import numpy as np
import pytest

from ctcbench.classify.data import CropSource
from ctcbench.data.channels import read_pair
from ctcbench.detect.predictions import ImageDetections, Predictions
from ctcbench.errors import DatasetError
from ctcbench.pipeline.proposals import UNLABELLED, ImageProposals, proposal_crops, propose
from ctcbench.protocol import CORRECTED, FAITHFUL

# Box 2 overlaps box 1 (torchvision IoU 0.95 > 0.5), box 3 sticks out of the 100 px image, box 4 truncates to
# zero width.
HAND = Predictions(
    meta={},
    images={
        "r06c04f01p01": ImageDetections(
            100,
            80,
            np.array([[-3.7, 2.9, 50.2, 60.8], [0.0, 3.5, 50.0, 60.0], [95.5, 10.2, 130.0, 90.0], [40, 40, 40.9, 80]]),
            np.array([0.9, 0.8, 0.7, 0.6]),
        ),
        "r07c04f01p01": ImageDetections(100, 80, np.zeros((0, 4)), np.zeros(0)),
    },
)


def test_nms_before_classification_formats_like_the_original():
    proposals = propose(HAND, ["r06c04f01p01", "r07c04f01p01"], FAITHFUL, nms_iou=0.5)
    first = proposals["r06c04f01p01"]
    assert first.boxes.dtype == np.int64
    assert first.boxes.tolist() == [[0, 2, 50, 60], [95, 10, 100, 80]]
    assert first.s_det.tolist() == [0.9, 0.7]
    assert len(proposals["r07c04f01p01"].boxes) == 0


def test_without_nms_before_classification_overlapping_boxes_stay():
    protocol = FAITHFUL.replace(nms_before_classification=False)
    first = propose(HAND, ["r06c04f01p01"], protocol, nms_iou=0.5)["r06c04f01p01"]
    assert first.boxes.tolist() == [[0, 2, 50, 60], [0, 3, 50, 60], [95, 10, 100, 80]]
    assert first.s_det.tolist() == [0.9, 0.8, 0.7]


def test_unknown_image_is_an_error():
    with pytest.raises(DatasetError, match="predictions.json: no entry for image r08c04f01p01"):
        propose(HAND, ["r08c04f01p01"], FAITHFUL, 0.5, source="predictions.json")


@pytest.mark.parametrize("protocol", [FAITHFUL, CORRECTED])
def test_crops_are_the_exact_slices(layout, protocol):
    ids = layout.read_split("test")
    rng = np.random.default_rng(1)
    proposals = {}
    for image_id in ids:
        xy = rng.integers(-5, 120, (6, 2))
        boxes = np.concatenate([xy, xy + rng.integers(1, 30, (6, 2))], axis=1).astype(float)
        proposals.update(
            propose(
                Predictions({}, {image_id: ImageDetections(128, 128, boxes, np.linspace(1, 0.5, 6))}),
                [image_id],
                protocol,
                0.5,
            )
        )
    cache = proposal_crops(layout, proposals, protocol.image_read, progress=False)
    assert len(cache) == sum(len(p.boxes) for p in proposals.values())
    assert cache.bf_channels == (3 if protocol.image_read == "opencv" else 1) and cache.reader == protocol.image_read
    assert (cache.labels == UNLABELLED).all()
    row = 0
    for image_id in ids:
        bf, fl = read_pair(layout, image_id, protocol.image_read)
        for index, (x1, y1, x2, y2) in enumerate(proposals[image_id].boxes):
            crop = cache.crop(row)
            assert np.array_equal(crop[..., : cache.bf_channels], bf[y1:y2, x1:x2])
            assert np.array_equal(crop[..., cache.bf_channels :], fl[y1:y2, x1:x2])
            assert cache.keys[row] == f"{image_id}_{index}" and cache.image_ids[row] == image_id
            assert cache.boxes[row].tolist() == [x1, y1, x2, y2] and cache.cells[row] == index
            row += 1
    assert CropSource(cache, "bf_fluo").crop(0).shape[2] == 6  # what the classifier composes from the cache


def test_images_without_proposals_are_not_read_and_sizes_are_checked(layout):
    nothing = {"r06c04f99p01": ImageProposals(128, 128, np.zeros((0, 4), np.int64), np.zeros(0))}
    assert len(proposal_crops(layout, nothing, "opencv", progress=False)) == 0  # no such image files
    image_id = layout.read_split("test")[0]
    wrong = {image_id: ImageProposals(1080, 1080, np.array([[0, 0, 10, 10]]), np.array([0.9]))}
    with pytest.raises(DatasetError, match="128x128 pixels, but the detector saw 1080x1080"):
        proposal_crops(layout, wrong, "opencv", progress=False)
