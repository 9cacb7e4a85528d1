"""The detector of the best val epoch (protocol switch `detector_checkpoint: best_val`, docs/defects.md#defect-22).

The original keeps the final epoch of every detector, while its classifiers keep their best-val checkpoint. Under
`best_val`, `CtcBestValHook` predicts the val images after every `detect.checkpoint_interval` epochs and after the
last, scores them as the test images are scored (`evaluate.prepare`: NMS and integer boxes; AP50 with the protocol's
IoU convention and ground-truth rule), and keeps the weights of the epoch with the highest AP50. On a tie the later
epoch wins: a flat validation curve keeps the original's final epoch, and a later epoch has trained longer at the
smaller learning rate. The run's model.pth is then that epoch's detector (`train.train`).

Resuming: the scores so far and the chosen epoch travel inside mmengine's checkpoints; the chosen epoch's weights
are a file of their own in the work folder, `best-epoch<E>.pth`. The hook scores an epoch before mmengine writes
that epoch's checkpoint, so a checkpoint only ever names a best epoch whose file was written before it; the file of
the previous best stays until a newer best replaces the current one, because a kill before the new checkpoint is
complete resumes from the previous checkpoint, which names the previous best.

The evaluation leaves the random generators as it found them, so a `best_val` run trains exactly the weights of a
`final` run of the same seed; only the epoch it keeps differs.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..classify.runtime import rng_state, set_rng_state
from ..data.layout import DatasetLayout
from ..data.splits import read_image_list
from ..errors import DatasetError
from ..io import atomic_torch_save
from ..protocol import parse
from .evaluate import ground_truth, prepare, val_summary
from .predictions import Predictions

log = logging.getLogger(__name__)

CHECKPOINT_KEY = "ctcbench_best_val"


def best_weights_file(work_dir: Path | str, epoch: int) -> Path:
    return Path(work_dir) / f"best-epoch{epoch}.pth"


def _epoch_of(path: Path) -> int | None:
    match = re.fullmatch(r"best-epoch(\d+)\.pth", path.name)
    return int(match.group(1)) if match else None


def cpu_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().cpu() for key, value in model.state_dict().items()}


@HOOKS.register_module()
class CtcBestValHook(Hook):
    """Scores the val images every `interval` epochs and after the last one, and keeps the weights of the best.

    `dataset`: the mmdet dataset config of the val images (`configs.inference_pipeline`, no annotations read);
    `protocol`: the protocol's name; `nms_iou`: the evaluation's NMS (`pipeline.nms_iou`); `work_dir`: where the
    best epoch's weights are kept until the run ends.
    """

    # After the epoch's last iteration, before the CheckpointHook (VERY_LOW) writes the epoch's checkpoint, which
    # must hold the epoch's score.
    priority = "NORMAL"

    def __init__(
        self, dataset: dict[str, Any], protocol: str, nms_iou: float, interval: int, batch_size: int, work_dir: str
    ) -> None:
        self.dataset_config = dataset
        self.protocol = parse(protocol)
        self.nms_iou = nms_iou
        self.interval = interval
        self.batch_size = batch_size
        self.work_dir = Path(work_dir)
        self.history: list[dict[str, Any]] = []  # {"epoch", "ap50", "best_f1", ...} per scored epoch
        self.best_epoch: int | None = None
        self.previous_best: int | None = None  # named by the checkpoint before the best epoch's own

    @property
    def best(self) -> dict[str, Any] | None:
        return next((entry for entry in self.history if entry["epoch"] == self.best_epoch), None)

    def before_train(self, runner) -> None:
        from mmdet.registry import DATASETS

        self.data = DATASETS.build(self.dataset_config)
        self.image_ids = read_image_list(self.dataset_config["ann_file"])
        self.truth = ground_truth(DatasetLayout(Path(self.dataset_config["data_root"])), "val", self.image_ids)
        self._keep_needed_weights()
        if self.best_epoch is not None and not best_weights_file(self.work_dir, self.best_epoch).is_file():
            raise DatasetError(
                f"{best_weights_file(self.work_dir, self.best_epoch)}: the weights of the best val epoch so far are "
                f"missing; delete {self.work_dir} to train the run again"
            )

    def after_train_epoch(self, runner) -> None:
        epoch = runner.epoch + 1  # mmengine counts the epoch just trained from 0
        if epoch % self.interval and epoch != runner.max_epochs:
            return
        model = getattr(runner.model, "module", runner.model)
        entry = {"epoch": epoch, **self.score(model)}
        self.history.append(entry)
        best = self.best
        if best is None or entry["ap50"] >= best["ap50"]:
            atomic_torch_save(best_weights_file(self.work_dir, epoch), cpu_state(model))
            self.previous_best, self.best_epoch = self.best_epoch, epoch
            self._keep_needed_weights()
        runner.logger.info(
            f"val AP50 {entry['ap50']:.4f} at epoch {epoch}; best {self.best['ap50']:.4f} at epoch {self.best_epoch}"
        )

    def score(self, model: torch.nn.Module) -> dict[str, Any]:
        """AP50, best F1 and counts of the model on the val images; training's generators and mode untouched."""
        from .predict import detect_images

        state, was_training = rng_state(), model.training
        model.eval()
        try:
            images = detect_images(model, self.data, self.batch_size, "val")
        finally:
            model.train(was_training)
            set_rng_state(state)
        detections = prepare(Predictions({}, images), self.image_ids, self.nms_iou)
        return val_summary(detections, self.truth, self.protocol)

    def _keep_needed_weights(self) -> None:
        """Remove every best-epoch file but the best's and the previous best's: a file of a killed session's later
        epochs is scored again, and older ones no resumable checkpoint names."""
        needed = {self.best_epoch, self.previous_best}
        for path in self.work_dir.glob("best-epoch*.pth"):
            if _epoch_of(path) not in needed:
                path.unlink()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = {
            "history": list(self.history),
            "best_epoch": self.best_epoch,
            "previous_best": self.previous_best,
        }

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = checkpoint.get(CHECKPOINT_KEY)
        if saved is not None:  # absent from pretrained weights, which are loaded through this hook too
            self.history = list(saved["history"])
            self.best_epoch, self.previous_best = saved["best_epoch"], saved["previous_best"]


def chosen(runner) -> CtcBestValHook | None:
    """The runner's best-val hook, or None when the run keeps its final epoch."""
    return next((hook for hook in runner.hooks if isinstance(hook, CtcBestValHook)), None)


def best_weights(hook: CtcBestValHook) -> dict[str, torch.Tensor]:
    """The weights of the best val epoch, once training has ended."""
    if hook.best_epoch is None:
        raise DatasetError(f"{hook.work_dir}: no val epoch was scored; check detect.checkpoint_interval")
    return torch.load(best_weights_file(hook.work_dir, hook.best_epoch), map_location="cpu", weights_only=True)
