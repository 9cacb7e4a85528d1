"""Train one classifier run (docs/protocol.md#classifier-training), resumable and seeded.

As the original: Adam without weight decay, cross-entropy with label smoothing, the learning rate of `Schedule`
set before every step, validation every `val_every` steps on the val crops (argmax accuracy), `best.pt` written
whenever accuracy beats the best so far after the warm-up (the original: s > 1000 with a 1000-step warm-up), and
`final.pt` at the end. Evaluation uses `best.pt`, like every evaluation script of the original.
run.json is written last, so its presence marks a finished run.

Not as the original: everything is seeded, batches are a pure function of (seed, step) (see `data`), mixed
precision is bf16 on CUDA, and `last.pt` (model, optimizer, step, RNG states, best so far) is written every
`resume_every` steps so that a killed run restarts from it and ends with the same weights and metrics as an
uninterrupted one (bitwise on CPU, and on CUDA unless --fast-cuda).

Speed options, all off by default: the batch augmented on the device instead of in the loader (the spec's
`augment_on`, `device_augment`), the fused Adam kernel on CUDA (--fused-optimizer) and `torch.compile` of the
training forward (--compile; `runtime.compiled`).
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..data.crops import CropCache
from ..data.layout import CLASSES
from ..data.splits import read_trainset
from ..errors import ConfigError, DatasetError
from ..io import atomic_write_json
from ..protocol import Protocol
from ..provenance import file_sha256, peak_memory_mb
from ..resume_files import CLASSIFY_LAST, CLASSIFY_RESUME_DIR
from ..run_record import run_record, step_seconds
from ..tables import write_csv
from .augment import Normalisation
from .checkpoint import ModelSpec, load_resume, save_model, save_resume
from .data import CropSource, EvalChunks, TrainBatches, channel_statistics, make_loader, train_stream, trainset_indices
from .device_augment import DeviceAugmentation
from .models import count_parameters
from .predict import EVAL_CHUNK, predict_loader, to_device
from .runtime import (
    adam,
    autocast,
    compiled,
    configure,
    pick_device,
    rng_state,
    seed_everything,
    set_rng_state,
)
from .schedule import Schedule
from .selection import HALF_BEST, half_accuracies, image_halves, improves
from .spec import IN_LOADER, ON_DEVICE, ClassifierSpec

log = logging.getLogger(__name__)

BEST, FINAL, RUN, CURVES = "best.pt", "final.pt", "run.json", "curves.csv"
# Checkpoints of an unfinished run live in RESUME_DIR, not beside the declared outputs: Snakemake deletes the outputs
# of a killed job, and a resumed run must find its best-so-far model where it left it. best.pt moves out on
# completion. LAST is the resume state itself.
RESUME_DIR, LAST = CLASSIFY_RESUME_DIR, CLASSIFY_LAST
VAL_WORKERS = 2
CURVE_COLUMNS = ("step", "lr", "loss", "val_accuracy")


@dataclass
class TrainConfig:
    """One grid point: its spec (everything that changes its numbers), its files, and how to compute it."""

    spec: ClassifierSpec
    train_cache: Path
    val_cache: Path
    trainset_file: Path
    out_dir: Path
    weights: Path | None = None  # staged pretrained weights; None trains from scratch
    device: str = "auto"
    threads: int = 1
    workers: int = 0
    deterministic: bool = True
    resume_every: int = 1000
    compile: bool = False  # torch.compile the training forward (runtime.compiled)
    fused_optimizer: bool = False  # the fused Adam kernel on CUDA (runtime.adam); no effect on CPU

    def __post_init__(self) -> None:
        if self.spec.pretrained != (self.weights is not None):
            raise ConfigError(
                f"{self.spec.name}: the spec says pretrained={self.spec.pretrained}, but weights are "
                f"{'given' if self.weights is not None else 'missing'}; pass --weights-dir with staged weights "
                "exactly when classify.pretrained is true"
            )

    @property
    def schedule(self) -> Schedule:
        return self.spec.schedule

    @property
    def protocol(self) -> Protocol:
        return self.spec.switches


@dataclass
class TrainOutcome:
    completed: bool
    next_step: int
    best_accuracy: float | None
    best_step: int | None


@dataclass
class _Progress:
    """The part of a run's state that is not model or optimizer: saved in last.pt, reported in run.json."""

    next_step: int = 0
    best_accuracy: float | None = None
    best_step: int | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)  # training loss of every step, for the training curves
    elapsed_s: float = 0.0
    sessions: int = 0
    peak: dict[str, float] = field(default_factory=dict)
    half_best: list[dict[str, float | None]] = field(default_factory=list)  # accuracy, step per val half (selection)
    step_seconds: list[float] = field(default_factory=list)  # each step's batch, forward, backward and update


