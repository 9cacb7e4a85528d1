"""What `ctcbench predict` writes under its output folder (docs/apply.md#outputs), every file atomically:

cells/<id>.csv, cells/<id>.json   each cell of an image: box, S_det, S_cls, fused score, cancer call
overlays/<id>.png                 the brightfield with the boxes, red for cancer calls, cyan for the others
detections.coco.json              every box of every image in COCO's format, for other tools
summary.csv                       one row per image: cancer cells, boxes, tiles; and one per skipped file
predict.json                      the bundle, its threshold, the device, versions, and the skipped files
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.channels import minmax_float
from ..io import atomic_path, atomic_write_json
from ..tables import write_csv
from .images import Skipped

if TYPE_CHECKING:  # the predictor imports torch; this module is imported for the command line's defaults
    from .predictor import ImageResult

CELL_COLUMNS = ("cell", "x1", "y1", "x2", "y2", "s_det", "s_cls", "score", "cancer")
SUMMARY_COLUMNS = (
    "image_id", "status", "cancer_cells", "cells", "proposals", "width", "height", "tiles", "brightfield",
    "fluorescence", "reason",
)  # fmt: skip
CANCER_BGR, OTHER_BGR = (0, 0, 255), (255, 255, 0)
COCO_CATEGORY = {"id": 1, "name": "cancer cell", "supercategory": "cell"}
# The detectors look for cancer-like cells only (G and U are their background), so a box below the threshold is a
# weaker candidate, not a normal cell: the overlay shows those whose fused score reaches this fraction of it.
OVERLAY_FLOOR = 0.5


def write_image(
    out: Path,
    result: ImageResult,
    brightfield: np.ndarray,
    threshold: float,
    overlay_floor: float | None = OVERLAY_FLOOR,
) -> None:
    """The per-image files of one image; `brightfield` its canonical brightfield, the overlay's background (no overlay
    when `overlay_floor` is None)."""
    image_id = result.image.image_id
    cells = result.cells()
    write_csv(out / "cells" / f"{image_id}.csv", cells, CELL_COLUMNS)
    record = {
        "image_id": image_id,
        "brightfield": str(result.image.brightfield),
        "fluorescence": None if result.image.fluorescence is None else str(result.image.fluorescence),
        "width": result.width,
        "height": result.height,
        "tiles": result.tiles,
        "proposals": result.proposals,
        "threshold": None if np.isinf(threshold) else threshold,
        "cancer_cells": result.cancer_cells,
        "cells": cells,
    }
    atomic_write_json(out / "cells" / f"{image_id}.json", record)
    if overlay_floor is not None:
        shown = result.cancer | (result.score >= overlay_floor * threshold)
        write_overlay(out / "overlays" / f"{image_id}.png", overlay_image(result, brightfield, shown))


def overlay_image(result: ImageResult, brightfield: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """8-bit BGR picture of the brightfield (min-max stretched) with the `shown` boxes coloured by their call."""
    import cv2

    gray = minmax_float(brightfield[..., :1]).astype(np.uint8)[..., 0]
    picture = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    boxes = zip(result.boxes[shown].tolist(), result.cancer[shown].tolist())
    for box, cancer in sorted(boxes, key=lambda item: item[1]):  # calls drawn last, on top
        colour, width = (CANCER_BGR, 2) if cancer else (OTHER_BGR, 1)
        # x2, y2 are exclusive ends; OpenCV draws inclusive corners.
        cv2.rectangle(picture, (box[0], box[1]), (box[2] - 1, box[3] - 1), colour, width)
    return picture


def write_overlay(path: Path, picture: np.ndarray) -> None:
    import cv2

    ok, encoded = cv2.imencode(".png", picture)
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    with atomic_path(path) as tmp:
        tmp.write_bytes(encoded.tobytes())


def summary_rows(results: list[ImageResult], skipped: list[Skipped]) -> list[dict[str, Any]]:
    rows = [
        {
            "image_id": r.image.image_id,
            "status": "ok",
            "cancer_cells": r.cancer_cells,
            "cells": len(r.boxes),
            "proposals": r.proposals,
            "width": r.width,
            "height": r.height,
            "tiles": r.tiles,
            "brightfield": str(r.image.brightfield),
            "fluorescence": "" if r.image.fluorescence is None else str(r.image.fluorescence),
        }
        for r in results
    ]
    rows += [{"image_id": s.image_id, "status": "skipped", "brightfield": s.path, "reason": s.reason} for s in skipped]
    return rows


def write_summary(out: Path, results: list[ImageResult], skipped: list[Skipped]) -> None:
    write_csv(out / "summary.csv", summary_rows(results, skipped), SUMMARY_COLUMNS)


def coco(results: list[ImageResult], bundle_name: str, threshold: float) -> dict[str, Any]:
    """Every kept box as a COCO annotation of one category, scored by the fused score; `cancer` says whether it
    reaches the bundle's threshold, `s_det` and `s_cls` are its two scores. Boxes are [x, y, width, height]."""
    images, annotations = [], []
    for number, result in enumerate(results, 1):
        images.append(
            {
                "id": number,
                "file_name": str(result.image.brightfield),
                "width": result.width,
                "height": result.height,
                "image_id": result.image.image_id,
            }
        )
        for cell in result.cells():
            width, height = cell["x2"] - cell["x1"], cell["y2"] - cell["y1"]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": number,
                    "category_id": COCO_CATEGORY["id"],
                    "bbox": [cell["x1"], cell["y1"], width, height],
                    "area": width * height,
                    "iscrowd": 0,
                    **{k: cell[k] for k in ("score", "s_det", "s_cls", "cancer")},
                }
            )
    info = {
        "description": f"ctcbench predict with bundle {bundle_name}",
        "threshold": None if np.isinf(threshold) else threshold,
    }
    return {"info": info, "images": images, "annotations": annotations, "categories": [COCO_CATEGORY]}


def write_coco(out: Path, results: list[ImageResult], bundle_name: str, threshold: float) -> None:
    atomic_write_json(out / "detections.coco.json", coco(results, bundle_name, threshold))
