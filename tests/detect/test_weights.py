"""Pretrained weights are explicit, checksummed inputs; a missing one is reported in one line with the fix."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest
from detect_helpers import ROOT

from ctcbench.detect.weights import expected_digest, missing_message, stage
from ctcbench.errors import ConfigError, DownloadError


def weight_file(path, payload=b"pretend weights"):
    digest = hashlib.sha256(payload).hexdigest()
    named = path.with_name(f"{path.stem}-{digest[:8]}.pth")
    named.write_bytes(payload)
    return named, digest


def test_stage_copies_a_local_source_and_checks_the_name_prefix(tmp_path):
    source, digest = weight_file(tmp_path / "resnet50")
    out = tmp_path / "resources" / "weights" / source.name
    entry = {"file": str(out), "source": str(source), "url": None, "sha256": None}
    assert stage(entry, "imagenet_pytorch", out) == digest
    assert out.read_bytes() == source.read_bytes()


def test_a_full_sha256_overrides_the_name_prefix(tmp_path):
    source, digest = weight_file(tmp_path / "w")
    out = tmp_path / "out.pth"
    assert stage({"file": str(out), "source": str(source), "sha256": digest}, "coco_dino", out) == digest
    with pytest.raises(DownloadError, match="does not match"):
        stage({"file": str(out), "source": str(source), "sha256": "0" * 64}, "coco_dino", tmp_path / "x.pth")
    assert not (tmp_path / "x.pth").exists(), "a file that fails verification is not left behind"


def test_a_file_name_without_hash_needs_a_sha256():
    with pytest.raises(ConfigError, match="sha256"):
        expected_digest({"file": "resources/weights/model.pth"}, "coco_dino")


def test_missing_coco_dino_says_where_to_put_it(tmp_path):
    out = tmp_path / "dino-4scale_r50_8xb2-12e_coco_20221202_182705-55b2bba2.pth"
    entry = {"file": str(out), "url": None, "source": None, "sha256": None}
    with pytest.raises(DownloadError) as error:
        stage(entry, "coco_dino", out)
    message = str(error.value)
    assert str(out) in message and "detect.weights.coco_dino.source" in message and "\n" not in message
    assert "download https://x/y.pth" in missing_message(out, {**entry, "url": "https://x/y.pth"}, "coco_dino")


def test_the_cli_reports_a_missing_weight_in_one_line(tmp_path):
    out = tmp_path / "dino-4scale_r50_8xb2-12e_coco_20221202_182705-55b2bba2.pth"
    done = subprocess.run(
        [sys.executable, "-m", "ctcbench", "detect-weights", "--key", "coco_dino", "--out", str(out)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "workflow"), "PATH": ""},
        timeout=120,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ctcbench detect-weights: error: ") and str(out) in lines[0]
