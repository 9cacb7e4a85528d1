"""`ctcbench predict` with the tiny bundles: the evaluation's own detections on the test images, every output on a
folder of freshly synthesised images, a bad file skipped and reported, and images of other sizes."""

from __future__ import annotations

import csv
import json
import shutil

import cv2
import numpy as np
import pytest
import tifffile
from apply_helpers import OMEGA, cells_of, fresh_folder, new_images

from ctcbench.apply.bundle import load_bundle
from ctcbench.apply.images import ImageInput
from ctcbench.apply.predictor import Pipeline, read_input
from ctcbench.cli import main
from ctcbench.detect.evaluate import format_detections
from ctcbench.detect.predictions import read_predictions
from ctcbench.pipeline.evaluate import fuse_and_suppress
from ctcbench.pipeline.scores import read_scores
from ctcbench.protocol import parse


def predict(bundle, out, *images, extra=()):
    return main(["predict", "--bundle", str(bundle), "--images", *map(str, images), "--out", str(out),
                 "--device", "cpu", *extra])  # fmt: skip


def summary(out) -> dict[str, dict[str, str]]:
    with open(out / "summary.csv", newline="") as handle:
        return {row["brightfield"]: row for row in csv.DictReader(handle)}


@pytest.mark.parametrize("key", [("faithful", "bf_fluo"), ("corrected", "bf")])
def test_on_the_test_images_it_finds_what_the_evaluation_scored(pipelines, layout, tmp_path, key):
    """Per test image, the boxes and S_det of the pipeline's scores file after its fusion and NMS, bit for bit; S_cls
    to float32 rounding (the evaluation scored crops of several images per batch); the calls at the threshold."""
    run = pipelines[key]
    ids = layout.read_split("test")
    assert predict(run.bundle, tmp_path, *(layout.brightfield(i) for i in ids)) == 0
    scores = read_scores(run.files.test_scores)
    gate, threshold = parse(run.protocol).fusion_gate, load_bundle(run.bundle).threshold
    for image_id in ids:
        entry = scores.images[image_id]
        keep, fused = fuse_and_suppress(entry, OMEGA, gate, 0.5)
        found = cells_of(tmp_path / "cells" / f"{image_id}.csv")
        assert len(keep) > 20
        assert np.array_equal(found["boxes"], entry.boxes[keep])
        assert np.array_equal(found["s_det"], entry.s_det[keep])
        assert np.allclose(found["s_cls"], entry.s_cls[keep], rtol=0, atol=1e-6)
        assert np.allclose(found["score"], fused, rtol=0, atol=1e-6)
        clear = np.abs(fused - threshold) > 1e-6
        assert np.array_equal(found["cancer"][clear], (fused >= threshold)[clear])
    calls = {row["image_id"]: int(row["cancer_cells"]) for row in summary(tmp_path).values()}
    assert set(calls) == set(ids) and sum(calls.values()) > 0


def folder_with_bad_files(tmp_path):
    """Two new images named <id>_bf.tiff / <id>_fl.tiff, a corrupt TIFF with its partner, and one without a partner."""
    folder = fresh_folder(tmp_path, image_size=128, seed=11, prefix="well")
    (folder / "broken_bf.tiff").write_bytes(b"II*\0" + b"\x07" * 64)
    shutil.copy(folder / "well-1_fl.tiff", folder / "broken_fl.tiff")
    shutil.copy(folder / "well-1_bf.tiff", folder / "lonely.tiff")
    return folder


def test_a_folder_of_new_images_gets_every_output_and_bad_files_are_skipped(pipelines, tmp_path):
    folder = folder_with_bad_files(tmp_path)
    out = tmp_path / "out"
    assert predict(pipelines["faithful", "bf_fluo"].bundle, out, folder) == 0
    rows = summary(out)
    assert rows[str(folder / "broken_bf.tiff")]["status"] == "skipped"
    assert "not a readable TIFF" in rows[str(folder / "broken_bf.tiff")]["reason"]
    lonely = rows[str(folder / "lonely.tiff")]
    assert lonely["reason"] == f"fluorescence partner missing: expected {folder / 'lonely_fl.tiff'}"
    ok = {row["image_id"]: row for row in rows.values() if row["status"] == "ok"}
    assert sorted(ok) == ["well-1", "well-2"]
    coco = json.loads((out / "detections.coco.json").read_text())
    assert [image["image_id"] for image in coco["images"]] == ["well-1", "well-2"]
    for number, image_id in enumerate(["well-1", "well-2"], 1):
        cells = cells_of(out / "cells" / f"{image_id}.csv")
        record = json.loads((out / "cells" / f"{image_id}.json").read_text())
        assert len(record["cells"]) == len(cells["boxes"]) == int(ok[image_id]["cells"]) > 0
        assert record["cancer_cells"] == int(cells["cancer"].sum()) == int(ok[image_id]["cancer_cells"])
        assert record["fluorescence"] == str(folder / f"{image_id}_fl.tiff")
        mine = [a for a in coco["annotations"] if a["image_id"] == number]
        assert [a["bbox"] for a in mine] == [[x1, y1, x2 - x1, y2 - y1] for x1, y1, x2, y2 in cells["boxes"].tolist()]
        assert [a["score"] for a in mine] == cells["score"].tolist()
        overlay = cv2.imread(str(out / "overlays" / f"{image_id}.png"))
        assert overlay.shape == (128, 128, 3)
        red = (overlay[..., 2] == 255) & (overlay[..., 1] == 0) & (overlay[..., 0] == 0)
        assert red.any() == bool(cells["cancer"].any())
    record = json.loads((out / "predict.json").read_text())
    assert record["images"] == 2 and len(record["skipped"]) == 2 and record["device"]["device"] == "cpu"
    assert not list(out.rglob("*.part")), "every file is written whole"


