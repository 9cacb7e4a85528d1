"""The nucleus-features control: a logistic regression on hand-made crop features that tells a hand-made separable
case apart in the setting that shows the difference and not in one that hides it, refuses crops of one class, and
re-scores a detector's boxes on the tiny twin into the pipeline's metrics at omega 1, without the faithful gate, as
rows of stage `control`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pipeline_helpers import detector_meta, fake_predictions, score_args, write_fake_predictions
from sklearn.metrics import roc_auc_score

from ctcbench.cli import main
from ctcbench.data.channels import GREEN, RED
from ctcbench.data.crops import CropCache
from ctcbench.data.layout import CLASSES
from ctcbench.detect.image_matches import ImageMatches
from ctcbench.errors import DatasetError
from ctcbench.per_image import write_evaluation
from ctcbench.pipeline.nucleus_features import fit_feature_scorer, nucleus_features_evaluation
from ctcbench.protocol import CORRECTED, FAITHFUL
from ctcbench.provenance import file_sha256
from ctcbench.report.results import CONTROL, results_of

CANCER = CLASSES.index("R")


def stained_crops(per_class: int, seed: int, labels=(0, 1, 2)) -> CropCache:
    """Cells of random sizes (the same for every class) on the same brightfield noise, each with a Hoechst-stained
    nucleus; a cancer cell (R) is stained red, the others (G, U) green: only the fluorescence tells them apart."""
    rng = np.random.default_rng(seed)
    crops, classes = [], []
    for index in range(per_class * len(labels)):
        label = labels[index % len(labels)]
        height, width = rng.integers(14, 22, 2)
        brightfield = rng.integers(90, 110, (height, width, 3))
        fluorescence = np.zeros((height, width, 3))
        fluorescence[..., 0] = rng.integers(100, 140)
        fluorescence[..., RED if label == CANCER else GREEN] = rng.integers(120, 160)
        crops.append(np.concatenate([brightfield, fluorescence], axis=2).astype(np.uint8))
        classes.append(label)
    n = len(crops)
    return CropCache.from_crops(crops, classes, ["r06c01f01p01"] * n, list(range(n)), [[0, 0, 1, 1]] * n,
                                [f"crop{i}" for i in range(n)], "opencv", "train")  # fmt: skip


def test_the_feature_classifier_separates_cells_only_where_the_setting_shows_the_difference():
    train, test = stained_crops(20, seed=0), stained_crops(15, seed=1)
    is_cancer = test.labels == CANCER
    fluorescence = fit_feature_scorer(train, "bf_fluo").p_cancer(test)
    brightfield = fit_feature_scorer(train, "bf").p_cancer(test)
    assert fluorescence.shape == brightfield.shape == (len(test),)
    assert roc_auc_score(is_cancer, fluorescence) == 1.0
    assert fluorescence[is_cancer].min() > 0.5 > fluorescence[~is_cancer].max()
    assert roc_auc_score(is_cancer, brightfield) < 0.8  # the brightfield is noise alike in every class
    assert fit_feature_scorer(train, "bf_fluo").digest() == fit_feature_scorer(train, "bf_fluo").digest()


def test_crops_of_one_class_are_refused_with_their_file():
    with pytest.raises(DatasetError, match=r"^crops/train.npz: no crop is cancer \(R\)"):
        fit_feature_scorer(stained_crops(5, seed=0, labels=(1, 2)), "bf", source="crops/train.npz")


@pytest.mark.parametrize("protocol", [FAITHFUL, CORRECTED], ids=lambda p: p.name)
def test_the_control_scores_a_detectors_boxes_as_the_pipeline_at_omega_one(twin, layout, tmp_path, protocol):
    """Boxes whose S_det are all below the faithful gate (as the nucleus detector's brightness is) are ranked by
    the feature classifier all the same: the control fuses without the gate."""
    reader = protocol.image_read
    test_ids, val_ids = layout.read_split("test"), layout.read_split("val")
    meta = {"run": "classical/nucleus", "detector": "nucleus", "model_sha256": "1" * 64}

    def dim(split: str, ids: list[str]):
        predictions = fake_predictions(layout, split, ids, meta)
        for entry in predictions.images.values():
            entry.scores = entry.scores * 0.09
        return predictions, ids

    heldout = protocol.image_threshold == "heldout"
    evaluation = nucleus_features_evaluation(
        layout, CropCache.load(twin.cache("train", reader)), dim("test", test_ids), "bf_fluo", protocol,
        val=dim("val", val_ids) if heldout else None,
    )  # fmt: skip
    metrics = evaluation.metrics
    assert metrics["control"] == metrics["pipeline_run"] == "nucleus_features/bf_fluo/seed0"
    assert (metrics["omega"], metrics["gate"]) == (1.0, None)
    assert metrics["protocol"] == ("faithful,fusion_gate=null" if protocol == FAITHFUL else "corrected")
    assert metrics["classifier"]["backbone"] == "crop_features" and metrics["classifier"]["setting"] == "bf_fluo"
    assert ("heldout" in metrics) == heldout
    assert isinstance(evaluation.per_image, ImageMatches) and evaluation.per_image.images.tolist() == test_ids
    assert evaluation.per_image.scores.max() > 0.1  # the classifier's P(R), not the gated S_det (all below 0.09)
    out = tmp_path / "metrics.json"
    write_evaluation(evaluation, out, tmp_path / "per_image.npz")
    rows = results_of(out)
    assert {(r.stage, r.detector, r.backbone, r.setting, r.trainset, r.seed, r.omega) for r in rows} == {
        (CONTROL, "nucleus", "crop_features", "bf_fluo", "all", 0, 1.0)
    }
    assert next(r.value for r in rows if r.metric == "ap50" and r.subset == "all") == metrics["ap50"]


def nucleus_args(pointer, test_list, predictions, protocol: str, out) -> list[str]:
    return ["nucleus-features", "--dataset", str(pointer), "--image-list", str(test_list), "--predictions",
            str(predictions), "--protocol", protocol, "--nms-iou", "0.5", "--out", str(out)]  # fmt: skip


def test_the_nucleus_boxes_scored_by_a_trained_classifier_equal_the_pipeline_at_omega_one(
    tmp_path, pointer, layout, classifiers
):
    """The nucleus detector as the pipeline's proposal source: its boxes scored by a trained classifier run give
    exactly what pipeline-score and pipeline-evaluate give at ω = 1 for the same boxes where no gate applies (the
    corrected protocol), and the control's own rows in results.csv carry the classifier's backbone."""
    test_list = layout.split_file("test")
    predictions = write_fake_predictions(tmp_path / "predictions.json", layout, "test", detector_meta("corrected"))
    control = tmp_path / "control" / "metrics.json"
    args = nucleus_args(pointer, test_list, predictions, "corrected", control)
    assert (
        main(["nucleus-classifier", *args[1:], "--classifier", str(classifiers["corrected"]), "--device", "cpu"]) == 0
    )

    scores = tmp_path / "scores.json"
    assert main(score_args(pointer, test_list, predictions, classifiers["corrected"], "corrected", scores)) == 0
    pipeline = tmp_path / "pipeline.json"
    evaluate = ["pipeline-evaluate", "--dataset", str(pointer), "--image-list", str(test_list), "--scores",
                str(scores), "--protocol", "corrected", "--nms-iou", "0.5", "--omega", "1",
                "--out", str(pipeline)]  # fmt: skip
    assert main(evaluate) == 0
    ours, theirs = json.loads(control.read_text()), json.loads(pipeline.read_text())
    assert (ours["ap50"], ours["best_f1"]) == (theirs["ap50"], theirs["best_f1"]) and ours["per_patient"]
    assert ours["per_patient"] == theirs["per_patient"]
    assert ours["control"] == "nucleus_classifier/bf_fluo/seed0" and (ours["omega"], ours["gate"]) == (1.0, None)
    assert ours["classifier"]["sha256"] == file_sha256(classifiers["corrected"])
    rows = results_of(control)
    assert {(r.stage, r.detector, r.backbone, r.setting, r.trainset, r.seed) for r in rows} == {
        (CONTROL, "nucleus", "tiny", "bf_fluo", "all", 0)
    }


def test_the_nucleus_control_refuses_a_classifier_of_another_protocol(tmp_path, pointer, layout, classifiers, capsys):
    test_list = layout.split_file("test")
    predictions = write_fake_predictions(tmp_path / "predictions.json", layout, "test", detector_meta("faithful"))
    args = nucleus_args(pointer, test_list, predictions, "faithful", tmp_path / "metrics.json")
    assert (
        main(["nucleus-classifier", *args[1:], "--classifier", str(classifiers["corrected"]), "--device", "cpu"]) == 1
    )
    assert "trained under protocol 'corrected', not faithful" in capsys.readouterr().err
    assert not (tmp_path / "metrics.json").exists()
