"""Training data: training-set lists map onto the cache, batches are seeded per step, loaders agree."""

import time

import numpy as np
import pytest
import torch

from ctcbench.classify.augment import Normalisation
from ctcbench.classify.data import (
    HELD_BATCHES,
    CropSource,
    EvalChunks,
    TrainBatches,
    batch_positions,
    channel_statistics,
    step_rng,
    train_stream,
    trainset_indices,
)
from ctcbench.data.crops import CropCache
from ctcbench.data.splits import CropRecord, read_trainset
from ctcbench.errors import DatasetError


def test_trainset_keys_map_to_cache_and_labels_come_from_the_list(tiny_crops):
    cache = CropCache.load(tiny_crops.cache("train"))
    relabel = {"U": "G"}  # a list may give a crop another label than the cache holds
    records = [
        CropRecord(r.key, relabel.get(r.label, r.label), r.image_id) for r in read_trainset(tiny_crops.trainset("all"))
    ]
    indices, labels = trainset_indices(cache, records)
    assert [str(cache.keys[i]) for i in indices] == [r.key for r in records]
    was_unknown = cache.labels[indices] == 2
    assert was_unknown.any() and (labels[was_unknown] == 1).all()  # U relabelled G by the list
    with pytest.raises(DatasetError, match="not in the train crop cache"):
        trainset_indices(cache, [CropRecord("r06c04f99p01_0_1_1_5_5", "R", "r06c04f99p01")], "x.tsv")


def test_batches_are_uniform_without_replacement_and_independent_per_step():
    n, size = 50, 16
    seen = np.zeros(n)
    for step in range(3000):
        positions = batch_positions(step_rng(7, step), n, size)
        assert len(set(positions.tolist())) == size
        seen[positions] += 1
    assert seen.min() > 0.8 * seen.mean() and seen.max() < 1.2 * seen.mean()
    assert (batch_positions(step_rng(7, 5), n, size) == batch_positions(step_rng(7, 5), n, size)).all()
    assert not (batch_positions(step_rng(7, 5), n, size) == batch_positions(step_rng(8, 5), n, size)).all()
    assert sorted(batch_positions(step_rng(0, 0), 10, 64).tolist()) == list(range(10))  # small set: all of it


def test_channel_statistics(tiny_crops):
    cache = CropCache.load(tiny_crops.cache("train", "native"))
    source = CropSource(cache, "bf_fluo")
    indices = np.array([0, 3, 3, 5])  # duplicates count once
    pixels = np.concatenate([source.crop(i).reshape(-1, 6) for i in (0, 3, 5)]).astype(np.float64)
    stats = channel_statistics(source, indices)
    assert np.allclose(stats.mean, pixels.mean(axis=0)) and np.allclose(stats.std, pixels.std(axis=0))


def test_loader_workers_do_not_change_batches(tiny_crops):
    cache = CropCache.load(tiny_crops.cache("train"))
    indices, labels = trainset_indices(cache, read_trainset(tiny_crops.trainset("all")))
    batches = TrainBatches(CropSource(cache, "bf_hoechst"), indices, labels, 8, 24, 3, "clipped", Normalisation())
    direct = [batches[s] for s in range(4, 30)]
    inline = list(train_stream(batches, range(4, 30), workers=0, pin_memory=False, seed=0))
    # Worker batches are views of a ring with fewer slots than steps (2 workers x 2 ahead + HELD_BATCHES). A slow
    # consumer lets the workers run as far ahead as the loader allows; each batch is checked only once the
    # consumer holds HELD_BATCHES of them, the most it may hold while the ring is reused.
    held, checked = [], 0
    for batch in train_stream(batches, range(4, 30), workers=2, pin_memory=False, seed=0):
        held.append(batch)
        time.sleep(0.02)
        if len(held) == HELD_BATCHES:
            (img, lab), expected = held.pop(0), direct[checked]
            assert torch.equal(img, expected[0]) and torch.equal(lab, expected[1]), f"batch {checked} overwritten"
            checked += 1
    assert checked + len(held) == len(inline) == len(direct) == 26
    for (a_img, a_lab), (c_img, c_lab) in zip(direct, inline):
        assert torch.equal(a_img, c_img) and torch.equal(a_lab, c_lab)
    assert direct[0][0].shape == (8, 3, 24, 24)
    chunks = EvalChunks(CropSource(cache, "bf"), np.arange(len(cache)), 24, Normalisation(), chunk=10)
    assert sum(len(c) for c in chunks) == len(cache) and len(chunks) == -(-len(cache) // 10)


@pytest.mark.parametrize("reader", ["opencv", "native"])
@pytest.mark.parametrize("setting, hoechst", [("bf", 3), ("bf_hoechst", 3), ("bf_hoechst", 4), ("bf_fluo", 3)])
def test_crop_source_composes_like_the_channel_module(tiny_crops, reader, setting, hoechst):
    from ctcbench.data.channels import classifier_input

    cache = CropCache.load(tiny_crops.cache("val", reader))
    source = CropSource(cache, setting, hoechst)
    for index in (0, 7, len(cache) - 1):
        expected = classifier_input(*cache.pair(index), setting, hoechst)
        got = source.crop(index)
        assert got.dtype == np.float32 and got.shape == expected.shape and np.array_equal(got, expected)
