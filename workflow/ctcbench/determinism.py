"""The CPU instruction set the numeric libraries may use, pinned so that a seed repeats its numbers bit for bit.

torch's vectorised kernels (ATen), oneDNN's convolutions and MKL pick their code path from the machine: a run on
an AVX-512 machine sums in another order than one on an AVX2 machine and its last bits differ. Capping all three
at one instruction set (config `cpu_isa`; the demo preset uses avx2, which every x86-64 machine of the last ten
years has) makes the synthetic twin's tables repeat across machines. Threads are fixed per rule by the config.
"""

from __future__ import annotations

# config value -> the variable each library reads, and its spelling there
CPU_ISA_VARIABLES: dict[str, dict[str, str]] = {
    "sse4": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_CBWR": "COMPATIBLE"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"},
    "avx512": {"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "MKL_CBWR": "AVX512"},
}


def cpu_isa_exports(isa: str | None) -> str:
    """Shell `export` statements capping the libraries at `isa`; empty for None (each library chooses)."""
    if isa is None:
        return ""
    return "".join(f"export {name}={value}; " for name, value in CPU_ISA_VARIABLES[isa].items())
