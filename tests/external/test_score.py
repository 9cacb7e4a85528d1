"""`ctcbench score`: a method ctcbench did not train, validated and scored exactly as the built-in models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from report.report_helpers import TINY_IDS, TINY_PROPOSALS, write_tiny_pipeline_run
from sklearn.metrics import roc_auc_score

from ctcbench.cli import main
from ctcbench.data.pointer import read_pointer
from ctcbench.data.splits import write_image_list
from ctcbench.detect.evaluate import detection_stage_metrics
from ctcbench.detect.predictions import FORMAT, ImageDetections, Predictions
from ctcbench.errors import DatasetError
from ctcbench.external.detections import read_detections
from ctcbench.external.score import score_detections
from ctcbench.protocol import FAITHFUL
from ctcbench.report.results import EXTERNAL, results_of


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The hand-made three-image test set of the report tests (64 x 64) as a results tree."""
    root = tmp_path_factory.mktemp("external")
    pointer, _, _ = write_tiny_pipeline_run(root)
    results = root / "results"
    (results / "data").mkdir(parents=True)
    (results / "data" / "dataset.json").write_text(pointer.read_text())
    write_image_list(results / "splits" / "images" / "test.txt", list(TINY_IDS))
    (results / "protocol.json").write_text(json.dumps({"protocol": "faithful"}))
    return results


def detections(**changes) -> dict:
    """The hand-made proposals with their detector scores as a detections file, with `changes` to its images."""
    images = {
        image_id: {"width": 64, "height": 64, "boxes": boxes, "scores": s_det}
        for image_id, (boxes, s_det, _) in TINY_PROPOSALS.items()
    }
    images.update(changes)
    return {"format": FORMAT, "meta": {"method": "hand-made"}, "images": images}


