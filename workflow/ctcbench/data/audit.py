"""Dataset audit (docs/dataset.md#facts-to-verify): the facts about the release that can only be checked on the data
itself.

Five things can only be verified once the real dataset is in hand, and the benchmark's assumptions rest on them:

1. released crops (`raw_cell_images`) are exact box slices of the 8-bit OpenCV reads, labelled as in the XMLs
   (docs/dataset.md#cell-crops, docs/dataset.md#verify-image-format): then the crop cache, cut from raw images
   and XMLs, feeds the classifier what the original did;
2. images per patient match the paper's Table 6 (493 / 503 / 91) in train or in train+val (docs/dataset.md#patients,
   docs/defects.md#defect-21, docs/dataset.md#verify-patients);
3. whether `Annotations/trainval/` holds XMLs of the test ids, and whether Expert1, Expert2 and Unioned cover
   every test id (docs/dataset.md#test-annotations, docs/dataset.md#verify-test-ground-truth);
4. bit depth, channels and dtype of the TIFFs (docs/dataset.md#image-formats, docs/dataset.md#verify-image-format);
5. the format of the split-file lines: bare stems or not, and the digit width of the ids (docs/dataset.md#file-naming,
   docs/dataset.md#verify-split-lines).

Unlike `validate`, the audit judges nothing as an error: each check ends with a verdict (consistent, NOT
consistent, or not checkable here when the data present cannot decide it) and what that means for the benchmark.
It runs on the synthetic twin as on the release; on the twin the paper's counts are of course not met.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby, permutations, product
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..errors import DatasetError
from .crops import bf_channel_count, clip_box, cut, stacked_pair
from .imageio import read_faithful
from .layout import (
    CLASSES,
    IMAGE_ID_RE,
    MODALITIES,
    PATIENTS,
    SPLITS,
    TEST_ANNOTATORS,
    DatasetLayout,
    is_image_id,
    parse_crop_name,
    patient_of,
)
from .table1 import PAPER_TEST_IMAGES_PER_PATIENT, PAPER_TRAINVAL_IMAGES_PER_PATIENT, PaperSplit, markdown_table
from .validate import ALLOWED_DTYPES, ALLOWED_SAMPLES, read_tiff_header
from .voc import VocAnnotation, read_voc

FORMAT = "ctcbench-audit/1"
CONSISTENT, NOT_CONSISTENT, NOT_CHECKABLE = "consistent", "not_consistent", "not_checkable"
VERDICT_TEXT = {CONSISTENT: "consistent", NOT_CONSISTENT: "NOT consistent", NOT_CHECKABLE: "not checkable here"}
CROP_SPLITS: tuple[str, ...] = ("train", "val")  # the released crop folders (docs/dataset.md#release-layout)
TIFF_SUFFIXES = (".tif", ".tiff")
MAX_EXAMPLES = 20  # per problem, in audit.json
MD_EXAMPLES = 5  # per problem, in audit.md
PROTOCOL = "faithful"  # released crops are compared with the OpenCV-style 8-bit read (docs/dataset.md#cell-crops)

# Crop outcomes: the first is the good one; the others are problems, each with examples.
CROP_OUTCOMES: tuple[str, ...] = (
    "exact",
    "shape_mismatch",
    "pixel_mismatch",
    "missing_raw",
    "unparsable_name",
    "unreadable_crop",
)
OUTCOME_TEXT = {
    "exact": "exact",
    "shape_mismatch": "shape mismatch",
    "pixel_mismatch": "pixel mismatch",
    "missing_raw": "missing raw image",
    "unparsable_name": "unparsable name",
    "unreadable_crop": "unreadable crop",
    "label_mismatch": "class folder differs from the XML",
    "label_unchecked": "class not checked (XML missing or unreadable)",
    "box_mismatch": "name differs from the XML object at its cell index",
}
EXTENSION_RE = re.compile(r"\.(tiff?|xml|png|jpe?g)$", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------------------
# Report


@dataclass
class Check:
    """One audited fact: what was found (markdown lines and data), the verdict and what it means."""

    key: str
    title: str
    sections: str  # docs/ sections
    verdict: str = NOT_CHECKABLE
    meaning: str = ""
    findings: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "spec": self.sections,
            "verdict": self.verdict,
            "meaning": self.meaning,
            **self.data,
        }

    def markdown(self, number: int) -> list[str]:
        return [
            f"## {number}. {self.title} ({self.sections})",
            "",
            *self.findings,
            "",
            f"**Verdict: {VERDICT_TEXT[self.verdict]}.** {self.meaning}",
            "",
        ]


@dataclass
class AuditReport:
    root: Path
    source: str | None
    checks: list[Check]
    settings: dict[str, Any]

    def verdicts(self) -> dict[str, str]:
        return {c.key: c.verdict for c in self.checks}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "root": str(self.root),
            "source": self.source,
            "settings": self.settings,
            "verdicts": self.verdicts(),
            "checks": {c.key: c.to_dict() for c in self.checks},
        }

    def markdown(self) -> str:
        source = self.source or "unknown"
        lines = ["# Dataset audit (docs/dataset.md#facts-to-verify)", "", f"Dataset: `{self.root}` (source: {source})."]
        if self.source == "synth":
            lines += [
                "",
                "This is the synthetic twin: its counts come from the twin's preset, not from the release, "
                "so comparisons with the paper's numbers say nothing about the real data. Run the audit "
                "again once the figshare record is staged.",
            ]
        lines += [""]
        lines += ["| check | verdict |", "|---|---|"]
        lines += [f"| {n}. {c.title} | {VERDICT_TEXT[c.verdict]} |" for n, c in enumerate(self.checks, 1)]
        lines += [""]
        for number, check in enumerate(self.checks, 1):
            lines += check.markdown(number)
        return "\n".join(lines)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """Markdown table lines in Table 1's style, any cell values."""
    return markdown_table(header, [[str(v) for v in row] for row in rows])


