"""The classifier as other stages use it: a trained checkpoint that scores crops with P(R) (the pipeline's S_cls,
the pseudo-labels' mean P(R)). The one public entry point of the classification stage for them.

Crops go through the classifier's own evaluation path: composition for the setting it was trained on, resize, its
normalisation (docs/protocol.md#classifier-input).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.crops import CropCache
from .checkpoint import load_model
from .data import CropSource
from .predict import predict
from .runtime import pick_device


class CellScorer:
    """A trained classifier (best.pt or final.pt) loaded once, scoring any number of crop caches."""

    def __init__(self, checkpoint: Path | str, device: str = "auto", workers: int = 0) -> None:
        self.path = Path(checkpoint)
        self.device = pick_device(device)
        self.workers = workers
        self.model, self.spec, self.info = load_model(self.path, self.device)

    def p_cancer(self, cache: CropCache, indices: np.ndarray | None = None, desc: str | None = None) -> np.ndarray:
        """P(R) of the crops `indices` of `cache` (all of them by default), in that order."""
        indices = np.arange(len(cache)) if indices is None else np.asarray(indices)
        if len(indices) == 0:
            return np.zeros(0)
        source = CropSource(cache, self.spec.setting, self.spec.hoechst_channels)
        spec = self.spec
        return predict(
            self.model, source, indices, spec.image_size, spec.normalisation, self.device, self.workers, desc=desc
        ).p_cancer
