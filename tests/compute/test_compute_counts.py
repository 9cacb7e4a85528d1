"""The dataset's size from either Table 1: the paper's (each patient's training images estimated from its train+val
share) or the workflow's own (exact per patient); anything else is one error naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctcbench.compute.counts import counts_file, read_counts
from ctcbench.errors import DatasetError

ROOT = Path(__file__).resolve().parents[2]
PAPER_TABLE1 = ROOT / "resources" / "paper" / "table1_dataset.csv"
DEMO_TABLE1 = ROOT / "tests" / "reference" / "demo-faithful" / "tables" / "table1.csv"


def test_the_paper_counts_estimate_each_patients_training_images():
    counts = read_counts(PAPER_TABLE1)
    assert counts.images == {"train": 967, "val": 120, "test": 120}
    assert counts.crops["val"] == {"R": 2823, "G": 2972, "U": 3135}
    # 493 / 503 / 91 of the 1,087 train+val images (paper Table 6), applied to the 967 train images.
    assert counts.patient_train_images == {"r06": 439, "r07": 447, "r08": 81}
    assert counts.patients_estimated and counts.list_is_estimate("train-r08") and not counts.list_is_estimate("train")
    assert counts.list_images("train") == 967 and counts.list_images("train-r07") == 447
    assert counts.cancer_cells_per_train_image == round(22800 / 967)


def test_the_workflows_table1_gives_exact_patient_counts():
    counts = read_counts(DEMO_TABLE1)
    assert counts.images == {"train": 24, "val": 7, "test": 9}
    assert counts.patient_train_images == {"r06": 10, "r07": 10, "r08": 4}
    assert not counts.patients_estimated and not counts.list_is_estimate("train-r06")
    assert counts.crops_of("val") == 15 + 41 + 55 and counts.crops_of("val", ("R", "G")) == 56


def test_the_config_chooses_the_table(paper_config, demo_config):
    assert counts_file(paper_config, "paper", "results/paper") == Path("paper/table1_dataset.csv")
    assert counts_file(demo_config, "paper", "results/demo") == Path("results/demo/tables/table1.csv")


def test_a_table_without_the_counts_names_the_file_and_the_fix(tmp_path):
    missing = tmp_path / "table1.csv"
    with pytest.raises(DatasetError, match="table1.csv: Table 1 missing; set compute.dataset_counts: paper"):
        read_counts(missing)
    missing.write_text("split,images,R,G\ntrain,1,2,3\n")
    with pytest.raises(DatasetError, match="not a Table 1 CSV"):
        read_counts(missing)
    partial = tmp_path / "partial.csv"
    partial.write_text("split,patient,measure,ours,paper,paper_is_estimate\ntrain,all,images,5,,False\n")
    with pytest.raises(DatasetError, match="lacks val images, test images, train R"):
        read_counts(partial)
