"""Training and evaluation data over a crop cache: channel composition, sampling, batching, loaders.

Sampling reproduces the original (docs/protocol.md#classifier-sampling): it called `next(iter(loader))` on a shuffled
loader every step, so each batch is `batch_size` crops drawn uniformly without replacement from the whole training set,
independently of every other batch; there are no epochs. Here the draw for step s comes from a generator seeded with
(seed, s). That keeps the same distribution while making a batch a pure function of the step: DataLoader workers can
build batches ahead in any order, one persistent iterator serves the whole run, and a resumed run continues with exactly
the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..data.channels import channel_count, classifier_input
from ..data.crops import CropCache
from ..data.layout import CLASSES
from ..data.splits import CropRecord
from ..errors import DatasetError
from .augment import Normalisation, draw_params, eval_image, resize, train_image

PREFETCH = 2  # batches each worker builds ahead
HELD_BATCHES = 2  # worker-built training batches a consumer may hold at once (train_stream)


@dataclass(frozen=True)
class CropSource:
    """Crops of one cache, composed for one input setting as float32 in native units
    (docs/protocol.md#classifier-input).

    Composing a setting only selects and repeats channels of the cached [brightfield, fluorescence] crop, so it is
    done as one channel gather whose indices come from composing an image of channel numbers with
    `channels.classifier_input` itself: the same channels, without its copies on every crop.
    """

    cache: CropCache
    setting: str
    hoechst_channels: int = 3

    @property
    def channels(self) -> int:
        return channel_count(self.setting, self.hoechst_channels)

    @cached_property
    def channel_index(self) -> np.ndarray:
        bf = np.arange(self.cache.bf_channels, dtype=np.float32).reshape(1, 1, -1)
        fl = np.arange(self.cache.bf_channels, self.cache.channels, dtype=np.float32).reshape(1, 1, -1)
        return classifier_input(bf, fl, self.setting, self.hoechst_channels)[0, 0].astype(np.int64)

    def crop(self, index: int) -> np.ndarray:
        crop = self.cache.crop(int(index))
        if np.array_equal(self.channel_index, np.arange(crop.shape[2])):
            return crop.astype(np.float32)
        return crop[..., self.channel_index].astype(np.float32)


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
    """Item s is the whole augmented batch of training step s: (images B x C x S x S, labels B).

    With `augment` false (classify.augment_on: device) the crops of step s are only resized, in native units: the
    training loop augments and normalises them on the device (`device_augment`). The crops are the same either way.
    """

    def __init__(
        self,
        source: CropSource,
        indices: np.ndarray,
        labels: np.ndarray,
        batch_size: int,
        image_size: int,
        seed: int,
        brightness_mode: str,
        norm: Normalisation,
        augment: bool = True,
    ) -> None:
        self.source, self.indices, self.labels = source, indices, labels
        self.batch_size, self.image_size, self.seed = batch_size, image_size, seed
        self.brightness_mode, self.norm, self.augment = brightness_mode, norm, augment

    def __len__(self) -> int:  # steps are unbounded; the sampler decides which ones are drawn
        return 2**62

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """Channels-last shape of a full batch (a training set smaller than the batch gives smaller ones)."""
        return (min(self.batch_size, len(self.indices)), self.image_size, self.image_size, self.source.channels)

    def build(self, step: int, out: np.ndarray) -> torch.Tensor:
        """Resize step `step`'s crops straight into the rows of `out` (N x S x S x C); return its labels."""
        rng = step_rng(self.seed, step)
        positions = batch_positions(rng, len(self.indices), self.batch_size)
        if not self.augment:
            for row, p in enumerate(positions):
                resize(self.source.crop(self.indices[p]), self.image_size, out[row])
            return torch.from_numpy(self.labels[positions])
        for row, (p, params) in enumerate(zip(positions, draw_params(rng, len(positions)))):
            train_image(
                self.source.crop(self.indices[p]), params, self.image_size, self.brightness_mode, self.norm, out[row]
            )
        return torch.from_numpy(self.labels[positions])

    def __getitem__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        batch = np.empty(self.shape, np.float32)
        labels = self.build(step, batch)
        return as_images(torch.from_numpy(batch)), labels


class RingBatches(Dataset):
    """Training batches handed from loader workers to the trainer through a fixed ring of shared-memory slots.

    A default DataLoader worker moves every batch into a fresh shared-memory segment that both processes then
    fault in page by page; for float crops that costs about as much as building the batch. Here worker batches are
    written straight into slot `step % slots` of one ring mapped before the workers start, and only the slot
    number and labels travel through the queue. The trainer reads a slot where it lies, without copying it out:
    the loader issues step s + workers x prefetch only when it hands over step s, so with `slots` =
    workers x prefetch + HELD_BATCHES the slot of step s is not rewritten before the trainer has asked for step
    s + HELD_BATCHES (`train_stream`).
    """

    def __init__(self, batches: TrainBatches, slots: int) -> None:
        self.batches = batches
        self.ring = torch.empty((slots, *batches.shape), dtype=torch.float32).share_memory_()

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, step: int) -> tuple[int, torch.Tensor]:
        slot = step % len(self.ring)
        return slot, self.batches.build(step, self.ring[slot].numpy())


