"""Training augmentation in the loader (numpy/OpenCV per crop, `augment`) against augmentation of the whole batch
in torch (`device_augment`, classify.augment_on: device), both on this machine's CPU, side by side in one run.

Each path builds the batches of the same steps from the same crop cache at the paper's 128 x 128 and batch 64, on
one thread (a loader worker's budget): loader-side is `TrainBatches` augmenting every crop; device-side is
`TrainBatches` only resizing, then `DeviceAugmentation` on the batch. The printed ratio is what the device path
costs on a CPU; on a GPU the batch step runs on the device and the loader is left with the resize alone, whose cost
is printed too. Run with `make bench` (pytest tests/perf -m perf -s); CTCBENCH_BENCH_STEPS sets the timed steps.
"""

from __future__ import annotations

import os
import time

import cv2
import numpy as np
import pytest
import torch

from ctcbench.classify.augment import Normalisation
from ctcbench.classify.data import CropSource, TrainBatches, trainset_indices
from ctcbench.classify.device_augment import DeviceAugmentation
from ctcbench.data.crops import build_crop_cache
from ctcbench.data.layout import DatasetLayout
from ctcbench.data.splits import records_from_cache
from ctcbench.data.synth import TwinConfig, generate_twin

pytestmark = pytest.mark.perf

BATCH = 64
IMAGE_SIZE = 128
SETTING = "bf_fluo"
WARMUP_STEPS = 3
STEPS = int(os.environ.get("CTCBENCH_BENCH_STEPS", "50"))


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench") / "dataset"
    generate_twin(root, TwinConfig.demo(write_crops=False), progress=False)
    layout = DatasetLayout(root)
    cache = build_crop_cache(layout, "train", layout.read_split("train"), "opencv")
    indices, labels = trainset_indices(cache, records_from_cache(cache.keys, cache.labels, cache.image_ids))
    source = CropSource(cache, SETTING)

    def make(augment: bool) -> TrainBatches:
        return TrainBatches(
            source, indices, labels, BATCH, IMAGE_SIZE, 0, "scaled", Normalisation(), augment=augment
        )  # fmt: skip

    return make(True), make(False)


def cpu_us_per_sample(paths: dict[str, object], steps: int, rounds: int = 5) -> dict[str, float]:
    """CPU microseconds of this process per sample of each path's `build_batch(step)`, after a short warm-up.

    CPU time, not wall time: on one thread it does not depend on what else the machine runs. The paths take turns
    over `rounds` rounds, so a drift of the machine's clock speed hits them alike.
    """
    for build_batch in paths.values():
        for step in range(WARMUP_STEPS):
            build_batch(step)
    spent = dict.fromkeys(paths, 0.0)
    samples = dict.fromkeys(paths, 0)
    per_round = max(1, steps // rounds)
    for first in range(WARMUP_STEPS, WARMUP_STEPS + rounds * per_round, per_round):
        for name, build_batch in paths.items():
            started = time.process_time()
            samples[name] += sum(len(build_batch(step)) for step in range(first, first + per_round))
            spent[name] += time.process_time() - started
    return {name: 1e6 * spent[name] / samples[name] for name in paths}


def test_loader_side_against_device_side_augmentation_on_cpu(batches):
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    loader_side, resize_only = batches
    augmentation = DeviceAugmentation(torch.device("cpu"), 0, "scaled", Normalisation(), IMAGE_SIZE)
    resized = {step: resize_only[step][0].contiguous() for step in range(WARMUP_STEPS + STEPS)}
    cost = cpu_us_per_sample(
        {
            "loader": lambda step: loader_side[step][0],
            "device": lambda step: augmentation(resize_only[step][0]),
            "resize": lambda step: resize_only[step][0],
            "augment": lambda step: augmentation(resized[step]),
        },
        STEPS,
    )

    sample = augmentation(resize_only[0][0])
    assert sample.shape == (BATCH, 6, IMAGE_SIZE, IMAGE_SIZE) and torch.isfinite(sample).all()
    assert not torch.equal(sample, resize_only[0][0])
    print(
        f"\nclassifier training augmentation on CPU, one thread, batch {BATCH}, {IMAGE_SIZE} px, {SETTING}, "
        f"{STEPS} steps, load average {os.getloadavg()[0]:.1f} (CPU us per sample, samples/s of one core):"
        f"\n  loader-side (numpy/OpenCV per native crop, then resize): {cost['loader']:6.0f}  "
        f"{1e6 / cost['loader']:7.0f}"
        f"\n  device-side on CPU (resize in loader, torch batch):      {cost['device']:6.0f}  "
        f"{1e6 / cost['device']:7.0f}"
        f"\n    of which the loader's resize alone:                   {cost['resize']:6.0f}  "
        f"{1e6 / cost['resize']:7.0f}"
        f"\n    and the torch batch augmentation alone:               {cost['augment']:6.0f}  "
        f"{1e6 / cost['augment']:7.0f}"
        f"\n  throughput ratio device-side / loader-side on CPU: {cost['loader'] / cost['device']:.2f}x; the loader's "
        f"work with augmentation on a GPU (resize only) against loader-side augmentation: "
        f"{cost['loader'] / cost['resize']:.2f}x"
    )
    assert all(np.isfinite(list(cost.values())))
