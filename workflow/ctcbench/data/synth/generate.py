"""`generate_twin`: write a complete synthetic twin at `root`, all or nothing.

The dataset is built in a hidden sibling directory and renamed onto `root` only when every file is written, so
an interrupted run never leaves a half-written dataset where downstream steps would look for one.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ...errors import DatasetError
from ...io import atomic_write_json
from ..layout import CLASSES, MODALITIES, TEST_ANNOTATORS, DatasetLayout
from .config import TwinConfig
from .plan import ImagePlan, plan_images
from .writer import ImageRecord, write_expert_csv, write_image, write_split_lists

log = logging.getLogger(__name__)

# Written at the dataset root beside the release's files; holds counts and the hidden class of every U cell.
SUMMARY_NAME = "twin_summary.json"
TRAINVAL = ("train", "val")


def _check_target(root: Path) -> None:
    """Refuse to replace a directory that is neither empty nor an earlier twin: it may be someone's real data."""
    if not root.exists():
        return
    if not root.is_dir():
        raise DatasetError(f"{root}: exists and is not a directory; choose another --root or remove it")
    if any(root.iterdir()) and not (root / SUMMARY_NAME).is_file():
        raise DatasetError(
            f"{root}: not empty and not a synthetic twin (no {SUMMARY_NAME}); choose another --root or remove it"
        )


def _make_dirs(layout: DatasetLayout, write_crops: bool) -> None:
    """Create every folder of the layout up front, so that a class with no cells still has its folder."""
    for modality in MODALITIES:
        (layout.images_dir / modality).mkdir(parents=True, exist_ok=True)
    (layout.annotations_dir / "trainval").mkdir(parents=True, exist_ok=True)
    for annotator in TEST_ANNOTATORS:
        (layout.annotations_dir / "test" / annotator).mkdir(parents=True, exist_ok=True)
    if write_crops:
        for split in TRAINVAL:
            for modality in MODALITIES:
                for label in CLASSES:
                    (layout.cells_dir / split / modality / label).mkdir(parents=True, exist_ok=True)


def _records(
    layout: DatasetLayout, plans: Sequence[ImagePlan], config: TwinConfig, workers: int
) -> Iterable[ImageRecord]:
    work = partial(write_image, layout, config=config)
    if workers <= 1:
        yield from map(work, plans)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(work, plans, chunksize=4)


def summarise(config: TwinConfig, records: Sequence[ImageRecord]) -> dict[str, Any]:
    """Counts per split, patient and class, test annotator box counts, and the hidden truth of U cells."""
    splits = ("train", "val", "test")
    summary: dict[str, Any] = {
        "config": config.to_dict(),
        "images": {s: sum(r.split == s for r in records) for s in splits},
        "images_per_patient": {
            p: {s: sum(r.patient == p and r.split == s for r in records) for s in splits} for p in config.patients
        },
        # True cells per class; for test images G and U exist in the images but are not annotated.
        "cells": {s: {c: sum(r.cells[c] for r in records if r.split == s) for c in CLASSES} for s in splits},
        "test_boxes": {a: sum(r.test_boxes.get(a, 0) for r in records) for a in TEST_ANNOTATORS},
        # U cells by hidden biology: R = cancer, G = normal.
        "unknown_hidden": {
            s: {c: sum(r.hidden[c] for r in records if r.split == s) for c in ("R", "G")} for s in splits
        },
        "unknown_truth": {
            s: {k: v for r in records if r.split == s for k, v in r.unknown_truth.items()} for s in TRAINVAL
        },
        "crops": {s: sum(r.crops for r in records if r.split == s) for s in TRAINVAL},
    }
    summary["images"]["total"] = len(records)
    return summary


def generate_twin(root: Path | str, config: TwinConfig, workers: int = 1, progress: bool = True) -> dict[str, Any]:
    """Write the twin described by `config` at `root` (replacing an earlier twin there) and return its summary.

    The output depends only on `config`, not on `workers`: every image draws from its own random stream.
    """
    root = Path(root)
    _check_target(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".{root.name}.synth-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    try:
        layout = DatasetLayout(staging)
        _make_dirs(layout, config.write_crops)
        plans = plan_images(config)
        records = list(
            tqdm(
                _records(layout, plans, config, workers),
                total=len(plans),
                desc="synthetic twin",
                unit="image",
                disable=not progress,
            )
        )
        write_split_lists(layout, plans)
        write_expert_csv(layout, plans)
        summary = summarise(config, records)
        atomic_write_json(staging / SUMMARY_NAME, summary)
        _swap_into_place(staging, root)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    log.info("synthetic twin at %s: %s images %s", root, summary["images"]["total"], summary["cells"])
    return summary


def _swap_into_place(staging: Path, root: Path) -> None:
    """Rename the finished twin onto `root`; an earlier twin there is moved aside first and then deleted."""
    retired = root.parent / f".{root.name}.retired-{os.getpid()}"
    if root.exists():
        os.replace(root, retired)
    os.replace(staging, root)
    if retired.exists():
        shutil.rmtree(retired)
