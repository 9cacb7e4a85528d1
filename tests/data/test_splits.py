"""Split builders: per patient, seeded fractions (stratified and not), unknown-cell variants, file round trip."""

import collections

import numpy as np
import pytest

from ctcbench.data.splits import (
    CropRecord,
    image_list,
    image_list_name,
    parse_image_list_name,
    read_trainset,
    sample_stratified,
    sample_unstratified,
    select_trainset,
    write_trainset,
)
from ctcbench.errors import DatasetError


def make_records(n_per_stratum):
    records = []
    for patient, field_base in (("r06", 0), ("r07", 100), ("r08", 200)):
        for label in "RGU":
            for k in range(n_per_stratum[(patient, label)]):
                image_id = f"{patient}c04f{field_base + k % 7:02d}p01"
                records.append(CropRecord(f"{image_id}_{label}{k}_0_0_5_5", label, image_id))
    return records


COUNTS = {
    ("r06", "R"): 60,
    ("r06", "G"): 55,
    ("r06", "U"): 50,
    ("r07", "R"): 70,
    ("r07", "G"): 40,
    ("r07", "U"): 45,
    ("r08", "R"): 9,
    ("r08", "G"): 12,
    ("r08", "U"): 10,
}
RECORDS = make_records(COUNTS)


def test_image_lists_per_patient():
    splits = {"train": ["r06c04f01p01", "r07c04f02p01", "r06c04f03p01"], "val": ["r08c04f04p01"], "test": []}
    assert image_list(splits, "train-r06") == ["r06c04f01p01", "r06c04f03p01"]
    assert image_list(splits, "train-r07") == ["r07c04f02p01"] and image_list(splits, "train-r08") == []
    assert image_list(splits, "val") == ["r08c04f04p01"]
    assert parse_image_list_name(image_list_name("train", "r07")) == ("train", "r07")
    for stem in ("training", "train-r09", "val_r06"):
        with pytest.raises(DatasetError, match="expected a split or a split and a patient"):
            image_list(splits, stem)


def test_unstratified_fraction_is_seeded_and_sized_like_the_original():
    a = sample_unstratified(351, 0.1, seed=1)
    assert len(a) == 35  # floor(fraction * n), as train_test_split(train_size=fraction)
    np.testing.assert_array_equal(a, sample_unstratified(351, 0.1, seed=1))
    assert not np.array_equal(a, sample_unstratified(351, 0.1, seed=2))
    assert len(set(a.tolist())) == len(a)


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.2, 0.5])
def test_stratified_fraction_keeps_class_and_patient_proportions(fraction):
    strata = [f"{r.label}/{r.patient}" for r in RECORDS]
    picked = sample_stratified(strata, fraction, seed=0)
    assert len(picked) == int(fraction * len(RECORDS))
    counts = collections.Counter(strata[i] for i in picked)
    total = collections.Counter(strata)
    for stratum, n in total.items():
        assert abs(counts[stratum] - fraction * n) <= 1.0 + 1e-9, stratum
        assert counts[stratum] >= 1
    np.testing.assert_array_equal(picked, sample_stratified(strata, fraction, seed=0))
    assert not np.array_equal(picked, sample_stratified(strata, fraction, seed=5))


def test_fraction_bounds():
    with pytest.raises(DatasetError):
        sample_unstratified(10, 1.0, 0)
    with pytest.raises(DatasetError):
        sample_stratified(["a"] * 10, 0.0, 0)


def test_trainset_variants():
    lists = {
        name: select_trainset(RECORDS, kind, value, seed, stratified=True)
        for name, kind, value, seed in (
            ("all", "all", None, 0),
            ("u-drop", "u-drop", None, 0),
            ("u-candidates", "u-candidates", None, 0),
            ("patient-r08", "patient", "r08", 0),
            ("frac-0.1/seed0", "fraction", 0.1, 0),
            ("frac-0.1/seed1", "fraction", 0.1, 1),
        )
    }
    assert len(lists["all"]) == len(RECORDS)
    assert {r.label for r in lists["u-drop"]} == {"R", "G"}
    assert len(lists["u-drop"]) == sum(n for (p, label), n in COUNTS.items() if label != "U")
    assert "u-as-normal" not in lists  # Table 5's "U as normal" row is the main model (U its own class)
    assert all(r.label == "U" for r in lists["u-candidates"])
    assert len(lists["u-candidates"]) == sum(n for (p, label), n in COUNTS.items() if label == "U")
    assert {r.patient for r in lists["patient-r08"]} == {"r08"}
    assert len(lists["patient-r08"]) == 31
    assert [r.key for r in lists["frac-0.1/seed0"]] != [r.key for r in lists["frac-0.1/seed1"]]
    with pytest.raises(DatasetError, match="not cut from the train crops"):
        select_trainset(RECORDS, "u-pseudo", 0.8)


def test_trainset_file_round_trip(tmp_path):
    write_trainset(tmp_path / "sets" / "all.tsv", RECORDS[:5])
    assert read_trainset(tmp_path / "sets" / "all.tsv") == RECORDS[:5]
    (tmp_path / "bad.tsv").write_text("a\tb\n")
    with pytest.raises(DatasetError, match="header"):
        read_trainset(tmp_path / "bad.tsv")
    with pytest.raises(DatasetError, match="missing"):
        read_trainset(tmp_path / "none.tsv")
