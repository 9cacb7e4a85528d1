"""The classical nucleus detector: boxes around drawn nuclei and none on empty images, what each parameter of the config
does, refused parameters, and predictions.json through the commands on the tiny twin, scored as the trained detectors
are and read back as rows of its own in the results table."""

from __future__ import annotations

import json

import numpy as np
import pytest
from detect_helpers import ROOT
from scipy.ndimage import gaussian_filter

from ctcbench.cli import main
from ctcbench.config import load
from ctcbench.data.pointer import read_pointer
from ctcbench.detect.evaluate import detection_stage_metrics
from ctcbench.detect.nucleus import NucleusParams, detect_nuclei
from ctcbench.detect.predictions import read_predictions
from ctcbench.errors import ConfigError
from ctcbench.protocol import CORRECTED, FAITHFUL
from ctcbench.report.results import CLASSICAL, DETECTION, Results

SIZE = 200
# (centre x, centre y, radius, brightness above the background): nuclei of the release's size (radius about 10 px),
# each its own brightness.
NUCLEI = ((50, 60, 10, 3000), (150, 50, 8, 1500), (100, 150, 9, 2200))


def paper_params(**changes) -> NucleusParams:
    """The config's parameters (sized for the release's 1080 x 1080 images) with `changes`."""
    block = load(ROOT / "config.yaml")["detect"]["nucleus"]
    return NucleusParams.from_dict({**block, **changes})


def draw(nuclei=NUCLEI, noise=20.0, size=SIZE, seed=0) -> np.ndarray:
    """A 16-bit Hoechst image: discs blurred as by the optics, on an offset with camera noise."""
    y, x = np.mgrid[:size, :size] + 0.5
    image = np.zeros((size, size))
    for cx, cy, radius, level in nuclei:
        image += level * (np.hypot(x - cx, y - cy) < radius)
    image = gaussian_filter(image, 2.0) + 300 + np.random.default_rng(seed).normal(0, noise, image.shape)
    return np.clip(np.rint(image), 0, 65535).astype(np.uint16)


def iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h)


def tight(nucleus) -> tuple[int, ...]:
    cx, cy, radius, _ = nucleus
    return cx - radius, cy - radius, cx + radius, cy + radius


def best_iou(boxes: np.ndarray, nucleus) -> float:
    return max((iou(box, tight(nucleus)) for box in boxes), default=0.0)


def test_every_drawn_nucleus_gets_its_box_and_the_brighter_ranks_first():
    boxes, scores = detect_nuclei(draw(), paper_params(box_scale=1.0))
    assert len(boxes) == len(NUCLEI)
    assert [best_iou(boxes, nucleus) > 0.5 for nucleus in NUCLEI] == [True] * len(NUCLEI)
    assert np.all(np.diff(scores) < 0) and 0 < scores.min() and scores.max() < 1
    # Ranked by brightness: 3000, 2200, 1500 above the background.
    assert [max(range(3), key=lambda i: iou(box, tight(NUCLEI[i]))) for box in boxes] == [0, 2, 1]
    # The score is the mean inside the nucleus as a fraction of 16 bits: the brightest is about 300 + 3000.
    assert 2000 / 65535 < scores[0] < 3400 / 65535


