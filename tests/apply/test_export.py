"""`ctcbench export`: a tiny trained pipeline packed into a bundle, its threshold, its model card, and the checks a
bundle passes when it is loaded (checksums, format, library versions)."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
import yaml
from apply_helpers import OMEGA, export_args

from ctcbench.apply.bundle import CHECKSUMS, FORMAT, load_bundle, version_warnings
from ctcbench.cli import main
from ctcbench.detect.evaluate import ground_truth, score_images
from ctcbench.errors import DatasetError
from ctcbench.pipeline.evaluate import fused_detections
from ctcbench.pipeline.scores import read_scores
from ctcbench.protocol import parse
from ctcbench.provenance import versions

BUNDLE_FILES = {"bundle.json", "model.yaml", "detector.pth", "classifier.pt", "metrics.json", CHECKSUMS}


def manifest_of(bundle):
    return json.loads((bundle / "bundle.json").read_text())


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_a_bundle_holds_the_pipelines_files_with_their_checksums(pipelines):
    for run in pipelines.values():
        files = {path.name for path in run.bundle.iterdir()}
        assert files == BUNDLE_FILES
        for name, source in (("detector.pth", run.files.detector), ("classifier.pt", run.files.classifier),
                             ("metrics.json", run.files.metrics)):  # fmt: skip
            assert (run.bundle / name).read_bytes() == source.read_bytes()
        listed = dict(line.split("  ")[::-1] for line in (run.bundle / CHECKSUMS).read_text().splitlines())
        assert set(listed) == BUNDLE_FILES - {CHECKSUMS}
        for name, digest in listed.items():
            assert hashlib.sha256((run.bundle / name).read_bytes()).hexdigest() == digest
        assert [p.name for p in run.bundle.parent.iterdir()] == ["omega0.7"], "no temporary folder is left beside it"
        bundle = load_bundle(run.bundle)
        assert bundle.warnings == () and bundle.name == f"faster_rcnn/{run.setting}/all/seed0/omega0.7"


def test_the_manifest_states_how_inputs_are_read_and_fused(pipelines):
    faithful = manifest_of(pipelines["faithful", "bf_fluo"].bundle)
    assert (faithful["protocol"], faithful["setting"], faithful["omega"]) == ("faithful", "bf_fluo", OMEGA)
    assert (faithful["fusion_gate"], faithful["nms_before_classification"], faithful["nms_iou"]) == (0.1, True, 0.5)
    inputs = faithful["input"]
    assert inputs["files"] == ["brightfield", "fluorescence"]
    assert (inputs["image_read"], inputs["detector_scaling"]) == ("opencv", "uint8")
    assert inputs["channels"][3:] == ["Hoechst", "green (normal stain)", "red (cancer stain)"]
    assert inputs["training_image"] == {"width": 128, "height": 128, "brightfield": {"dtype": "uint16", "channels": 1},
                                        "fluorescence": {"dtype": "uint16", "channels": 3}}  # fmt: skip
    corrected = manifest_of(pipelines["corrected", "bf"].bundle)
    assert corrected["input"]["files"] == ["brightfield"] and corrected["input"]["image_read"] == "native"
    assert corrected["fusion_gate"] is None and corrected["nms_before_classification"] is False
    assert all(v is not None for v in (corrected["versions"]["torch"], corrected["versions"]["mmdet"]))


def test_a_heldout_protocol_bundles_the_evaluations_own_threshold(pipelines):
    run = pipelines["corrected", "bf"]
    metrics = json.loads(run.files.metrics.read_text())
    threshold = manifest_of(run.bundle)["threshold"]
    assert threshold["value"] == metrics["val"]["score_at_best_f1"] == metrics["heldout"]["threshold"]
    assert threshold["test"] == metrics["heldout"] and threshold["chosen_on"] == "val"


def test_without_a_heldout_threshold_export_chooses_the_best_f1_on_val(pipelines, layout):
    """Faithful reports only the oracle F1 of test; the bundle's threshold is the val score of the best val F1."""
    run = pipelines["faithful", "bf_fluo"]
    assert "heldout" not in json.loads(run.files.metrics.read_text())
    protocol = parse("faithful")
    val = read_scores(run.files.val_scores)
    ids = layout.read_split("val")
    detections = fused_detections(val, ids, OMEGA, protocol.fusion_gate, 0.5)
    truth = ground_truth(layout, "val", ids)
    threshold = manifest_of(run.bundle)["threshold"]
    candidates = np.unique(np.concatenate([scores for _, scores in detections.values()]))
    f1 = {t: score_images(detections, truth, protocol, float(t))["heldout"]["f1"] for t in candidates}
    assert len(candidates) > 10 and threshold["value"] in f1
    assert f1[threshold["value"]] == max(f1.values()) == threshold["val"]["best_f1"] > 0


