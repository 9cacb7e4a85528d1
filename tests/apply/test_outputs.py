"""What `ctcbench predict` writes for one image worked out by hand: the cells CSV and JSON, the COCO boxes and the
overlay, whose cyan boxes are the candidates above the overlay floor."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np

from ctcbench.apply.images import ImageInput
from ctcbench.apply.outputs import coco, write_image
from ctcbench.apply.predictor import ImageResult

THRESHOLD = 0.5


def result() -> ImageResult:
    """A 64 x 48 image: a cancer call, a candidate at 0.6 x the threshold, and one at 0.2 x."""
    return ImageResult(
        image=ImageInput("well", Path("well_bf.tiff"), None),
        width=64,
        height=48,
        tiles=1,
        proposals=4,
        boxes=np.array([[4, 4, 14, 14], [30, 20, 40, 30], [50, 5, 60, 15]]),
        s_det=np.array([0.9, 0.5, 0.2]),
        s_cls=np.array([0.8, 0.2, 0.05]),
        score=np.array([0.83, 0.3, 0.1]),
        cancer=np.array([True, False, False]),
    )


def coloured(picture: np.ndarray, bgr: tuple[int, int, int]) -> np.ndarray:
    return np.all(picture == np.array(bgr, np.uint8), axis=2)


def test_one_image_gets_its_cells_and_an_overlay_above_the_floor(tmp_path):
    brightfield = np.tile(np.arange(64, dtype=np.uint16) * 100, (48, 1))[..., None]
    write_image(tmp_path, result(), brightfield, THRESHOLD, overlay_floor=0.5)
    with open(tmp_path / "cells" / "well.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["x1"], r["y2"], r["score"], r["cancer"]) for r in rows] == [
        ("4", "14", "0.83", "True"), ("30", "30", "0.3", "False"), ("50", "15", "0.1", "False"),
    ]  # fmt: skip
    record = json.loads((tmp_path / "cells" / "well.json").read_text())
    assert (record["cancer_cells"], record["threshold"], record["fluorescence"], len(record["cells"])) == (
        1,
        0.5,
        None,
        3,
    )
    picture = cv2.imread(str(tmp_path / "overlays" / "well.png"))
    assert picture.shape == (48, 64, 3)
    red, cyan = coloured(picture, (0, 0, 255)), coloured(picture, (255, 255, 0))
    assert red[4, 4:14].all() and red[13, 4:14].all() and not red[15:].any()  # x2, y2 exclusive: rows 4 to 13
    assert cyan[20, 30:40].all() and not cyan[:, 45:].any()  # the 0.1 candidate is under 0.5 x the threshold
    write_image(tmp_path / "all", result(), brightfield, THRESHOLD, overlay_floor=0.0)
    assert coloured(cv2.imread(str(tmp_path / "all" / "overlays" / "well.png")), (255, 255, 0))[5, 50:60].all()
    write_image(tmp_path / "none", result(), brightfield, THRESHOLD, overlay_floor=None)
    assert not (tmp_path / "none" / "overlays").exists() and (tmp_path / "none" / "cells" / "well.json").is_file()


def test_coco_boxes_are_corner_and_size_with_both_scores():
    found = coco([result()], "faster_rcnn/bf/all/seed0/omega0.7", THRESHOLD)
    assert found["images"] == [{"id": 1, "file_name": "well_bf.tiff", "width": 64, "height": 48, "image_id": "well"}]
    first = found["annotations"][0]
    assert (first["bbox"], first["area"], first["score"], first["cancer"]) == ([4, 4, 10, 10], 100, 0.83, True)
    assert [a["id"] for a in found["annotations"]] == [1, 2, 3] and found["categories"][0]["name"] == "cancer cell"
    assert coco([], "b", float("inf"))["info"]["threshold"] is None