def _display(layout: DatasetLayout, path: Path) -> str:
    try:
        return str(path.relative_to(layout.root))
    except ValueError:
        return str(path)


def _add_example(examples: dict[str, list[dict[str, str]]], kind: str, file: str, detail: str) -> None:
    bucket = examples.setdefault(kind, [])
    if len(bucket) < MAX_EXAMPLES:
        bucket.append({"file": file, "detail": detail})


def _example_lines(examples: Mapping[str, list[dict[str, str]]]) -> list[str]:
    lines = []
    for kind, rows in examples.items():
        if rows:
            lines.append(
                f"Examples, {OUTCOME_TEXT.get(kind, kind)} (first {min(len(rows), MD_EXAMPLES)}; "
                "up to 20 in audit.json):"
            )
            lines += [f"- `{row['file']}`: {row['detail']}" for row in rows[:MD_EXAMPLES]]
    return lines


# --------------------------------------------------------------------------------------------------------------
# Shared reads


class _Annotations:
    """VOC files read at most once; a missing or broken file is None (the audit reports, it does not fail)."""

    def __init__(self) -> None:
        self._cache: dict[Path, VocAnnotation | None] = {}

    def get(self, path: Path) -> VocAnnotation | None:
        if path not in self._cache:
            try:
                self._cache[path] = read_voc(path)
            except DatasetError:
                self._cache[path] = None
        return self._cache[path]


def _split_ids(layout: DatasetLayout) -> dict[str, list[str]]:
    """Ids of each split file that can be read (missing or unreadable split files are left out)."""
    ids = {}
    for split in SPLITS:
        try:
            ids[split] = layout.read_split(split)
        except (DatasetError, OSError, UnicodeDecodeError):
            continue
    return ids


def _spread(items: Sequence[Any], count: int) -> list[Any]:
    """`count` items evenly spread over the sequence (all when it is shorter): covers every patient block."""
    if count <= 0 or len(items) <= count:
        return list(items)
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, count).round().astype(int)]


def check_usable(layout: DatasetLayout) -> None:
    """Raise when the root cannot be a dataset copy at all: the only condition under which the audit fails."""
    if not layout.root.is_dir():
        raise DatasetError(f"{layout.root}: dataset root is not a directory; check the path in the dataset pointer")
    if not any(p.is_dir() for p in (layout.annotations_dir, layout.images_dir, layout.cells_dir)):
        raise DatasetError(
            f"{layout.root}: no Annotations/, raw_images_for_model/ or raw_cell_images/ here; the "
            "pointer must name the extracted figshare record"
        )


