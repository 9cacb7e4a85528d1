"""The detector grid as planned from config.yaml: 27 main runs and 9 per-patient runs by default, run specs as
plain data, and `snakemake -n` listing exactly those training jobs."""

from __future__ import annotations

from collections import Counter

import pytest
from snakemake_helpers import job_counts
from snakemake_helpers import plan as dry_run

from ctcbench.detect.spec import RunSpec, run_spec
from ctcbench.errors import ConfigError
from ctcbench.plan import plan
from ctcbench.plan.weights import needed_weights, weights_inputs, weights_options


def test_default_grid_has_27_main_and_9_patient_runs(paper_config):
    runs = list(plan(paper_config).detectors)
    assert len(runs) == 36 and len(set(runs)) == 36
    trainsets = Counter(run.trainset for run in runs)
    assert trainsets == {"all": 27, "patient-r06": 3, "patient-r07": 3, "patient-r08": 3}
    assert {(run.detector, run.setting) for run in runs if run.trainset != "all"} == {("faster_rcnn", "bf_hoechst")}
    assert {run.image_list for run in runs} == {"train", "train-r06", "train-r07", "train-r08"}


def test_spec_round_trips_and_ignores_other_detectors(paper_config):
    spec = run_spec(paper_config, "fcos", "bf_fluo", "all", "1")
    assert RunSpec.from_json(spec.to_json()) == spec
    assert spec.seed == 1 and spec.in_channels == 6 and "dino" not in spec.detect and "weights" not in spec.detect
    dino = {**paper_config["detect"]["dino"], "lr": 1}
    changed = {**paper_config, "detect": {**paper_config["detect"], "dino": dino}}
    assert run_spec(changed, "fcos", "bf_fluo", "all", 1).digest() == spec.digest()


def test_weights_per_detector(paper_config, demo_config):
    files = {key: entry["file"] for key, entry in paper_config["detect"]["weights"].items()}
    assert weights_inputs(paper_config, "faster_rcnn") == [files["imagenet_pytorch"]]
    assert weights_inputs(paper_config, "fcos") == [files["imagenet_caffe"]]
    assert weights_inputs(paper_config, "dino") == [files["coco_dino"]]
    assert set(needed_weights(paper_config)) == set(files.values())
    assert weights_options(paper_config, files["coco_dino"]) == "--key coco_dino"
    assert "--url https://download.pytorch.org/" in weights_options(paper_config, files["imagenet_pytorch"])
    assert weights_inputs(demo_config, "dino") == [] and needed_weights(demo_config) == {}


@pytest.mark.parametrize("preset,trainings", [("paper", 36), ("demo", 12)])
def test_dry_run_lists_every_detector_training_job(tmp_path, preset, trainings):
    done = dry_run(tmp_path, f"preset={preset}")
    assert done.returncode == 0, done.stderr[-3000:]
    counts = job_counts(done.stdout)
    if "detect_train" not in counts:
        pytest.skip("the Snakefile does not include workflow/rules/detect.smk yet")
    assert counts["detect_train"] == trainings
    # + the val images of Table 4's first detector in the defect effects' settings (paper: 3, demo: Brightfield),
    # where the variant faithful-image_threshold chooses its threshold (plan.defects)
    assert counts["detect_predict"] == trainings + (3 if preset == "paper" else 1)
    assert counts["detect_evaluate"] == trainings
    assert counts.get("detect_weights", 0) == (3 if preset == "paper" else 0)
    assert f"results/{preset}/detect/faster_rcnn/bf_hoechst/patient-r08/seed0/metrics.json" in done.stdout


@pytest.mark.parametrize("checkpoint", ["final", "best_val"])
def test_a_detector_reads_the_val_list_exactly_when_it_keeps_its_best_val_epoch(tmp_path, checkpoint):
    protocol = f"protocol=faithful,detector_checkpoint={checkpoint}"
    done = dry_run(tmp_path, "preset=demo", protocol, options=("--printshellcmds", "--until", "detect_train"))
    assert done.returncode == 0, done.stderr[-3000:]
    commands = [line for line in done.stdout.splitlines() if "ctcbench detect-train" in line]
    assert len(commands) == 12
    with_val = [line for line in commands if "--val-list results/demo/splits/images/val.txt" in line]
    assert len(with_val) == (12 if checkpoint == "best_val" else 0)


def test_pretrained_weights_need_the_resnet50_shape(paper_config):
    config = {**paper_config, "detect": {**paper_config["detect"], "backbone_depth": 18}}
    with pytest.raises(ConfigError, match="ResNet-50"):
        run_spec(config, "faster_rcnn", "bf", "all", 0)
    config["detect"]["pretrained"] = False
    assert run_spec(config, "faster_rcnn", "bf", "all", 0).weights_key is None
