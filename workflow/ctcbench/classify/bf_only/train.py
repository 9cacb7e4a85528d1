"""Train and evaluate one run of the brightfield-only track (docs/experiments.md#bf-only), seeded.

As the study: an ImageNet network (when classify.pretrained) with a 2-output head, cross-entropy, AdamW at the
protocol's learning rate (`bf_only_lr`), `epochs` passes over the training images in a seeded order, the model of
the best validation macro F1 kept (the first on ties). Its training images are the variant's
(`samples.training_samples`), augmented offline or online by the protocol's `bf_only_expansion`; validation uses
the primary channel alone.

The reported numbers follow the protocol's `classifier_checkpoint` (docs/defects.md#defect-8): oracle, the best
model on all val crops reported on them (the study reported its test split; ours has val); cross_fitted, the best
model on each half of the val images reports the other half, and the pooled predictions are scored. The oracle
numbers are kept beside them. Writes best.pt (and best-half*.pt), metrics.json with its per-image record,
curves.csv and run.json last.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ...data.crops import CropCache
from ...data.splits import read_trainset
from ...io import atomic_write_json
from ...per_image import Evaluation, per_image_path, write_evaluation
from ...provenance import file_sha256, peak_memory_mb
from ...run_record import run_record
from ...tables import write_csv
from ..checkpoint import ModelSpec, save_model
from ..metrics import auroc, row_percent
from ..runtime import configure, evaluating, pick_device, seed_everything
from ..selection import HALF_BEST, image_halves
from .augment import prepared
from .metrics import CANCER_FIRST, confusion, macro_metrics
from .records import MacroRecords
from .samples import Sample, image, pixel_scale, sample_draw, training_samples, validation_samples
from .spec import BfOnlySpec

log = logging.getLogger(__name__)

BEST, METRICS, RUN, CURVES = "best.pt", "metrics.json", "run.json", "curves.csv"
# The pretrained networks' input statistics, on images in [0, 1].
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
EVAL_BATCH = 128
CURVE_COLUMNS = ("step", "lr", "loss", "val_accuracy")


@dataclass(frozen=True)
class Files:
    train_cache: Path
    val_cache: Path
    trainset_file: Path
    out_dir: Path
    weights: Path | None = None  # staged ImageNet weights when the spec is pretrained


def checkpoint_norm(cache: CropCache) -> dict[str, list[float]]:
    """The normalisation best.pt records: ImageNet's statistics in the crops' own units, so that the classifier's
    evaluation path (`classify.scorer`: the Brightfield composition, resize, this normalisation) feeds a brightfield
    crop as the track does (scaled to [0, 1], then standardised): the pipeline scores its proposals with it."""
    scale = pixel_scale(cache)
    return {"mean": [float(m) * scale for m in IMAGENET_MEAN], "std": [float(s) * scale for s in IMAGENET_STD]}


def batch(cache: CropCache, samples: list[Sample], draws: list, size: int) -> torch.Tensor:
    return torch.from_numpy(
        np.stack([prepared(image(cache, s), d, size, IMAGENET_MEAN, IMAGENET_STD) for s, d in zip(samples, draws)])
    )


def predict(model: nn.Module, cache: CropCache, samples: list[Sample], size: int, device: torch.device) -> np.ndarray:
    """Softmax probabilities of the samples, unaugmented, in fp32."""
    probs = []
    with evaluating(model), torch.no_grad():
        for start in range(0, len(samples), EVAL_BATCH):
            part = samples[start : start + EVAL_BATCH]
            logits = model(batch(cache, part, [None] * len(part), size).to(device))
            probs.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    return np.concatenate(probs)


def _f1(labels: np.ndarray, probs: np.ndarray, chosen: np.ndarray) -> float:
    return macro_metrics(labels[chosen], probs[chosen].argmax(axis=1))["f1"] if np.any(chosen) else float("nan")


def _defined(value: float) -> float | None:
    return None if np.isnan(value) else value


def reported_metrics(labels: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """The study's numbers of some predictions, with AUROC of P(R) and the row-percent confusion (R, G)."""
    predicted = probs.argmax(axis=1)
    counts = confusion(labels, predicted)
    return {**macro_metrics(labels, predicted), "auroc": _defined(auroc(labels == 0, probs[:, 0])),
            "confusion_order": list(CANCER_FIRST), "confusion_percent": row_percent(counts).tolist(),
            "n_crops": int(len(labels))}  # fmt: skip


