"""GPU slots on a local multi-GPU machine, with fake devices: concurrent jobs never share a device, a job waits while
every one is taken, and a killed job's device is free again at once."""

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
device = claim_for_job()
start = time.monotonic()
print(json.dumps({"device": device, "visible": os.environ["CUDA_VISIBLE_DEVICES"]}), flush=True)
time.sleep(float(sys.argv[1]))
print(json.dumps({"start": start, "end": time.monotonic()}), flush=True)
"""


def job(pool: Path, devices: str, hold_s: float) -> subprocess.Popen:
    env = {**os.environ, POOL_ENV: str(pool), VISIBLE: devices, "PYTHONPATH": str(PACKAGE)}
    return subprocess.Popen([sys.executable, "-c", JOB, str(hold_s)], env=env, stdout=subprocess.PIPE, text=True)


def test_concurrent_jobs_never_share_a_device(tmp_path):
    jobs = [job(tmp_path / "pool", "0,1", 1.0) for _ in range(4)]
    held = []
    for process in jobs:
        out, _ = process.communicate(timeout=60)
        claim_line, times = (json.loads(line) for line in out.splitlines())
        assert claim_line["visible"] == claim_line["device"]  # the job sees its own device only
        held.append((claim_line["device"], times["start"], times["end"]))
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
