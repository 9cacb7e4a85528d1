"""Check 1, released crops vs exact box slices (docs/dataset.md#cell-crops, docs/dataset.md#verify-image-format):
whether each released crop under `raw_cell_images/` is the exact box slice, named in its file name and clipped to
the image, of the 8-bit OpenCV read of its raw image, and sits in the class folder of its XML object; with the
inventory of the crop folders beside the XML objects and the paper's Table 1. A seeded sample of the crops of
each split, or every crop, is compared.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby, product
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ...errors import DatasetError
from ..crops import bf_channel_count, clip_box, cut, stacked_pair
from ..imageio import read_opencv
from ..layout import CLASSES, MODALITIES, SPLITS, DatasetLayout, parse_crop_name
from ..released_crops import CROP_SPLITS, TIFF_SUFFIXES, ReleasedCrop
from ..table1 import PaperSplit
from ..voc import VocAnnotation
from .common import (
    CONSISTENT,
    MAX_EXAMPLES,
    NOT_CHECKABLE,
    NOT_CONSISTENT,
    OUTCOME_TEXT,
    AnnotationCache,
    Check,
    add_example,
    display_path,
    examples_markdown,
    table_lines,
)

READER = "opencv"  # released crops are compared with the OpenCV-style 8-bit read (docs/dataset.md#cell-crops)

# Crop outcomes: the first is the good one; the others are problems, each with examples.
CROP_OUTCOMES: tuple[str, ...] = (
    "exact",
    "shape_mismatch",
    "pixel_mismatch",
    "missing_raw",
    "unparsable_name",
    "unreadable_crop",
)


def _crop_folders(layout: DatasetLayout) -> dict[str, int]:
    """TIFF files per folder under raw_cell_images (relative paths), whatever the nesting."""
    folders: dict[str, int] = {}
    for directory, _, files in os.walk(layout.cells_dir):
        count = sum(Path(f).suffix.lower() in TIFF_SUFFIXES for f in files)
        if count:
            folders[Path(directory).relative_to(layout.cells_dir).as_posix()] = count
    return dict(sorted(folders.items()))


def _find_offset(raw: np.ndarray, crop: np.ndarray, box: tuple[int, int, int, int]) -> tuple[int, int] | None:
    """(dx, dy) in {-1, 0, 1}^2 at which the crop equals the raw image from the box's corner, if any.

    Catches the likely near-misses of a different cutting rule: VOC 1-based corners, inclusive ends.
    """
    height, width = crop.shape[:2]
    for dy, dx in product((0, -1, 1), repeat=2):
        y0, x0 = box[1] + dy, box[0] + dx
        if y0 < 0 or x0 < 0 or y0 + height > raw.shape[0] or x0 + width > raw.shape[1]:
            continue
        if np.array_equal(raw[y0 : y0 + height, x0 : x0 + width], crop):
            return dx, dy
    return None


@dataclass
class _CropResult:
    outcome: str
    detail: str = ""
    label: tuple[str, str] | None = None  # (label_mismatch or label_unchecked, detail); None: the class agrees
    box: str | None = None  # box_mismatch detail
    max_abs_diff: int = 0
    offset: tuple[int, int] | None = None


def _offset_text(offset: tuple[int, int] | None) -> str:
    if offset is None:
        return "no shift of the corner by up to 1 px makes it match"
    return f"it equals the raw image with the corner shifted by dx={offset[0]:+d}, dy={offset[1]:+d}"


def compare_crop(crop: np.ndarray, raw: np.ndarray, box: tuple[int, int, int, int]) -> _CropResult:
    """Released crop (as OpenCV reads it) against the exact, clipped box slice of the raw image (same read)."""
    height, width = raw.shape[:2]
    clipped = clip_box(box, width, height)
    expected = (0, 0) if clipped is None else (clipped[3] - clipped[1], clipped[2] - clipped[0])
    if crop.shape[:2] != expected:
        offset = _find_offset(raw, crop, clipped or box)
        detail = (
            f"crop is {crop.shape[0]}x{crop.shape[1]} (h x w), the name's box clipped to the "
            f"{width}x{height} image gives {expected[0]}x{expected[1]}; {_offset_text(offset)}"
        )
        return _CropResult("shape_mismatch", detail, offset=offset)
    diff = np.abs(crop.astype(np.int16) - cut(raw, clipped).astype(np.int16))
    worst = int(diff.max()) if diff.size else 0
    if worst == 0:
        return _CropResult("exact")
    offset = _find_offset(raw, crop, clipped)
    differing = int(np.count_nonzero(diff.max(axis=2)))
    detail = (
        f"max |difference| {worst}, {differing} of {expected[0] * expected[1]} pixels differ; {_offset_text(offset)}"
    )
    return _CropResult("pixel_mismatch", detail, max_abs_diff=worst, offset=offset)


def _annotation_result(
    result: _CropResult, crop: ReleasedCrop, annotation: VocAnnotation | None, cell: int, box: tuple[int, int, int, int]
) -> None:
    if annotation is None:
        result.label = ("label_unchecked", "the image's trainval XML is missing or unreadable")
        return
    if cell >= len(annotation.objects):
        result.label = ("label_mismatch", f"cell {cell}, but the XML has {len(annotation.objects)} objects")
        result.box = f"the XML has {len(annotation.objects)} objects, the name says cell {cell}"
        return
    obj = annotation.objects[cell]
    if obj.name != crop.label:
        result.label = ("label_mismatch", f"in folder {crop.label}, XML object {cell} is {obj.name}")
    if obj.int_coords() != box:
        result.box = f"XML object {cell} has box {obj.int_coords()}, the name says {box}"


def _raw_images(layout: DatasetLayout, image_id: str) -> dict[str, np.ndarray] | str:
    """The image's faithful brightfield and fluorescence, cut from as the crop cache cuts; or why not."""
    try:
        both = stacked_pair(layout, image_id, READER)
    except DatasetError as exc:
        return str(exc)
    k = bf_channel_count(READER)
    return {"brightfield": both[..., :k], "fluorescence": both[..., k:]}