def train_and_evaluate(spec: BfOnlySpec, files: Files, device_name: str = "auto", threads: int = 1) -> dict:
    started = time.monotonic()
    seed_everything(spec.seed)
    device = pick_device(device_name)
    configure(device, threads, True)
    out = Path(files.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    variant, protocol = spec.variant, spec.switches
    train_cache, val_cache = CropCache.load(files.train_cache), CropCache.load(files.val_cache)
    samples = training_samples(
        train_cache, read_trainset(files.trainset_file), variant, spec.unknown, spec.expansion, str(files.trainset_file)
    )
    val = validation_samples(val_cache, variant, spec.unknown)
    val_index = np.array([s.index for s in val])
    labels = np.array([s.label for s in val], np.int64)
    image_ids, patients = val_cache.image_ids[val_index], val_cache.patients[val_index]
    halves = None if spec.val_halves_seed is None else image_halves(image_ids, patients, spec.val_halves_seed)

    model_spec = ModelSpec(spec.backbone, spec.timm_name, 3, 2, CANCER_FIRST, spec.image_size, "bf", spec.protocol,
                           spec.drop_path, checkpoint_norm(train_cache), spec.torchvision_name)  # fmt: skip
    model = model_spec.build(files.weights).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    criterion = nn.CrossEntropyLoss()
    targets = torch.tensor([s.label for s in samples])

    # The best model on all val crops, and on each half: (F1, epoch, weights).
    best: list[tuple[float, int, dict] | None] = [None] * (1 + (0 if halves is None else 2))
    losses, history = [], []
    for epoch in range(spec.epochs):
        order = np.random.default_rng([spec.seed, epoch]).permutation(len(samples))
        model.train()
        for start in range(0, len(order), spec.batch_size):
            chosen = order[start : start + spec.batch_size]
            draws = [sample_draw(samples[p], variant, protocol.bf_only_expansion, spec.seed, epoch, int(p))
                     for p in chosen]  # fmt: skip
            images = batch(train_cache, [samples[p] for p in chosen], draws, spec.image_size).to(device)
            loss = criterion(model(images), targets[chosen].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        probs = predict(model, val_cache, val, spec.image_size, device)
        scores = [_f1(labels, probs, np.ones(len(labels), bool))]
        if halves is not None:
            scores += [_f1(labels, probs, halves == half) for half in (0, 1)]
        accuracy = float(np.mean(probs.argmax(axis=1) == labels))
        history.append({"epoch": epoch, "step": len(losses) - 1, "f1": scores[0], "accuracy": accuracy})
        for k, score in enumerate(scores):
            if best[k] is None or score > best[k][0]:
                best[k] = (score, epoch, copy.deepcopy({n: t.detach().cpu() for n, t in model.state_dict().items()}))
        log.info("epoch %d: loss %.4f, val macro F1 %.4f", epoch, losses[-1], scores[0])

    info = {"backbone": spec.backbone, "setting": "bf", "trainset": spec.trainset, "seed": spec.seed}
    names = [BEST, *(HALF_BEST if halves is not None else ())]
    chosen_probs = []
    for name, (score, epoch, state) in zip(names, best):
        model.load_state_dict(state)
        save_model(out / name, model, model_spec, {**info, "epoch": epoch, "val_f1": score})
        chosen_probs.append(predict(model, val_cache, val, spec.image_size, device))
    oracle = reported_metrics(labels, chosen_probs[0])
    if halves is None:
        reported, probs = oracle, chosen_probs[0]
    else:  # each half scored by the model chosen on the other half
        probs = np.where((halves == 0)[:, None], chosen_probs[2], chosen_probs[1])
        reported = reported_metrics(labels, probs)
    metrics = {"run": info, "protocol": spec.protocol, "track": "bf_only", "variant": variant.value,
               "checkpoint": protocol.classifier_checkpoint, "threshold": None, **reported,
               "oracle": {**oracle, "threshold": None},
               "best_epoch": [entry[1] for entry in best]}  # fmt: skip
    records = MacroRecords(np.asarray(image_ids, str), np.asarray(patients, str), labels, probs.argmax(axis=1))
    write_evaluation(Evaluation(metrics, records), out / METRICS, per_image_path(out / METRICS))
    write_curves(out / CURVES, spec, losses, history)
    write_run(spec, files, out, samples, history, names, device, time.monotonic() - started)
    return metrics


def write_curves(path: Path, spec: BfOnlySpec, losses: list[float], history: list[dict]) -> None:
    """curves.csv as every classifier run writes it: the loss of every step, val accuracy at each epoch's end."""
    accuracy = {entry["step"]: entry["accuracy"] for entry in history}
    rows = [{"step": step, "lr": f"{spec.lr:.6g}", "loss": f"{loss:.6f}",
             "val_accuracy": "" if step not in accuracy else f"{accuracy[step]:.6f}"}
            for step, loss in enumerate(losses)]  # fmt: skip
    write_csv(path, rows, CURVE_COLUMNS)


def write_run(spec, files, out, samples, history, names, device, seconds) -> None:
    """run.json (ctcbench.run_record), written last: its presence marks a finished run."""
    weights = None if files.weights is None else {"path": str(files.weights), "sha256": file_sha256(files.weights)}
    record = run_record(
        stage="classify",
        identity={
            "name": spec.name,
            "backbone": spec.backbone,
            "setting": "bf",
            "trainset": spec.trainset,
            "seed": spec.seed,
        },  # fmt: skip
        protocol=spec.protocol,
        spec=spec.to_dict(),
        spec_sha256=spec.digest(),
        inputs={
            "train_cache": str(files.train_cache),
            "val_cache": str(files.val_cache),
            "trainset": {"path": str(files.trainset_file), "sha256": file_sha256(files.trainset_file)},
            "training_images": len(samples),
            "weights": weights,
        },  # fmt: skip
        outputs={name: {"path": str(out / name), "sha256": file_sha256(out / name)} for name in names},
        training={"epochs": spec.epochs, "validation": history, "classes": ["R", "G"], "head_outputs": 2},
        device=str(device),
        compute={"wall_time_s": round(seconds, 2), "sessions": 1, "peak_memory": peak_memory_mb(str(device))},
    )
    atomic_write_json(out / RUN, record)
