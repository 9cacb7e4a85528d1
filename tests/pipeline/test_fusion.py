"""Score fusion on hand-computed numbers: the weighting, the faithful gate and its strict inequality."""

import numpy as np
import pytest

from ctcbench.errors import ConfigError
from ctcbench.pipeline.fusion import fuse

S_DET = np.array([0.9, 0.5, 0.05, 0.1])
S_CLS = np.array([0.2, 1.0, 0.9, 0.6])


def test_weighted_sum_without_gate():
    # 0.3 * 0.9 + 0.7 * 0.2 = 0.41; 0.15 + 0.7 = 0.85; 0.015 + 0.63 = 0.645; 0.03 + 0.42 = 0.45
    assert fuse(S_DET, S_CLS, 0.7).tolist() == pytest.approx([0.41, 0.85, 0.645, 0.45])


def test_gate_keeps_low_detector_scores():
    # 0.05 < 0.1 keeps S_det; 0.1 is not below the gate and is fused.
    assert fuse(S_DET, S_CLS, 0.7, gate=0.1).tolist() == pytest.approx([0.41, 0.85, 0.05, 0.45])


def test_omega_zero_and_one_are_exactly_one_score():
    assert np.array_equal(fuse(S_DET, S_CLS, 0.0, gate=0.1), S_DET)
    assert np.array_equal(fuse(S_DET, S_CLS, 1.0), S_CLS)
    assert np.array_equal(fuse(S_DET, S_CLS, 1.0, gate=0.1), [0.2, 1.0, 0.05, 0.6])


def test_bad_inputs():
    with pytest.raises(ConfigError, match="omega 1.5"):
        fuse(S_DET, S_CLS, 1.5)
    with pytest.raises(ValueError):
        fuse(S_DET, S_CLS[:2], 0.5)