# --------------------------------------------------------------------------------------------------------------
# 1. Released crops vs exact box slices


@dataclass(frozen=True)
class ReleasedCrop:
    path: Path
    split: str
    modality: str
    label: str

    @property
    def stem(self) -> str:
        """The reference's crop key: the file name up to its first dot (docs/dataset.md#file-naming)."""
        return self.path.name.split(".", 1)[0]


def released_crops(layout: DatasetLayout, split: str) -> list[ReleasedCrop]:
    """Every crop file of a split in the expected nesting {split}/{modality}/{R,G,U}/, in a fixed order."""
    crops = []
    for modality in MODALITIES:
        for label in CLASSES:
            folder = layout.cell_crop(split, modality, label, "x").parent
            if folder.is_dir():
                with os.scandir(folder) as entries:  # file types come with the listing: no stat per crop
                    files = sorted(
                        folder / e.name for e in entries if e.is_file() and Path(e.name).suffix.lower() in TIFF_SUFFIXES
                    )
                crops += [ReleasedCrop(p, split, modality, label) for p in files]
    return crops


def released_crops_of(layout: DatasetLayout) -> dict[str, list[ReleasedCrop]]:
    """Crop files of each released crop split; empty when the copy has no raw_cell_images."""
    if not layout.cells_dir.is_dir():
        return {}
    return {split: released_crops(layout, split) for split in CROP_SPLITS}


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
        both = stacked_pair(layout, image_id, PROTOCOL)
    except DatasetError as exc:
        return str(exc)
    k = bf_channel_count(PROTOCOL)
    return {"brightfield": both[..., :k], "fluorescence": both[..., k:]}


