"""Dataset validation (docs/dataset.md): every problem of a dataset copy, found in one pass.

Validation collects every problem instead of stopping at the first: a figshare download or a hand-staged copy
tends to be wrong in many places at once, and fixing them one run at a time is slow. Each problem names the file
it concerns and says how to fix it. Images are checked first from their TIFF header (size, samples per pixel, bit
depth), then every image is decoded once on a thread pool, which catches a file truncated after an intact header;
`check_pixels=False` keeps the header pass only. All images of one modality must share one bit depth and channel
count: a stray 8-bit image among 16-bit ones would put crops on two intensity scales in the corrected protocol.

This module only judges a copy; counting what a valid copy holds (the paper's Table 1) is `table1`'s job.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from tqdm import tqdm

from ..errors import DatasetError
from ..parallel import ordered_map
from .imageio import read_native
from .layout import CLASSES, MODALITIES, SPLITS, DatasetLayout, is_image_id
from .voc import Box, VocAnnotation, read_voc

# Test images were annotated for cancer cells only (docs/dataset.md#test-annotations); G/U there would be a labelling
# error.
TRAINVAL_CLASSES: tuple[str, ...] = CLASSES
TEST_CLASSES: tuple[str, ...] = ("R",)
ALLOWED_DTYPES: tuple[np.dtype, ...] = (np.dtype(np.uint8), np.dtype(np.uint16))
ALLOWED_SAMPLES: dict[str, tuple[int, ...]] = {"brightfield": (1, 3), "fluorescence": (3,)}


# --------------------------------------------------------------------------------------------------------------
# Report


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file: `message` says what is wrong and how to fix it."""

    path: Path
    message: str


@dataclass
class ValidationReport:
    """Every problem found in one dataset copy; `ok` when there are no errors (warnings do not fail)."""

    root: Path
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    images_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, path: Path, message: str) -> None:
        self.errors.append(Problem(Path(path), message))

    def warn(self, path: Path, message: str) -> None:
        self.warnings.append(Problem(Path(path), message))

    def display_path(self, path: Path) -> str:
        """Path relative to the dataset root when inside it: shorter, and the same on every machine."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def format(self) -> str:
        """Problems grouped file by file (files sorted), errors before warnings within a file."""
        lines = [f"dataset {self.root}: {_plural(len(self.errors), 'error')}, {_plural(len(self.warnings), 'warning')}"]
        grouped: dict[str, list[str]] = {}
        for kind, problems in (("error", self.errors), ("warning", self.warnings)):
            for problem in problems:
                grouped.setdefault(self.display_path(problem.path), []).append(f"  {kind}: {problem.message}")
        for path in sorted(grouped):
            lines.append(path)
            lines.extend(grouped[path])
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        def rows(problems: list[Problem]) -> list[dict[str, str]]:
            return [{"path": self.display_path(p.path), "message": p.message} for p in problems]

        return {
            "root": str(self.root),
            "ok": self.ok,
            "images_checked": self.images_checked,
            "errors": rows(self.errors),
            "warnings": rows(self.warnings),
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# --------------------------------------------------------------------------------------------------------------
# Split files


@dataclass
class _Splits:
    """Well-formed ids of each split that could be read, with their line numbers for messages."""

    entries: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    complete: bool = True  # False when a split file is missing or unreadable: orphan detection is then meaningless

    def splits_of(self) -> dict[str, list[str]]:
        """Each distinct id (in listing order) with the splits that list it, so every file is checked once."""
        result: dict[str, list[str]] = {}
        for split, entries in self.entries.items():
            for _, image_id in entries:
                if split not in result.setdefault(image_id, []):
                    result[image_id].append(split)
        return result


def _split_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, stripped text) of the non-blank lines: the rule of DatasetLayout.read_split, with numbers."""
    return [(n, line.strip()) for n, line in enumerate(path.read_text().splitlines(), 1) if line.strip()]


