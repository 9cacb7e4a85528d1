"""Check 3, test ids in trainval and the test annotators' coverage (docs/dataset.md#test-annotations,
docs/dataset.md#verify-test-ground-truth): whether `Annotations/trainval/` holds XMLs of test ids, and whether
their R boxes equal those of test/Unioned (the original read `Annotations/<id>.xml` as test ground truth); and
whether Expert1, Expert2 and Unioned each have an XML for every test id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from ..layout import CLASSES, TEST_ANNOTATORS, DatasetLayout
from ..table1 import PaperSplit
from ..voc import VocAnnotation
from .common import CONSISTENT, MAX_EXAMPLES, NOT_CONSISTENT, AnnotationCache, Check, table_lines


def _r_boxes(annotation: VocAnnotation) -> list[tuple[int, int, int, int]]:
    return sorted(b.int_coords() for b in annotation.objects if b.name == "R")


def check_test_ids(
    layout: DatasetLayout,
    ids: Mapping[str, list[str]],
    annotations: AnnotationCache,
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
    check.findings += table_lines(
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
