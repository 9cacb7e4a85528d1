"""Per-patient acquisition and biology differences, so that per-patient experiments see a real domain shift.

Each patient's sample was plated and imaged separately, so its cells and its imaging conditions differ a little
from the others'; the shifts are small compared with the class differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .plan import STREAM_PATIENT, stream


@dataclass(frozen=True)
class PatientStyle:
    size_scale: float  # multiplies every cell radius
    brightness: float  # multiplies the brightfield background level
    stain_gain: float  # multiplies both cytoplasmic stains
    hoechst_gain: float  # multiplies the nuclear stain
    focus: float  # mean strength of the refractive rim (defocus) of this patient's images


def patient_style(seed: int, patient_index: int) -> PatientStyle:
    rng = stream(seed, STREAM_PATIENT, patient_index)
    return PatientStyle(
        size_scale=float(np.exp(0.05 * rng.standard_normal())),
        brightness=float(np.exp(0.04 * rng.standard_normal())),
        stain_gain=float(np.exp(0.12 * rng.standard_normal())),
        hoechst_gain=float(np.exp(0.08 * rng.standard_normal())),
        focus=float(np.clip(1.0 + 0.15 * rng.standard_normal(), 0.6, 1.4)),
    )