def _id_hint(text: str) -> str:
    if text.startswith("\ufeff"):
        return "; the file starts with a UTF-8 byte-order mark (BOM): save it as UTF-8 without BOM"
    if "/" in text or "\\" in text or text.endswith((".tiff", ".tif", ".xml")):
        return "; lines must be bare image stems, without directory or extension"
    return ""


def _read_splits(layout: DatasetLayout, report: ValidationReport) -> _Splits:
    splits = _Splits()
    for split in SPLITS:
        path = layout.split_file(split)
        if not path.is_file():
            report.error(
                path,
                f"split file missing; the dataset must hold Annotations/{split}.txt with one image id "
                "per line (re-extract the figshare record or restore the file)",
            )
            splits.complete = False
            continue
        try:
            lines = _split_lines(path)
        except (OSError, UnicodeDecodeError) as exc:
            report.error(path, f"split file unreadable ({exc}); restore it as plain text, one image id per line")
            splits.complete = False
            continue
        if not lines:
            report.error(path, f"split file is empty; it must list the {split} image ids, one per line")
        good = []
        for number, text in lines:
            if is_image_id(text):
                good.append((number, text))
            else:
                report.error(
                    path,
                    f"line {number}: {text!r} is not an image id of the form r06c04f01p01"
                    f"{_id_hint(text)}; correct or delete the line",
                )
        splits.entries[split] = good
    return splits


def _check_duplicates(layout: DatasetLayout, splits: _Splits, report: ValidationReport) -> None:
    """Report ids listed twice in a split, and ids listed in two splits."""
    first: dict[str, tuple[str, int]] = {}
    for split, entries in splits.entries.items():
        lines_of: dict[str, list[int]] = {}
        for number, image_id in entries:
            lines_of.setdefault(image_id, []).append(number)
        for image_id, numbers in lines_of.items():
            if len(numbers) > 1:
                report.error(
                    layout.split_file(split),
                    f"{image_id} is listed {len(numbers)} times (lines {', '.join(map(str, numbers))}); keep one line",
                )
            if image_id in first:
                other, other_line = first[image_id]
                report.error(
                    layout.split_file(split),
                    f"{image_id} (line {numbers[0]}) is also in Annotations/{other}.txt (line {other_line}); "
                    "an image must belong to exactly one split, remove it from one of them",
                )
            else:
                first[image_id] = (split, numbers[0])


# --------------------------------------------------------------------------------------------------------------
# Directories


def _check_directories(layout: DatasetLayout, test_annotator: str, report: ValidationReport) -> dict[str, bool]:
    """One error per missing top-level directory, so a wrong root gives a few lines instead of one per image.

    Folders are taken as the parent of a file path from the layout, so the layout stays the only place that
    knows where files live.
    """
    dirs = {
        "brightfield": layout.brightfield("x").parent,
        "fluorescence": layout.fluorescence("x").parent,
        "trainval": layout.trainval_xml("x").parent,
        "test": layout.test_xml("x", test_annotator).parent,
    }
    present = {}
    for key, path in dirs.items():
        present[key] = path.is_dir()
        if not present[key]:
            report.error(
                path,
                "directory missing; is the dataset root the extracted figshare record "
                "(it must hold raw_images_for_model/ and Annotations/)?",
            )
    return present


# --------------------------------------------------------------------------------------------------------------
# Images


@dataclass(frozen=True)
class ImageHeader:
    """What the TIFF header says about the first image: no pixel data is read."""

    height: int
    width: int
    samples: int
    dtype: np.dtype


def read_tiff_header(path: Path) -> ImageHeader:
    """Size, samples per pixel and pixel type of the image the readers would decode.

    The first series is used (not just the first page) so that planar and ImageJ multi-channel files are seen as
    the readers in imageio see them; building a series reads tags only, never pixels.
    """
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            shape, axes, dtype = tuple(series.shape), series.axes, np.dtype(series.dtype)
    except (tifffile.TiffFileError, ValueError, OSError, IndexError) as exc:
        raise DatasetError(f"not a readable TIFF ({exc}); re-download or re-export the image") from None
    if len(shape) == 2:
        return ImageHeader(shape[0], shape[1], 1, dtype)
    if len(shape) == 3 and axes in ("YXS", "YXC"):
        return ImageHeader(shape[0], shape[1], shape[2], dtype)
    if len(shape) == 3 and axes in ("SYX", "CYX"):
        return ImageHeader(shape[1], shape[2], shape[0], dtype)
    raise DatasetError(f"unsupported TIFF layout {axes} {shape}; expected one 2-D gray or RGB image")


