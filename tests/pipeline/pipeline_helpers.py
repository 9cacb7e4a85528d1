"""Helpers of the pipeline tests: detector predictions written by hand on the tiny twin (no detector needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ctcbench.data.layout import DatasetLayout
from ctcbench.data.voc import read_voc
from ctcbench.detect.predictions import ImageDetections, Predictions, write_predictions


def detector_meta(protocol: str, setting: str = "bf_fluo") -> dict:
    return {
        "run": f"faster_rcnn/{setting}/all/seed0",
        "detector": "faster_rcnn",
        "setting": setting,
        "trainset": "all",
        "seed": 0,
        "protocol": protocol,
        "model_sha256": "0" * 64,
    }


def fake_predictions(layout: DatasetLayout, split: str, image_ids: list[str], meta: dict, seed: int = 0) -> Predictions:
    """What a decent detector might return: every annotated cell, jittered (on val also the G and U cells, false
    positives of the R-only evaluation), a second box on some, a few boxes on background; scores descending."""
    rng = np.random.default_rng(seed)
    images = {}
    for image_id in image_ids:
        annotation = read_voc(layout.annotation_xml(split, image_id))
        width, height = annotation.width or 128, annotation.height or 128
        cells = np.array([b.int_coords() for b in annotation.objects], dtype=np.float64).reshape(-1, 4)
        again = cells[: len(cells) // 3]
        boxes = [cells + rng.normal(0, 1.5, cells.shape), again + rng.normal(0, 3, again.shape)]
        corners = rng.uniform(-5, width - 10, (3, 2))
        boxes.append(np.concatenate([corners, corners + rng.uniform(6, 30, (3, 2))], axis=1))
        boxes = np.concatenate(boxes)
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 2)
        scores = np.sort(rng.uniform(0.02, 1.0, len(boxes)))[::-1]
        images[image_id] = ImageDetections(width, height, boxes, scores)
    return Predictions(meta=meta, images=images)


def write_fake_predictions(path: Path, layout: DatasetLayout, split: str, meta: dict, seed: int = 0) -> Path:
    write_predictions(path, fake_predictions(layout, split, layout.read_split(split), meta, seed))
    return path


def score_args(pointer, split_list, predictions, classifier, protocol, out) -> list[str]:
    """`ctcbench pipeline-score` of a predictions file on CPU."""
    return [
        "pipeline-score",
        "--dataset",
        str(pointer),
        "--image-list",
        str(split_list),
        "--predictions",
        str(predictions),
        "--classifier",
        str(classifier),
        "--protocol",
        protocol,
        "--nms-iou",
        "0.5",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
