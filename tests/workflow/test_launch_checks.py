"""Checks before the first job: the SLURM profile on a machine without SLURM, and a GPU-sized grid on a machine
without a GPU, stop in seconds with one line."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pointer_helpers import staged_dataset_root

from ctcbench.launch_checks import (
    gpu_jobs_without_gpu,
    has_gpu,
    missing_commands,
    unknown_backbones,
    unstageable_weights,
)

ROOT = Path(__file__).resolve().parents[2]
# What Snakemake itself calls on the way to the first submission; nothing of SLURM.
BASE_COMMANDS = ("bash", "sh", "env", "uname", "git", "which")


def fake_commands(folder: Path, names) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = folder / name
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o755)
    return folder


def test_missing_slurm_commands_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(fake_commands(tmp_path / "bin", ["sbatch"])))
    assert missing_commands("slurm").startswith("the slurm executor needs squeue, scancel, which are not on PATH")
    monkeypatch.setenv("PATH", str(fake_commands(tmp_path / "bin", ["squeue", "scancel"])))
    assert missing_commands("slurm") is None
    assert missing_commands("local") is None and missing_commands(None) is None


def start(directory: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """A real (not dry) run: the checks run in Snakemake's onstart, after planning and before the first job."""
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(directory),
        "--configfile", str(ROOT / "config.yaml"), "--cores", "2", *args,
    ]  # fmt: skip
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def one_line(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode == 1, result.stderr[-2000:]
    return [line for line in result.stderr.splitlines() if line.startswith("ctcbench:")]


def test_slurm_profile_without_slurm_stops_at_once(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in BASE_COMMANDS:
        found = shutil.which(name)
        if found:
            (bin_dir / name).symlink_to(found)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{bin_dir}"}
    profile = str(ROOT / "workflow" / "profiles" / "slurm")
    result = start(tmp_path, "--workflow-profile", profile, "--jobs", "2", "--config", "preset=demo", env=env)
    assert one_line(result) == [
        "ctcbench: the slurm executor needs sbatch, squeue, scancel, which are not on PATH on this machine; run on "
        "a slurm login node, or drop the profile (--workflow-profile) to run the workflow locally"
    ]
    assert "No SLURM account given" not in result.stderr
    assert not (tmp_path / "results").exists()  # nothing submitted, nothing stamped
    assert not any((tmp_path / ".snakemake" / "locks").glob("*"))


def test_gpu_jobs_are_refused_only_locally_without_a_gpu_and_without_the_switch():
    assert "3 jobs ask for a GPU" in gpu_jobs_without_gpu(3, "local", allowed=False, gpu_present=False)
    assert gpu_jobs_without_gpu(3, None, allowed=False, gpu_present=False).startswith("3 jobs")
    assert gpu_jobs_without_gpu(0, "local", allowed=False, gpu_present=False) is None
    assert gpu_jobs_without_gpu(3, "local", allowed=True, gpu_present=False) is None
    assert gpu_jobs_without_gpu(3, "local", allowed=False, gpu_present=True) is None
    assert gpu_jobs_without_gpu(3, "slurm", allowed=False, gpu_present=False) is None  # the nodes have the GPUs


def test_touch_runs_no_check(tmp_path):
    """`--touch` marks outputs up to date and runs no job: the paper grid on a CPU machine is not refused."""
    result = start(tmp_path, "--touch", "--config", "dataset={source: synth}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not [line for line in result.stderr.splitlines() if line.startswith("ctcbench:")], result.stderr[-2000:]


def test_gpu_detection_follows_the_driver_files_and_cuda_visible_devices(tmp_path, monkeypatch):
    driver = tmp_path / "nvidiactl"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert not has_gpu((str(driver),))
    driver.touch()
    assert has_gpu((str(driver),))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert not has_gpu((str(driver),))


@pytest.mark.skipif(has_gpu(), reason="this machine has a GPU: the paper grid may run here")
def test_paper_grid_on_a_machine_without_gpu_is_refused_before_any_job(tmp_path):
    result = start(tmp_path, "--config", "dataset={source: synth}")
    gpu, dino = one_line(result)  # every problem at once: the GPU, and the DINO checkpoint nothing can stage
    assert "jobs ask for a GPU (resources gpu > 0) but this machine has none" in gpu
    assert "allow_cpu_training=true" in gpu
    assert "detect.weights.coco_dino are not staged" in dino
    assert not (tmp_path / "results").exists()


def test_weights_nothing_can_stage_are_named(tmp_path):
    from ctcbench.config import load
    from ctcbench.plan.weights import needed_weights

    config = load(ROOT / "config.yaml")
    files = needed_weights(config)
    dino = next(path for path, key in files.items() if key == "coco_dino")
    [problem] = unstageable_weights(config, files)  # the ImageNet files have URLs; DINO's is dead
    assert problem.startswith(f"{dino}: pretrained weights for detect.weights.coco_dino are not staged and it has ")
    config["detect"]["weights"]["coco_dino"]["source"] = str(tmp_path / "missing.pth")
    assert unstageable_weights(config, [dino]) == [
        f"detect.weights.coco_dino.source = {tmp_path / 'missing.pth'}: no such file (nor an http(s) URL); fix the path"
    ]
    (tmp_path / "missing.pth").write_bytes(b"weights")
    assert unstageable_weights(config, [dino]) == []


def test_unknown_timm_names_and_tags_are_named():
    from ctcbench.config import load

    config = load(ROOT / "config.yaml", {"protocol": "corrected"})  # timm's networks
    backbones = config["classify"]["backbones"]
    backbones["resnet50"]["timm"] = "resnett50.tv_in1k"
    backbones["convnext_b"]["timm"] = "convnext_base.fb_in1kk"
    problems = unknown_backbones(config, ["resnet50", "convnext_b", "swin_b"])
    assert problems == [
        "classify.backbones.convnext_b.timm = 'convnext_base.fb_in1kk': timm has no weights tagged 'fb_in1kk' for "
        f"convnext_base (it has: {', '.join(__import__('timm').list_pretrained('convnext_base.*'))})",
        "classify.backbones.resnet50.timm = 'resnett50.tv_in1k': not a timm model; did you mean "
        + problems[1].split("did you mean ")[1],
    ]
    assert "resnet50" in problems[1].split("did you mean ")[1]
    config["classify"]["pretrained"] = False  # random weights: the tag does not matter
    assert len(unknown_backbones(config, ["resnet50", "convnext_b"])) == 1


def test_torchvision_builders_ctcbench_cannot_build_are_named():
    from ctcbench.config import load

    config = load(ROOT / "config.yaml")  # faithful: the original's torchvision networks
    backbones = config["classify"]["backbones"]
    backbones["resnet50"]["timm"] = "resnett50.tv_in1k"  # not built under faithful, so not checked
    backbones["convnext_b"]["torchvision"] = "convnext_bas"
    backbones["swin_b"]["torchvision"] = "vit_b_16"
    assert unknown_backbones(config, ["resnet50", "convnext_b", "swin_b", "resnet_tiny"]) == [
        "classify.backbones.convnext_b.torchvision = 'convnext_bas': not a torchvision builder; did you mean "
        "convnext_base, convnext_small, convnext_large?",
        "classify.backbones.swin_b.torchvision = 'vit_b_16': not of a family whose head and stem ctcbench replaces "
        "(convnext, swin, efficientnet, densenet, resnet, vgg, alexnet)",
    ]


def test_a_mistyped_timm_name_stops_the_run_before_any_job(tmp_path):
    typo = "classify={backbones: {resnet_tiny: {timm: test_resnett}}}"
    [line] = one_line(start(tmp_path, "--config", "preset=demo", typo))
    assert line.startswith("ctcbench: classify.backbones.resnet_tiny.timm = 'test_resnett': not a timm model")
    assert not (tmp_path / "results").exists()


def test_a_failed_jobs_message_reaches_the_console(tmp_path):
    """Rules write to log files; the default workflow profile prints a failed job's log (here: validation)."""
    staged = staged_dataset_root(tmp_path / "staged")
    local = f"dataset={{source: local, local: {{root: {staged}}}}}"
    # The jobs' `python` must be this interpreter (its packages), whatever PATH pytest was started with.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = start(tmp_path / "run", "data", "--config", "preset=demo", local, env=env)
    assert result.returncode == 1
    assert f"problems found in {staged}; see the list above" in result.stderr
    assert "Annotations/train.txt" in result.stderr


def test_a_defect_variants_classifier_training_is_checked_as_the_grids():
    from ctcbench.config import load
    from ctcbench.launch_checks import CLASSIFIER_TRAINING, PlannedJob, launch_problems

    config = load(ROOT / "config.yaml")
    config["classify"]["backbones"]["convnext_b"]["torchvision"] = "convnext_bas"
    for rule in CLASSIFIER_TRAINING:
        job = PlannedJob(rule, {"backbone": "convnext_b"}, ["best.pt"], 0)
        assert any("convnext_bas" in problem for problem in launch_problems(config, "local", [job])), rule