def _checked_header(path: Path, modality: str, report: ValidationReport) -> ImageHeader | None:
    """Header of an image that exists and is readable, after the checks that need only the file itself."""
    if path.is_dir():
        report.error(path, f"a directory where the {modality} image should be; put the <id>.tiff file there")
        return None
    if not path.is_file():
        report.error(
            path,
            f"{modality} image missing; every id of a split file needs "
            f"raw_images_for_model/{modality}/<id>.tiff (re-extract the figshare record)",
        )
        return None
    try:
        header = read_tiff_header(path)
    except DatasetError as exc:
        report.error(path, str(exc))
        return None
    if header.samples not in ALLOWED_SAMPLES[modality]:
        expected = (
            "1 (gray) or 3 (RGB)" if modality == "brightfield" else "3 (red cancer stain, green normal stain, Hoechst)"
        )
        report.error(
            path,
            f"{modality} image has {header.samples} channel(s); expected {expected}; "
            "re-export the image with all channels",
        )
    if header.dtype not in ALLOWED_DTYPES:
        report.error(
            path,
            f"pixel type {header.dtype}; expected 8- or 16-bit unsigned integers, as the readers "
            "(and OpenCV in the original) handle only those; re-export the image",
        )
    return header


def _pixel_problem(path: Path) -> str | None:
    """Decode the pixels: catches truncated or corrupt data that a header-only check cannot see."""
    try:
        read_native(path)
    except DatasetError as exc:
        return str(exc).removeprefix(f"{path}: ")
    return None


def _check_pixels(paths: Sequence[Path], threads: int, report: ValidationReport) -> None:
    for path, problem in zip(paths, ordered_map(_pixel_problem, paths, threads, desc="reading pixels")):
        if problem is not None:
            report.error(path, problem)


def _bits_text(dtype: np.dtype) -> str:
    return f"{dtype.itemsize * 8}-bit"


def _channels_text(samples: int) -> str:
    return f"{samples}-channel"


_FORMAT_PROPERTIES: tuple[tuple[str, Callable[[ImageHeader], Any], Callable[[Any], str]], ...] = (
    ("bit depth", lambda header: header.dtype, _bits_text),
    ("channel count", lambda header: header.samples, _channels_text),
)


def _check_uniform_formats(
    headers: Mapping[Path, tuple[str, ImageHeader]], report: ValidationReport, allow_mixed: bool = False
) -> None:
    """Within a modality, name every image whose bit depth or channel count differs from the most common one:
    an error, or a warning when mixed formats are allowed (`allow_mixed`)."""
    complain = report.warn if allow_mixed else report.error
    for modality in MODALITIES:
        usable = {
            path: header
            for path, (kind, header) in headers.items()
            if kind == modality and header.dtype in ALLOWED_DTYPES and header.samples in ALLOWED_SAMPLES[modality]
        }
        for name, value_of, text in _FORMAT_PROPERTIES:
            counts = Counter(value_of(header) for header in usable.values())
            if len(counts) < 2:
                continue
            common, count = counts.most_common(1)[0]
            for path, header in usable.items():
                value = value_of(header)
                if value != common:
                    complain(
                        path,
                        f"{modality} image is {text(value)} but {count} other {modality} images are {text(common)}; "
                        f"all {modality} images must share one {name} (the corrected protocol would mix intensity "
                        f"scales); re-export this image as {text(common)}",
                    )


def _size_text(width: int, height: int) -> str:
    return f"{width}x{height}"