def _audit_crop_sample(
    layout: DatasetLayout, sample: list[ReleasedCrop], annotations: _Annotations, progress: Callable[[], None]
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
            pixels = read_faithful(crop.path)
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


def _xml_object_counts(layout: DatasetLayout, ids: Sequence[str], annotations: _Annotations) -> dict[str, int]:
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
    annotations: _Annotations,
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
    annotations: _Annotations,
    count: int,
    seed: int,
    paper: Mapping[str, PaperSplit] | None,
    progress: bool,
) -> Check:
    check = Check(
        "crops", "Released crops vs exact box slices", "docs/dataset.md#cell-crops, docs/dataset.md#verify-image-format"
    )
    check.data = {"sample_per_split": count, "seed": seed, "protocol": PROTOCOL}
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
            file = _display(layout, crop.path)
            if result.outcome != "exact":
                _add_example(examples, result.outcome, file, result.detail)
            if result.label is not None:
                _add_example(examples, result.label[0], file, result.label[1])
            if result.box is not None:
                _add_example(examples, "box_mismatch", file, result.box)
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
    lines += _table(["split", "class", "brightfield files", "fluorescence files", "XML objects", "paper Table 1"], rows)
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
    lines += _table(
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
    example_lines = _example_lines(examples)
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


# --------------------------------------------------------------------------------------------------------------
# 2. Images per patient vs Table 6


def _patient_counts(image_ids: Sequence[str]) -> dict[str, int]:
    counts = Counter(patient_of(i) if is_image_id(i) else "not an image id" for i in image_ids)
    return {**{p: counts[p] for p in PATIENTS}, **{k: v for k, v in sorted(counts.items()) if k not in PATIENTS}}


def _table6_match(counts: Mapping[str, int]) -> tuple[bool, dict[str, str] | None]:
    """(matches in the assumed order r06/r07/r08 = 1st/2nd/3rd, else the order that matches, if any)."""
    paper = [PAPER_TRAINVAL_IMAGES_PER_PATIENT[p] for p in PATIENTS]
    ours = [counts.get(p, 0) for p in PATIENTS]
    if ours == paper:
        return True, None
    for order in permutations(PATIENTS):
        if [counts.get(p, 0) for p in order] == paper:
            return False, {rank: p for rank, p in zip(("1st", "2nd", "3rd"), order)}
    return False, None


def check_patients(ids: Mapping[str, list[str]]) -> Check:
    check = Check(
        "patients",
        "Images per patient vs Table 6",
        "docs/dataset.md#patients, docs/defects.md#defect-21, docs/dataset.md#verify-patients",
    )
    if "train" not in ids or "val" not in ids:
        check.findings = ["`Annotations/train.txt` or `Annotations/val.txt` is missing or unreadable."]
        check.meaning = "The patient order r06/r07/r08 = 1st/2nd/3rd stays an inference (docs/dataset.md#patients)."
        return check
    counts = {
        "train": _patient_counts(ids["train"]),
        "val": _patient_counts(ids["val"]),
        "train+val": _patient_counts(ids["train"] + ids["val"]),
    }
    if "test" in ids:
        counts["test"] = _patient_counts(ids["test"])
    matches = {name: _table6_match(counts[name]) for name in ("train", "train+val")}
    check.data = {
        "counts": counts,
        "paper_table6_images": PAPER_TRAINVAL_IMAGES_PER_PATIENT,
        "paper_test_images": PAPER_TEST_IMAGES_PER_PATIENT,
        "matches": {k: "assumed order" if m[0] else "other order" if m[1] else "no" for k, m in matches.items()},
        "other_order": {k: m[1] for k, m in matches.items() if m[1]},
    }
    keys = [p for p in counts["train+val"]] + [p for p in counts.get("test", {}) if p not in counts["train+val"]]
    rows = [
        [
            p,
            counts["train"].get(p, 0),
            counts["val"].get(p, 0),
            counts["train+val"].get(p, 0),
            PAPER_TRAINVAL_IMAGES_PER_PATIENT.get(p, "n/a"),
            counts.get("test", {}).get(p, "n/a"),
            PAPER_TEST_IMAGES_PER_PATIENT.get(p, "n/a"),
        ]
        for p in keys
    ]
    rows.append(
        [
            "all",
            len(ids["train"]),
            len(ids["val"]),
            len(ids["train"]) + len(ids["val"]),
            sum(PAPER_TRAINVAL_IMAGES_PER_PATIENT.values()),
            len(ids.get("test", [])) if "test" in ids else "n/a",
            sum(PAPER_TEST_IMAGES_PER_PATIENT.values()),
        ]
    )
    check.findings = _table(
        ["patient", "train", "val", "train+val", "Table 6 (1st/2nd/3rd)", "test", "paper test"], rows
    )
    check.findings += [
        "",
        'Table 6\'s "number of annotated images" 493 / 503 / 91 is read as 1st/2nd/3rd patient = '
        "r06/r07/r08 in order. " + _match_sentence(matches),
    ]
    if matches["train+val"][0] or matches["train"][0]:
        which = "train+val" if matches["train+val"][0] else "train"
        check.verdict = CONSISTENT
        check.meaning = f"The {which} counts confirm 1st/2nd/3rd patient = r06/r07/r08. " + (
            "Table 6's counts are train+val images: the paper's per-patient models may have used "
            "val images too (docs/defects.md#defect-21); the benchmark's per-patient lists filter train.txt only, as "
            "the reference's trainr0X.txt would."
            if which == "train+val"
            else "Table 6's counts are train images: the per-patient lists filtered from train.txt "
            "are the paper's per-patient training sets."
        )
    else:
        check.verdict = NOT_CONSISTENT
        other = next((m[1] for m in matches.values() if m[1]), None)
        check.meaning = (
            (
                "The counts match Table 6 only with patients in another order ("
                + ", ".join(f"{k} = {v}" for k, v in other.items())
                + "): relabel the Table 6 rows accordingly before comparing per-patient results."
            )
            if other
            else "Neither train nor train+val reproduces Table 6's per-patient counts, so the patient "
            "order cannot be confirmed from counts; per-patient results keep the assumed order "
            "r06/r07/r08 = 1st/2nd/3rd (docs/dataset.md#patients)."
        )
    return check


def _match_sentence(matches: Mapping[str, tuple[bool, dict[str, str] | None]]) -> str:
    parts = []
    for name, (assumed, other) in matches.items():
        if assumed:
            parts.append(f"{name} matches")
        elif other:
            parts.append(f"{name} matches in another order ({', '.join(f'{k} = {v}' for k, v in other.items())})")
        else:
            parts.append(f"{name} does not match")
    return "; ".join(parts).capitalize() + "."


# --------------------------------------------------------------------------------------------------------------
# 3. Test ids in trainval, and the test annotators' coverage


def _r_boxes(annotation: VocAnnotation) -> list[tuple[int, int, int, int]]:
    return sorted(b.int_coords() for b in annotation.objects if b.name == "R")


def check_test_ids(
    layout: DatasetLayout,
    ids: Mapping[str, list[str]],
    annotations: _Annotations,
    paper: Mapping[str, PaperSplit] | None,
) -> Check:
    check = Check(
        "test_ids",
        "Test ids in trainval, and the test annotators' coverage",
        "docs/dataset.md#test-annotations, docs/dataset.md#verify-test-ground-truth",
    )
    trainval_dir = layout.trainval_xml("x").parent
    test_dir = layout.test_xml("x").parent.parent
    if "test" not in ids or not (trainval_dir.is_dir() or test_dir.is_dir()):
        check.findings = [
            "`Annotations/test.txt` is missing or unreadable, or neither `Annotations/trainval/` nor "
            "`Annotations/test/` exists."
        ]
        check.meaning = (
            "Which XMLs the original used as test ground truth stays open (docs/dataset.md#verify-test-ground-truth)."
        )
        return check
    test_ids = ids["test"]
    in_trainval = [i for i in test_ids if layout.trainval_xml(i).is_file()] if trainval_dir.is_dir() else []
    coverage = {}
    for annotator in TEST_ANNOTATORS:
        folder = layout.test_xml("x", annotator).parent
        xmls = {p.stem for p in folder.glob("*.xml")} if folder.is_dir() else set()
        read = [annotations.get(layout.test_xml(i, annotator)) for i in test_ids if i in xmls]
        coverage[annotator] = {
            "folder": folder.is_dir(),
            "missing": len([i for i in test_ids if i not in xmls]),
            "missing_examples": [i for i in test_ids if i not in xmls][:MAX_EXAMPLES],
            "not_in_test_split": len(xmls - set(test_ids)),
            "unreadable": sum(a is None for a in read),
            "R": sum(len(_r_boxes(a)) for a in read if a is not None),
            "other_classes": sum(len(a.objects) - len(_r_boxes(a)) for a in read if a is not None),
        }
    classes: Counter[str] = Counter()
    same, differ = 0, []
    for image_id in in_trainval:
        annotation = annotations.get(layout.trainval_xml(image_id))
        if annotation is None:
            continue
        classes.update(b.name for b in annotation.objects)
        unioned = annotations.get(layout.test_xml(image_id, "Unioned"))
        if unioned is not None:
            if _r_boxes(unioned) == _r_boxes(annotation):
                same += 1
            else:
                differ.append(image_id)
    paper_test = {c: paper["test"].counts[c] for c in CLASSES} if paper and "test" in paper else None
    check.data = {
        "test_ids": len(test_ids),
        "in_trainval": len(in_trainval),
        "in_trainval_examples": in_trainval[:MAX_EXAMPLES],
        "trainval_classes_of_test_ids": {c: classes[c] for c in CLASSES},
        "trainval_vs_unioned": {
            "same_R_boxes": same,
            "different_R_boxes": len(differ),
            "different_examples": differ[:MAX_EXAMPLES],
        },
        "annotators": coverage,
        "paper_test": paper_test,
    }
    check.findings = [
        f"Test ids (test.txt): {len(test_ids)}. With an XML in `Annotations/trainval/`: "
        f"{len(in_trainval)}"
        + (
            " (objects there: "
            + ", ".join(f"{c} {classes[c]}" for c in CLASSES)
            + f"; R boxes equal to Unioned's for {same}, different for "
            f"{len(differ)})"
            if in_trainval
            else ""
        )
        + ".",
        "",
    ]
    rows = [
        [
            a,
            "yes" if v["folder"] else "no",
            v["missing"],
            v["not_in_test_split"],
            v["unreadable"],
            v["R"],
            v["other_classes"],
        ]
        for a, v in coverage.items()
    ]
    check.findings += _table(
        ["annotator", "folder", "test ids missing", "XMLs of other ids", "unreadable", "R boxes", "other classes"], rows
    )
    if paper_test:
        check.findings += [
            "",
            f"Paper Table 1, test: R {paper_test['R']:,} (G {paper_test['G']:,} and U "
            f"{paper_test['U']:,} are model estimates); Unioned here: "
            f"R {coverage['Unioned']['R']:,}.",
        ]
    _test_verdict(check, coverage, in_trainval, differ)
    return check


def _test_verdict(
    check: Check, coverage: Mapping[str, Mapping[str, Any]], in_trainval: list[str], differ: list[str]
) -> None:
    gaps = [a for a, v in coverage.items() if v["missing"]]
    if differ:
        check.verdict = NOT_CONSISTENT
        check.meaning = (
            f"{len(differ)} test ids have a trainval XML whose R boxes differ from test/Unioned: the "
            "original, which read `Annotations/<id>.xml`, evaluated against other ground truth than "
            "the benchmark's test/Unioned (docs/defects.md#defect-6); report image-level results against both."
        )
    elif gaps:
        check.verdict = NOT_CONSISTENT
        check.meaning = (
            f"{', '.join(gaps)} lack XMLs for some test ids: the image-level evaluation cannot use "
            "those folders as ground truth for the whole test split; pick a complete annotator "
            "(`test_annotator`) or restore the files."
        )
    elif in_trainval:
        check.verdict = CONSISTENT
        check.meaning = (
            f"{len(in_trainval)} test ids also have trainval XMLs, with the same R boxes as "
            "test/Unioned: the original's ground truth (`Annotations/<id>.xml`) is the benchmark's "
            "test/Unioned, and every annotator covers the test split."
        )
    else:
        check.verdict = CONSISTENT
        check.meaning = (
            "No test id has a trainval XML, so the original must have copied test XMLs into "
            "`Annotations/` by hand; test/Unioned, which covers every test id like Expert1 and "
            "Expert2, is the only candidate and is what the benchmark evaluates against (docs/defects.md#defect-6)."
        )


# --------------------------------------------------------------------------------------------------------------
# 4. Image format


def opencv_effect(dtype: np.dtype, samples: int) -> str:
    """What the faithful (OpenCV default) read does to a TIFF of this format (docs/dataset.md#image-formats)."""
    key = (np.dtype(dtype), samples)
    return {
        (np.dtype(np.uint8), 1): "8-bit gray: OpenCV replicates it into 3 equal channels",
        (np.dtype(np.uint8), 3): "8-bit RGB: OpenCV only reverses the channel order (BGR)",
        (np.dtype(np.uint16), 1): "16-bit gray: OpenCV keeps the high byte (v >> 8, truncation) in 3 equal channels",
        (np.dtype(np.uint16), 3): "16-bit RGB: OpenCV rounds v / 257 to 8 bits and reverses the channel order",
    }.get(key, "not a format the faithful reader handles")


def _header_row(layout: DatasetLayout, kind: str, split: str, modality: str, path: Path) -> dict[str, Any]:
    row: dict[str, Any] = {"kind": kind, "split": split, "modality": modality, "file": _display(layout, path)}
    try:
        header = read_tiff_header(path) if path.is_file() else None
    except DatasetError as exc:
        return {**row, "error": str(exc)}
    if header is None:
        return {**row, "error": "file missing"}
    return {
        **row,
        "height": header.height,
        "width": header.width,
        "samples": header.samples,
        "dtype": str(header.dtype),
        "bits": header.dtype.itemsize * 8,
    }


def _format_groups(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        group = groups.setdefault(
            f"{row['kind']} {row['modality']}", {"formats": Counter(), "sizes": Counter(), "errors": 0}
        )
        if "error" in row:
            group["errors"] += 1
            continue
        group["formats"][(row["dtype"], row["samples"])] += 1
        group["sizes"][f"{row['width']}x{row['height']}"] += 1
    return groups


def _supported(modality: str, dtype: str, samples: int) -> bool:
    return np.dtype(dtype) in ALLOWED_DTYPES and samples in ALLOWED_SAMPLES[modality]


def check_image_format(
    layout: DatasetLayout,
    ids: Mapping[str, list[str]],
    per_split: Mapping[str, list[ReleasedCrop]],
    per_split_headers: int,
) -> Check:
    check = Check("image_format", "Image format", "docs/dataset.md#image-formats, docs/dataset.md#verify-image-format")
    rows = []
    for split, split_ids in ids.items():
        for image_id in _spread(split_ids, per_split_headers):
            rows += [_header_row(layout, "image", split, m, layout.image(m, image_id)) for m in MODALITIES]
    for split, crops in per_split.items():
        for modality in MODALITIES:
            picked = _spread([c for c in crops if c.modality == modality], per_split_headers)
            rows += [_header_row(layout, "crop", split, modality, c.path) for c in picked]
    groups = _format_groups(rows)
    check.data = {
        "files": rows,
        "per_split": per_split_headers,
        "groups": {
            k: {
                "formats": [
                    {"dtype": d, "samples": s, "files": n, "opencv": opencv_effect(d, s)}
                    for (d, s), n in g["formats"].items()
                ],
                "sizes": dict(g["sizes"]),
                "errors": g["errors"],
            }
            for k, g in groups.items()
        },
    }
    table = []
    for name, group in groups.items():
        for (dtype, samples), n in group["formats"].items():
            sizes = list(group["sizes"])
            size_text = ", ".join(sizes) if len(sizes) <= 3 else f"{len(sizes)} sizes"
            table.append(
                [name, n, dtype, np.dtype(dtype).itemsize * 8, samples, size_text, opencv_effect(dtype, samples)]
            )
        if group["errors"]:
            table.append([name, group["errors"], "unreadable", "", "", "", ""])
    check.findings = [
        f"TIFF headers of up to {per_split_headers} images per split and modality (spread over the "
        "split file) and of as many released crops per split and modality (paper: 1080x1080 "
        "images; bit depth not stated).",
        "",
    ]
    check.findings += _table(["files", "count", "dtype", "bits", "channels", "size (w x h)", "faithful read"], table)
    images = {k: g for k, g in groups.items() if k.startswith("image ")}
    if not any(g["formats"] for g in images.values()):
        check.meaning = (
            "No raw image header could be read: the bit depth of the release stays unknown "
            "(docs/dataset.md#verify-image-format)."
        )
        return check
    mixed = [k for k, g in groups.items() if len(g["formats"]) > 1 or g["errors"]]
    unsupported = [k for k, g in groups.items() for (d, s) in g["formats"] if not _supported(k.split()[1], d, s)]
    if mixed or unsupported:
        check.verdict = NOT_CONSISTENT
        check.meaning = (
            "Formats are mixed, unreadable or not handled by the faithful reader in: "
            + ", ".join(sorted(set(mixed + unsupported)))
            + "; the readers (and OpenCV in the original) may treat files differently; re-export or "
            "handle each format explicitly before trusting the numbers."
        )
        return check
    check.verdict = CONSISTENT
    sixteen = any(np.dtype(d).itemsize == 2 for g in images.values() for (d, _) in g["formats"])
    check.meaning = "Each kind of file has one format the readers handle. " + (
        "The raw images are 16-bit: the faithful protocol reduces them to 8 bits as OpenCV does "
        "(docs/dataset.md#image-formats, docs/defects.md#defect-20) while the corrected protocol keeps the full "
        "depth, so the two protocols see different intensities."
        if sixteen
        else "The raw images are 8-bit: faithful and corrected protocols read the same intensities and "
        "differ only in channel order and replication."
    )
    return check


# --------------------------------------------------------------------------------------------------------------
# 5. Split-file line format


def _line_kind(text: str) -> str:
    if "/" in text or "\\" in text:
        return "path"
    if EXTENSION_RE.search(text):
        return "extension"
    return "bare id" if is_image_id(text) else "other"


def check_split_lines(layout: DatasetLayout) -> Check:
    check = Check(
        "split_lines",
        "Split-file line format",
        "docs/dataset.md#file-naming, docs/dataset.md#splits, docs/dataset.md#verify-split-lines",
    )
    files: dict[str, dict[str, Any]] = {}
    examples: dict[str, list[dict[str, str]]] = {}
    for split in SPLITS:
        path = layout.split_file(split)
        try:
            raw_lines = path.read_text().splitlines() if path.is_file() else None
        except (OSError, UnicodeDecodeError):
            raw_lines = None
        if raw_lines is None:
            continue
        lines = [line for line in raw_lines if line.strip()]
        kinds = Counter(_line_kind(line.strip()) for line in lines)
        matches = [IMAGE_ID_RE.match(line.strip()) for line in lines]
        files[split] = {
            "lines": len(lines),
            "blank_lines": len(raw_lines) - len(lines),
            "surrounding_whitespace": sum(line != line.strip() for line in lines),
            **{k: kinds[k] for k in ("bare id", "extension", "path", "other")},
            "field_digits": dict(sorted(Counter(len(m["field"]) for m in matches if m).items())),
            "columns": sorted({m["col"] for m in matches if m}),
            "planes": sorted({m["plane"] for m in matches if m}),
        }
        for number, line in enumerate(raw_lines, 1):
            kind = _line_kind(line.strip()) if line.strip() else "bare id"
            if kind != "bare id":
                _add_example(examples, kind, f"{_display(layout, path)}:{number}", repr(line))
    check.data = {"files": files, "examples": examples}
    if not files:
        check.findings = ["No readable split file under `Annotations/`."]
        check.meaning = "The stem format of split lines (docs/dataset.md#verify-split-lines) stays unknown."
        return check
    rows = [
        [
            s,
            v["lines"],
            v["bare id"],
            v["extension"],
            v["path"],
            v["other"],
            v["surrounding_whitespace"],
            ", ".join(f"{d} ({n})" for d, n in v["field_digits"].items()) or "n/a",
        ]
        for s, v in files.items()
    ]
    check.findings = _table(
        [
            "split",
            "lines",
            "bare ids",
            "with extension",
            "with directory",
            "other",
            "with surrounding spaces",
            "field digits (lines)",
        ],
        rows,
    )
    example_lines = _example_lines(examples)
    if example_lines:
        check.findings += [""] + example_lines
    widths = sorted({d for v in files.values() for d in v["field_digits"]})
    bad = sum(v["extension"] + v["path"] + v["other"] for v in files.values())
    if bad:
        check.verdict = NOT_CONSISTENT
        check.meaning = (
            f"{bad} split lines are not bare image stems: the readers (like the original's "
            "`<root>/brightfield/<id>.tiff`) would look for files that do not exist; strip extensions "
            "and directories before running the benchmark."
        )
    else:
        check.verdict = CONSISTENT
        check.meaning = (
            "Every line is a bare stem `r{row}c{col}f{field}p{plane}` as the readers expect; field "
            f"numbers have {' or '.join(map(str, widths))} digits (ids are taken from the split files, "
            "never rebuilt from numbers). Surrounding whitespace, if any, is stripped as the original "
            "did."
        )
    return check


# --------------------------------------------------------------------------------------------------------------
# Entry point


def audit_dataset(
    layout: DatasetLayout,
    crops_per_split: int = 200,
    seed: int = 0,
    headers_per_split: int = 3,
    paper: Mapping[str, PaperSplit] | None = None,
    source: str | None = None,
    progress: bool = True,
) -> AuditReport:
    """Run the five checks on a dataset copy (see the module docstring); raises only if the copy is unusable.

    `crops_per_split` crop files are compared per split (0 = all); `paper` is the published Table 1
    (`table1.read_paper_table1`), shown beside the counts when given.
    """
    check_usable(layout)
    ids = _split_ids(layout)
    annotations = _Annotations()
    crops = released_crops_of(layout)
    checks = [
        check_crops(layout, ids, crops, annotations, crops_per_split, seed, paper, progress),
        check_patients(ids),
        check_test_ids(layout, ids, annotations, paper),
        check_image_format(layout, ids, crops, headers_per_split),
        check_split_lines(layout),
    ]
    settings = {
        "crops_per_split": crops_per_split,
        "seed": seed,
        "headers_per_split": headers_per_split,
        "paper_table1": paper is not None,
    }
    return AuditReport(root=layout.root, source=source, checks=checks, settings=settings)
