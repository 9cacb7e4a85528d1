"""Train one detector run with mmengine: seeded, resumable, ending in model.pth and run.json.

Resuming: mmengine checkpoints go to `<run dir>/work/` every `checkpoint_interval` epochs. When the job is killed
and started again (Snakemake deletes only the declared outputs), training continues from the last checkpoint.
The run spec is stored beside the checkpoints; a work folder left by a different spec (the config changed) is
discarded instead of resumed, so a checkpoint never continues under settings it was not trained with. After the
final model is written, the resumable checkpoints are removed (they carry optimizer state and are large).

The model written is the final epoch's, or under the protocol's `detector_checkpoint: best_val` the epoch with the
best AP50 on the val images (`best_val`); run.json records which and the val scores.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import provenance
from ..data.pointer import read_pointer
from ..data.splits import read_image_list
from ..errors import DiskFullError, DownloadError
from ..io import atomic_torch_save, atomic_write_json, format_bytes, is_disk_full, read_json
from ..resume_files import DETECT_POINTER, DETECT_WORK_DIR
from ..run_record import run_record, step_seconds
from .configs import inference_pad_size_divisor, runner_config
from .schedule import warmup_iterations
from .spec import RunSpec
from .weights import adapt_stem, trusted_torch_load

log = logging.getLogger(__name__)

MODEL_FORMAT = "ctcbench.detector/1"


@dataclass(frozen=True)
class TrainPaths:
    """Inputs and outputs of one run; `weights` is the staged pretrained file when the spec needs one."""

    dataset: Path  # the dataset pointer (results/{preset}/data/dataset.json)
    train_list: Path
    model: Path
    run_json: Path
    weights: Path | None = None
    curves: Path | None = None  # the loss of every iteration; default curves.csv beside the model
    val_list: Path | None = None  # the val images, scored to keep the best epoch (detector_checkpoint: best_val)

    @property
    def curves_csv(self) -> Path:
        return self.curves or self.model.parent / "curves.csv"

    @property
    def work_dir(self) -> Path:
        return self.model.parent / DETECT_WORK_DIR


def prepare_work_dir(work_dir: Path, spec: RunSpec) -> None:
    """Keep a work folder only if it belongs to this exact spec; record the spec in it."""
    marker = work_dir / "spec.json"
    if work_dir.exists():
        previous = read_json(marker).get("sha256") if marker.is_file() else None
        if previous != spec.digest():
            log.warning("%s: left by a different configuration; starting this run from scratch", work_dir)
            shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    if not marker.is_file():
        atomic_write_json(marker, {"sha256": spec.digest(), "spec": spec.to_dict()})


def latest_checkpoint(work_dir: Path) -> Path | None:
    """The checkpoint mmengine recorded last, if it is still there.

    mmengine writes `last_checkpoint` after the checkpoint itself; a kill between the two leaves the pointer empty
    or stale, and then the highest complete epoch file is the one to continue from.
    """
    pointer = work_dir / DETECT_POINTER
    if pointer.is_file():
        path = Path(pointer.read_text().strip())
        if pointer.read_text().strip() and path.is_file():
            return path
    # torch.save writes a zip whose central directory comes last: a file cut short by a kill is not a zip yet.
    complete = [p for p in work_dir.glob("epoch_*.pth") if zipfile.is_zipfile(p)]
    return max(complete, key=checkpoint_epoch) if complete else None


def checkpoint_epoch(path: Path | None) -> int:
    """Epoch of an mmengine `epoch_N.pth` checkpoint (0 for anything else)."""
    match = re.search(r"epoch_(\d+)\.pth$", str(path)) if path else None
    return int(match.group(1)) if match else 0


@contextmanager
def full_disk_reported(work_dir: Path) -> Iterator[None]:
    """mmengine writes its epoch checkpoints itself, straight to their final name: on a full disk, turn its raw
    ENOSPC into one line naming the checkpoint, and remove that partial file so no later run trips over it."""
    try:
        yield
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        partial = [p for p in work_dir.glob("epoch_*.pth") if not zipfile.is_zipfile(p)]
        written = sum(p.stat().st_size for p in partial)
        for path in partial:
            path.unlink()
        resume = latest_checkpoint(work_dir)
        then = f"the next run resumes from epoch {checkpoint_epoch(resume)}" if resume else "the next run starts over"
        free = f"{format_bytes(shutil.disk_usage(work_dir).free)} free in {work_dir}"
        if partial:
            what = (
                f"{partial[0]}: no space left on the device while training ({format_bytes(written)} of the "
                f"checkpoint written, {free})"
            )
            kept = f"the partial checkpoint was removed; {then}"
        else:
            what = f"{work_dir}: no space left on the device while training ({free})"
            kept = then
        raise DiskFullError(
            f"{what}; free some space or move the results to a larger disk, then run again ({kept})"
        ) from None


def pretrained_file(spec: RunSpec, paths: TrainPaths) -> tuple[Path | None, dict[str, Any] | None]:
    """The weights the model starts from (stem-adapted when needed) and their record for run.json.

    The staging step (rule detect_weights) verified the file against its configured checksum; here it is only
    hashed for the record.
    """
    key = spec.weights_key
    if key is None:
        return None, None
    if paths.weights is None or not paths.weights.is_file():
        raise DownloadError(
            f"{paths.weights or 'detect.weights.' + key}: pretrained weights missing; stage them with "
            f"`python -m ctcbench detect-weights --key {key}` (or rule detect_weights), or set detect.pretrained: false"
        )
    record = {"key": key, "file": str(paths.weights), "sha256": provenance.file_sha256(paths.weights), "stem": "as is"}
    if spec.in_channels != 3:
        record["stem"] = spec.switches.detector_stem
        if spec.switches.detector_stem == "inflate":
            adapted = paths.work_dir / f"pretrained-{spec.in_channels}ch.pth"
            return adapt_stem(paths.weights, adapted, spec.in_channels), record
    return paths.weights, record


def save_model(path: Path, state: dict[str, Any], spec: RunSpec, model_config: dict[str, Any], epoch: int) -> None:
    """Weights only, with the generated model config, so that inference rebuilds exactly this model."""
    payload = {
        "format": MODEL_FORMAT,
        "state_dict": state,
        "meta": {"spec": spec.to_json(), "model_config": json.dumps(model_config), "epoch": epoch},
    }
    atomic_torch_save(path, payload)


def _attempts(work_dir: Path) -> list[dict[str, Any]]:
    path = work_dir / "attempts.json"
    return read_json(path) if path.is_file() else []


def _cleanup(work_dir: Path) -> None:
    (work_dir / DETECT_POINTER).unlink(missing_ok=True)
    for path in work_dir.glob("*.pth"):
        path.unlink()


def iteration_seconds(runner) -> list[float]:
    """Each training iteration's time as mmengine's timer hook logged it (batch, forward, backward, update); the
    history travels in the checkpoints, so a resumed run holds the iterations of its earlier attempts too."""
    scalars = runner.message_hub.log_scalars
    return [float(value) for value in scalars["train/time"].data[0]] if "train/time" in scalars else []


def kept_model(runner, model) -> tuple[dict[str, Any], int, dict[str, Any] | None]:
    """The weights the run keeps, their epoch and the val record: the final epoch's, or the best val epoch's."""
    from . import best_val

    hook = best_val.chosen(runner)
    if hook is None:
        return best_val.cpu_state(model), runner.epoch, None
    record = {
        "metric": "ap50",
        "nms_iou": hook.nms_iou,
        "images": len(hook.image_ids),
        "interval": hook.interval,
        "best_epoch": hook.best_epoch,
        "history": hook.history,
    }
    return best_val.best_weights(hook), hook.best_epoch, record


def train(spec: RunSpec, paths: TrainPaths, threads: int = 1) -> dict[str, Any]:
    """Train (or resume) the run and write its model and run record; returns the record."""
    import torch
    from mmengine.runner import Runner

    from . import registry
    from .curves import recorded_rows, write_curves

    registry.ensure_registered()
    torch.set_num_threads(threads)
    started = time.time()
    pointer = read_pointer(paths.dataset)
    work_dir = paths.work_dir
    prepare_work_dir(work_dir, spec)
    weights, weights_record = pretrained_file(spec, paths)
    resume_from = latest_checkpoint(work_dir)
    train_images = len(read_image_list(paths.train_list))
    cfg = runner_config(
        spec,
        pointer.root,
        paths.train_list,
        work_dir,
        train_images,
        weights=weights,
        load_from=resume_from,
        resume=resume_from is not None,
        val_list=paths.val_list,
    )
    cfg.dump(str(work_dir / "config.py"))
    if resume_from is not None:
        log.info("resuming %s from %s", spec.name, resume_from)
    log.info("training %s on %d images for %d epochs", spec.name, train_images, spec.detect["epochs"])
    runner = Runner.from_cfg(cfg)
    with trusted_torch_load(), full_disk_reported(work_dir):
        model = runner.train()
    state, kept_epoch, val_record = kept_model(runner, getattr(model, "module", model))
    save_model(paths.model, state, spec, cfg.model.to_dict(), kept_epoch)
    write_curves(paths.curves_csv, recorded_rows(runner))

    device = "cuda" if torch.cuda.is_available() else "cpu"
    wall = time.time() - started
    attempt = {"wall_time_s": round(wall, 1), "resumed_from_epoch": checkpoint_epoch(resume_from) or None}
    attempts = _attempts(work_dir) + [attempt]
    atomic_write_json(work_dir / "attempts.json", attempts)
    loss = runner.message_hub.get_scalar("train/loss")
    record = run_record(
        stage="detect",
        identity={
            "name": spec.name,
            "detector": spec.detector,
            "setting": spec.setting,
            "trainset": spec.trainset,
            "seed": spec.seed,
        },  # fmt: skip
        protocol=spec.protocol,
        spec=spec.to_dict(),
        spec_sha256=spec.digest(),
        inputs={
            "dataset": {
                "root": pointer.root,
                "source": pointer.source,
                "pointer_sha256": provenance.file_sha256(paths.dataset),
            },
            "train_list": {
                "path": str(paths.train_list),
                "sha256": provenance.file_sha256(paths.train_list),
                "images": train_images,
            },
            "weights": weights_record,
            "val_list": (
                {"path": str(paths.val_list), "sha256": provenance.file_sha256(paths.val_list)}
                if val_record is not None
                else None
            ),
        },
        outputs={"model": {"path": str(paths.model), "sha256": provenance.file_sha256(paths.model)}},
        training={
            "epochs": runner.epoch,
            "iterations": runner.iter,
            "final_loss": round(float(loss.current()), 6) if loss is not None else None,
            "in_channels": spec.in_channels,
            "standardise": spec.switches.detector_standardise,
            "stem": spec.switches.detector_stem,
            "box_shift": spec.box_shift,
            "warmup_iters": warmup_iterations(spec, train_images),
            "schedule_scaling": spec.switches.detector_schedule_scaling,
            "test_pad_size_divisor": inference_pad_size_divisor(spec),
            "checkpoint": spec.switches.detector_checkpoint,
            "model_epoch": kept_epoch,
            "val": val_record,
        },
        device=device,
        compute={
            "wall_time_s": round(sum(a["wall_time_s"] for a in attempts), 1),
            "attempts": attempts,
            "peak_memory": provenance.peak_memory_mb(device),
            "step_seconds": step_seconds(iteration_seconds(runner)),
            "threads": threads,
        },
    )
    atomic_write_json(paths.run_json, record)
    _cleanup(work_dir)
    log.info("wrote %s (epoch %s of %s, %.0f s)", paths.model, kept_epoch, runner.epoch, wall)
    return record
