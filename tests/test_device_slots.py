"""GPU slots on a local multi-GPU machine, with fake devices: concurrent jobs never share a device, a job waits while
every one is taken, and a killed job's device is free again at once; jobs that share (jobs_per_gpu) run N to a
device, and a job that wants a device of its own never runs beside them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ctcbench.device_slots import POOL_ENV, VISIBLE, claim, claim_for_job, machine_devices
from ctcbench.errors import ConfigError

PACKAGE = Path(__file__).resolve().parents[1] / "workflow"
# A job: claim a GPU as every GPU command does, note when it held which device, hold it a while.
JOB = """
import json, os, sys, time
from ctcbench.device_slots import claim_for_job
device = claim_for_job(int(sys.argv[2]))
start = time.monotonic()
print(json.dumps({"device": device, "visible": os.environ["CUDA_VISIBLE_DEVICES"]}), flush=True)
time.sleep(float(sys.argv[1]))
print(json.dumps({"start": start, "end": time.monotonic()}), flush=True)
"""


def job(pool: Path, devices: str, hold_s: float, jobs_per_gpu: int = 1) -> subprocess.Popen:
    env = {**os.environ, POOL_ENV: str(pool), VISIBLE: devices, "PYTHONPATH": str(PACKAGE)}
    command = [sys.executable, "-c", JOB, str(hold_s), str(jobs_per_gpu)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def held_devices(jobs: list[subprocess.Popen]) -> list[tuple[str, float, float]]:
    """(device, start, end) of each finished job."""
    held = []
    for process in jobs:
        out, _ = process.communicate(timeout=60)
        claim_line, times = (json.loads(line) for line in out.splitlines())
        assert claim_line["visible"] == claim_line["device"]  # the job sees its own device only
        held.append((claim_line["device"], times["start"], times["end"]))
    return held


def most_at_once(held: list[tuple[str, float, float]], device: str) -> int:
    """The largest number of jobs that held `device` at one time (the most is reached when one of them starts)."""
    spans = [(start, end) for d, start, end in held if d == device]
    return max(sum(s <= start < e for s, e in spans) for start, _ in spans)


def test_concurrent_jobs_never_share_a_device(tmp_path):
    held = held_devices([job(tmp_path / "pool", "0,1", 1.0) for _ in range(4)])
    assert {device for device, _, _ in held} == {"0", "1"}
    for i, (device, start, end) in enumerate(held):
        for other_device, other_start, other_end in held[i + 1 :]:
            if device == other_device:
                assert end <= other_start or other_end <= start, "two jobs held one device at once"
    # Four jobs of a second on two devices: the last two waited for the first two.
    assert max(end for _, _, end in held) - min(start for _, start, _ in held) >= 1.9


def test_a_killed_job_frees_its_device(tmp_path):
    pool = tmp_path / "pool"
    holder = job(pool, "7", 60.0)
    assert json.loads(holder.stdout.readline())["device"] == "7"
    with pytest.raises(ConfigError, match="every GPU \\(7\\) stayed taken"):
        claim(pool, ["7"], wait_s=0.05, timeout_s=0.3)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    started = time.monotonic()
    slot = claim(pool, ["7"], wait_s=0.05, timeout_s=5)
    assert slot.device == "7" and time.monotonic() - started < 1
    slot.release()


def test_without_a_pool_nothing_is_claimed_and_without_gpus_a_pool_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv(POOL_ENV, raising=False)
    assert claim_for_job() is None
    monkeypatch.setenv(VISIBLE, "")
    assert machine_devices() == []
    with pytest.raises(ConfigError, match="no GPU to claim"):
        claim(tmp_path, machine_devices())
    monkeypatch.delenv(VISIBLE)
    (tmp_path / "nvidia1").touch()
    (tmp_path / "nvidia0").touch()
    (tmp_path / "nvidiactl").touch()
    assert machine_devices(tmp_path) == ["0", "1"]


def test_sharing_jobs_run_n_to_a_device_and_fill_one_device_first(tmp_path):
    # Five jobs of two seconds, two per device, on two devices: the first two share GPU 0, the next two GPU 1, the
    # fifth waits for a share to come free.
    held = held_devices([job(tmp_path / "pool", "0,1", 2.0, jobs_per_gpu=2) for _ in range(5)])
    assert {device for device, _, _ in held} == {"0", "1"}
    assert most_at_once(held, "0") == 2 and most_at_once(held, "1") <= 2
    assert max(end for _, _, end in held) - min(start for _, start, _ in held) >= 3.9


def test_a_job_of_its_own_and_sharing_jobs_never_hold_one_device_together(tmp_path):
    pool = tmp_path / "pool"
    sharing = job(pool, "3", 60.0, jobs_per_gpu=4)
    assert json.loads(sharing.stdout.readline())["device"] == "3"
    with pytest.raises(ConfigError, match="stayed taken"):
        claim(pool, ["3"], wait_s=0.05, timeout_s=0.3)  # a whole device: not while a job shares it
    second = claim(pool, ["3"], wait_s=0.05, timeout_s=5, jobs_per_gpu=4)  # another share: at once
    sharing.send_signal(signal.SIGKILL)
    sharing.wait(timeout=10)
    with pytest.raises(ConfigError, match="stayed taken"):
        claim(pool, ["3"], wait_s=0.05, timeout_s=0.3)  # still shared, by `second`
    second.release()
    whole = claim(pool, ["3"], wait_s=0.05, timeout_s=5)
    with pytest.raises(ConfigError, match="stayed taken"):
        claim(pool, ["3"], wait_s=0.05, timeout_s=0.3, jobs_per_gpu=4)  # no share of a device held whole
    whole.release()


def test_the_command_line_passes_its_share_count_to_the_claim(monkeypatch):
    from ctcbench import cli, device_slots

    claims = []
    monkeypatch.setattr(device_slots, "claim_for_job", lambda jobs_per_gpu=1: claims.append(jobs_per_gpu))
    monkeypatch.setattr("ctcbench.classify.train_cli.run", lambda args: None)
    args = ["--spec", "{}", "--train-cache", "t", "--val-cache", "v", "--trainset-file", "s", "--out-dir", "o"]
    assert cli.main(["classify-train", *args, "--jobs-per-gpu", "3"]) == 0
    assert cli.main(["classify-train", *args]) == 0
    assert claims == [3, 1]
    with pytest.raises(SystemExit):
        cli.main(["classify-train", *args, "--jobs-per-gpu", "0"])
