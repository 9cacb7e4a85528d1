"""A private single-node SLURM cluster on loopback for tests: its own config, munge socket, state and pids.

Only the daemons started here are stopped here (by the pids they wrote). Job steps need the configuration at the
default path too (the SLURM executor's job step drops SLURM_* variables such as SLURM_CONF before `srun`), so it
is copied to /etc/slurm/slurm.conf while the cluster runs, only where no configuration exists there, and removed
on stop. A munge key is created when the machine has none.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")
MUNGE_KEY = Path("/etc/munge/munge.key")
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SlurmCluster:
    base: Path

    @property
    def conf(self) -> Path:
        return self.base / "slurm.conf"

    @property
    def munge_socket(self) -> Path:
        return self.base / "munge" / "munge.socket"

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def _pid_files(self) -> list[Path]:
        return [self.base / "slurmd.pid", self.base / "slurmctld.pid", self.base / "munge" / "munged.pid"]

    def write_config(self, cpus: int, memory_mb: int) -> None:
        host = socket.gethostname()
        for sub in ("spool", "state", "log", "munge"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(
            "\n".join(
                [
                    "ClusterName=ctcbenchtest",
                    f"SlurmctldHost={host}",
                    f"SlurmctldPort={_free_port()}",
                    f"SlurmdPort={_free_port()}",
                    "AuthType=auth/munge",
                    f"AuthInfo=socket={self.munge_socket}",
                    "CredType=cred/munge",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "SchedulerType=sched/backfill",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core_Memory",
                    f"SlurmctldPidFile={self.base}/slurmctld.pid",
                    f"SlurmdPidFile={self.base}/slurmd.pid",
                    f"SlurmdSpoolDir={self.base}/spool",
                    f"StateSaveLocation={self.base}/state",
                    f"SlurmctldLogFile={self.base}/log/slurmctld.log",
                    f"SlurmdLogFile={self.base}/log/slurmd.log",
                    "SlurmUser=root",
                    "ReturnToService=2",
                    "JobAcctGatherType=jobacct_gather/none",
                    "AccountingStorageType=accounting_storage/none",
                    "MpiDefault=none",
                    f"NodeName={host} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
                    f"PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )

    def start(self, cpus: int = 2, memory_mb: int = 8000, timeout: float = 60) -> None:
        if SYSTEM_CONF.exists():
            raise FileExistsError(f"{SYSTEM_CONF} exists: this machine has a SLURM of its own; not touching it")
        self.write_config(cpus, memory_mb)
        SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.conf, SYSTEM_CONF)
        self._owns_system_conf = True
        if not MUNGE_KEY.exists():
            subprocess.run(["mungekey", "-c", "-k", str(MUNGE_KEY)], check=True)
        munge = self.base / "munge"
        subprocess.run(
            [
                "munged",
                "--force",
                f"--socket={self.munge_socket}",
                f"--pid-file={munge}/munged.pid",
                f"--log-file={munge}/munged.log",
                f"--seed-file={munge}/munged.seed",
                f"--key-file={MUNGE_KEY}",
            ],
            check=True,
            capture_output=True,
        )
        env = {**os.environ, **self.env}
        subprocess.run(["slurmctld"], env=env, check=True, capture_output=True)
        subprocess.run(["slurmd"], env=env, check=True, capture_output=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True)
            if state.stdout.strip() == "idle":
                return
            time.sleep(1)
        raise RuntimeError(f"the test SLURM node did not become idle; logs in {self.base / 'log'}")

    def stop(self) -> None:
        if getattr(self, "_owns_system_conf", False) and SYSTEM_CONF.read_text() == self.conf.read_text():
            SYSTEM_CONF.unlink()
        for pid_file in self._pid_files():
            try:
                pid = int(pid_file.read_text().strip())
            except (OSError, ValueError):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