def _audit_crop_sample(
    layout: DatasetLayout, sample: list[ReleasedCrop], annotations: AnnotationCache, progress: Callable[[], None]
) -> list[tuple[ReleasedCrop, _CropResult]]:
    """Compare every sampled crop; each raw image is read once (crops grouped by image id)."""
    parsed: list[tuple[ReleasedCrop, tuple[str, int, tuple[int, int, int, int]]]] = []
    results = []
    for crop in sample:
        try:
            parsed.append((crop, parse_crop_name(crop.stem)))
        except DatasetError:
            results.append((crop, _CropResult("unparsable_name", "not <image id>_<cell>_<xmin>_<ymin>_<xmax>_<ymax>")))
            progress()
    parsed.sort(key=lambda item: item[1][0])
    for image_id, group in groupby(parsed, key=lambda item: item[1][0]):
        raw = _raw_images(layout, image_id)
        annotation = annotations.get(layout.trainval_xml(image_id))
        for crop, (_, cell, box) in group:
            results.append((crop, _one_crop(crop, raw, annotation, cell, box)))
            progress()
    return results


def _one_crop(
    crop: ReleasedCrop,
    raw: dict[str, np.ndarray] | str,
    annotation: VocAnnotation | None,
    cell: int,
    box: tuple[int, int, int, int],
) -> _CropResult:
    if isinstance(raw, str):
        result = _CropResult("missing_raw", raw)
    else:
        try:
            pixels = read_opencv(crop.path)
        except DatasetError as exc:
            result = _CropResult("unreadable_crop", str(exc).removeprefix(f"{crop.path}: "))
        else:
            result = compare_crop(pixels, raw[crop.modality], box)
    _annotation_result(result, crop, annotation, cell, box)
    return result


def _sample(crops: list[ReleasedCrop], count: int, seed: int, split: str) -> list[ReleasedCrop]:
    if count <= 0 or count >= len(crops):
        return list(crops)
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    return [crops[i] for i in sorted(rng.choice(len(crops), size=count, replace=False))]


def _xml_object_counts(layout: DatasetLayout, ids: Sequence[str], annotations: AnnotationCache) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for image_id in ids:
        annotation = annotations.get(layout.trainval_xml(image_id))
        if annotation is not None:
            counts.update(box.name for box in annotation.objects)
    return {label: counts[label] for label in CLASSES}