def write(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def score(tiny: Path, path: Path, *more: str) -> dict:
    out = path.with_suffix(".metrics.json")
    main(["score", "--results", str(tiny), "--name", "hand_made", "--setting", "bf", "--predictions", str(path),
          "--out", str(out), *more])  # fmt: skip
    return json.loads(out.read_text())


def test_hand_computed_detections_score_as_worked_out(tiny, tmp_path):
    """Ranked .9 TP, .8 FP, .6 FP, .5 TP (IoU 81/119 under the VOC +1 convention) over 3 cells: AP (all-point)
    1/3 * 1 + 1/3 * 1/2 = 0.5, best F1 2 * 2 / (4 + 3) = 4/7."""
    metrics = score(tiny, write(tmp_path / "det.json", detections()))
    assert metrics["ap50"] == pytest.approx(0.5) and metrics["best_f1"] == pytest.approx(4 / 7)
    assert metrics["external_method"]["name"] == "hand_made" and metrics["protocol"] == "faithful"
    assert metrics["per_patient"]["r06"]["best_f1"] == pytest.approx(2 / 3)  # .9 TP, .8 FP over 2 cells
    rows = {(r.metric, r.subset): r for r in results_of(tmp_path / "det.metrics.json")}
    assert rows[("ap50", "all")].stage == EXTERNAL and rows[("ap50", "all")].detector == "hand_made"
    assert rows[("f1", "r06")].value == pytest.approx(2 / 3) and rows[("ap50", "all")].setting == "bf"


def test_equals_the_built_in_evaluation_of_the_same_detections(tiny, tmp_path):
    layout = read_pointer(tiny / "data" / "dataset.json").layout
    ours = Predictions(
        {"run": "x"},
        {i: ImageDetections(64, 64, np.array(b, float), np.array(s, float)) for i, (b, s, _) in TINY_PROPOSALS.items()},
    )
    built_in = detection_stage_metrics(ours, layout, list(TINY_IDS), "Unioned", FAITHFUL)
    method = {"name": "m", "setting": "bf", "seed": 0, "kind": "detections", "file": "x"}
    external = score_detections(write(tmp_path / "d.json", detections()), method, layout, list(TINY_IDS), "Unioned",
                                FAITHFUL, 0.5).metrics  # fmt: skip
    for key in ("ap50", "best_f1", "precision_at_best_f1", "recall_at_best_f1", "per_patient", "iou_convention"):
        assert external[key] == built_in[key], key


BAD_FILES = {
    "empty file": ("", r"empty file"),
    "not JSON": ("{not json", r"not JSON \(line 1, column 2"),
    "no format": (
        {"images": {}},
        r'no "format" field; a detections file starts with "format": "ctcbench.detections/1"',
    ),
    "missing id": (
        detections(**{TINY_IDS[2]: None})
        | {"images": {k: v for k, v in detections()["images"].items() if k != TINY_IDS[2]}},
        rf"image {TINY_IDS[2]}: missing; give every image",
    ),  # fmt: skip
    "unknown id": (detections(r99c01f01p01={"boxes": [], "scores": []}), r"image r99c01f01p01: not an image of the"),
    "outside the image": (
        detections(**{TINY_IDS[2]: {"boxes": [[60, 60, 90, 70]], "scores": [0.5]}}),
        rf"image {TINY_IDS[2]}.boxes\[0\]: \[60.0, 60.0, 90.0, 70.0\] has a corner outside",
    ),
    "negative size": (
        detections(**{TINY_IDS[2]: {"boxes": [[20, 20, 10, 30]], "scores": [0.5]}}),
        rf"image {TINY_IDS[2]}.boxes\[0\]: .* has negative or zero size",
    ),
    "NaN score": (
        detections(**{TINY_IDS[2]: {"boxes": [[5, 5, 14, 14]], "scores": [float("nan")]}}),
        rf"image {TINY_IDS[2]}.scores\[0\]: nan is not a finite number",
    ),
    "wrong type": (
        detections(**{TINY_IDS[2]: {"boxes": "5 5 14 14", "scores": [0.5]}}),
        rf"image {TINY_IDS[2]}.boxes: must be a list of \[x1, y1, x2, y2\]",
    ),
    "lengths differ": (
        detections(**{TINY_IDS[2]: {"boxes": [[5, 5, 14, 14]], "scores": [0.5, 0.4]}}),
        rf"image {TINY_IDS[2]}: 1 boxes but 2 scores",
    ),
    "wrong width": (
        detections(**{TINY_IDS[2]: {"width": 1080, "boxes": [], "scores": []}}),
        rf"image {TINY_IDS[2]}.width: 1080, but the image's width is 64",
    ),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_every_malformed_file_is_one_clear_error(tiny, tmp_path, kind):
    content, message = BAD_FILES[kind]
    path = write(tmp_path / "bad.json", content)
    with pytest.raises(DatasetError, match=message) as caught:
        read_detections(path, {i: (64, 64) for i in TINY_IDS})
    assert str(path) in str(caught.value)


def test_an_image_given_twice_is_named(tiny, tmp_path):
    text = json.dumps(detections())
    entry = json.dumps({"boxes": [], "scores": []})
    twice = text.replace('"images": {', f'"images": {{"{TINY_IDS[0]}": {entry}, ', 1)
    with pytest.raises(DatasetError, match=rf"image {TINY_IDS[0]}: given twice; give each image once"):
        read_detections(write(tmp_path / "twice.json", twice), {i: (64, 64) for i in TINY_IDS})


def test_all_problems_come_in_one_error(tiny, tmp_path):
    bad = detections(**{TINY_IDS[0]: {"boxes": [[20, 20, 10, 30]], "scores": [float("inf")]}},
                     r99c01f01p01={"boxes": [], "scores": []})  # fmt: skip
    with pytest.raises(DatasetError, match="3 problem") as caught:
        read_detections(write(tmp_path / "bad.json", bad), {i: (64, 64) for i in TINY_IDS})
    assert "negative or zero size" in str(caught.value) and "inf is not a finite number" in str(caught.value)


def test_cli_error_is_one_line_without_a_traceback(tiny, tmp_path, capsys):
    path = write(tmp_path / "bad.json", {"images": {}})
    code = main(["score", "--results", str(tiny), "--name", "m", "--setting", "bf", "--predictions", str(path)])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err and 'no "format" field' in err


def test_cell_scores_score_as_the_cell_level(tmp_path, capsys):
    """Cell scores of the tiny crops: AUROC as sklearn's, and every crop problem named."""
    from classify.classify_helpers import build_tiny_crops

    from ctcbench.data.crops import CropCache

    crops = build_tiny_crops(tmp_path / "tiny")
    cache = CropCache.load(crops.cache("val"))
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), len(cache))
    scores = {"format": "ctcbench.cell_scores/1", "scores": dict(zip(cache.keys.tolist(), probs.tolist()))}
    path = write(tmp_path / "cells.json", scores)
    out = tmp_path / "cells.metrics.json"
    main(["score", "--name", "cells", "--setting", "bf", "--cell-scores", str(path), "--val-cache",
          str(crops.cache("val")), "--protocol", "faithful", "--out", str(out)])  # fmt: skip
    metrics = json.loads(out.read_text())
    assert metrics["auroc"] == pytest.approx(roc_auc_score(cache.labels == 0, probs[:, 0]))
    rows = {r.metric: r for r in results_of(out)}
    assert rows["auroc"].stage == "cell" and rows["auroc"].backbone == "cells"
    first = cache.keys[0]
    scores["scores"][first] = [0.5, 0.6, 0.1]
    del scores["scores"][cache.keys[1]]
    code = main(["score", "--name", "cells", "--setting", "bf", "--cell-scores", str(write(path, scores)),
                 "--val-cache", str(crops.cache("val")), "--protocol", "faithful", "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0 and "2 problem(s)" in err
    assert f"crop {first}: [0.5, 0.6, 0.1]: probabilities must lie in [0, 1] and sum to 1" in err
    assert f"crop {cache.keys[1]}: missing; score every crop of the val split" in err
