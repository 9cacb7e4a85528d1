"""Synthetic twin of the CCA organoid dataset, written in the figshare release layout (docs/dataset.md).

The real images cannot be fetched everywhere the benchmark must run, so every stage can run on a generated
dataset with the same files, names, formats and intensity ranges, and with cells whose label-free appearance
carries real but partial class information.
"""

from .config import TwinConfig
from .generate import SUMMARY_NAME, generate_twin

__all__ = ["SUMMARY_NAME", "TwinConfig", "generate_twin"]
