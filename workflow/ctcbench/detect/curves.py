"""The training curve of a detector run: the loss terms and learning rate of every iteration.

The rows travel inside mmengine's checkpoints, so a resumed run ends with the same curve as an uninterrupted one
(the iterations a killed session ran after its last checkpoint are run again and recorded once).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..tables import write_csv

CHECKPOINT_KEY = "ctcbench_curves"
LEADING_COLUMNS = ("iteration", "epoch", "lr", "loss")


def scalar(value: Any) -> float:
    """A logged loss term as a float (the terms are still attached to the graph when the hook sees them)."""
    return float(value.detach()) if hasattr(value, "detach") else float(value)


@HOOKS.register_module()
class CtcCurvesHook(Hook):
    """Keeps one row per training iteration: iteration, epoch, lr and every loss term mmdet logs."""

    priority = "VERY_LOW"

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        lrs = runner.optim_wrapper.get_lr()
        first_lr = next(iter(lrs.values()))[0]
        terms = {name: scalar(value) for name, value in (outputs or {}).items()}
        self.rows.append({"iteration": runner.iter, "epoch": runner.epoch, "lr": float(first_lr), **terms})

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = list(self.rows)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.rows = list(checkpoint.get(CHECKPOINT_KEY, []))


def write_curves(path: Path, rows: list[dict[str, Any]]) -> None:
    """curves.csv: the leading columns, then the detector's loss terms in name order."""
    terms = sorted({key for row in rows for key in row} - set(LEADING_COLUMNS))
    formatted = [
        {key: f"{value:.6g}" if isinstance(value, float) else value for key, value in row.items()} for row in rows
    ]
    write_csv(path, formatted, LEADING_COLUMNS + tuple(terms))


def recorded_rows(runner) -> list[dict[str, Any]]:
    """The rows of the runner's curves hook (empty when it has none)."""
    hook = next((h for h in runner.hooks if isinstance(h, CtcCurvesHook)), None)
    return hook.rows if hook is not None else []
