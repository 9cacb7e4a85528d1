"""Files of the twin in the figshare layout: images, XMLs, cell crops, split lists and the annotator table.

Every path comes from `DatasetLayout`, so the twin and the real release cannot drift apart.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ...io import atomic_write_text
from ..imageio import write_tiff
from ..layout import CLASSES, SPLITS, DatasetLayout, crop_name
from ..voc import write_voc
from .annotate import expert_boxes, priority_nms, voc
from .cells import sample_cells
from .config import TwinConfig
from .plan import ImagePlan
from .render import render_scene
from .style import PatientStyle, patient_style

EXPERTS = ("Expert1", "Expert2")


@dataclass
class ImageRecord:
    """What was written for one image, for the summary."""

    image_id: str
    patient: str
    split: str
    cells: dict[str, int]  # true cells per annotated class (test images included, though unannotated there)
    hidden: dict[str, int]  # U cells by hidden biology: R (cancer) or G (normal)
    unknown_truth: dict[str, str] = field(default_factory=dict)  # crop name of each annotated U cell -> R or G
    test_boxes: dict[str, int] = field(default_factory=dict)  # boxes per test annotator
    crops: int = 0


@lru_cache(maxsize=16)
def _style(seed: int, patient_index: int) -> PatientStyle:
    return patient_style(seed, patient_index)


def _write_crops(
    layout: DatasetLayout,
    split: str,
    image_id: str,
    brightfield: np.ndarray,
    fluorescence: np.ndarray,
    boxes: Sequence[tuple[int, int, int, int]],
    labels: Sequence[str],
) -> int:
    """Exact box slices of the raw 16-bit images, named `{id}_{object index}_{xmin}_{ymin}_{xmax}_{ymax}`."""
    for index, (box, label) in enumerate(zip(boxes, labels)):
        xmin, ymin, xmax, ymax = box
        name = crop_name(image_id, index, box)
        write_tiff(layout.cell_crop(split, "brightfield", label, name), brightfield[ymin:ymax, xmin:xmax])
        write_tiff(layout.cell_crop(split, "fluorescence", label, name), fluorescence[ymin:ymax, xmin:xmax])
    return len(boxes)


def write_image(layout: DatasetLayout, plan: ImagePlan, config: TwinConfig) -> ImageRecord:
    """Render one field of view and write its images, annotations and (train/val) crops."""
    rng = plan.rng(config.seed)
    style = _style(config.seed, plan.patient_index)
    cells = sample_cells(rng, config, style)
    image = render_scene(rng, cells, config, style)
    write_tiff(layout.brightfield(plan.image_id), image.brightfield)
    write_tiff(layout.fluorescence(plan.image_id), image.fluorescence)

    labels = [c.label for c in cells]
    record = ImageRecord(
        image_id=plan.image_id,
        patient=plan.patient,
        split=plan.split,
        cells={c: labels.count(c) for c in CLASSES},
        hidden={
            "R": sum(c.label == "U" and c.cancer for c in cells),
            "G": sum(c.label == "U" and not c.cancer for c in cells),
        },
    )
    size = config.image_size
    if plan.split == "test":
        drawn = [
            expert_boxes(rng, cells, image.boxes, config.expert_miss_rates[i], config.expert_jitter_px[i], size)
            for i in range(len(EXPERTS))
        ]
        annotations = dict(zip(EXPERTS, drawn))
        annotations["Unioned"] = priority_nms(drawn)
        for annotator, boxes in annotations.items():
            write_voc(layout.test_xml(plan.image_id, annotator), voc(plan.image_id, size, boxes, ["R"] * len(boxes)))
            record.test_boxes[annotator] = len(boxes)
        return record

    write_voc(layout.trainval_xml(plan.image_id), voc(plan.image_id, size, image.boxes, labels))
    record.unknown_truth = {
        crop_name(plan.image_id, index, box): ("R" if cell.cancer else "G")
        for index, (cell, box) in enumerate(zip(cells, image.boxes))
        if cell.label == "U"
    }
    if config.write_crops:
        record.crops = _write_crops(
            layout, plan.split, plan.image_id, image.brightfield, image.fluorescence, image.boxes, labels
        )
    return record


def write_split_lists(layout: DatasetLayout, plans: Sequence[ImagePlan]) -> None:
    """`Annotations/{train,val,test}.txt`: one bare image id per line, in patient then field order."""
    for split in SPLITS:
        ids = [p.image_id for p in plans if p.split == split]
        atomic_write_text(layout.split_file(split), "".join(f"{i}\n" for i in ids))


def write_expert_csv(layout: DatasetLayout, plans: Sequence[ImagePlan]) -> None:
    """`expert_annotation_id.csv`: who annotated each image; test images list both annotators, `;`-separated."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["image_id", "split", "annotators"])
    for plan in plans:
        writer.writerow([plan.image_id, plan.split, ";".join(plan.annotators)])
    atomic_write_text(layout.expert_csv, buffer.getvalue())