def _check_image_pair(
    layout: DatasetLayout,
    image_id: str,
    expected_size: int | None,
    headers: dict[Path, tuple[str, ImageHeader]],
    report: ValidationReport,
) -> tuple[int, int] | None:
    """Check both TIFFs of an id, recording each readable header; return its (width, height) when one was read."""
    bf_path, fl_path = layout.brightfield(image_id), layout.fluorescence(image_id)
    bf = _checked_header(bf_path, "brightfield", report)
    fl = _checked_header(fl_path, "fluorescence", report)
    for path, modality, header in ((bf_path, "brightfield", bf), (fl_path, "fluorescence", fl)):
        if header is not None:
            headers[path] = (modality, header)
    if bf is not None and fl is not None and (bf.width, bf.height) != (fl.width, fl.height):
        report.error(
            fl_path,
            f"fluorescence image is {_size_text(fl.width, fl.height)} but its brightfield image is "
            f"{_size_text(bf.width, bf.height)}; both images of an id must cover the same field",
        )
    # The expected size is checked on one image of the pair only; a mismatch of the other is reported above.
    reference, reference_path = (bf, bf_path) if bf is not None else (fl, fl_path)
    if reference is None:
        return None
    if expected_size is not None and (reference.width, reference.height) != (expected_size, expected_size):
        report.error(
            reference_path,
            f"image is {_size_text(reference.width, reference.height)}, expected "
            f"{_size_text(expected_size, expected_size)} (--expected-size); use the "
            "original images or change the expected size",
        )
    return reference.width, reference.height


# --------------------------------------------------------------------------------------------------------------
# Annotations


def _coords(box: Box) -> str:
    return ", ".join(f"{v:g}" for v in (box.xmin, box.ymin, box.xmax, box.ymax))


def _box_problems(box: Box, index: int, allowed: Sequence[str], size: tuple[int, int] | None, test: bool) -> list[str]:
    """Messages for one object: its class, and its box (area first: a degenerate box has no sensible bounds)."""
    what = f"object {index} ({box.name}, box {_coords(box)})"
    messages = []
    if box.name not in allowed:
        if test and box.name in CLASSES:
            messages.append(
                f"{what}: class {box.name!r} in a test annotation; test images are annotated for "
                "cancer cells (R) only; remove the object"
            )
        else:
            messages.append(
                f"{what}: unknown class {box.name!r}; expected one of {', '.join(allowed)}; rename or remove the object"
            )
    xmin, ymin, xmax, ymax = box.int_coords()
    if xmax <= xmin or ymax <= ymin:
        messages.append(
            f"{what}: zero or negative area (the pipeline truncates coordinates to integers); fix or remove the box"
        )
    elif size is not None:
        width, height = size
        if box.xmin < 0 or box.ymin < 0 or box.xmax > width or box.ymax > height:
            messages.append(
                f"{what}: outside the {_size_text(width, height)} image; every box needs "
                f"0 <= xmin < xmax <= {width} and 0 <= ymin < ymax <= {height}; fix or clip the box"
            )
    return messages


def _check_xml_size(
    path: Path, annotation: VocAnnotation, image_size: tuple[int, int] | None, report: ValidationReport
) -> tuple[int, int] | None:
    """Report an XML <size> that disagrees with the TIFF; return the size boxes are checked against.

    The TIFF is the truth when both exist; the XML <size> stands in only when no image could be read.
    """
    # A 0x0 <size> is what some labelling tools write when they do not know the size: treat it as absent.
    xml_size = (annotation.width, annotation.height) if annotation.width and annotation.height else None
    if xml_size is not None and image_size is not None and xml_size != image_size:
        report.error(
            path,
            f"<size> says {_size_text(*xml_size)} but the image is {_size_text(*image_size)}; "
            "correct <width>/<height> or remove <size>",
        )
    return image_size if image_size is not None else xml_size


def _check_annotation(path: Path, test: bool, image_size: tuple[int, int] | None, report: ValidationReport) -> None:
    if not path.is_file():
        where = "Annotations/test/<annotator>/<id>.xml" if test else "Annotations/trainval/<id>.xml"
        report.error(
            path, f"annotation XML missing; every id of the split needs {where} (re-extract the figshare record)"
        )
        return
    try:
        annotation = read_voc(path)
    except DatasetError as exc:
        report.error(path, str(exc).removeprefix(f"{path}: "))
        return
    bounds = _check_xml_size(path, annotation, image_size, report)
    allowed = TEST_CLASSES if test else TRAINVAL_CLASSES
    for index, box in enumerate(annotation.objects):
        for message in _box_problems(box, index, allowed, bounds, test):
            report.error(path, message)