def _check_labels(labels: np.ndarray, classes: tuple[str, ...], path: Path) -> None:
    allowed = [CLASSES.index(c) for c in classes]
    bad = sorted(set(np.unique(labels).tolist()) - set(allowed))
    if bad:
        raise DatasetError(
            f"{path}: labels {[CLASSES[b] for b in bad]} in a {'/'.join(classes)} training set; "
            "regenerate it (rules trainsets / pseudo_labels)"
        )


def validation_correct(model: nn.Module, loader, labels: np.ndarray, device: torch.device) -> np.ndarray:
    """Whether the argmax of each validation crop is its label (3-class, or R/G for 2-class sets)."""
    predictions = predict_loader(model, loader, device)
    return predictions.probs.argmax(axis=1) == labels


def _merge_peaks(old: dict[str, float | None], new: dict[str, float | None]) -> dict[str, float | None]:
    """Peaks over the sessions of a resumed run (None where a session did not measure it, e.g. no GPU)."""
    merged: dict[str, float | None] = {}
    for key in set(old) | set(new):
        values = [v for v in (old.get(key), new.get(key)) if v is not None]
        merged[key] = max(values) if values else None
    return merged


@dataclass
class RunData:
    """What a run trains and validates on, ready for the loaders."""

    train_cache: CropCache
    val_cache: CropCache
    spec: ModelSpec
    batches: TrainBatches
    val: EvalChunks
    val_labels: np.ndarray
    val_halves: np.ndarray | None  # half of each validation crop when checkpoints are also chosen per half


def prepare_data(cfg: TrainConfig) -> RunData:
    """Training set onto the crop cache, classes and head of its variant, normalisation, validation crops."""
    train_cache, val_cache = CropCache.load(cfg.train_cache), CropCache.load(cfg.val_cache)
    indices, labels = trainset_indices(train_cache, read_trainset(cfg.trainset_file), cfg.trainset_file)
    run, protocol = cfg.spec, cfg.protocol
    classes = run.classes
    _check_labels(labels, classes, cfg.trainset_file)
    source = CropSource(train_cache, run.setting, protocol.hoechst_channels)
    standardise = protocol.classifier_normalisation == "train_statistics"
    norm = channel_statistics(source, indices) if standardise else Normalisation()
    spec = ModelSpec(
        backbone=run.backbone,
        timm_name=run.timm_name,
        in_chans=source.channels,
        num_outputs=run.head_outputs,
        classes=classes,
        image_size=run.image_size,
        setting=run.setting,
        protocol=run.protocol,
        drop_path=run.drop_path,
        norm=norm.to_dict(),
        torchvision_name=run.torchvision_name,
    )
    # 2-class sets validate on the val crops of their classes (the original's val_noU).
    val_indices = np.flatnonzero(np.isin(val_cache.labels, [CLASSES.index(c) for c in classes]))
    if len(val_indices) == 0:
        raise DatasetError(f"{cfg.val_cache}: no {'/'.join(classes)} crops to validate on")
    halves = None
    if run.val_halves_seed is not None:
        halves = image_halves(val_cache.image_ids[val_indices], val_cache.patients[val_indices], run.val_halves_seed)
    schedule = cfg.schedule
    return RunData(
        train_cache=train_cache,
        val_cache=val_cache,
        spec=spec,
        batches=TrainBatches(
            source,
            indices,
            labels,
            schedule.batch_size,
            run.image_size,
            run.seed,
            protocol.brightness_augmentation,
            norm,
            augment=run.augment_on == IN_LOADER,
        ),
        val=EvalChunks(
            CropSource(val_cache, run.setting, protocol.hoechst_channels), val_indices, run.image_size, norm, EVAL_CHUNK
        ),
        val_labels=val_cache.labels[val_indices].astype(np.int64),
        val_halves=halves,
    )


def device_augmentation(cfg: TrainConfig, spec: ModelSpec, device: torch.device) -> DeviceAugmentation | None:
    """The run's augmentation on the device (augment_on: device), normalising as the loader would; else None."""
    if cfg.spec.augment_on != ON_DEVICE:
        return None
    return DeviceAugmentation(
        device, cfg.spec.seed, cfg.protocol.brightness_augmentation, spec.normalisation, cfg.spec.image_size
    )