@pytest.mark.parametrize(
    "image",
    [np.zeros((SIZE, SIZE), np.uint16), np.full((SIZE, SIZE), 700, np.uint16), draw(()), draw((), noise=2.0),
     (draw((), noise=2.0) // 257).astype(np.uint8)],
    ids=["black", "flat", "noise", "faint noise", "8-bit noise"],
)  # fmt: skip
def test_nothing_is_found_on_an_image_without_nuclei(image):
    boxes, scores = detect_nuclei(image, paper_params())
    assert boxes.shape == (0, 4) and scores.shape == (0,)


def test_without_the_contrast_gate_the_binarised_noise_becomes_boxes():
    assert len(detect_nuclei(draw(()), paper_params(min_contrast=0.0))[0]) > 0


def test_box_scale_grows_each_box_about_its_centre():
    ones = detect_nuclei(draw(), paper_params(box_scale=1.0))[0]
    grown = detect_nuclei(draw(), paper_params(box_scale=1.7))[0]
    centre = lambda b: ((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)  # noqa: E731
    assert np.allclose(centre(ones), centre(grown))
    assert np.allclose(grown[:, 2] - grown[:, 0], 1.7 * (ones[:, 2] - ones[:, 0]))
    # Clipped to the image: a nucleus at the edge keeps its box inside.
    edge = detect_nuclei(draw(((5, 100, 9, 3000),)), paper_params(box_scale=3.0))[0]
    assert len(edge) == 1 and edge[0, 0] == 0.0 and edge[0, 2] <= SIZE


def test_min_area_drops_the_smaller_nuclei():
    small, large = (50, 60, 7, 3000), (150, 150, 10, 3000)  # regions of about 190 and 400 pixels
    assert len(detect_nuclei(draw((small, large)), paper_params(min_area=100))[0]) == 2
    (box,) = detect_nuclei(draw((small, large)), paper_params(min_area=300, box_scale=1.0))[0]
    assert iou(box, tight(large)) > 0.5


def test_a_fixed_threshold_above_every_edge_finds_nothing_and_a_low_one_finds_the_nuclei():
    assert len(detect_nuclei(draw(), paper_params(threshold=255))[0]) == 0
    assert len(detect_nuclei(draw(), paper_params(threshold=40))[0]) == len(NUCLEI)


def test_a_nucleus_wider_than_the_closing_needs_the_isotropic_gradient_and_the_filling():
    """|x - y| leaves a large nucleus' outline open where the two gradients cancel (its diagonal): the closing cannot
    join it and the erosions remove it. The gradient magnitude draws a closed ring, which the filling makes a disc."""
    wide = (100, 100, 16, 2500)
    assert len(detect_nuclei(draw((wide,)), paper_params())[0]) == 0
    assert len(detect_nuclei(draw((wide,)), paper_params(gradient="magnitude", fill_holes=False))[0]) == 0
    (box,) = detect_nuclei(draw((wide,)), paper_params(gradient="magnitude", box_scale=1.0))[0]
    assert iou(box, tight(wide)) > 0.5


def test_more_erosions_remove_more():
    few = len(detect_nuclei(draw(), paper_params(iterations=0, min_area=0, min_contrast=0.0))[0])
    many = len(detect_nuclei(draw(), paper_params(iterations=12, min_area=0, min_contrast=0.0))[0])
    assert few >= len(NUCLEI) and many < len(NUCLEI)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"blur": 4}, "detect.nucleus.blur = 4: an odd kernel side"),
        ({"gradient": "sobel"}, "detect.nucleus.gradient = 'sobel': one of x_minus_y, magnitude"),
        ({"threshold": 300}, "detect.nucleus.threshold = 300: otsu or a level from 0 to 255"),
        ({"close_kernel": [3]}, "detect.nucleus.close_kernel = (3,): [width, height]"),
        ({"min_contrast": 2}, "detect.nucleus.min_contrast = 2: a fraction from 0 to 1"),
        ({"box_scale": 0}, "detect.nucleus.box_scale = 0: a factor > 0"),
        ({"radius": 3}, "detect.nucleus: unknown key 'radius'"),
    ],
)
def test_bad_parameters_are_refused_naming_the_key(change, message):
    block = {**load(ROOT / "config.yaml")["detect"]["nucleus"], **change}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        NucleusParams.from_dict(block)


def test_the_config_refuses_an_even_blur_in_one_line():
    with pytest.raises(ConfigError, match=r"config.yaml: detect.nucleus.blur = 4: an odd kernel side"):
        load(ROOT / "config.yaml", {"detect": {"nucleus": {"blur": 4}}})


def test_the_parameters_round_trip_through_json_and_their_digest_follows_them():
    params = paper_params()
    assert NucleusParams.from_json(params.to_json()) == params
    assert paper_params(blur=7).digest() != params.digest() == paper_params().digest()


# -- Through the commands, on the tiny twin. ---------------------------------------------------------------------------
def demo_params(demo_config, **changes) -> str:
    return NucleusParams.from_dict({**demo_config["detect"]["nucleus"], **changes}).to_json()


