"""Score crops with a trained classifier: softmax probabilities and, on request, the pooled embeddings.

Always in fp32, also on CUDA, where training runs under bf16 autocast: every number computed from scores (validation
accuracy and the best checkpoint, cell-level metrics, pseudo-labels, the pipeline's S_cls) is then the same
whichever device made it, up to the device's own fp32 arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .augment import Normalisation
from .data import CropSource, EvalChunks, make_loader
from .models import logits_and_embedding
from .runtime import evaluating

EVAL_CHUNK = 64  # crops per loader item: 25 MB of shared memory for 6 channels at 128 px


@dataclass
class Predictions:
    probs: np.ndarray  # N x outputs, softmax over every output of the head
    embeddings: np.ndarray | None  # N x feature dim

    @property
    def p_cancer(self) -> np.ndarray:
        """S_cls = P(R), the softmax probability of output 0 (docs/protocol.md#classifier-classes)."""
        return self.probs[:, 0]


def to_device(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    images = images.to(device, non_blocking=True)
    return images.contiguous(memory_format=torch.channels_last) if device.type == "cuda" else images


def predict_loader(
    model: nn.Module, loader, device: torch.device, embeddings: bool = False, desc: str | None = None
) -> Predictions:
    probs, feats = [], []
    with evaluating(model):
        for images in tqdm(loader, desc=desc, unit="batch", leave=False, disable=desc is None):
            logits, features = logits_and_embedding(model, to_device(images, device))
            probs.append(torch.softmax(logits.float(), dim=1).cpu())
            if embeddings:
                feats.append(features.float().cpu())
    return Predictions(
        probs=torch.cat(probs).numpy() if probs else np.zeros((0, 0), np.float32),
        embeddings=torch.cat(feats).numpy() if embeddings and feats else None,
    )


def predict(
    model: nn.Module,
    source: CropSource,
    indices: np.ndarray,
    image_size: int,
    norm: Normalisation,
    device: torch.device,
    workers: int = 0,
    embeddings: bool = False,
    desc: str | None = "predict",
) -> Predictions:
    dataset = EvalChunks(source, indices, image_size, norm, EVAL_CHUNK)
    loader = make_loader(dataset, range(len(dataset)), workers, device.type == "cuda", seed=0)
    return predict_loader(model, loader, device, embeddings, desc)
