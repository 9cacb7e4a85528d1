"""What a run.json records besides the run's own numbers: code version, library versions, device, input hashes.

Tables are computed from run records alone, so a record must say exactly which code, data and hardware produced
a result; anything that cannot be determined is recorded as null rather than guessed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

# Every library whose version can change a number; absent ones are recorded as null.
PACKAGES = (
    "ctcbench",
    "torch",
    "torchvision",
    "timm",
    "mmcv",
    "mmdet",
    "mmengine",
    "numpy",
    "scipy",
    "scikit-learn",
    "tifffile",
    "opencv-python-headless",
)
REPO_ROOT = Path(__file__).resolve().parents[2]


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_state(root: Path = REPO_ROOT) -> dict[str, Any]:
    """Commit of the checkout and whether tracked files differ from it; nulls outside a git checkout."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def device_info(device: str) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"device": device, "threads": torch.get_num_threads(), "platform": platform.platform()}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
        info["cuda"] = torch.version.cuda
    else:
        info["cpu"] = platform.processor() or platform.machine()
    return info


def peak_memory_mb(device: str) -> dict[str, float | None]:
    """Peak resident memory of this process and, on a GPU, peak allocated GPU memory."""
    import torch

    # ru_maxrss is in KiB on Linux, bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 1024**2)
    gpu = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") and torch.cuda.is_available() else None
    return {"cpu_rss": round(rss, 1), "gpu_allocated": round(gpu, 1) if gpu is not None else None}
