"""`pipeline-score` and `pipeline-evaluate` end to end on the tiny twin: a tiny trained classifier re-scores
hand-written detector predictions; and the one-line errors of a bad pairing or a missing file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from pipeline_helpers import detector_meta, score_args, write_fake_predictions

from ctcbench.classify.checkpoint import load_model
from ctcbench.classify.data import CropSource
from ctcbench.classify.predict import predict
from ctcbench.cli import main
from ctcbench.detect.predictions import read_predictions
from ctcbench.pipeline import scoring
from ctcbench.pipeline.proposals import proposal_crops, propose
from ctcbench.protocol import FAITHFUL
from ctcbench.provenance import file_sha256
from ctcbench.report.intervals import load_record


def test_faithful_score_and_evaluate(tmp_path, pointer, layout, classifiers, monkeypatch):
    test_list = layout.split_file("test")
    predictions = write_fake_predictions(tmp_path / "predictions.json", layout, "test", detector_meta("faithful"))
    monkeypatch.setattr(scoring, "IMAGES_PER_CHUNK", 2)  # 3 test images: two chunks, one of them partial
    scores_path = tmp_path / "scores.json"
    assert main(score_args(pointer, test_list, predictions, classifiers["faithful"], "faithful", scores_path)) == 0

    data = json.loads(scores_path.read_text())
    ids = layout.read_split("test")
    assert data["format"] == "ctcbench.pipeline-scores/1" and list(data["images"]) == ids
    meta = data["meta"]
    assert meta["classifier"]["sha256"] == file_sha256(classifiers["faithful"])
    assert [meta["classifier"][k] for k in ("backbone", "trainset", "seed")] == ["tiny", "all", 0]
    assert meta["pipeline_run"] == meta["detector"]["run"] == "faster_rcnn/bf_fluo/all/seed0"
    assert meta["nms_iou_before_classification"] == 0.5 and meta["protocol"] == "faithful"

    # The same proposals, and the classifier's own P(R) of their crops scored in one go.
    proposals = propose(read_predictions(predictions), ids, FAITHFUL, 0.5)
    model, spec, _ = load_model(classifiers["faithful"])
    cache = proposal_crops(layout, proposals, "opencv", progress=False)
    expected = predict(
        model,
        CropSource(cache, spec.setting),
        np.arange(len(cache)),
        spec.image_size,
        spec.normalisation,
        torch.device("cpu"),
        desc=None,
    ).p_cancer
    got = np.concatenate([data["images"][i]["s_cls"] for i in ids])
    assert np.allclose(got, expected, atol=1e-6)
    for image_id in ids:
        entry = data["images"][image_id]
        assert entry["boxes"] == proposals[image_id].boxes.tolist()
        assert entry["s_det"] == proposals[image_id].s_det.tolist()
    assert meta["n_proposals"] == len(got) > 0

    evaluate = [
        "pipeline-evaluate",
        "--dataset",
        str(pointer),
        "--image-list",
        str(test_list),
        "--scores",
        str(scores_path),
        "--protocol",
        "faithful",
        "--nms-iou",
        "0.5",
    ]
    assert main([*evaluate, "--omega", "0.7", "--out", str(tmp_path / "w07.json")]) == 0
    metrics = json.loads((tmp_path / "w07.json").read_text())
    assert (metrics["omega"], metrics["gate"], metrics["protocol"]) == (0.7, 0.1, "faithful")
    assert metrics["pipeline_run"] == "faster_rcnn/bf_fluo/all/seed0"
    assert set(metrics["per_patient"]) == {"r06", "r07", "r08"}
    assert 0 <= metrics["ap50"] <= 1 and metrics["n_images"] == 3 and "heldout" not in metrics

    # omega 0 is the detection stage, through both commands.
    assert main([*evaluate, "--omega", "0", "--out", str(tmp_path / "w0.json")]) == 0
    assert (
        main(
            [
                "detect-evaluate",
                "--dataset",
                str(pointer),
                "--image-list",
                str(test_list),
                "--predictions",
                str(predictions),
                "--out",
                str(tmp_path / "detection.json"),
            ]
        )
        == 0
    )
    detection = json.loads((tmp_path / "detection.json").read_text())
    omega0 = json.loads((tmp_path / "w0.json").read_text())
    assert detection.pop("per_image") == "detection.per_image.npz" and omega0.pop("per_image") == "w0.per_image.npz"
    assert {k: omega0[k] for k in detection} == detection
    # Each evaluation's per-image matches give back its numbers bit for bit, overall and per patient.
    for name, record in (("w07", metrics), ("detection", detection)):
        matches = load_record(tmp_path / f"{name}.per_image.npz")
        assert reproduced(matches.metrics(), record) and list(matches.images) == ids
        for patient, numbers in record["per_patient"].items():
            assert reproduced(matches.metrics(matches.image_patients == patient), numbers)


def reproduced(again: dict, record: dict) -> bool:
    keys = ("ap50", "best_f1", "precision_at_best_f1", "recall_at_best_f1", "score_at_best_f1", "n_ground_truth",
            "n_predictions", "n_true_positive", "n_images", "heldout")  # fmt: skip
    return {k: again.get(k) for k in keys} == {k: record.get(k) for k in keys}


def test_corrected_threshold_from_val(tmp_path, pointer, layout, classifiers):
    runs = {}
    for split in ("test", "val"):
        predictions = write_fake_predictions(
            tmp_path / f"predictions-{split}.json", layout, split, detector_meta("corrected"), seed=3
        )
        runs[split] = tmp_path / f"scores-{split}.json"
        args = score_args(
            pointer, layout.split_file(split), predictions, classifiers["corrected"], "corrected", runs[split]
        )
        assert main(args) == 0
    assert json.loads(runs["test"].read_text())["meta"]["nms_iou_before_classification"] is None
    out = tmp_path / "metrics.json"
    assert (
        main(
            [
                "pipeline-evaluate",
                "--dataset",
                str(pointer),
                "--image-list",
                str(layout.split_file("test")),
                "--scores",
                str(runs["test"]),
                "--omega",
                "0.7",
                "--protocol",
                "corrected",
                "--val-scores",
                str(runs["val"]),
                "--val-list",
                str(layout.split_file("val")),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    metrics = json.loads(out.read_text())
    assert metrics["gate"] is None and metrics["ground_truth_of_images_without_detections"] == "counted"
    matches = load_record(tmp_path / "per_image.npz")  # beside metrics.json, with the held-out threshold
    assert matches.heldout_threshold == metrics["heldout"]["threshold"] and reproduced(matches.metrics(), metrics)
    assert metrics["heldout"]["threshold"] == metrics["val"]["score_at_best_f1"]
    assert metrics["heldout"]["f1"] <= metrics["best_f1"]  # the oracle is an upper bound
    assert all(p["heldout"]["threshold"] == metrics["heldout"]["threshold"] for p in metrics["per_patient"].values())


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_setting_mismatch_names_both_files(tmp_path, pointer, layout, classifiers, capsys):
    predictions = write_fake_predictions(tmp_path / "predictions.json", layout, "test", detector_meta("faithful", "bf"))
    out = tmp_path / "s.json"
    test_list = layout.split_file("test")
    assert main(score_args(pointer, test_list, predictions, classifiers["faithful"], "faithful", out)) == 1
    err = one_line_error(capsys)
    assert str(classifiers["faithful"]) in err and str(predictions) in err and "'bf_fluo'" in err and "'bf'" in err
    assert not out.exists()


def test_protocol_mismatch(tmp_path, pointer, layout, classifiers, capsys):
    predictions = write_fake_predictions(tmp_path / "predictions.json", layout, "test", detector_meta("faithful"))
    out = tmp_path / "s.json"
    test_list = layout.split_file("test")
    assert main(score_args(pointer, test_list, predictions, classifiers["corrected"], "faithful", out)) == 1
    assert "protocol 'corrected', but --protocol faithful" in one_line_error(capsys)


@pytest.mark.parametrize("missing", ["predictions", "classifier", "image-list", "scores"])
def test_missing_file_is_a_one_line_error(tmp_path, pointer, layout, classifiers, capsys, missing):
    predictions = write_fake_predictions(tmp_path / "predictions.json", layout, "test", detector_meta("faithful"))
    paths = {"predictions": predictions, "classifier": classifiers["faithful"], "image-list": layout.split_file("test")}
    if missing == "scores":
        args = [
            "pipeline-evaluate",
            "--dataset",
            str(pointer),
            "--image-list",
            str(paths["image-list"]),
            "--scores",
            str(tmp_path / "nope.json"),
            "--omega",
            "1",
            "--out",
            str(tmp_path / "m.json"),
        ]
    else:
        paths[missing] = tmp_path / "nope.file"
        args = score_args(
            pointer, paths["image-list"], paths["predictions"], paths["classifier"], "faithful", tmp_path / "s.json"
        )
    assert main(args) == 1
    assert "nope" in one_line_error(capsys)