def _inventory(
    layout: DatasetLayout,
    per_split: Mapping[str, list[ReleasedCrop]],
    ids: Mapping[str, list[str]],
    annotations: AnnotationCache,
    paper: Mapping[str, PaperSplit] | None,
) -> dict[str, Any]:
    """Nesting found, files per split / modality / class beside the XML objects, and crops present in one
    modality only (docs/dataset.md#release-layout, docs/dataset.md#cell-crops, docs/dataset.md#verify-crop-nesting)."""
    folders = _crop_folders(layout)
    expected = {
        layout.cell_crop(s, m, c, "x").parent.relative_to(layout.cells_dir).as_posix()
        for s in CROP_SPLITS
        for m in MODALITIES
        for c in CLASSES
    }
    files = {
        s: {m: {c: sum(1 for x in crops if x.modality == m and x.label == c) for c in CLASSES} for m in MODALITIES}
        for s, crops in per_split.items()
    }
    unpaired = {}
    for split, crops in per_split.items():
        names = {m: {(x.label, x.stem) for x in crops if x.modality == m} for m in MODALITIES}
        only = {m: sorted(names[m] - names[o]) for m, o in zip(MODALITIES, reversed(MODALITIES))}
        unpaired[split] = {f"{m}_only": len(only[m]) for m in MODALITIES}
        names_only = [f"{m}/{label}/{stem}" for m in MODALITIES for label, stem in only[m]]
        unpaired[split]["examples"] = names_only[:MAX_EXAMPLES]
    return {
        "folders": folders,
        "unexpected_folders": sorted(set(folders) - expected),
        "test_crop_files": sum(n for f, n in folders.items() if f.split("/", 1)[0] == "test"),
        "files": files,
        "xml_objects": {s: _xml_object_counts(layout, ids.get(s, []), annotations) for s in per_split},
        "paper": {s: {c: paper[s].counts[c] for c in CLASSES} for s in per_split if paper and s in paper},
        "unpaired": unpaired,
    }


def check_crops(
    layout: DatasetLayout,
    ids: Mapping[str, list[str]],
    per_split: Mapping[str, list[ReleasedCrop]],
    annotations: AnnotationCache,
    count: int,
    seed: int,
    paper: Mapping[str, PaperSplit] | None,
    progress: bool,
) -> Check:
    check = Check(
        "crops", "Released crops vs exact box slices", "docs/dataset.md#cell-crops, docs/dataset.md#verify-image-format"
    )
    check.data = {"sample_per_split": count, "seed": seed, "reader": READER}
    if not layout.cells_dir.is_dir():
        check.findings = ["No `raw_cell_images/` folder in this dataset copy."]
        check.meaning = (
            "The crop cache's cutting rule (exact box of the 8-bit OpenCV read, docs/dataset.md#cell-crops) stays an "
            "assumption; audit again on a copy that holds the released crops."
        )
        check.data["present"] = False
        return check
    inventory = _inventory(layout, per_split, ids, annotations, paper)
    check.data.update(present=True, inventory=inventory)
    samples = {split: _sample(crops, count, seed, split) for split, crops in per_split.items()}
    with tqdm(
        total=sum(map(len, samples.values())), desc="auditing crops", unit="crop", disable=None if progress else True
    ) as bar:
        results = {
            split: _audit_crop_sample(layout, sample, annotations, bar.update) for split, sample in samples.items()
        }
    summary, examples = _summarise_crops(layout, per_split, results)
    check.data.update(splits=summary, examples=examples)
    check.findings = _crop_findings(layout, count, seed, inventory, summary, examples)
    _crop_verdict(check, summary)
    return check


def _summarise_crops(
    layout: DatasetLayout,
    per_split: Mapping[str, list[ReleasedCrop]],
    results: Mapping[str, list[tuple[ReleasedCrop, _CropResult]]],
) -> tuple[dict, dict]:
    summary: dict[str, dict[str, Any]] = {}
    examples: dict[str, list[dict[str, str]]] = {}
    for split, rows in results.items():
        counts = Counter(r.outcome for _, r in rows)
        labels = Counter(r.label[0] for _, r in rows if r.label)
        offsets = Counter(f"dx={r.offset[0]:+d},dy={r.offset[1]:+d}" for _, r in rows if r.offset is not None)
        summary[split] = {
            "available": len(per_split[split]),
            "sampled": len(rows),
            **{o: counts[o] for o in CROP_OUTCOMES},
            "label_mismatch": labels["label_mismatch"],
            "label_unchecked": labels["label_unchecked"],
            "box_mismatch": sum(r.box is not None for _, r in rows),
            "max_abs_diff": max((r.max_abs_diff for _, r in rows), default=0),
            "shifted_matches": dict(offsets),
        }
        for crop, result in rows:
            file = display_path(layout, crop.path)
            if result.outcome != "exact":
                add_example(examples, result.outcome, file, result.detail)
            if result.label is not None:
                add_example(examples, result.label[0], file, result.label[1])
            if result.box is not None:
                add_example(examples, "box_mismatch", file, result.box)
    return summary, examples


