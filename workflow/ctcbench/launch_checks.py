"""Checks between planning and the first job: what the plan needs must be on this machine.

Both faults fail late and badly otherwise. The SLURM executor on a machine without SLURM does not fail: it guesses
an account, submits nothing and waits for good on a status command that does not exist. A grid sized for GPUs,
run locally on a machine without one, starts hundreds of trainings on the CPU without a word.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# Commands each cluster executor runs for every job (submission, status, cancellation).
EXECUTOR_COMMANDS: dict[str, tuple[str, ...]] = {"slurm": ("sbatch", "squeue", "scancel")}
# Executors that run jobs on this machine, where its own GPUs are the ones the jobs get.
LOCAL_EXECUTORS = frozenset({"local", "dryrun", "touch"})
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
