"""The classical nucleus detector over an image list: predictions.json in the format the trained detectors write
(`detect.predictions`), so the detection stage's evaluation scores it as it scores them.

Images are read one at a time, the fluorescence file only, under the protocol's `image_read`; every listed image gets
an entry, also when no nucleus is found. The parameters' digest stands where a trained detector records its model's
checksum, so val and test predictions of the same parameters go together in the held-out threshold.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .. import provenance
from ..data.channels import read_hoechst
from ..data.pointer import read_pointer
from ..data.splits import read_image_list
from ..errors import DatasetError
from ..plan.runs import ClassicalRun
from .nucleus import NAME, NucleusParams, detect_nuclei
from .predictions import ImageDetections, Predictions, write_predictions

log = logging.getLogger(__name__)
SCORE = "mean Hoechst intensity inside the contour / the pixel type's full scale"


def predict_nuclei(dataset: Path | str, image_list: Path | str, reader: str, params: NucleusParams) -> Predictions:
    """The nucleus detector's boxes on every image of `image_list`, in original pixel coordinates."""
    layout = read_pointer(dataset).layout
    image_ids = read_image_list(image_list)
    twice = sorted(i for i, n in Counter(image_ids).items() if n > 1)
    if twice:
        raise DatasetError(f"{image_list}: image ids listed twice ({', '.join(twice[:3])}); fix the list")
    run = ClassicalRun(NAME)
    started = time.time()
    images: dict[str, ImageDetections] = {}
    for image_id in tqdm(image_ids, desc=f"predict {run.name}", unit="image"):
        hoechst = read_hoechst(layout, image_id, reader)
        if not np.issubdtype(hoechst.dtype, np.integer):
            raise DatasetError(f"{layout.fluorescence(image_id)}: {hoechst.dtype} pixels; the nucleus detector "
                               "scores 8- or 16-bit images")  # fmt: skip
        boxes, scores = detect_nuclei(hoechst, params)
        images[image_id] = ImageDetections(hoechst.shape[1], hoechst.shape[0], boxes, scores)
    meta: dict[str, Any] = {
        "run": run.name,
        "detector": NAME,
        "params": params.to_dict(),
        "image_read": reader,
        "score": SCORE,
        "model_sha256": params.digest(),
        "image_list": str(image_list),
        "image_list_sha256": provenance.file_sha256(image_list),
        "images": len(images),
        "versions": provenance.versions(),
        "wall_time_s": round(time.time() - started, 1),
    }
    return Predictions(meta=meta, images=images)


def predict_to_file(out: Path | str, **kwargs: Any) -> Predictions:
    predictions = predict_nuclei(**kwargs)
    write_predictions(out, predictions)
    boxes = sum(len(v.scores) for v in predictions.images.values())
    log.info("wrote %s (%d images, %d boxes)", out, len(predictions.images), boxes)
    return predictions
