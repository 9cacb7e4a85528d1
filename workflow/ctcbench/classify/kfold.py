"""One run of the k-fold track (docs/experiments.md#k-fold-track): a network trained on each fold's down-sampled
training crops and scored on its held-out fold and on the test part.

The labelled crops are the train and val crops of the setting (cancer R against not-cancer G; U dropped or counted
as not cancer, the spec's `unknown`), split by `data.kfold_splits`. Each fold trains with the project's classifier
pieces (the network builders, the batch sampler and augmentation, Adam under the schedule, fp32 scoring) from the
same start, for the spec's schedule, without validation or checkpoint choice (the study reports the trained
model). Each finished fold is kept in the run folder (`folds/fold<k>.json`, with the spec it was trained under), so a
killed run resumes at its first unfinished fold. Its outputs, in the run folder: metrics.json (per fold and part),
scores.csv (P(cancer) of every scored crop), confusion.csv and splits.csv (the part of every crop).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..data.crops import CropCache
from ..data.kfold_splits import TEST, split_parts, training_positions
from ..data.layout import CLASSES
from ..io import atomic_write_json, read_json
from ..tables import write_csv
from .augment import Normalisation
from .data import CropSource, TrainBatches, channel_statistics, train_stream
from .kfold_metrics import CUT_OFF, binary_metrics
from .kfold_spec import FORMAT, HELDOUT, TEST_PART, KFoldSpec
from .models import build_model
from .network import TORCHVISION
from .predict import predict, to_device
from .runtime import adam, autocast, configure, pick_device, seed_everything
from .torchvision_models import build_torchvision_model

log = logging.getLogger(__name__)

CANCER, NOT_CANCER = 0, 1
METRICS, SCORES, CONFUSION, SPLITS = "metrics.json", "scores.csv", "confusion.csv", "splits.csv"
FOLDS = "folds"  # a finished fold's record, scores and confusion: what a resumed run keeps


@dataclass
class Pool:
    """The labelled crops of both caches, in one numbering: which cache, where in it, and the crop's facts."""

    caches: tuple[CropCache, CropCache]
    cache_of: np.ndarray  # 0 train, 1 val
    index: np.ndarray  # index in that cache
    labels: np.ndarray  # CANCER | NOT_CANCER
    image_ids: np.ndarray
    keys: np.ndarray


def labelled_pool(train: CropCache, val: CropCache, unknown: str) -> Pool:
    """R and G crops of both caches (and U as not cancer when `unknown` is negative)."""
    kept = ("R", "G", "U") if unknown == "negative" else ("R", "G")
    codes = [CLASSES.index(c) for c in kept]
    parts = [(k, np.flatnonzero(np.isin(cache.labels, codes))) for k, cache in enumerate((train, val))]
    caches = (train, val)
    return Pool(
        caches=caches,
        cache_of=np.concatenate([np.full(idx.size, k) for k, idx in parts]),
        index=np.concatenate([idx for _, idx in parts]),
        labels=np.concatenate(
            [np.where(caches[k].labels[idx] == CLASSES.index("R"), CANCER, NOT_CANCER) for k, idx in parts]
        ),
        image_ids=np.concatenate([caches[k].image_ids[idx].astype(str) for k, idx in parts]),
        keys=np.concatenate([caches[k].keys[idx].astype(str) for k, idx in parts]),
    )


class PooledSource:
    """The pool's crops composed for one setting: what the sampler and the scorer read (`CropSource`'s interface)."""

    def __init__(self, pool: Pool, setting: str, hoechst_channels: int) -> None:
        self.pool = pool
        self.sources = tuple(CropSource(cache, setting, hoechst_channels) for cache in pool.caches)

    @property
    def channels(self) -> int:
        return self.sources[0].channels

    def crop(self, position: int) -> np.ndarray:
        position = int(position)
        return self.sources[self.pool.cache_of[position]].crop(self.pool.index[position])


def build_network(spec: KFoldSpec, in_chans: int, weights: Path | None) -> nn.Module:
    """The spec's network with a 2-output head (cancer, not cancer), from `weights` when given."""
    stem = spec.switches.classifier_stem
    if spec.library == TORCHVISION:
        return build_torchvision_model(spec.network, in_chans, 2, weights=weights, stem=stem)
    return build_model(spec.network, in_chans, 2, image_size=spec.image_size, weights=weights, stem=stem)


