"""Check 2, images per patient vs Table 6 (docs/dataset.md#patients, docs/defects.md#defect-21,
docs/dataset.md#verify-patients): whether the images per patient in train, or in train+val, reproduce the paper's
Table 6 (493 / 503 / 91) with the patients in the assumed order r06/r07/r08 = 1st/2nd/3rd, in another order, or
not at all; the test images per patient are shown beside the paper's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import permutations

from ..layout import PATIENTS, is_image_id, patient_of
from ..table1 import PAPER_TEST_IMAGES_PER_PATIENT, PAPER_TRAINVAL_IMAGES_PER_PATIENT
from .common import CONSISTENT, NOT_CONSISTENT, Check, table_lines


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
    check.findings = table_lines(
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