def predict(twin, split, out, params, reader="opencv"):
    layout = read_pointer(twin).layout
    argv = ["nucleus-predict", "--dataset", str(twin), "--image-list", str(layout.split_file(split)),
            "--reader", reader, "--params", params, "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    return read_predictions(out)


def evaluate_options(twin, test, val, out) -> list[str]:
    """The evaluation's options under the corrected protocol, whose held-out threshold reads the val predictions."""
    layout = read_pointer(twin).layout
    return ["--dataset", str(twin), "--image-list", str(layout.split_file("test")), "--predictions", str(test),
            "--protocol", "corrected", "--val-predictions", str(val), "--val-list", str(layout.split_file("val")),
            "--out", str(out)]  # fmt: skip


@pytest.mark.parametrize("reader", ["opencv", "native"])
def test_the_command_writes_every_listed_image_in_the_detectors_format(twin, demo_config, tmp_path, reader):
    layout = read_pointer(twin).layout
    predictions = predict(twin, "test", tmp_path / "predictions.json", demo_params(demo_config), reader)
    assert list(predictions.images) == layout.read_split("test")
    assert predictions.meta["run"] == "classical/nucleus" and predictions.meta["image_read"] == reader
    assert predictions.meta["box_convention"].startswith("x1 y1 x2 y2")
    assert sum(len(entry.scores) for entry in predictions.images.values()) > 0
    for entry in predictions.images.values():
        assert (entry.width, entry.height) == (160, 160) and entry.boxes.shape == (len(entry.scores), 4)
        assert np.all(np.diff(entry.scores) <= 0) and np.all((entry.scores > 0) & (entry.scores < 1))
        assert np.all(entry.boxes >= 0) and np.all(entry.boxes <= 160)
        assert np.all(entry.boxes[:, 2:] > entry.boxes[:, :2])
    metrics = detection_stage_metrics(predictions, layout, layout.read_split("test"), "Unioned", FAITHFUL)
    assert 0 < metrics["ap50"] <= 1 and set(metrics["per_patient"]) == {"r06", "r07", "r08"}


def test_an_image_without_nuclei_keeps_its_empty_entry(twin, demo_config, tmp_path):
    predictions = predict(twin, "test", tmp_path / "none.json", demo_params(demo_config, threshold=255))
    raw = json.loads((tmp_path / "none.json").read_text())["images"]
    assert list(raw) == list(predictions.images) and all(e["boxes"] == [] == e["scores"] for e in raw.values())
    layout = read_pointer(twin).layout
    metrics = detection_stage_metrics(predictions, layout, layout.read_split("test"), "Unioned", CORRECTED)
    assert metrics["ap50"] == 0 and metrics["n_ground_truth"] > 0


def test_the_evaluation_is_the_detectors_and_its_rows_are_its_own(twin, demo_config, tmp_path):
    """nucleus-evaluate writes what detect-evaluate writes for the same files (the held-out threshold included:
    val and test predictions of the same parameters go together); the results table files it as stage `classical`,
    without setting, training set or seed of a trained run."""
    params = demo_params(demo_config)
    test, val = tmp_path / "predictions.json", tmp_path / "predictions-val.json"
    predict(twin, "test", test, params)
    predict(twin, "val", val, params)
    assert main(["nucleus-evaluate", *evaluate_options(twin, test, val, tmp_path / "metrics.json")]) == 0
    assert main(["detect-evaluate", *evaluate_options(twin, test, val, tmp_path / "detect.json")]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    detect = json.loads((tmp_path / "detect.json").read_text())
    assert metrics == {**detect, "per_image": "per_image.npz"}  # each names the per-image record beside it
    assert metrics["run"] == "classical/nucleus" and "heldout" in metrics

    rows = Results.load([tmp_path / "metrics.json"])
    assert rows.select(stage=DETECTION) == []
    ap50 = rows.select(stage=CLASSICAL, subset="all", metric="ap50")
    assert [(r.detector, r.setting, r.trainset, r.trainset_kind, r.seed) for r in ap50] == [("nucleus", "", "", "", 0)]
    assert ap50[0].value == metrics["ap50"] and rows.has(stage=CLASSICAL, metric="f1_heldout")


def test_val_predictions_of_other_parameters_are_refused(twin, demo_config, tmp_path):
    predict(twin, "test", tmp_path / "test.json", demo_params(demo_config))
    predict(twin, "val", tmp_path / "val.json", demo_params(demo_config, blur=5))
    options = evaluate_options(twin, tmp_path / "test.json", tmp_path / "val.json", tmp_path / "m.json")
    assert main(["nucleus-evaluate", *options]) == 1 and not (tmp_path / "m.json").exists()


def test_bad_params_on_the_command_line_stop_with_the_key(twin, tmp_path, capsys):
    layout = read_pointer(twin).layout
    argv = ["nucleus-predict", "--dataset", str(twin), "--image-list", str(layout.split_file("test")),
            "--reader", "opencv", "--params", '{"blur": 3}', "--out", str(tmp_path / "p.json")]  # fmt: skip
    assert main(argv) == 1
    assert "no gradient" in capsys.readouterr().err and not (tmp_path / "p.json").exists()
