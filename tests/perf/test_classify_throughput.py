"""Classifier training throughput: our data path against one built the way the original builds it.

The original (docs/protocol.md#classifier-augmentation, docs/protocol.md#classifier-sampling, docs/defects.md#defect-29)
reads two crop TIFFs per sample with cv2.imread from raw_cell_images, augments each crop with an albumentations Compose
in the main process (num_workers=0) and calls next(iter(loader)) every step, which builds a new shuffled iterator each
time. Ours reads the in-memory crop cache, draws a batch's augmentation choices at once, calls the same OpenCV kernels
albumentations calls, and builds batches in DataLoader workers behind one persistent iterator. Both loops train the same
tiny model on the same crops at the paper's 128 x 128, side by side in one run; the model is deliberately minimal so
that, as on a GPU, the data path decides the speed.

A third loop is the original's with our augmentation code in place of albumentations: the difference between it
and ours is the data path alone (cache, batching, workers), reported so the two sources of the speed-up are seen
apart.

Both sample from a training set of the real size (72,237 crops, paper Table 1) by cycling the twin's crops: the
original's per-step shuffle costs time in proportion to that size. Ours is also timed inline (no workers) with its
CPU time per sample, which does not depend on how many cores are free. The >= 5x target is on samples per second
with workers, the way training runs.

Run with `make bench` (pytest tests/perf -m perf -s). CTCBENCH_BENCH_STEPS sets the timed steps per loop and
CTCBENCH_BENCH_SIZE the crop size fed to the model (default 128).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ctcbench.classify.augment import Normalisation, train_transform
from ctcbench.classify.data import CropSource, TrainBatches, train_stream, trainset_indices
from ctcbench.data.channels import classifier_input
from ctcbench.data.crops import build_crop_cache
from ctcbench.data.layout import CLASSES, DatasetLayout
from ctcbench.data.splits import records_from_cache
from ctcbench.data.synth import TwinConfig, generate_twin

pytestmark = pytest.mark.perf

BATCH = 64
IMAGE_SIZE = int(os.environ.get("CTCBENCH_BENCH_SIZE", "128"))
SETTING = "bf_fluo"
WARMUP_STEPS = 3
STEPS = int(os.environ.get("CTCBENCH_BENCH_STEPS", "100"))
TRAIN_CROPS = 72237
TARGET_RATIO = 5.0


def original_augmentation(A, size: int):
    """The original's training Compose (docs/protocol.md#classifier-augmentation), with the 1.3 defaults spelled out for
    2.x."""
    return A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.Rotate(limit=90, interpolation=cv2.INTER_LINEAR, border_mode=cv2.BORDER_REFLECT_101, p=0.5),
            A.GaussianBlur(blur_limit=(3, 7), p=0.1),
            A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0, brightness_by_max=True, p=0.5),
            A.Resize(size, size, interpolation=cv2.INTER_LINEAR),
        ]
    )


class FolderCrops(Dataset):
    """raw_cell_images read as the original does: one cv2.imread per modality per sample, augmented on the spot
    by `augment` (crop -> C x S x S tensor)."""

    def __init__(self, files: list[Path], labels: list[int], length: int, augment) -> None:
        self.files, self.labels, self.length, self.augment = files, labels, length, augment

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        index %= len(self.files)
        path = str(self.files[index])
        bf = cv2.imread(path)
        fl = cv2.imread(path.replace("brightfield", "fluorescence"))
        return self.augment(classifier_input(bf, fl, SETTING)), self.labels[index]


def albumentations_transform(A):
    compose = original_augmentation(A, IMAGE_SIZE)
    return lambda crop: torch.from_numpy(compose(image=crop)["image"].transpose(2, 0, 1).copy())


def ctcbench_transform():
    rng = np.random.default_rng(0)
    return lambda crop: train_transform(crop, rng, IMAGE_SIZE, "clipped", Normalisation())


class TinyModel(nn.Module):
    """Mean pixel per channel into a linear head: trainable, but cheap enough that the data path is measured."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.head = nn.Linear(channels, 3)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(images.mean(dim=(2, 3)))


