"""Exact resumption: the random-number generators of a detector run travel inside mmengine's checkpoints.

mmengine's resume restores the model, optimizer, schedulers and counters, and the sampler's order is a pure
function of (seed, epoch); the generators, though, are only seeded again. A resumed run therefore drew the random
flips (numpy) and Faster R-CNN's box samples and DINO's denoising queries (torch) of its first epoch again.
`CtcRngStateHook` saves the generator states with every checkpoint, those of the main process and of each
persistent data-loader worker, and puts them back where the uninterrupted run stood, so that a resumed run ends
with the same weights bit for bit (on CPU; CUDA kernels need not repeat themselves).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..classify.runtime import rng_state, set_rng_state

CHECKPOINT_KEY = "ctcbench_rng"
BATCH_KEY = "ctcbench_worker_rng"  # a persistent worker's generator states after it loaded the batch


def worker_rng_state() -> dict[str, Any]:
    """The CPU generators only: a forked data-loader worker must not initialise CUDA."""
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def on_cpu(value: Any) -> Any:
    """`value` with every tensor on the CPU (mmengine loads a checkpoint onto the training device)."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {key: on_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(on_cpu(item) for item in value)
    return value


def collate_with_worker_rng(collate: Callable[[list], dict], samples: list) -> dict:
    """The batch, plus the worker's generator states once its transforms have drawn from them."""
    batch = collate(samples)
    worker = torch.utils.data.get_worker_info()
    if worker is not None:
        batch[BATCH_KEY] = {"worker": worker.id, "state": worker_rng_state()}
    return batch


def init_worker_with_rng(init: Callable[[int], None] | None, states: dict[int, dict[str, Any]], worker_id: int) -> None:
    """Seed the worker as usual, then continue from the state it had reached when the checkpoint was written."""
    if init is not None:
        init(worker_id)
    if worker_id in states:
        set_rng_state(states[worker_id])


@HOOKS.register_module()
class CtcRngStateHook(Hook):
    """Saves the generator states with each checkpoint and restores them on resume.

    The main process's states are restored where the uninterrupted run had them: before the epoch's data loader
    starts when batches are loaded in the main process (its transforms draw from numpy there, and every epoch's
    loader draws a base seed from torch), after the loader started with persistent workers (an uninterrupted run
    drew their base seed in its first epoch only, and their transforms draw from the workers' own generators).
    """

    priority = "VERY_HIGH"  # takes its entry out of the batch before any other hook or the model sees it

    def __init__(self) -> None:
        self.worker_states: dict[int, dict[str, Any]] = {}
        self.pending_main: dict[str, Any] | None = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = {"main": rng_state(), "workers": dict(self.worker_states)}

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = checkpoint.get(CHECKPOINT_KEY)
        if saved is not None:  # absent from pretrained weights, which are loaded through this hook too
            saved = on_cpu(saved)
            self.pending_main, self.worker_states = saved["main"], saved["workers"]

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        if loader.persistent_workers:
            loader.collate_fn = partial(collate_with_worker_rng, loader.collate_fn)
            if self.worker_states:
                loader.worker_init_fn = partial(init_worker_with_rng, loader.worker_init_fn, dict(self.worker_states))
        elif self.pending_main is not None:
            self._restore_main()

    def before_train_iter(self, runner, batch_idx: int, data_batch: dict | None = None) -> None:
        if data_batch is not None and BATCH_KEY in data_batch:
            entry = data_batch.pop(BATCH_KEY)
            self.worker_states[entry["worker"]] = entry["state"]
        if self.pending_main is not None:
            self._restore_main()

    def _restore_main(self) -> None:
        set_rng_state(self.pending_main)
        self.pending_main = None
