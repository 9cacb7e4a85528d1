"""One GPU per job on a local multi-GPU machine: `snakemake --cores all --resources gpu=4` runs four GPU jobs at once,
and each must get a device of its own (without this, every job would use GPU 0).

The devices are slots of a per-machine pool: one lock file per device in a shared folder. A job claims the first
free slot with an exclusive `flock` and keeps it while it runs; the kernel releases it when the process ends, also
when it crashes or is killed, so a slot is never lost. The job then sees only its device (`CUDA_VISIBLE_DEVICES`).
The workflow turns the pool on for local runs (`CTCBENCH_GPU_SLOTS`, the folder); a cluster's scheduler assigns
devices itself, so SLURM jobs never use it.

Small jobs may share a device (`classify.resources.jobs_per_gpu`, `--jobs-per-gpu N`): a sharing job holds the
device's lock file with a *shared* flock plus one of N share files `gpu<d>.share<k>.lock` exclusively, so up to N
sharing jobs run on one device while a job of its own (N = 1) waits until none is left there, and sharing jobs wait
while a job has it to itself. Devices are tried in order, so sharing jobs fill one device before the next.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .errors import ConfigError

POOL_ENV = "CTCBENCH_GPU_SLOTS"  # the pool's folder; unset: no pool (one GPU, or a scheduler assigns them)
VISIBLE = "CUDA_VISIBLE_DEVICES"
DEVICE_FILE = re.compile(r"nvidia(\d+)$")
WAIT_S = 1.0

log = logging.getLogger(__name__)


def default_pool() -> Path:
    """The machine's pool folder, shared by every workflow run of this user on it."""
    return Path(tempfile.gettempdir()) / f"ctcbench-gpu-slots-{os.getuid()}"


def machine_devices(dev: Path = Path("/dev")) -> list[str]:
    """The devices a job may take: those CUDA_VISIBLE_DEVICES lists, else every /dev/nvidiaN."""
    visible = os.environ.get(VISIBLE)
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    found = (DEVICE_FILE.search(path.name) for path in dev.glob("nvidia*"))
    return [m[1] for m in sorted(found, key=lambda m: int(m[1]) if m else -1) if m]


@dataclass
class Slot:
    device: str
    handles: list[IO[str]]  # the open, locked files: the claim lasts as long as they stay open

    def release(self) -> None:
        for handle in reversed(self.handles):
            handle.close()


def _locked(path: Path, mode: int) -> IO[str] | None:
    """`path` opened and flock'ed with `mode` without waiting, or None when another process holds it."""
    handle = open(path, "a+")  # noqa: SIM115 - held open on purpose: it is the claim
    try:
        fcntl.flock(handle, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _sign(handle: IO[str]) -> None:
    """Write this process's id into a file it holds alone (for whoever looks at the pool)."""
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()


def _try_device(pool: Path, device: str, jobs_per_gpu: int) -> Slot | None:
    """A claim on `device` if it has room now: all of it (jobs_per_gpu 1) or one of its jobs_per_gpu shares."""
    exclusive = jobs_per_gpu == 1
    whole = _locked(pool / f"gpu{device}.lock", fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    if whole is None:
        return None
    if exclusive:
        _sign(whole)
        return Slot(device, [whole])
    for share in range(jobs_per_gpu):
        handle = _locked(pool / f"gpu{device}.share{share}.lock", fcntl.LOCK_EX)
        if handle is not None:
            _sign(handle)
            return Slot(device, [whole, handle])
    whole.close()
    return None


def claim(
    pool: Path, devices: list[str], wait_s: float = WAIT_S, timeout_s: float | None = None, jobs_per_gpu: int = 1
) -> Slot:
    """The first device of `devices` with room, claimed for this process (whole, or one of `jobs_per_gpu` shares);
    waits while every one is full."""
    if not devices:
        raise ConfigError(f"{POOL_ENV}: no GPU to claim (no /dev/nvidiaN, or {VISIBLE} lists none)")
    if jobs_per_gpu < 1:
        raise ConfigError(f"jobs per GPU {jobs_per_gpu}: expected 1 or more (classify.resources.jobs_per_gpu)")
    pool.mkdir(parents=True, exist_ok=True)
    started, waiting = time.monotonic(), False
    while True:
        for device in devices:
            slot = _try_device(pool, device, jobs_per_gpu)
            if slot is not None:
                return slot
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            raise ConfigError(f"{pool}: every GPU ({', '.join(devices)}) stayed taken for {timeout_s:g} s")
        if not waiting:
            log.info("every GPU of %s is taken; waiting for one", pool)
            waiting = True
        time.sleep(wait_s)


_held: list[Slot] = []  # this process's claim, kept open until it exits


def claim_for_job(jobs_per_gpu: int = 1) -> str | None:
    """With the pool on, claim a device for this process (shared with up to jobs_per_gpu - 1 other sharing jobs)
    and make it the only one it sees; else nothing."""
    pool = os.environ.get(POOL_ENV)
    if not pool:
        return None
    slot = claim(Path(pool), machine_devices(), jobs_per_gpu=jobs_per_gpu)
    _held.append(slot)
    os.environ[VISIBLE] = slot.device
    shared = f", shared by up to {jobs_per_gpu} jobs" if jobs_per_gpu > 1 else ""
    log.info("GPU %s of the pool %s%s", slot.device, pool, shared)
    return slot.device
