"""The paper's Table 1 (docs/dataset.md): what a dataset copy holds, beside what the paper publishes.

`dataset_counts` counts images and R/G/U objects per split and patient from the ground truth XMLs;
`write_table1` turns those counts into a tidy CSV and a Markdown table, with the published numbers
(resources/paper/table1_dataset.csv, paper Table 6 and text) beside ours when given. The counts assume a copy
that `validate.validate_dataset` found clean: a broken annotation here raises instead of being reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..errors import ConfigError
from ..io import atomic_path
from ..markup import write_table
from ..tables import markdown_table
from .layout import PATIENTS, SPLITS, DatasetLayout, patient_of
from .voc import read_voc

MEASURES: tuple[str, ...] = ("images", "R", "G", "U")
TITLE = "Table 1: dataset"
ALL_PATIENTS = "all"
TRAINVAL = "train+val"

# Paper Table 6 "Number of annotated images" per patient. They sum to 1087 = train + val (967 + 120), so they are
# train+val counts, not train counts (docs/dataset.md#patients, docs/defects.md#defect-21).
PAPER_TRAINVAL_IMAGES_PER_PATIENT: dict[str, int] = {"r06": 493, "r07": 503, "r08": 91}
# Paper text: the 120 test images are 40 per patient (docs/dataset.md#test-annotations).
PAPER_TEST_IMAGES_PER_PATIENT: dict[str, int] = {"r06": 40, "r07": 40, "r08": 40}


# --------------------------------------------------------------------------------------------------------------
# Table 1 counts


def _count_split(layout: DatasetLayout, split: str, test_annotator: str) -> dict[str, Counter[str]]:
    """Images and objects per patient of one split, from the split's ground truth XMLs."""
    per_patient: dict[str, Counter[str]] = {p: Counter() for p in PATIENTS}
    for image_id in tqdm(layout.read_split(split), desc=f"counting {split}", unit="image", disable=None):
        annotation = read_voc(layout.annotation_xml(split, image_id, test_annotator))
        counter = per_patient.setdefault(patient_of(image_id), Counter())
        counter["images"] += 1
        counter.update(box.name for box in annotation.objects)
    return per_patient


def _count_record(split: str, patient: str, counter: Counter[str]) -> dict[str, Any]:
    record: dict[str, Any] = {"split": split, "patient": patient}
    for measure in MEASURES:
        # Test images carry R annotations only: their G/U are unknown, which is not the same as zero.
        record[measure] = pd.NA if split == "test" and measure in ("G", "U") else counter[measure]
    return record


def dataset_counts(layout: DatasetLayout, test_annotator: str = "Unioned") -> pd.DataFrame:
    """Images and R/G/U objects per split and patient (plus an `all` row per split), the numbers of Table 1.

    Columns: split, patient, images, R, G, U (nullable integers). Test G/U are <NA>: the test split is annotated
    for R only. The patient is the plate-row prefix of the id (r06, r07, r08).
    """
    records = []
    for split in SPLITS:
        per_patient = _count_split(layout, split, test_annotator)
        total: Counter[str] = Counter()
        for patient, counter in per_patient.items():
            records.append(_count_record(split, patient, counter))
            total.update(counter)
        records.append(_count_record(split, ALL_PATIENTS, total))
    frame = pd.DataFrame.from_records(records, columns=["split", "patient", *MEASURES])
    return frame.astype({m: "Int64" for m in MEASURES})


# --------------------------------------------------------------------------------------------------------------
# Table 1 files


@dataclass(frozen=True)
class PaperSplit:
    """One row of the published Table 1; `estimated` marks G/U that are model estimates, not annotations."""

    counts: dict[str, int]
    estimated: bool


