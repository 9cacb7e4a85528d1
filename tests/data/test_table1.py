"""Table 1: counts per split and patient, and the tidy CSV and Markdown written beside the paper's numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ctcbench.data.table1 import dataset_counts, write_table1

PAPER_TABLE1 = Path(__file__).resolve().parents[2] / "resources" / "paper" / "table1_dataset.csv"


def counts_row(counts: pd.DataFrame, split: str, patient: str) -> dict:
    row = counts[(counts["split"] == split) & (counts["patient"] == patient)]
    assert len(row) == 1
    return row.iloc[0].to_dict()


def test_counts_match_hand_count(tiny_dataset):
    counts = dataset_counts(tiny_dataset.layout)
    assert counts_row(counts, "train", "all") == {
        "split": "train",
        "patient": "all",
        "images": 5,
        "R": 7,
        "G": 5,
        "U": 5,
    }
    assert counts_row(counts, "val", "all") == {"split": "val", "patient": "all", "images": 3, "R": 4, "G": 3, "U": 2}
    test_all = counts_row(counts, "test", "all")
    assert (test_all["images"], test_all["R"]) == (3, 6)
    assert pd.isna(test_all["G"]) and pd.isna(test_all["U"])  # not annotated, not zero
    assert counts_row(counts, "train", "r06") == {
        "split": "train",
        "patient": "r06",
        "images": 2,
        "R": 3,
        "G": 3,
        "U": 1,
    }
    assert counts_row(counts, "train", "r07")["U"] == 3
    assert counts_row(counts, "train", "r08")["images"] == 1
    assert counts_row(counts, "test", "r08")["R"] == 3


def test_counts_follow_the_test_annotator(tiny_dataset):
    assert counts_row(dataset_counts(tiny_dataset.layout, "Expert1"), "test", "all")["R"] == 5
    assert counts_row(dataset_counts(tiny_dataset.layout, "Expert2"), "test", "r06")["R"] == 1


def test_table1_files_with_paper_columns(tiny_dataset, tmp_path):
    csv_path, md_path = tmp_path / "t1.csv", tmp_path / "t1.md"
    write_table1(dataset_counts(tiny_dataset.layout), csv_path, md_path, paper_csv=PAPER_TABLE1)
    tidy = pd.read_csv(csv_path, dtype={"ours": "Int64", "paper": "Int64"})
    assert list(tidy.columns) == ["split", "patient", "measure", "ours", "paper", "paper_is_estimate"]

    def cell(split: str, patient: str, measure: str) -> pd.Series:
        return tidy[(tidy.split == split) & (tidy.patient == patient) & (tidy.measure == measure)].iloc[0]

    assert (cell("train", "all", "R")["ours"], cell("train", "all", "R")["paper"]) == (7, 22800)
    assert pd.isna(cell("test", "all", "G")["ours"]) and cell("test", "all", "G")["paper"] == 3374
    assert bool(cell("test", "all", "G")["paper_is_estimate"])
    assert not bool(cell("test", "all", "R")["paper_is_estimate"])
    assert (cell("train+val", "r06", "images")["ours"], cell("train+val", "r06", "images")["paper"]) == (3, 493)
    assert cell("train+val", "all", "images")["paper"] == 1087

    md = md_path.read_text()
    assert "| count | ours | paper |" in md
    assert "| R | 7 | 22,800 |" in md
    assert "| G | n/a (not annotated) | 3,374 (est.) |" in md
    assert "| r06 | 2 | 1 | 3 | 493 | 1 | 40 |" in md
    assert "train+val" in md and "1,087" in md


def test_table1_without_paper(tiny_dataset, tmp_path):
    write_table1(dataset_counts(tiny_dataset.layout), tmp_path / "t1.csv", tmp_path / "t1.md")
    md = (tmp_path / "t1.md").read_text()
    assert "paper |" not in md and "| R | 7 |" in md
    assert pd.read_csv(tmp_path / "t1.csv")["paper"].isna().all()