def time_loop(next_batch, steps: int) -> tuple[float, float]:
    """Samples per second (wall clock) and CPU microseconds of this process per sample, after a short warm-up."""
    model = TinyModel(6)
    optimizer = torch.optim.Adam(model.parameters(), 1e-4)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    samples, wall, cpu = 0, 0.0, 0.0
    for step in range(WARMUP_STEPS + steps):
        if step == WARMUP_STEPS:
            wall, cpu = time.perf_counter(), time.process_time()
        images, labels = next_batch()
        loss = loss_fn(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step >= WARMUP_STEPS:
            samples += len(labels)
    return samples / (time.perf_counter() - wall), 1e6 * (time.process_time() - cpu) / samples


def original_loop(files: list[Path], labels: list[int], augment) -> tuple[float, float]:
    loader = DataLoader(FolderCrops(files, labels, TRAIN_CROPS, augment), batch_size=BATCH, shuffle=True)
    return time_loop(lambda: next(iter(loader)), STEPS)


@pytest.fixture(scope="module")
def albumentations():
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no version check over the network on import
    return pytest.importorskip("albumentations")  # imported here: a 2 s import the deselected test need not pay


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench") / "dataset"
    generate_twin(root, TwinConfig.demo(), progress=False)  # writes raw_cell_images too
    layout = DatasetLayout(root)
    cache = build_crop_cache(layout, "train", layout.read_split("train"), "opencv")
    return layout, cache


def test_our_loop_against_the_original_loop(twin, albumentations):
    layout, cache = twin
    torch.set_num_threads(1)
    cv2.setNumThreads(1)  # as in our workers; the original's albumentations calls get no more threads than ours
    files = sorted((layout.cells_dir / "train" / "brightfield").glob("*/*.tiff"))
    assert len(files) == len(cache), "raw_cell_images and the crop cache must hold the same crops"
    labels = [CLASSES.index(f.parent.name) for f in files]

    original, original_cpu = original_loop(files, labels, albumentations_transform(albumentations))
    plain, plain_cpu = original_loop(files, labels, ctcbench_transform())

    records = records_from_cache(cache.keys, cache.labels, cache.image_ids)
    indices, targets = trainset_indices(cache, records)
    indices, targets = np.resize(indices, TRAIN_CROPS), np.resize(targets, TRAIN_CROPS)
    batches = TrainBatches(
        CropSource(cache, SETTING), indices, targets, BATCH, IMAGE_SIZE, 0, "clipped", Normalisation()
    )
    inline_stream = train_stream(batches, range(10**9), 0, pin_memory=False, seed=0)
    inline, inline_cpu = time_loop(lambda: next(inline_stream), STEPS)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = max(1, min(6, cores))
    stream = train_stream(batches, range(10**9), workers, pin_memory=False, seed=0)
    ours, _ = time_loop(lambda: next(stream), STEPS)
    stream.close()

    ratio, inline_ratio, cpu_ratio = ours / original, inline / original, original_cpu / inline_cpu
    print(
        f"\nclassifier data path, {len(files)} crops cycled to {TRAIN_CROPS}, batch {BATCH}, {IMAGE_SIZE} px, "
        f"{SETTING}, {STEPS} steps, {cores} cores, load average {os.getloadavg()[0]:.1f}, "
        f"albumentations {albumentations.__version__}:"
        f"\n  original-style loop:      {original:8.0f} samples/s  {original_cpu:6.0f} CPU-us/sample"
        f"  (cv2.imread per sample, albumentations, main process, new iterator per step)"
        f"\n  same, our augmentation:   {plain:8.0f} samples/s  {plain_cpu:6.0f} CPU-us/sample"
        f"\n  ctcbench loop, inline:    {inline:8.0f} samples/s  {inline_cpu:6.0f} CPU-us/sample  (crop cache)"
        f"\n  ctcbench loop, {workers} workers: {ours:8.0f} samples/s"
        f"  (crop cache, shared-memory ring, one persistent iterator)"
        f"\n  ratio: {ratio:.1f}x samples/s with workers, {inline_ratio:.1f}x inline, {cpu_ratio:.1f}x less CPU per "
        f"sample (target >= {TARGET_RATIO:g}x); data path alone: {ours / plain:.1f}x with workers, "
        f"{plain_cpu / inline_cpu:.1f}x less CPU per sample"
    )
    assert plain_cpu / inline_cpu > 1.5, "the crop cache and batch path must beat per-sample reads on their own"
    assert ratio >= TARGET_RATIO