# --------------------------------------------------------------------------------------------------------------
# Orphans


def _orphan_candidates(layout: DatasetLayout) -> Iterable[tuple[Path, str]]:
    """(file, what it is) for every image and annotation file the layout knows a place for."""
    for modality in ("brightfield", "fluorescence"):
        folder = layout.image(modality, "x").parent
        if folder.is_dir():
            yield from ((p, f"{modality} image") for p in sorted(folder.glob("*.tiff")))
    trainval = layout.trainval_xml("x").parent
    if trainval.is_dir():
        yield from ((p, "annotation XML") for p in sorted(trainval.glob("*.xml")))
    test_dir = layout.test_xml("x").parent.parent
    if test_dir.is_dir():
        yield from ((p, "test annotation XML") for p in sorted(test_dir.glob("*/*.xml")))


def _check_orphans(layout: DatasetLayout, listed: set[str], report: ValidationReport) -> None:
    """Files no split lists are ignored by every step, which is harmless but usually a sign of a bad split file."""
    for path, what in _orphan_candidates(layout):
        if path.stem not in listed:
            report.warn(
                path,
                f"{what} of an id listed in no split file; it is ignored (add the id to a split "
                "file or delete the file)",
            )


# --------------------------------------------------------------------------------------------------------------
# Entry point


def validate_dataset(
    layout: DatasetLayout,
    expected_size: int | None = None,
    test_annotator: str = "Unioned",
    check_pixels: bool = True,
    threads: int = 1,
    allow_mixed_formats: bool = False,
) -> ValidationReport:
    """Check a dataset copy in the figshare layout and return every problem found (see the module docstring).

    `expected_size` is the side of the square images (1080 for the release) or None to accept any size;
    `test_annotator` picks the test ground truth folder (Expert1, Expert2 or Unioned); `threads` decode images in
    parallel; `allow_mixed_formats` reports a bit-depth or channel mix within a modality as warnings only.
    """
    report = ValidationReport(root=layout.root)
    if not layout.root.is_dir():
        report.error(layout.root, "dataset root is not a directory; check the path in the dataset pointer")
        return report
    splits = _read_splits(layout, report)
    _check_duplicates(layout, splits, report)
    present = _check_directories(layout, test_annotator, report)
    splits_of = splits.splits_of()
    headers: dict[Path, tuple[str, ImageHeader]] = {}
    for image_id in tqdm(splits_of, desc="reading headers", unit="image", leave=False):
        size = None
        # With an image folder missing (already one error), per-image checks would only repeat that error.
        if present["brightfield"] and present["fluorescence"]:
            size = _check_image_pair(layout, image_id, expected_size, headers, report)
            report.images_checked += 1
        _check_annotations_of(layout, image_id, splits_of[image_id], test_annotator, size, present, report)
    _check_uniform_formats(headers, report, allow_mixed_formats)
    if check_pixels:
        _check_pixels(list(headers), threads, report)
    if splits.complete:
        _check_orphans(layout, set(splits_of), report)
    return report


def _check_annotations_of(
    layout: DatasetLayout,
    image_id: str,
    splits_of_id: Sequence[str],
    test_annotator: str,
    size: tuple[int, int] | None,
    present: Mapping[str, bool],
    report: ValidationReport,
) -> None:
    """Check each distinct annotation file an id needs (an id in train and val shares one trainval XML)."""
    seen: set[Path] = set()
    for split in splits_of_id:
        test = split == "test"
        if not present["test" if test else "trainval"]:
            continue  # already reported once as a missing directory
        path = layout.annotation_xml(split, image_id, test_annotator)
        if path not in seen:
            seen.add(path)
            _check_annotation(path, test, size, report)
