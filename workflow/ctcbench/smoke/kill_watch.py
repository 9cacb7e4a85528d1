"""Kill each training of a running Snakemake once, right after its first resume state, so that Snakemake's retry
(`--retries`) has to resume it: the smoke run's proof that every training survives a kill.

Only the processes Snakemake started are looked at (its descendants). A `python -m ctcbench classify-train` or
`detect-train` whose run folder holds a resume state (ctcbench.resume_files) and that the ledger has not killed
before gets SIGKILL, as the machine going down would; its own children go with it. The ledger (a JSON file) is
written at once, so a driver started again kills no run twice.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from ..io import atomic_write_json, read_json
from ..resume_files import has_resume_state

# The training commands, the stage of each, and the option naming its run folder (detect: the model file in it).
TRAINING_COMMANDS = {"classify-train": ("classify", "--out-dir"), "detect-train": ("detect", "--model")}
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Training:
    stage: str
    run_dir: Path  # absolute
    pid: int
    started: float  # the process's start, seconds since the epoch


def training_of(process: psutil.Process) -> Training | None:
    """The training a process runs, read from its command line; None for any other process (the shell around a
    job holds the whole command as one argument, the interpreter has `-m ctcbench <command>` as separate ones)."""
    try:
        args, cwd, started = process.cmdline(), process.cwd(), process.create_time()
    except psutil.Error:  # ended meanwhile, or not ours to read
        return None
    for index in range(len(args) - 2):
        if args[index : index + 2] == ["-m", "ctcbench"] and args[index + 2] in TRAINING_COMMANDS:
            stage, option = TRAINING_COMMANDS[args[index + 2]]
            if option not in args[:-1]:
                return None
            path = Path(cwd) / args[args.index(option) + 1]
            run_dir = path if stage == "classify" else path.parent
            return Training(stage, run_dir.resolve(), process.pid, started)
    return None


class KillLedger:
    """Which runs were killed, when and how far in: {run folder relative to the workflow's directory: entry}."""

    def __init__(self, path: Path, directory: Path) -> None:
        self.path, self.directory = path, directory.resolve()
        self.entries: dict[str, dict] = read_json(path) if path.is_file() else {}

    def key(self, run_dir: Path) -> str:
        return Path(os.path.relpath(run_dir.resolve(), self.directory)).as_posix()

    def killed(self, run_dir: Path) -> bool:
        return self.key(run_dir) in self.entries

    def record(self, training: Training) -> None:
        self.entries[self.key(training.run_dir)] = {
            "stage": training.stage,
            "pid": training.pid,
            "killed_after_s": round(time.time() - training.started, 1),
            "killed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        atomic_write_json(self.path, self.entries)


def kill_tree(pid: int) -> None:
    """SIGKILL the process, then whatever it had started (data-loader workers)."""
    try:
        process = psutil.Process(pid)
        children = process.children(recursive=True)
    except psutil.NoSuchProcess:
        return
    for victim in (process, *children):
        try:
            victim.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass


class KillWatch:
    """Polls the process tree under `root_pid` in a thread of its own until `stop`."""

    def __init__(self, root_pid: int, ledger: KillLedger, interval: float = POLL_SECONDS) -> None:
        self.root, self.ledger, self.interval = psutil.Process(root_pid), ledger, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kill-watch", daemon=True)

    def trainings(self) -> list[Training]:
        try:
            processes = self.root.children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        return [t for t in map(training_of, processes) if t is not None]

    def poll(self) -> list[Training]:
        """Kill every training that has its first resume state and was not killed before; the ones killed."""
        killed = []
        for training in self.trainings():
            if not self.ledger.killed(training.run_dir) and has_resume_state(training.stage, training.run_dir):
                kill_tree(training.pid)
                self.ledger.record(training)
                killed.append(training)
        return killed

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
