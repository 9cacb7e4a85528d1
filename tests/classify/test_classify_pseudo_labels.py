"""Pseudo-label sets of Table 5 and the classes/heads of every training-set variant."""

import json

import numpy as np
import pytest
from classify_helpers import tiny_config

from ctcbench.classify.pseudo import pseudo_label_sets
from ctcbench.classify.schedule import Schedule
from ctcbench.classify.train import train
from ctcbench.cli import main
from ctcbench.data.splits import CropRecord, read_trainset
from ctcbench.errors import DatasetError
from ctcbench.plan import trainset
from ctcbench.protocol import CORRECTED, FAITHFUL


def rec(key, label):
    return CropRecord(f"r06c04f01p01_{key}_0_0_5_5", label, "r06c04f01p01")


def test_pseudo_label_rules():
    base = [rec(0, "R"), rec(1, "G")]
    candidates = [rec(2, "U"), rec(3, "U"), rec(4, "U"), rec(5, "U")]
    mean_p = np.array([0.95, 0.8, 0.5, 0.1])
    sets = pseudo_label_sets(base, candidates, mean_p, threshold=0.8)
    # all: > 0.5 -> R, else G (0.5 itself is not above); every U crop kept
    assert [(r.key[-10:-8], r.label) for r in sets.all_relabelled[2:]] == [
        ("_2", "R"),
        ("_3", "R"),
        ("_4", "G"),
        ("_5", "G"),
    ]
    # confident: > 0.8 -> R (0.8 itself is not above), the rest dropped
    assert [r.label for r in sets.confident] == ["R", "G", "R"] and sets.confident[2].key == candidates[0].key
    with pytest.raises(DatasetError, match="R and G crops only"):
        pseudo_label_sets(base + [rec(9, "U")], candidates, mean_p, 0.8)


@pytest.mark.parametrize(
    "variant, classes, faithful_head, corrected_head",
    [
        ("all", "RGU", 3, 3),
        ("patient-r07", "RGU", 3, 3),
        ("frac-0.05", "RGU", 3, 3),
        ("u-drop", "RG", 3, 2),  # the original's stale NUM_CLASSES=3
        ("u-pseudo-all", "RG", 2, 2),
        ("u-pseudo-0.8", "RG", 2, 2),
    ],
)
def test_variant_classes_and_heads(variant, classes, faithful_head, corrected_head):
    training_set = trainset(variant)
    assert "".join(training_set.classes) == classes
    assert training_set.head_outputs(FAITHFUL) == faithful_head
    assert training_set.head_outputs(CORRECTED) == corrected_head


def test_pseudo_labels_from_drop_unknown_models(tiny_crops, tmp_path):
    models = []
    for seed in (0, 1):
        cfg = tiny_config(
            tiny_crops,
            tmp_path / f"seed{seed}",
            trainset="u-drop",
            seed=seed,
            schedule=Schedule(iterations=4, milestones=(), warmup=1, batch_size=8, val_every=2),
        )
        train(cfg, progress=False)
        models.append(str(cfg.out_dir / "best.pt"))
    out = tmp_path / "sets"
    assert (
        main(
            [
                "pseudo-labels",
                "--models",
                *models,
                "--train-cache",
                str(tiny_crops.cache("train")),
                "--base",
                str(tiny_crops.trainset("u-drop")),
                "--candidates",
                str(tiny_crops.trainset("u-candidates")),
                "--threshold",
                "0.5",
                "--out-all",
                str(out / "u-pseudo-all.tsv"),
                "--out-confident",
                str(out / "u-pseudo-0.8.tsv"),
                "--scores",
                str(out / "scores.tsv"),
                "--summary",
                str(out / "summary.json"),
            ]
        )
        == 0
    )
    base, candidates = read_trainset(tiny_crops.trainset("u-drop")), read_trainset(tiny_crops.trainset("u-candidates"))
    relabelled, confident = read_trainset(out / "u-pseudo-all.tsv"), read_trainset(out / "u-pseudo-0.8.tsv")
    assert len(relabelled) == len(base) + len(candidates) and {r.label for r in relabelled} <= {"R", "G"}
    summary = json.loads((out / "summary.json").read_text())
    # With threshold 0.5 both rules send the same U crops to R.
    assert summary["u_to_r_all"] == summary["u_to_r_confident"] == len(confident) - len(base)
    rows = (out / "scores.tsv").read_text().splitlines()
    assert rows[0].split("\t") == ["key", "image_id", "mean_p_cancer", "p_cancer_0", "p_cancer_1"]
    means = np.array([float(r.split("\t")[2]) for r in rows[1:]])
    assert len(means) == len(candidates) and ((means > 0.5).sum() == summary["u_to_r_all"])
