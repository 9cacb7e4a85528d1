"""Check 4, image format (docs/dataset.md#image-formats, docs/dataset.md#verify-image-format): dtype, bit depth,
channels and size read from the TIFF headers of a few raw images and released crops per split and modality,
whether each kind of file has one format the readers handle, and what the faithful (OpenCV default) read does
to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DatasetError
from ..layout import MODALITIES, DatasetLayout
from ..released_crops import ReleasedCrop
from ..validate import ALLOWED_DTYPES, ALLOWED_SAMPLES, read_tiff_header
from .common import CONSISTENT, NOT_CONSISTENT, Check, display_path, table_lines


def _spread(items: Sequence[Any], count: int) -> list[Any]:
    """`count` items evenly spread over the sequence (all when it is shorter): covers every patient block."""
    if count <= 0 or len(items) <= count:
        return list(items)
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, count).round().astype(int)]


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
    row: dict[str, Any] = {"kind": kind, "split": split, "modality": modality, "file": display_path(layout, path)}
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
    check.findings += table_lines(
        ["files", "count", "dtype", "bits", "channels", "size (w x h)", "faithful read"], table
    )
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
