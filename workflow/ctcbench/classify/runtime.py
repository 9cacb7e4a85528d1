"""Where and how a run computes: device choice, seeding, mixed precision, optimizer kernels, compilation, RNG state
for resuming."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch
from torch.optim import Adam

from ..errors import ConfigError


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: CUDA is not available on this machine; use --device cpu or auto")
    return device


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and every GPU); the original seeded nothing (docs/defects.md#defect-10)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def configure(device: torch.device, threads: int, deterministic: bool) -> None:
    """Threads for CPU math; on CUDA either bitwise-repeatable kernels or the fastest ones (cudnn autotuning)."""
    torch.set_num_threads(max(1, threads))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not deterministic
        torch.backends.cudnn.deterministic = deterministic
        torch.backends.cuda.matmul.allow_tf32 = not deterministic
        torch.backends.cudnn.allow_tf32 = not deterministic


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA for training steps (no loss scaling needed, unlike the original's fp16); full fp32 on
    CPU. Scoring never uses it (classify.predict)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def adam(params: Iterable[torch.nn.Parameter], lr: float, device: torch.device, fused: bool = False) -> Adam:
    """The original's Adam (betas 0.9 / 0.999, eps 1e-8, no weight decay).

    `fused` (classify.fused_optimizer) asks for torch's fused single-kernel Adam, on CUDA only: on CPU the
    optimizer stays torch's default for-loop kernel, so CPU numbers do not depend on the option. (Without it,
    torch already uses its multi-tensor `foreach` kernels on CUDA.)
    """
    options = {"fused": True} if fused and device.type == "cuda" else {}
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, **options)


def compiled(model: torch.nn.Module, enabled: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """What the training steps call: the model itself, or with `enabled` (classify.compile) `torch.compile` of it.

    The compiled module shares the model's parameters; checkpoints and every evaluation keep using the model
    itself, eagerly and in fp32, so scores do not depend on the option (and eval mode never triggers a recompile).
    """
    return torch.compile(model) if enabled else model


def rng_state(augment: torch.Generator | None = None) -> dict[str, Any]:
    """Every generator a training step draws from; `augment` is the device augmentation's (classify.device_augment)."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if augment is not None:
        state["augment"] = augment.get_state()
    return state


def set_rng_state(state: dict[str, Any], augment: torch.Generator | None = None) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if augment is not None:
        augment.set_state(state["augment"])


@contextlib.contextmanager
def evaluating(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode and no autograd for the block, then back to the mode the model was in."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        model.train(was_training)