def train_fold(
    spec: KFoldSpec, source: PooledSource, positions: np.ndarray, weights: Path | None, device: torch.device, seed: int
) -> tuple[nn.Module, Normalisation]:
    """A network trained on the pool's crops at `positions` for the spec's schedule; its input normalisation."""
    seed_everything(seed)
    protocol, schedule = spec.switches, spec.schedule
    standardise = protocol.classifier_normalisation == "train_statistics"
    norm = channel_statistics(source, positions) if standardise else Normalisation()
    model = build_network(spec, source.channels, weights).to(device)
    labels = source.pool.labels[positions]
    batches = TrainBatches(source, positions, labels, schedule.batch_size, spec.image_size, seed,
                           protocol.brightness_augmentation, norm)  # fmt: skip
    optimizer = adam(model.parameters(), schedule.lr, device)
    criterion = nn.CrossEntropyLoss(label_smoothing=schedule.label_smoothing)
    model.train()
    steps = range(schedule.iterations)
    for step, (images, targets) in zip(steps, train_stream(batches, steps, 0, False, seed)):
        for group in optimizer.param_groups:
            group["lr"] = schedule.lr_at(step)
        with autocast(device):
            logits = model(to_device(images, device))
        loss = criterion(logits.float(), targets.to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model, norm


def _scored(part: str, fold: int, positions: np.ndarray, p_cancer: np.ndarray, pool: Pool) -> list[dict[str, Any]]:
    return [
        {"fold": fold, "part": part, "key": pool.keys[p], "image_id": pool.image_ids[p],
         "cancer": int(pool.labels[p] == CANCER), "p_cancer": f"{float(s):.8f}"}
        for p, s in zip(positions, p_cancer)
    ]  # fmt: skip


def _confusion(fold: int, part: str, metrics: dict[str, Any]) -> list[dict[str, Any]]:
    cells = (("cancer", "cancer", "tp"), ("cancer", "not_cancer", "fn"), ("not_cancer", "cancer", "fp"),
             ("not_cancer", "not_cancer", "tn"))  # fmt: skip
    return [{"fold": fold, "part": part, "true": t, "predicted": p, "count": metrics[k]} for t, p, k in cells]


def fold_file(out_dir: Path, fold: int) -> Path:
    return out_dir / FOLDS / f"fold{fold}.json"


def finished_fold(out_dir: Path, spec: KFoldSpec, fold: int) -> dict[str, Any] | None:
    """A fold this run finished before it was stopped, if trained under the same spec; else None (train it)."""
    path = fold_file(out_dir, fold)
    if not path.is_file():
        return None
    done = read_json(path)
    return done if done.get("spec") == spec.to_dict() else None


def score_fold(
    spec: KFoldSpec,
    source: PooledSource,
    parts: np.ndarray,
    test: np.ndarray,
    fold: int,
    weights: Path | None,
    device: torch.device,
) -> dict[str, Any]:
    """Train fold `fold` and score its held-out fold and the test part: its record, scores and confusion rows."""
    pool = source.pool
    trained_on = training_positions(parts, pool.labels, fold, spec.seed)
    model, norm = train_fold(spec, source, trained_on, weights, device, spec.seed * 1000 + fold)
    record: dict[str, Any] = {"fold": fold, "trained_on": int(trained_on.size)}
    scores, confusion = [], []
    for part, positions in ((HELDOUT, np.flatnonzero(parts == fold)), (TEST_PART, test)):
        p_cancer = predict(model, source, positions, spec.image_size, norm, device, desc=None).p_cancer
        record[part] = binary_metrics(pool.labels[positions] == CANCER, p_cancer)
        scores += _scored(part, fold, positions, p_cancer, pool)
        confusion += _confusion(fold, part, record[part])
    return {"record": record, "scores": scores, "confusion": confusion}


def run_kfold(
    spec: KFoldSpec,
    train_cache: Path,
    val_cache: Path,
    out_dir: Path,
    weights: Path | None = None,
    device: str = "auto",
    threads: int = 1,
) -> dict[str, Any]:
    """Train and score every fold of one run; write its files into `out_dir`; return metrics.json's record."""
    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    torch_device = pick_device(device)
    configure(torch_device, threads, True)
    pool = labelled_pool(CropCache.load(train_cache), CropCache.load(val_cache), spec.unknown)
    parts = split_parts(pool.labels, pool.image_ids, spec.scheme, folds=spec.folds, test_fraction=spec.test_fraction,
                        seed=spec.seed)  # fmt: skip
    source = PooledSource(pool, spec.setting, spec.switches.hoechst_channels)
    test = np.flatnonzero(parts == TEST)
    folds, scores, confusion = [], [], []
    for fold in tqdm(range(spec.folds), desc=f"k-fold {spec.name}", unit="fold"):
        done = finished_fold(out_dir, spec, fold)
        if done is None:
            done = score_fold(spec, source, parts, test, fold, weights, torch_device)
            atomic_write_json(fold_file(out_dir, fold), {"spec": spec.to_dict(), **done})
        else:
            log.info("fold %d: finished before, kept (%s)", fold, fold_file(out_dir, fold))
        record = done["record"]
        log.info("fold %d: %s", fold, {part: record[part]["auroc"] for part in (HELDOUT, TEST_PART)})
        folds.append(record)
        scores += done["scores"]
        confusion += done["confusion"]
    write_csv(out_dir / SCORES, scores, ("fold", "part", "key", "image_id", "cancer", "p_cancer"))
    write_csv(out_dir / CONFUSION, confusion, ("fold", "part", "true", "predicted", "count"))
    splits = [{"key": k, "image_id": i, "cancer": int(label == CANCER), "part": "test" if p == TEST else f"fold{p}"}
              for k, i, label, p in zip(pool.keys, pool.image_ids, pool.labels, parts)]  # fmt: skip
    write_csv(out_dir / SPLITS, splits, ("key", "image_id", "cancer", "part"))
    result = {
        "format": FORMAT,
        "run": spec.name,
        "spec": spec.to_dict(),
        "protocol": spec.protocol,
        "cut_off": CUT_OFF,
        "crops": {"pool": int(parts.size), "test": int(test.size), "cancer": int(np.sum(pool.labels == CANCER))},
        "folds": folds,
        "wall_time_s": round(time.monotonic() - started, 2),
        "device": str(torch_device),
    }
    atomic_write_json(out_dir / METRICS, result)
    return result
