"""Checks between planning and the first job: what the planned jobs need must be there.

Each of these faults fails late and badly otherwise. The SLURM executor on a machine without SLURM does not fail:
it guesses an account, submits nothing and waits for good on a status command that does not exist. A grid sized
for GPUs, run locally on a machine without one, starts hundreds of trainings on the CPU without a word. Detector
weights that nothing can stage, and a mistyped timm name or torchvision builder, fail only inside their job, the
message in its log.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PlannedJob:
    """What the checks need of one job Snakemake is about to run (kept free of Snakemake's own types)."""

    rule: str
    wildcards: dict[str, str]
    outputs: list[str]
    gpu: int = 0


# Commands each cluster executor runs for every job (submission, status, cancellation).
EXECUTOR_COMMANDS: dict[str, tuple[str, ...]] = {"slurm": ("sbatch", "squeue", "scancel")}
# Executors that run jobs on this machine, where its own GPUs are the ones the jobs get.
LOCAL_EXECUTORS = frozenset({"local"})
# Device files of the NVIDIA and AMD (ROCm) drivers: present only where a GPU and its driver are.
GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/kfd")


def missing_commands(executor: str | None) -> str | None:
    """None when the executor's commands are on PATH (or it needs none); else the one-line reason."""
    needed = EXECUTOR_COMMANDS.get(executor or "", ())
    missing = [command for command in needed if shutil.which(command) is None]
    if not missing:
        return None
    return (
        f"the {executor} executor needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not on "
        f"PATH on this machine; run on a {executor} login node, or drop the profile (--workflow-profile) to run "
        "the workflow locally"
    )


def has_gpu(device_files: tuple[str, ...] = GPU_DEVICE_FILES) -> bool:
    """A GPU driver is loaded and CUDA_VISIBLE_DEVICES does not hide every device (torch is not imported here)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return any(Path(path).exists() for path in device_files)


def gpu_jobs_without_gpu(gpu_jobs: int, executor: str | None, allowed: bool, gpu_present: bool) -> str | None:
    """None unless jobs that ask for a GPU are about to run on this machine, which has none."""
    if gpu_jobs == 0 or allowed or gpu_present or (executor or "local") not in LOCAL_EXECUTORS:
        return None
    return (
        f"{gpu_jobs} job{'s' if gpu_jobs != 1 else ''} ask for a GPU (resources gpu > 0) but this machine has none; "
        "run on a GPU machine or through the SLURM profile, use preset=demo for a CPU-sized run, or set "
        "allow_cpu_training=true to train on the CPU anyway"
    )


def unstageable_weights(config: dict[str, Any], files_to_stage: Iterable[str]) -> list[str]:
    """Detector weight files the plan must stage but cannot: no `source` and no `url`, or a local source missing."""
    from .detect.weights import is_url, local_source
    from .plan.weights import needed_weights

    keys = needed_weights(config)
    problems = []
    for path in sorted(files_to_stage):
        key = keys[path]
        entry = config["detect"]["weights"][key]
        where = f"detect.weights.{key}"
        source = entry.get("source")
        if not source and not entry.get("url"):
            problems.append(
                f"{path}: pretrained weights for {where} are not staged and it has neither a source nor a url; set "
                f"{where}.source to your copy (a path or URL), or place the file there, or set detect.pretrained: "
                "false"
            )
        elif source and not is_url(source) and not local_source(source).is_file():
            instead = " or remove it to use the url" if entry.get("url") else ""
            problems.append(f"{where}.source = {source}: no such file (nor an http(s) URL); fix the path{instead}")
    return problems


def unknown_backbones(config: dict[str, Any], backbone_keys: Iterable[str]) -> list[str]:
    """Backbones the plan trains whose network its library does not know: a timm name (or, when pretrained, weight
    tag) timm does not know, or a torchvision builder ctcbench cannot adapt (under classifier_networks: torchvision)."""
    from .plan.weights import backbone_network

    problems = []
    for key in sorted(set(backbone_keys)):
        network = backbone_network(config, key)
        if network.library == "torchvision":
            problems += _unknown_torchvision(key, network.name)
        else:
            problems += _unknown_timm(config, key, network.name)
    return problems


def _unknown_timm(config: dict[str, Any], key: str, name: str) -> list[str]:
    import timm
    from timm.models import get_pretrained_cfg

    where = f"classify.backbones.{key}.timm = {name!r}"
    arch, _, tag = name.partition(".")
    if not timm.is_model(arch):
        close = difflib.get_close_matches(arch, timm.list_models(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see timm.list_models()"
        return [f"{where}: not a timm model{hint}"]
    if tag and config["classify"]["pretrained"]:
        try:
            get_pretrained_cfg(name, allow_unregistered=False)
        except RuntimeError:
            tags = ", ".join(timm.list_pretrained(f"{arch}.*")) or "none"
            return [f"{where}: timm has no weights tagged {tag!r} for {arch} (it has: {tags})"]
    return []


def _unknown_torchvision(key: str, builder: str) -> list[str]:
    from .classify.torchvision_models import builder_problem

    problem = builder_problem(builder)
    return [f"classify.backbones.{key}.torchvision = {builder!r}: {problem}"] if problem else []


# The rules that train a grid classifier: the grid's and the defect variants' copies of it (rules/defects.smk).
CLASSIFIER_TRAINING = ("classify_train", "defect_classify_train", "defect_classify_train_cross_fitted")


def launch_problems(config: dict[str, Any], executor: str | None, jobs: Sequence[PlannedJob]) -> list[str]:
    """Every reason the planned jobs would fail or misbehave on this machine, one line each."""
    problems = [
        missing_commands(executor),
        gpu_jobs_without_gpu(sum(job.gpu > 0 for job in jobs), executor, config["allow_cpu_training"], has_gpu()),
    ]
    problems += unstageable_weights(
        config, [path for job in jobs if job.rule == "detect_weights" for path in job.outputs]
    )
    backbones = {job.wildcards["backbone"] for job in jobs if job.rule in CLASSIFIER_TRAINING}
    if backbones and importlib.util.find_spec("timm") is not None:
        # Only when a classifier is about to train (importing timm takes seconds), and only where Snakemake's own
        # environment has timm: with --sdm conda the jobs' environment may be the only one that does.
        problems += unknown_backbones(config, backbones)
    return [problem for problem in problems if problem]
