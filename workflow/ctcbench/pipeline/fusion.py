"""Score fusion of the pipeline (docs/protocol.md#fusion): S = (1 - ω)·S_det + ω·S_cls.

The original also had a gate the paper does not mention (docs/defects.md#defect-15): a box whose S_det is below 0.1
keeps S_det and ignores the classifier. The protocol's `fusion_gate` keeps it (0.1, as the original) or fuses every box
(null).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError


def fuse(s_det: np.ndarray, s_cls: np.ndarray, omega: float, gate: float | None = None) -> np.ndarray:
    """Fused score of every box; with `gate`, boxes with S_det < gate keep S_det unchanged."""
    if not 0.0 <= omega <= 1.0:
        raise ConfigError(f"omega {omega}: the classifier's weight must be in [0, 1] (pipeline.omegas)")
    s_det = np.asarray(s_det, dtype=np.float64)
    s_cls = np.asarray(s_cls, dtype=np.float64)
    if s_det.shape != s_cls.shape:
        raise ValueError(f"{s_det.shape[0]} detector scores but {s_cls.shape[0]} classifier scores")
    fused = (1.0 - omega) * s_det + omega * s_cls
    if gate is None:
        return fused
    return np.where(s_det < gate, s_det, fused)
