"""Hand-made features of one cell crop, and the linear classifier fitted on them: a non-deep cell classifier.

They cover what a CNN could pick up from a crop: its size and shape, intensity statistics per channel, a
radial profile (rim, interior, nucleus) and texture energy. The crop is the exact box, so box size is cell size.
Two steps use them: the twin's quick check of how much each input setting tells apart
(`data.synth.learnability`) and the feature-classifier control of the image-level results
(`pipeline.nucleus_features`, docs/metrics.md#controls).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from .channels import compose

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# Normalised-radius ring edges of the radial profile (0 = box centre, 1 = inscribed ellipse of the box).
RING_EDGES = (0.0, 0.35, 0.6, 0.8, 1.0, 1.5)
PERCENTILES = (10, 50, 90)


def _rings(height: int, width: int) -> list[np.ndarray]:
    y = (np.arange(height) + 0.5) / height * 2 - 1
    x = (np.arange(width) + 0.5) / width * 2 - 1
    radius = np.hypot(y[:, None], x[None, :])
    rings = []
    for low, high in zip(RING_EDGES[:-1], RING_EDGES[1:]):
        ring = (radius >= low) & (radius < high)
        rings.append(ring if ring.any() else np.ones_like(ring))
    return rings


def _channel_features(channel: np.ndarray, rings: list[np.ndarray]) -> list[float]:
    values = channel.ravel()
    if min(channel.shape) >= 2:
        grad_y, grad_x = np.gradient(channel)
    else:  # a one-pixel-thin crop has no gradient to speak of
        grad_y = grad_x = np.zeros_like(channel)
    # Fine texture: energy of the deviation from the local 3x3 mean (edges padded by repetition).
    padded = np.pad(channel, 1, mode="edge")
    local = (
        sum(padded[dy : dy + channel.shape[0], dx : dx + channel.shape[1]] for dy in range(3) for dx in range(3)) / 9
    )
    return [
        float(values.mean()),
        float(values.std()),
        *(float(v) for v in np.percentile(values, PERCENTILES)),
        float(values.max()),
        *(float(channel[ring].mean()) for ring in rings),
        float(np.mean(grad_x**2 + grad_y**2)),
        float(np.mean((channel - local) ** 2)),
    ]


def crop_features(crop: np.ndarray) -> np.ndarray:
    """Features of an H x W x C crop (any channel count); geometry first, then each channel's block."""
    height, width = crop.shape[:2]
    crop = crop.astype(np.float64)
    rings = _rings(height, width)
    geometry = [
        float(height),
        float(width),
        float(np.log(height * width)),
        float(max(height, width) / min(height, width)),
    ]
    blocks = [_channel_features(crop[:, :, c], rings) for c in range(crop.shape[2])]
    return np.array(geometry + [v for block in blocks for v in block])


def setting_features(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]], setting: str, hoechst_channels: int = 3
) -> np.ndarray:
    """N x F features of canonical (bf, fl) crop pairs composed for a setting (`channels.compose`, the classifier's
    channels)."""
    rows = [crop_features(compose(bf, fl, setting, hoechst_channels)) for bf, fl in pairs]
    return np.stack(rows) if rows else np.zeros((0, 0))


def linear_classifier(seed: int = 0) -> Pipeline:
    """Standardised features, then a logistic regression: the classifier fitted on `crop_features` (its
    `predict_proba(...)[:, 1]` is the probability of the positive class)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000, random_state=seed))