def _crop_findings(
    layout: DatasetLayout,
    count: int,
    seed: int,
    inventory: Mapping[str, Any],
    summary: Mapping[str, Mapping[str, Any]],
    examples: Mapping[str, list],
) -> list[str]:
    folders, unexpected = inventory["folders"], inventory["unexpected_folders"]
    nesting = "{train,val}/{brightfield,fluorescence}/{R,G,U}"
    where = (
        f"outside the expected {nesting} nesting: " + ", ".join(f"`{f}` ({folders[f]})" for f in unexpected)
        if unexpected
        else f"all in the expected {nesting} nesting"
    )
    lines = [
        f"Folders with TIFF files under `raw_cell_images/`: {len(folders)}; {where}. "
        f"Test crops: {inventory['test_crop_files'] or 'none'}.",
        "",
    ]
    rows = []
    for split, files in inventory["files"].items():
        for label in CLASSES:
            paper = inventory["paper"].get(split, {}).get(label, "n/a")
            rows.append(
                [
                    split,
                    label,
                    files["brightfield"][label],
                    files["fluorescence"][label],
                    inventory["xml_objects"][split][label],
                    paper,
                ]
            )
    lines += table_lines(
        ["split", "class", "brightfield files", "fluorescence files", "XML objects", "paper Table 1"], rows
    )
    unpaired = {s: u for s, u in inventory["unpaired"].items() if u["brightfield_only"] or u["fluorescence_only"]}
    for split, u in unpaired.items():
        lines += [
            "",
            f"{split}: {u['brightfield_only']} crops in brightfield only, {u['fluorescence_only']} in "
            f"fluorescence only (e.g. {', '.join(u['examples'][:3])}).",
        ]
    what = "every crop" if count <= 0 else f"a sample of up to {count} crop files per split (seed {seed})"
    lines += [
        "",
        f"Compared {what}: each released crop read as OpenCV does (8-bit BGR) against the exact box "
        "slice, named in its file name and clipped to the image, of the same read of the raw image.",
        "",
    ]
    header = ["split", "files", "sampled", *[OUTCOME_TEXT[o] for o in CROP_OUTCOMES], "class differs", "max abs diff"]
    lines += table_lines(
        header,
        [
            [s, v["available"], v["sampled"], *[v[o] for o in CROP_OUTCOMES], v["label_mismatch"], v["max_abs_diff"]]
            for s, v in summary.items()
        ],
    )
    extra = []
    for split, v in summary.items():
        if v["label_unchecked"] or v["box_mismatch"]:
            extra.append(
                f"{split}: {v['label_unchecked']} crops whose XML is missing or unreadable, "
                f"{v['box_mismatch']} whose name (cell index, box) differs from the XML object."
            )
        if v["shifted_matches"]:
            extra.append(
                f"{split}: mismatching crops that equal a 1-px shifted slice: "
                + ", ".join(f"{k} ({n})" for k, n in v["shifted_matches"].items())
                + "."
            )
    if extra:
        lines += [""] + extra
    example_lines = examples_markdown(examples)
    return lines + ([""] + example_lines if example_lines else [])


def _crop_verdict(check: Check, summary: Mapping[str, Mapping[str, Any]]) -> None:
    total = Counter()
    for values in summary.values():
        total.update({k: v for k, v in values.items() if isinstance(v, int)})
    compared = total["exact"] + total["shape_mismatch"] + total["pixel_mismatch"]
    problems = sum(
        total[k]
        for k in (
            "shape_mismatch",
            "pixel_mismatch",
            "unparsable_name",
            "unreadable_crop",
            "label_mismatch",
            "box_mismatch",
        )
    )
    if problems:
        check.verdict = NOT_CONSISTENT
        check.meaning = (
            "Some released crops are not the exact, clipped box slice of the 8-bit OpenCV read, or "
            "sit in another class folder than their XML object (see the counts and examples): the crop "
            "cache, cut from the raw images and XMLs, would not give the classifier the pixels and "
            "labels the original trained on. Decide whether to train from the released crops directly "
            "or to change the cutting rule (a 1-px shift points to VOC 1-based corners, docs/defects.md#defect-18)."
        )
    elif compared == 0:
        check.verdict = NOT_CHECKABLE
        check.meaning = (
            "No released crop could be compared with its raw image here (no crops in the expected "
            "folders, or their raw images are missing): the cutting rule of docs/dataset.md#cell-crops stays an "
            "assumption."
        )
    else:
        check.verdict = CONSISTENT
        missing = total["missing_raw"]
        note = f" ({missing} sampled crops had no raw image to compare with.)" if missing else ""
        check.meaning = (
            "Every compared crop is the exact box slice of the 8-bit OpenCV read, in the class folder "
            "of its XML object: the crop cache reproduces `raw_cell_images`, so the classifier sees the "
            "original's inputs." + note
        )
