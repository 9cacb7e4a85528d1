"""Which CPU a reference was made on: the reference results are exact per CPU model, not across models.

Every job's threads and instruction set are pinned (determinism.py), and on one machine both demo configurations
repeat bit for bit. Across CPU models they do not: two Intel machines, both capped at AVX2, produced the same
classifier losses for a dozen steps and then differed by 1e-6, which the demo's tiny models amplify into other
tables. So `tests/reference/<configuration>/` holds the results of the machine they were first made on, and a
machine whose numbers differ gets its own copy under `tests/reference/machines/<signature>/<configuration>/`:
the check compares with the copy of the machine it runs on when there is one, else with the first.
"""

from __future__ import annotations

import platform
import re
from pathlib import Path

MACHINES_DIR = "machines"
# The CPU a folder of results was made on: in a check's scratch folder, and beside the first reference once an
# update has recorded it (older references predate the record).
CPU_FILE = "cpu.txt"
CPUINFO = Path("/proc/cpuinfo")
# Instruction sets whose presence changes the code paths of the numeric libraries (torch, oneDNN, OpenCV, numba).
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_tile")


def cpu_signature(cpuinfo: str | None = None) -> str:
    """`vendor-family-model-stepping-isa+isa...` of this CPU, e.g. `GenuineIntel-6-167-1-avx2+fma+avx512f`."""
    if cpuinfo is None:
        cpuinfo = CPUINFO.read_text() if CPUINFO.is_file() else ""
    first = cpuinfo.split("\n\n")[0]
    fields = dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in first.splitlines())
        if key.strip()
    )
    flags = set(fields.get("flags", "").split())
    parts = [fields.get(k, "") for k in ("vendor_id", "cpu family", "model", "stepping")]
    if not any(parts):
        parts = [platform.machine() or "unknown"]
    isa = "+".join(flag for flag in ISA_FLAGS if flag in flags) or "baseline"
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", "-".join([*parts, isa]))


def reference_for(reference: Path, configuration: str, signature: str | None = None) -> Path:
    """The reference folder of `configuration` for this machine: its own copy when committed, else the first."""
    own = machine_reference(reference, configuration, signature)
    return own if own.is_dir() else reference / configuration


def record_cpu(folder: Path, signature: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CPU_FILE).write_text((signature or cpu_signature()) + "\n")


def recorded_cpu(folder: Path) -> str | None:
    path = folder / CPU_FILE
    return path.read_text().strip() if path.is_file() else None


def machine_reference(reference: Path, configuration: str, signature: str | None = None) -> Path:
    """Where `reference-update --this-machine` writes this machine's copy."""
    return reference / MACHINES_DIR / (signature or cpu_signature()) / configuration