def train(
    cfg: TrainConfig,
    *,
    stop_after: int | None = None,
    on_step: Callable[[int], None] | None = None,
    progress: bool = True,
) -> TrainOutcome:
    """Train (or resume) one run. `stop_after` ends this session after that many steps, as a kill would,
    leaving last.pt behind; `on_step(step)` is called after every completed step (a test can raise in it)."""
    started = time.monotonic()
    schedule = cfg.schedule
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(cfg.spec.seed)
    device = pick_device(cfg.device)
    configure(device, cfg.threads, cfg.deterministic)

    data = prepare_data(cfg)
    spec = data.spec
    model = spec.build(cfg.weights).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    optimizer = adam(model.parameters(), schedule.lr, device, fused=cfg.fused_optimizer)
    forward = compiled(model, cfg.compile)
    augmentation = device_augmentation(cfg, spec, device)
    augment_rng = None if augmentation is None else augmentation.generator
    criterion = nn.CrossEntropyLoss(label_smoothing=schedule.label_smoothing)

    state = _Progress()
    resume_dir = out / RESUME_DIR
    resume_path, pending_best = resume_dir / LAST, resume_dir / BEST
    half_files = HALF_BEST if data.val_halves is not None else ()
    if resume_path.is_file():
        saved = load_resume(resume_path)
        if saved["spec_digest"] != cfg.spec.digest():
            raise ConfigError(f"{resume_path}: resume state of a different run spec; delete it to start over")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        set_rng_state(saved["rng"], augment_rng)
        state = _Progress(**saved["progress"])
        log.info("resuming %s at step %d", out, state.next_step)
    else:
        shutil.rmtree(resume_dir, ignore_errors=True)  # leftovers of a run killed before its first resume state
    state.sessions += 1
    state.half_best = state.half_best or [{"accuracy": None, "step": None} for _ in half_files]

    pin = device.type == "cuda"
    seed = cfg.spec.seed
    train_loader = train_stream(data.batches, range(state.next_step, schedule.iterations), cfg.workers, pin, seed)
    # Validation crops need only a resize: two workers keep up with any model.
    val_workers = min(cfg.workers, VAL_WORKERS)
    val_loader = make_loader(data.val, range(len(data.val)), val_workers, pin, seed, persistent=True)

    info = {"backbone": cfg.spec.backbone, "setting": cfg.spec.setting, "trainset": cfg.spec.trainset, "seed": seed}

    def save_last() -> None:
        state.elapsed_s += time.monotonic() - session_clock[0]
        session_clock[0] = time.monotonic()
        state.peak = _merge_peaks(state.peak, peak_memory_mb(str(device)))
        save_resume(
            resume_path,
            {
                "spec_digest": cfg.spec.digest(),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "rng": rng_state(augment_rng),
                "sampler": {"seed": seed, "next_step": state.next_step},
                "progress": state.__dict__,
            },
        )

    session_clock = [started]
    steps_done = 0
    model.train()
    bar = tqdm(
        total=schedule.iterations,
        initial=state.next_step,
        desc=cfg.spec.name,
        unit="step",
        disable=not progress,
        mininterval=1.0 if sys.stderr.isatty() else 30.0,
    )
    step_clock = time.monotonic()
    for step, (images, targets) in zip(range(state.next_step, schedule.iterations), train_loader):
        lr = schedule.lr_at(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        images = to_device(images, device)
        if augmentation is not None:
            images = to_device(augmentation(images), device)
        with autocast(device):
            logits = forward(images)
        loss = criterion(logits.float(), targets.to(device, non_blocking=True))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        state.losses.append(float(loss.detach()))  # (waits for the device: the step is done)
        state.step_seconds.append(time.monotonic() - step_clock)
        state.next_step = step + 1
        steps_done += 1
        bar.update(1)

        if (step + 1) % schedule.val_every == 0:
            correct = validation_correct(model, val_loader, data.val_labels, device)
            acc = float(correct.mean())
            state.history.append({"step": step, "accuracy": acc, "loss": float(loss.detach())})
            if improves(state.best_accuracy, acc, step, schedule.warmup):
                state.best_accuracy, state.best_step = acc, step
                save_model(pending_best, model, spec, {**info, "step": step, "val_accuracy": acc})
            if half_files:
                halves_acc = half_accuracies(correct, data.val_halves)
                state.history[-1]["half_accuracy"] = halves_acc
                for half, best in enumerate(state.half_best):
                    if improves(best["accuracy"], halves_acc[half], step, schedule.warmup):
                        best.update(accuracy=halves_acc[half], step=step)
                        chosen = {**info, "step": step, "val_accuracy": halves_acc[half], "chosen_on_half": half,
                                  "val_halves_seed": cfg.spec.val_halves_seed}  # fmt: skip
                        save_model(resume_dir / half_files[half], model, spec, chosen)
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}", lr=f"{lr:.2e}", val=f"{acc:.3f}", refresh=False)
        if state.next_step % cfg.resume_every == 0 and state.next_step < schedule.iterations:
            save_last()
        if on_step is not None:
            on_step(step)
        if stop_after is not None and steps_done >= stop_after and state.next_step < schedule.iterations:
            save_last()
            bar.close()
            train_loader.close()
            log.info("stopped after %d steps this session; resume state in %s", steps_done, resume_path)
            return TrainOutcome(False, state.next_step, state.best_accuracy, state.best_step)
        step_clock = time.monotonic()  # validation and resume states are not part of the next step
    bar.close()
    train_loader.close()

    final_info = {**info, "step": schedule.iterations - 1}
    save_model(out / FINAL, model, spec, final_info)
    if state.best_step is None:
        # No validation after the warm-up (a very short schedule): evaluation falls back to the final weights.
        log.warning("no validation after the warm-up; best.pt is the final model")
        save_model(pending_best, model, spec, {**final_info, "val_accuracy": None, "fallback": "final"})
    for half, name in enumerate(half_files):
        if state.half_best[half]["step"] is None:
            fallback = {**final_info, "val_accuracy": None, "fallback": "final", "chosen_on_half": half,
                        "val_halves_seed": cfg.spec.val_halves_seed}  # fmt: skip
            save_model(resume_dir / name, model, spec, fallback)
        (resume_dir / name).replace(out / name)
    state.elapsed_s += time.monotonic() - session_clock[0]
    state.peak = _merge_peaks(state.peak, peak_memory_mb(str(device)))
    pending_best.replace(out / BEST)
    write_curves(out / CURVES, schedule, state)
    write_run_record(cfg, spec, state, model, device, data)
    shutil.rmtree(resume_dir, ignore_errors=True)
    return TrainOutcome(True, state.next_step, state.best_accuracy, state.best_step)