def read_paper_table1(path: Path | str) -> dict[str, PaperSplit]:
    """The published Table 1 (resources/paper/table1_dataset.csv): split, images, R, G, U, G_U_estimated."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: published Table 1 missing; expected resources/paper/table1_dataset.csv")
    table = pd.read_csv(path)
    missing = {"split", *MEASURES, "G_U_estimated"} - set(table.columns)
    if missing:
        raise ConfigError(f"{path}: columns {sorted(missing)} missing; expected split,images,R,G,U,G_U_estimated")
    return {
        str(row["split"]): PaperSplit(
            counts={m: int(row[m]) for m in MEASURES},
            estimated=str(row["G_U_estimated"]).strip().lower() in ("true", "1", "yes"),
        )
        for _, row in table.iterrows()
    }


def _as_frame(counts: pd.DataFrame | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    frame = counts if isinstance(counts, pd.DataFrame) else pd.DataFrame.from_records(list(counts))
    return frame.astype({m: "Int64" for m in MEASURES})


def _with_trainval(counts: pd.DataFrame) -> pd.DataFrame:
    """Add train+val rows: the per-patient numbers the paper publishes (Table 6) are of that union."""
    both = counts[counts["split"].isin(["train", "val"])]
    summed = both.groupby("patient", sort=False)[list(MEASURES)].sum(min_count=1).reset_index()
    summed.insert(0, "split", TRAINVAL)
    return pd.concat([counts, summed], ignore_index=True)


def _paper_value(paper: Mapping[str, PaperSplit] | None, split: str, patient: str, measure: str) -> tuple[Any, bool]:
    """Published number for one cell of the tidy table, and whether it is a model estimate."""
    if not paper:
        return pd.NA, False
    if patient == ALL_PATIENTS:
        if split == TRAINVAL and "train" in paper and "val" in paper:
            return paper["train"].counts[measure] + paper["val"].counts[measure], False
        if split in paper:
            row = paper[split]
            return row.counts[measure], row.estimated and measure in ("G", "U")
        return pd.NA, False
    if measure == "images" and split == TRAINVAL:
        return PAPER_TRAINVAL_IMAGES_PER_PATIENT.get(patient, pd.NA), False
    if measure == "images" and split == "test":
        return PAPER_TEST_IMAGES_PER_PATIENT.get(patient, pd.NA), False
    return pd.NA, False


def table1_tidy(
    counts: pd.DataFrame | Sequence[Mapping[str, Any]], paper: Mapping[str, PaperSplit] | None = None
) -> pd.DataFrame:
    """One row per (split, patient, measure): ours, and the published number where the paper gives one.

    Split is train, val, test or train+val; patient is r06/r07/r08 or `all`; measure is images, R, G or U.
    Empty `ours` means not annotated (test G/U); `paper_is_estimate` marks the paper's model-estimated test G/U.
    """
    counts = _with_trainval(_as_frame(counts))
    rows = []
    for _, record in counts.iterrows():
        for measure in MEASURES:
            value, estimated = _paper_value(paper, record["split"], record["patient"], measure)
            rows.append(
                {
                    "split": record["split"],
                    "patient": record["patient"],
                    "measure": measure,
                    "ours": record[measure],
                    "paper": value,
                    "paper_is_estimate": estimated,
                }
            )
    tidy = pd.DataFrame.from_records(
        rows, columns=["split", "patient", "measure", "ours", "paper", "paper_is_estimate"]
    )
    return tidy.astype({"ours": "Int64", "paper": "Int64", "paper_is_estimate": bool})


def _fmt(value: Any, estimated: bool = False) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    text = f"{int(value):,}"
    return f"{text} (est.)" if estimated else text


def _cell(tidy: pd.DataFrame, split: str, patient: str, measure: str) -> pd.Series:
    match = tidy[(tidy["split"] == split) & (tidy["patient"] == patient) & (tidy["measure"] == measure)]
    return match.iloc[0]


def _split_section(tidy: pd.DataFrame, split: str, with_paper: bool) -> list[str]:
    rows = []
    for measure in MEASURES:
        cell = _cell(tidy, split, ALL_PATIENTS, measure)
        ours = _fmt(cell["ours"])
        if split == "test" and measure in ("G", "U"):
            ours = "n/a (not annotated)"
        row = [measure, ours]
        if with_paper:
            row.append(_fmt(cell["paper"], bool(cell["paper_is_estimate"])))
        rows.append(row)
    header = ["count", "ours", "paper"] if with_paper else ["count", "ours"]
    return [f"## {split}", "", *markdown_table(header, rows), ""]


def _patient_section(tidy: pd.DataFrame, with_paper: bool) -> list[str]:
    patients = [p for p in dict.fromkeys(tidy["patient"]) if p != ALL_PATIENTS] + [ALL_PATIENTS]
    header = ["patient", "train", "val", "train+val"] + (["train+val (paper)"] if with_paper else [])
    header += ["test"] + (["test (paper)"] if with_paper else [])
    rows = []
    for patient in patients:
        row = [patient] + [_fmt(_cell(tidy, s, patient, "images")["ours"]) for s in ("train", "val", TRAINVAL)]
        if with_paper:
            row.append(_fmt(_cell(tidy, TRAINVAL, patient, "images")["paper"]))
        row.append(_fmt(_cell(tidy, "test", patient, "images")["ours"]))
        if with_paper:
            row.append(_fmt(_cell(tidy, "test", patient, "images")["paper"]))
        rows.append(row)
    note = (
        'The paper\'s per-patient image counts (Table 6, "Number of annotated images": 493 / 503 / 91) are '
        "train+val counts: they sum to 1,087 = 967 train + 120 val. Its test split has 40 images per patient."
    )
    return ["## Images per patient", "", *markdown_table(header, rows), "", note, ""]


def table1_markdown(tidy: pd.DataFrame, with_paper: bool) -> str:
    """Markdown: one table per split (images, R, G, U; ours beside the paper's), then images per patient."""
    lines = ["# Table 1: dataset statistics", ""]
    notes = ["Test images are annotated for cancer cells (R) only, so our test G/U are not available."]
    if with_paper:
        notes.append("The paper's test G/U, marked (est.), are estimates by a model, not annotations.")
    lines += [" ".join(notes), ""]
    for split in SPLITS:
        lines += _split_section(tidy, split, with_paper)
    lines += _patient_section(tidy, with_paper)
    return "\n".join(lines)


def write_table1(
    counts: pd.DataFrame | Sequence[Mapping[str, Any]],
    csv_path: Path | str,
    md_path: Path | str,
    paper_csv: Path | str | None = None,
    data: str = "",
) -> pd.DataFrame:
    """Write Table 1 as a tidy CSV (see `table1_tidy`) and as Markdown and HTML naming `data` (which data made it),
    atomically; return the tidy table."""
    paper = read_paper_table1(paper_csv) if paper_csv is not None else None
    tidy = table1_tidy(counts, paper)
    with atomic_path(csv_path) as tmp:
        tidy.to_csv(tmp, index=False)
    write_table(md_path, table1_markdown(tidy, with_paper=paper is not None), data, TITLE)
    return tidy