def test_the_model_card_gives_the_test_metrics_beside_the_papers_and_the_limits(pipelines):
    run = pipelines["faithful", "bf_fluo"]
    card = yaml.safe_load((run.bundle / "model.yaml").read_text())
    metrics = json.loads(run.files.metrics.read_text())
    tested = card["test_metrics"]
    # Table 4, Faster R-CNN, Brightfield + Fluorescence, full pipeline at omega 0.7: AP50 89.2 +- 0.3, F1 87.8 +- 0.1.
    assert tested["ap50"] == f"{100 * metrics['ap50']:.1f} % (paper: 89.2 ± 0.3 %)"
    assert tested["best_f1"].startswith(f"{100 * metrics['best_f1']:.1f} % (paper: 87.8 ± 0.1 %)")
    assert set(tested["per_patient"]) == {"r06", "r07", "r08"}
    assert "synthetic twin" in card["trained_on"]["data"] and "seed 0" in card["trained_on"]["classifier"]
    assert "Not for clinical use" in card["intended_use"]
    limits = " ".join(card["limitations"])
    assert "one microscope" in limits and "128 x 128" in limits and "uint16" in limits
    assert card["pipeline"]["cancer_call"] == f"fused score >= {manifest_of(run.bundle)['threshold']['value']:.4f}"


def test_a_changed_file_is_named(pipelines, tmp_path, capsys):
    original = pipelines["corrected", "bf"].bundle
    bundle = shutil.copytree(original, tmp_path / "bundle")
    with open(bundle / "classifier.pt", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(DatasetError, match=r"classifier\.pt: SHA-256 .* differs from .* in checksums\.sha256"):
        load_bundle(bundle)
    out = tmp_path / "predicted"
    assert main(["predict", "--bundle", str(bundle), "--images", str(tmp_path), "--out", str(out)]) == 1
    assert f"{bundle / 'classifier.pt'}: SHA-256" in one_line_error(capsys) and not out.exists()
    shutil.copy(original / "classifier.pt", bundle / "classifier.pt")
    (bundle / "metrics.json").unlink()
    with pytest.raises(DatasetError, match=r"metrics\.json: missing from the bundle"):
        load_bundle(bundle)


def rewrite_manifest(bundle, **changes):
    """Change bundle.json and list its new checksum, as a bundle of another version would be."""
    manifest = {**manifest_of(bundle), **changes}
    (bundle / "bundle.json").write_text(json.dumps(manifest))
    digest = hashlib.sha256((bundle / "bundle.json").read_bytes()).hexdigest()
    lines = [line for line in (bundle / CHECKSUMS).read_text().splitlines() if not line.endswith("  bundle.json")]
    (bundle / CHECKSUMS).write_text("\n".join([*lines, f"{digest}  bundle.json"]) + "\n")


def test_another_minor_version_of_a_library_is_a_warning(pipelines, tmp_path, caplog):
    bundle = shutil.copytree(pipelines["corrected", "bf"].bundle, tmp_path / "bundle")
    installed = versions()
    rewrite_manifest(bundle, versions={**installed, "torch": "1.13.1", "mmdet": installed["mmdet"] + ".post1"})
    loaded = load_bundle(bundle)
    assert loaded.warnings == (
        f"torch {installed['torch']} is installed, the bundle was exported with 1.13.1: its outputs may differ from "
        "the test metrics it records",
    )
    assert loaded.warnings[0] in caplog.text


def test_version_warnings_compare_minor_versions():
    assert version_warnings({"timm": "1.0.31"}, {"timm": "1.0.9"}) == []
    assert version_warnings({"timm": "1.0.31", "numpy": "1.0"}, {"timm": "1.1.0", "numpy": "2.0"}) == [
        "timm 1.1.0 is installed, the bundle was exported with 1.0.31: its outputs may differ from the test metrics "
        "it records"
    ]  # numpy is not one of the checked libraries
    assert version_warnings({"mmdet": "3.3.0"}, {"mmdet": None})[0].startswith("mmdet is not installed")


def test_another_bundle_format_is_refused(pipelines, tmp_path):
    bundle = shutil.copytree(pipelines["corrected", "bf"].bundle, tmp_path / "bundle")
    rewrite_manifest(bundle, format="ctcbench.bundle/0")
    with pytest.raises(DatasetError, match=rf"format 'ctcbench.bundle/0', expected {FORMAT}; export the bundle again"):
        load_bundle(bundle)


def test_export_refuses_scores_of_another_classifier(pipelines, tmp_path, capsys):
    files = pipelines["corrected", "bf"].files
    other = pipelines["faithful", "bf_fluo"].files
    out = tmp_path / "bundle"
    mixed = files.__class__(**{**vars(files), "classifier": other.classifier})
    assert main(export_args(mixed, out)) == 1
    err = one_line_error(capsys)
    assert f"{files.test_scores}: made with another classifier than {other.classifier}" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_export_replaces_a_bundle_whole(pipelines, tmp_path):
    files = pipelines["corrected", "bf"].files
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier export")
    assert main(export_args(files, out)) == 0
    assert {p.name for p in out.iterdir()} == BUNDLE_FILES and [p.name for p in tmp_path.iterdir()] == ["bundle"]