def as_images(batch: torch.Tensor) -> torch.Tensor:
    """N x H x W x C memory seen as the N x C x H x W tensor models take (torch's channels_last layout).

    Batches are built channels-last because OpenCV writes H x W x C; convolutions accept the layout as it is
    (on CUDA it is the faster one), so no transposing copy is ever made.
    """
    return batch.permute(0, 3, 1, 2)


def train_stream(
    batches: TrainBatches, steps: range, workers: int, pin_memory: bool, seed: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(images, labels) of every step in `steps`, built ahead by `workers` processes (or inline with 0).

    With workers, a CPU batch is a view of the shared ring (a copy would cost as much as building it at 128 px):
    it stays valid until HELD_BATCHES more batches have been requested, which a training loop that finishes each
    step before drawing the next always satisfies. Pinned (CUDA) batches are copies and never expire.
    """
    if workers == 0:
        yield from make_loader(batches, steps, 0, pin_memory, seed)
        return
    ring = RingBatches(batches, slots=workers * PREFETCH + HELD_BATCHES)
    for slot, labels in make_loader(ring, steps, workers, pin_memory, seed):
        images = ring.ring[slot, : len(labels)]
        yield as_images(images.pin_memory() if pin_memory else images), labels


class EvalChunks(Dataset):
    """Item k is chunk k of the given crops, resized (and standardised when the run normalises)."""

    def __init__(
        self, source: CropSource, indices: np.ndarray, image_size: int, norm: Normalisation, chunk: int
    ) -> None:
        self.source, self.indices, self.image_size, self.norm, self.chunk = source, indices, image_size, norm, chunk

    def __len__(self) -> int:
        return (len(self.indices) + self.chunk - 1) // self.chunk

    def __getitem__(self, k: int) -> torch.Tensor:
        if not 0 <= k < len(self):
            raise IndexError(k)
        part = self.indices[k * self.chunk : (k + 1) * self.chunk]
        batch = np.empty((len(part), self.image_size, self.image_size, self.source.channels), np.float32)
        for row, index in enumerate(part):
            eval_image(self.source.crop(index), self.image_size, self.norm, batch[row])
        return as_images(torch.from_numpy(batch))


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
        prefetch_factor=PREFETCH if workers > 0 else None,
        generator=torch.Generator().manual_seed(int(seed)),
        worker_init_fn=_single_threaded_worker if workers > 0 else None,
    )


def _single_threaded_worker(worker_id: int) -> None:
    """Workers each handle whole batches; OpenCV's own thread pool in every worker would only oversubscribe."""
    import cv2

    cv2.setNumThreads(1)
