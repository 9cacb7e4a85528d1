"""Training and evaluation data over a crop cache: channel composition, sampling, batching, loaders.

Sampling reproduces the original (reference-spec §4.4): it called `next(iter(loader))` on a shuffled loader every
step, so each batch is `batch_size` crops drawn uniformly without replacement from the whole training set,
independently of every other batch; there are no epochs. Here the draw for step s comes from a generator seeded
with (seed, s). That keeps the same distribution while making a batch a pure function of the step: DataLoader
workers can build batches ahead in any order, one persistent iterator serves the whole run, and a resumed run
continues with exactly the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..data.channels import channel_count, classifier_input
from ..data.crops import CropCache
from ..data.layout import CLASSES
from ..data.splits import CropRecord
from ..errors import DatasetError
from .augment import Normalisation, eval_transform, train_transform


@dataclass(frozen=True)
class CropSource:
    """Crops of one cache, composed for one input setting as float32 in native units (reference-spec §2.3)."""

    cache: CropCache
    setting: str
    hoechst_channels: int = 3

    @property
    def channels(self) -> int:
        return channel_count(self.setting, self.hoechst_channels)

    def crop(self, index: int) -> np.ndarray:
        bf, fl = self.cache.pair(int(index))
        return classifier_input(bf, fl, self.setting, self.hoechst_channels)


def trainset_indices(
    cache: CropCache, records: list[CropRecord], trainset_path: Path | str = "training set"
) -> tuple[np.ndarray, np.ndarray]:
    """Cache indices and integer labels (R=0, G=1, U=2) of a training set.

    Labels come from the list, not the cache: variants relabel crops (unknowns made normal or pseudo-labelled).
    """
    position = {str(key): i for i, key in enumerate(cache.keys)}
    indices, labels = [], []
    for record in records:
        index = position.get(record.key)
        if index is None:
            raise DatasetError(
                f"{trainset_path}: crop {record.key} is not in the {cache.split} crop cache; "
                "rebuild the training sets from this cache (rule trainsets)"
            )
        if record.label not in CLASSES:
            raise DatasetError(f"{trainset_path}: crop {record.key} has label {record.label!r}; expected R, G or U")
        indices.append(index)
        labels.append(CLASSES.index(record.label))
    if not indices:
        raise DatasetError(f"{trainset_path}: the training set is empty")
    return np.asarray(indices, np.int64), np.asarray(labels, np.int64)


def channel_statistics(source: CropSource, indices: np.ndarray) -> Normalisation:
    """Per-channel mean and std over every pixel of the given crops (each crop counted once)."""
    channels = source.channels
    total = np.zeros(channels, np.float64)
    total_sq = np.zeros(channels, np.float64)
    count = 0
    for index in np.unique(indices):
        pixels = source.crop(index).reshape(-1, channels).astype(np.float64)
        total += pixels.sum(axis=0)
        total_sq += np.square(pixels).sum(axis=0)
        count += pixels.shape[0]
    mean = total / max(count, 1)
    std = np.sqrt(np.maximum(total_sq / max(count, 1) - mean**2, 0.0))
    std = np.where(std > 0, std, 1.0)  # a constant channel is centred, not blown up
    return Normalisation(tuple(float(m) for m in mean), tuple(float(s) for s in std))


def step_rng(seed: int, step: int) -> np.random.Generator:
    """The generator of one training step: a pure function of (seed, step)."""
    return np.random.default_rng([int(seed), int(step)])


def batch_positions(rng: np.random.Generator, n: int, batch_size: int) -> np.ndarray:
    """Positions in the training set of one batch: uniform, without replacement, min(batch_size, n) of them.

    (A set smaller than the batch gives the whole set, as a shuffled DataLoader's first batch would.)
    """
    return rng.choice(n, size=min(batch_size, n), replace=False)


class TrainBatches(Dataset):
    """Item s is the whole augmented batch of training step s: (images B x C x S x S, labels B)."""

    def __init__(
        self,
        source: CropSource,
        indices: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        image_size: int,
        seed: int,
        faithful: bool,
        norm: Normalisation,
    ) -> None:
        self.source, self.indices, self.labels = source, indices, labels
        self.batch_size, self.image_size, self.seed = batch_size, image_size, seed
        self.faithful, self.norm = faithful, norm

    def __len__(self) -> int:  # steps are unbounded; the sampler decides which ones are drawn
        return 2**62

    def __getitem__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = step_rng(self.seed, step)
        positions = batch_positions(rng, len(self.indices), self.batch_size)
        images = [
            train_transform(self.source.crop(self.indices[p]), rng, self.image_size, self.faithful, self.norm)
            for p in positions
        ]
        return torch.stack(images), torch.from_numpy(self.labels[positions])


class EvalChunks(Dataset):
    """Item k is chunk k of the given crops, resized (and standardised in the corrected protocol)."""

    def __init__(self, source: CropSource, indices: np.ndarray, image_size: int, norm: Normalisation, chunk: int) -> None:
        self.source, self.indices, self.image_size, self.norm, self.chunk = source, indices, image_size, norm, chunk

    def __len__(self) -> int:
        return (len(self.indices) + self.chunk - 1) // self.chunk

    def __getitem__(self, k: int) -> torch.Tensor:
        part = self.indices[k * self.chunk : (k + 1) * self.chunk]
        return torch.stack([eval_transform(self.source.crop(i), self.image_size, self.norm) for i in part])


def make_loader(
    dataset: Dataset, items: range, workers: int, pin_memory: bool, seed: int, persistent: bool = False
) -> DataLoader:
    """A loader over pre-batched items in the given order.

    Its own generator keeps DataLoader internals from drawing on the global torch RNG (which dropout and drop-path
    use), so creating a loader does not shift the model's random stream between a resumed and a straight run.
    `persistent` keeps the workers of a loader that is iterated many times (validation) alive between passes.
    """
    return DataLoader(
        dataset,
        batch_size=None,
        sampler=items,
        num_workers=workers,
        pin_memory=pin_memory,
        persistent_workers=persistent and workers > 0,
        prefetch_factor=4 if workers > 0 else None,
        generator=torch.Generator().manual_seed(int(seed)),
    )