def test_a_brightfield_bundle_needs_no_fluorescence(pipelines, tmp_path):
    released = new_images(tmp_path / "synth", image_size=128, seed=12)
    (released / "fluorescence").rename(tmp_path / "elsewhere")
    out = tmp_path / "out"
    assert predict(pipelines["corrected", "bf"].bundle, out, released.parent) == 0  # a release root
    rows = summary(out).values()
    assert len(rows) == 2 and all(row["status"] == "ok" and row["fluorescence"] == "" for row in rows)


def test_images_of_other_sizes_are_tiled_or_run_whole(pipelines, tmp_path):
    folder = fresh_folder(tmp_path, image_size=300, seed=13, prefix="large")
    fresh_folder(tmp_path, image_size=96, seed=14, prefix="small", folder=folder)
    out = tmp_path / "out"
    assert predict(pipelines["corrected", "bf"].bundle, out, f"{folder}/*_bf.tiff") == 0
    rows = {r["image_id"]: r for r in summary(out).values()}
    assert sorted(rows) == ["large-1", "large-2", "small-1", "small-2"]
    for image_id, row in rows.items():
        side = 300 if image_id.startswith("large") else 96
        # 300 px in 128 px tiles overlapping by at least 16 px (an eighth): 3 x 3; 96 px is one tile, the image.
        assert (row["status"], int(row["width"]), int(row["tiles"])) == ("ok", side, 9 if side == 300 else 1)
        boxes = cells_of(out / "cells" / f"{image_id}.csv")["boxes"]
        assert len(boxes) and boxes.min() >= 0 and boxes.max() <= side and np.all(boxes[:, 2:] > boxes[:, :2])


def test_a_tile_finds_what_the_whole_image_of_its_size_gives(pipelines, layout):
    """An image made of a test image twice side by side: the tiles at either end are that image exactly (the same
    min-max), so the boxes they own are the evaluation's own detections of it, the right ones shifted."""
    run = pipelines["corrected", "bf"]
    pipeline = Pipeline(load_bundle(run.bundle), "cpu", tile_overlap=16)
    image_id = layout.read_split("test")[0]
    bf, fl = read_input(ImageInput(image_id, layout.brightfield(image_id), None), "native")
    twice, _ = pipeline.detect("twice", np.concatenate([bf, bf], axis=1), np.concatenate([fl, fl], axis=1))
    alone = read_predictions(run.files.detector.parent / "predictions.json").images[image_id]
    centre = (alone.boxes[:, 0] + alone.boxes[:, 2]) / 2
    left = twice.boxes[:, 0] + twice.boxes[:, 2] < 2 * 96  # tiles start at 0, 64, 128: cores split at 96 and 160
    right = twice.boxes[:, 0] + twice.boxes[:, 2] >= 2 * 160
    assert left.sum() > 10 and right.sum() > 10
    assert np.array_equal(twice.boxes[left], alone.boxes[centre < 96])
    assert np.array_equal(twice.scores[left], alone.scores[centre < 96])
    # Rounded to 1/1000 pixel after the shift, as predictions.json rounds them: equal to that rounding.
    assert np.allclose(twice.boxes[right], alone.boxes[centre >= 32] + [128, 0, 128, 0], rtol=0, atol=1.01e-3)
    assert np.array_equal(twice.scores[right], alone.scores[centre >= 32])
    assert (twice.width, twice.height) == (256, 128)
    assert len(format_detections(twice.boxes, twice.scores, 256, 128, 0.5)[0]) > 0


def test_a_missing_partner_listed_in_a_pairs_file_is_skipped(pipelines, layout, tmp_path):
    ids = layout.read_split("test")[:2]
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "id,brightfield,fluorescence\n"
        f"first,{layout.brightfield(ids[0])},{layout.fluorescence(ids[0])}\n"
        f"second,{layout.brightfield(ids[1])},\n"
    )
    out = tmp_path / "out"
    assert main(["predict", "--bundle", str(pipelines["faithful", "bf_fluo"].bundle), "--pairs", str(pairs),
                 "--out", str(out), "--device", "cpu", "--no-overlays"]) == 0  # fmt: skip
    rows = {row["image_id"]: row for row in summary(out).values()}
    assert rows["first"]["status"] == "ok" and rows["second"]["status"] == "skipped"
    assert rows["second"]["reason"].startswith("fluorescence partner missing")
    assert not (out / "overlays").exists() and (out / "cells" / "first.json").is_file()


def test_nothing_usable_is_an_error_after_the_summary(pipelines, tmp_path, capsys):
    broken = tmp_path / "broken.tiff"
    tifffile.imwrite(broken, np.zeros((8, 8, 4), np.uint8), photometric="rgb")  # RGBA: neither gray nor RGB
    out = tmp_path / "out"
    assert predict(pipelines["corrected", "bf"].bundle, out, broken) == 1
    assert "no image could be used" in capsys.readouterr().err
    assert "channels" in summary(out)[str(broken)]["reason"]
