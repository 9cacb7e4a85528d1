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

Each check is a module of this package, in the order above: `crop_slices`, `patients`, `ground_truth`,
`image_format` and `split_lines`; `common` holds what they share (the verdicts, `Check`, `AuditReport`, the
Markdown helpers). This module runs them in turn.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...errors import DatasetError
from ..layout import SPLITS, DatasetLayout
from ..released_crops import ReleasedCrop, released_crops, released_crops_of
from ..table1 import PaperSplit
from .common import CONSISTENT, FORMAT, NOT_CHECKABLE, NOT_CONSISTENT, VERDICT_TEXT, AnnotationCache, AuditReport, Check
from .crop_slices import check_crops, compare_crop
from .ground_truth import check_test_ids
from .image_format import check_image_format, opencv_effect
from .patients import check_patients
from .split_lines import check_split_lines

__all__ = [
    "AuditReport",
    "CONSISTENT",
    "Check",
    "FORMAT",
    "NOT_CHECKABLE",
    "NOT_CONSISTENT",
    "ReleasedCrop",
    "VERDICT_TEXT",
    "audit_dataset",
    "check_crops",
    "check_image_format",
    "check_patients",
    "check_split_lines",
    "check_test_ids",
    "check_usable",
    "compare_crop",
    "opencv_effect",
    "released_crops",
    "released_crops_of",
]


def _split_ids(layout: DatasetLayout) -> dict[str, list[str]]:
    """Ids of each split file that can be read (missing or unreadable split files are left out)."""
    ids = {}
    for split in SPLITS:
        try:
            ids[split] = layout.read_split(split)
        except (DatasetError, OSError, UnicodeDecodeError):
            continue
    return ids


def check_usable(layout: DatasetLayout) -> None:
    """Raise when the root cannot be a dataset copy at all: the only condition under which the audit fails."""
    if not layout.root.is_dir():
        raise DatasetError(f"{layout.root}: dataset root is not a directory; check the path in the dataset pointer")
    if not any(p.is_dir() for p in (layout.annotations_dir, layout.images_dir, layout.cells_dir)):
        raise DatasetError(
            f"{layout.root}: no Annotations/, raw_images_for_model/ or raw_cell_images/ here; the "
            "pointer must name the extracted figshare record"
        )


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
    annotations = AnnotationCache()
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
