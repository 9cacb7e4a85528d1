"""How far two annotators of the test images agree: the human ceiling the models are read against.

The release has two experts' test annotations (`Expert1`, `Expert2`) and their union (`Unioned`, the ground
truth of every table; docs/dataset.md#annotators). One annotator's boxes are scored against another's with the
image-level code of the models (`detect.metrics.match`: greedy matching at IoU 0.5 under the protocol's IoU
convention): precision, recall and F1 of all its boxes, overall and per patient. A human's boxes carry no score,
so there is no ranking and no precision-recall curve: AP is not defined, and F1 is that of every box (the models'
best F1 is the best over their score thresholds). Expert 1 against Expert 2 and Expert 2 against Expert 1 have the
same F1, with precision and recall swapped; against the union, precision counts the expert's boxes the union kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..detect.evaluate import ground_truth, iou_pixel
from ..detect.metrics import IOU_THRESHOLD, match, threshold_metrics
from ..protocol import Protocol
from .layout import DatasetLayout, patient_of

# (annotator scored, annotator as the truth): the experts against each other and each against their union.
PAIRS: tuple[tuple[str, str], ...] = (
    ("Expert1", "Expert2"),
    ("Expert2", "Expert1"),
    ("Expert1", "Unioned"),
    ("Expert2", "Unioned"),
)
FORMAT = "ctcbench.agreement/1"


def _scores(boxes: dict[str, np.ndarray], truth: dict[str, np.ndarray], ids: list[str], pixel: int) -> dict:
    """Precision, recall and F1 of every box of `boxes` against `truth` over `ids` (each box scored 1)."""
    predictions = {i: (boxes[i], np.ones(len(boxes[i]))) for i in ids}
    curve = match(predictions, {i: truth[i] for i in ids}, IOU_THRESHOLD, pixel)
    point = threshold_metrics(curve, 1.0)
    return {
        "f1": point.f1,
        "precision": point.precision,
        "recall": point.recall,
        "n_boxes": curve.n_predictions,
        "n_ground_truth": curve.n_ground_truth,
        "n_true_positive": int(curve.true_positive.sum()),
    }


def agreement(layout: DatasetLayout, image_ids: list[str], protocol: Protocol) -> dict[str, Any]:
    """Every pair of `PAIRS` on the listed test images, overall and per patient, as one JSON-ready record."""
    pixel = iou_pixel(protocol)
    names = sorted({name for pair in PAIRS for name in pair})
    # A copy without one annotator's folder (a local copy of the union alone, say) has no pairs with it.
    missing = {a: next((i for i in image_ids if not layout.test_xml(i, a).is_file()), None) for a in names}
    boxes = {a: ground_truth(layout, "test", image_ids, a) for a in names if missing[a] is None}
    patients = sorted({patient_of(i) for i in image_ids})
    pairs, skipped = [], []
    for scored, reference in PAIRS:
        absent = [a for a in (scored, reference) if missing[a] is not None]
        if absent:
            skipped.append({"annotator": scored, "reference": reference,
                            "why": f"no {layout.test_xml(missing[absent[0]], absent[0])}"})  # fmt: skip
            continue
        record = _scores(boxes[scored], boxes[reference], image_ids, pixel)
        record["per_patient"] = {
            p: _scores(boxes[scored], boxes[reference], [i for i in image_ids if patient_of(i) == p], pixel)
            for p in patients
        }
        pairs.append({"annotator": scored, "reference": reference, **record})
    return {
        "format": FORMAT,
        "protocol": protocol.name,
        "iou_threshold": IOU_THRESHOLD,
        "iou_convention": "VOC +1 pixel" if pixel else "exact",
        "n_images": len(image_ids),
        "ap_note": "a human's boxes have no score: no ranking, so AP is not defined; F1 is that of every box",
        "pairs": pairs,
        "skipped": skipped,
    }