def write_curves(path: Path, schedule: Schedule, state: _Progress) -> None:
    """curves.csv: step, learning rate and training loss of every step, val accuracy where it was measured."""
    accuracy = {entry["step"]: entry["accuracy"] for entry in state.history}
    rows = [
        {"step": step, "lr": f"{schedule.lr_at(step):.6g}", "loss": f"{loss:.6f}",
         "val_accuracy": "" if step not in accuracy else f"{accuracy[step]:.6f}"}
        for step, loss in enumerate(state.losses)
    ]  # fmt: skip
    write_csv(path, rows, CURVE_COLUMNS)


def write_run_record(
    cfg: TrainConfig, spec: ModelSpec, state: _Progress, model: nn.Module, device: torch.device, data: RunData
) -> None:
    """run.json (ctcbench.run_record): enough to tell exactly what produced this run's checkpoints."""
    run, out = cfg.spec, Path(cfg.out_dir)
    weights = None if cfg.weights is None else {"path": str(cfg.weights), "sha256": file_sha256(cfg.weights)}
    record = run_record(
        stage="classify",
        identity={
            "name": run.name,
            "backbone": run.backbone,
            "setting": run.setting,
            "trainset": run.trainset,
            "seed": run.seed,
        },  # fmt: skip
        protocol=run.protocol,
        spec=run.to_dict(),
        spec_sha256=run.digest(),
        inputs={
            "train_cache": {"path": str(cfg.train_cache), "content_sha256": data.train_cache.content_hash()},
            "val_cache": {"path": str(cfg.val_cache), "content_sha256": data.val_cache.content_hash()},
            "trainset": {
                "path": str(cfg.trainset_file),
                "sha256": file_sha256(cfg.trainset_file),
                "crops": int(len(data.batches.indices)),
            },  # fmt: skip
            "weights": weights,
        },
        outputs={
            name: {"path": str(out / name), "sha256": file_sha256(out / name)}
            for name in (BEST, FINAL, *(HALF_BEST if data.val_halves is not None else ()))
        },
        training={
            "steps": run.schedule.iterations,
            "best_step": state.best_step,
            "best_val_accuracy": state.best_accuracy,
            "best_per_val_half": state.half_best or None,
            "val_halves_seed": run.val_halves_seed,
            "validation": state.history,
            "classes": list(spec.classes),
            "head_outputs": spec.num_outputs,
            "network": spec.network.to_dict(),
            "in_chans": spec.in_chans,
            "normalisation": spec.norm,
            "parameters_backbone": count_parameters(model),
            "parameters_total": count_parameters(model, backbone_only=False),
        },
        device=str(device),
        compute={
            "wall_time_s": round(state.elapsed_s, 2),
            "sessions": state.sessions,
            "peak_memory": state.peak,
            "step_seconds": step_seconds(state.step_seconds),
            "threads": cfg.threads,
            "workers": cfg.workers,
            "deterministic": cfg.deterministic,
            "resume_every": cfg.resume_every,
            "compile": cfg.compile,
            "fused_optimizer": cfg.fused_optimizer,
        },
    )
    atomic_write_json(out / RUN, record)
