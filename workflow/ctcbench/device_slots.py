"""One GPU per job on a local multi-GPU machine: `snakemake --cores all --resources gpu=4` runs four GPU jobs at once,
and each must get a device of its own (without this, every job would use GPU 0).

The devices are slots of a per-machine pool: one lock file per device in a shared folder. A job claims the first
free slot with an exclusive `flock` and keeps it while it runs; the kernel releases it when the process ends, also
when it crashes or is killed, so a slot is never lost. The job then sees only its device (`CUDA_VISIBLE_DEVICES`).
The workflow turns the pool on for local runs (`CTCBENCH_GPU_SLOTS`, the folder); a cluster's scheduler assigns
devices itself, so SLURM jobs never use it.
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
    handle: IO[str]  # the open, locked file: the claim lasts as long as it stays open

    def release(self) -> None:
        self.handle.close()


def claim(pool: Path, devices: list[str], wait_s: float = WAIT_S, timeout_s: float | None = None) -> Slot:
    """The first free device of `devices`, locked for this process; waits while every one is taken."""
    if not devices:
        raise ConfigError(f"{POOL_ENV}: no GPU to claim (no /dev/nvidiaN, or {VISIBLE} lists none)")
    pool.mkdir(parents=True, exist_ok=True)
    started, waiting = time.monotonic(), False
    while True:
        for device in devices:
            handle = open(pool / f"gpu{device}.lock", "a+")  # noqa: SIM115 - held open on purpose: it is the claim
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            return Slot(device, handle)
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            raise ConfigError(f"{pool}: every GPU ({', '.join(devices)}) stayed taken for {timeout_s:g} s")
        if not waiting:
            log.info("every GPU of %s is taken; waiting for one", pool)
            waiting = True
        time.sleep(wait_s)


_held: list[Slot] = []  # this process's claim, kept open until it exits


def claim_for_job() -> str | None:
    """With the pool on, claim a device for this process and make it the only one it sees; else nothing."""
    pool = os.environ.get(POOL_ENV)
    if not pool:
        return None
    slot = claim(Path(pool), machine_devices())
    _held.append(slot)
    os.environ[VISIBLE] = slot.device
    log.info("GPU %s of the pool %s", slot.device, pool)
    return slot.device
