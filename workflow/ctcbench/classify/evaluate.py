"""Cell-level evaluation of one run on the val crops (docs/metrics.md#cell-level) and its embeddings
(docs/experiments.md#embeddings).

Every run reports the original's numbers: the F1-maximising threshold of the sweep, chosen on the same val
crops it is reported on (an oracle, defect 8), with that threshold's precision and recall; AUROC of P(R); 3-class
argmax accuracy; the row-normalised R/G/U confusion matrix (Fig. 7) and the binary confusion at the threshold.

With the protocol's `cell_threshold: cross_fitted` (docs/defects.md#defect-8) an honest F1 is added by cross-fitting
the threshold: the val images are split in two halves
(seeded, stratified by patient, every crop of an image in the same half), the threshold is tuned on each half and
applied to the other, and F1/precision/recall are computed over all val crops with those held-out predictions.
These then become the headline `f1`/`precision`/`recall`; the oracle values stay under `oracle`. AUROC and
accuracy need no threshold and are the same either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.crops import CropCache
from ..data.layout import CLASSES
from ..io import atomic_path, atomic_write_json
from .checkpoint import load_model
from .data import CropSource
from .metrics import BinaryScores, accuracy, auroc, binary_at, confusion_counts, row_percent, threshold_sweep
from .predict import Predictions, predict
from .runtime import pick_device
from .train import BEST, FINAL

METRICS, EMBEDDINGS = "metrics.json", "embeddings.npz"


def image_halves(image_ids: np.ndarray, patients: np.ndarray, seed: int) -> np.ndarray:
    """Half (0 or 1) of every crop: each patient's images shuffled with `seed` and dealt alternately."""
    half_of_image: dict[str, int] = {}
    rng = np.random.default_rng(seed)
    for patient in sorted(set(patients.tolist())):
        images = sorted(set(image_ids[patients == patient].tolist()))
        for rank, position in enumerate(rng.permutation(len(images))):
            half_of_image[images[position]] = rank % 2
    return np.array([half_of_image[i] for i in image_ids.tolist()], np.int64)


def _finite(value: float) -> float | None:
    """NaN (a metric undefined on these crops) as JSON null."""
    return None if np.isnan(value) else float(value)


@dataclass(frozen=True)
class HeldOut:
    scores: BinaryScores
    thresholds: tuple[float, float]  # tuned on half 0, tuned on half 1


def cross_fitted(is_cancer: np.ndarray, p_cancer: np.ndarray, halves: np.ndarray) -> HeldOut:
    """Threshold tuned on one half, applied to the other, both ways; scores pooled over all crops."""
    predicted = np.zeros(len(is_cancer), bool)
    tuned = []
    for half in (0, 1):
        fit, apply = halves == half, halves != half
        best, _ = threshold_sweep(is_cancer[fit], p_cancer[fit])
        tuned.append(best.threshold)
        predicted[apply] = p_cancer[apply] >= best.threshold
    # binary_at on the 0/1 decisions with threshold 0.5 counts exactly these held-out predictions
    return HeldOut(binary_at(is_cancer, predicted.astype(float), 0.5), (tuned[0], tuned[1]))


def cell_metrics(
    labels: np.ndarray,
    predictions: Predictions,
    threshold: str,
    image_ids: np.ndarray | None = None,
    patients: np.ndarray | None = None,
    split_seed: int = 0,
) -> dict[str, Any]:
    """Every number of docs/metrics.md#cell-level for one run, as a JSON-ready dict (fractions, not percent);
    `threshold` is the protocol's `cell_threshold` (oracle | cross_fitted)."""
    labels = np.asarray(labels, np.int64)
    is_cancer = labels == CLASSES.index("R")
    p_cancer = predictions.p_cancer
    best, curve = threshold_sweep(is_cancer, p_cancer)
    argmax = predictions.probs.argmax(axis=1)
    counts = confusion_counts(labels, argmax, len(CLASSES))
    oracle = best.to_dict()
    result: dict[str, Any] = {
        "n_crops": int(len(labels)),
        "n_cancer": int(is_cancer.sum()),
        "class_counts": {c: int(np.sum(labels == i)) for i, c in enumerate(CLASSES)},
        "auroc": _finite(auroc(is_cancer, p_cancer)),
        "accuracy": _finite(accuracy(labels, argmax)),
        "threshold_choice": "oracle: tuned on the reported val crops (as the original)",
        "oracle": oracle,
        **{k: oracle[k] for k in ("threshold", "f1", "precision", "recall")},
        "binary_confusion": {k: oracle[k] for k in ("tp", "fp", "fn", "tn")},
        "confusion_counts": counts.tolist(),
        "confusion_percent": row_percent(counts).tolist(),
        "confusion_order": list(CLASSES),
        "sweep": [{k: s.to_dict()[k] for k in ("threshold", "f1", "precision", "recall")} for s in curve],
    }
    if threshold == "cross_fitted":
        if image_ids is None or patients is None:
            raise ValueError("a cross-fitted threshold needs the image id and patient of every crop")
        halves = image_halves(np.asarray(image_ids), np.asarray(patients), split_seed)
        held = cross_fitted(is_cancer, p_cancer, halves)
        scores = {k: v for k, v in held.scores.to_dict().items() if k != "threshold"}
        result["heldout"] = {**scores, "thresholds": list(held.thresholds), "split_seed": split_seed}
        result.update({k: result["heldout"][k] for k in ("f1", "precision", "recall")})
        result["threshold"] = None
        result["threshold_choice"] = "cross-fitted: tuned on one half of the val images, applied to the other"
    return result


def evaluate_run(
    run_dir: Path | str,
    val_cache_path: Path | str,
    *,
    device: str = "auto",
    workers: int = 0,
    split_seed: int = 0,
    checkpoint: str = BEST,
) -> dict[str, Any]:
    """Score the val crops with the run's best checkpoint; write metrics.json and embeddings.npz."""
    run_dir = Path(run_dir)
    torch_device = pick_device(device)
    model, spec, info = load_model(run_dir / checkpoint, torch_device)
    cache = CropCache.load(val_cache_path)
    source = CropSource(cache, spec.setting, spec.hoechst_channels)
    indices = np.arange(len(cache))
    predictions = predict(
        model,
        source,
        indices,
        spec.image_size,
        spec.normalisation,
        torch_device,
        workers,
        embeddings=True,
        desc=f"evaluate {run_dir}",
    )
    labels = cache.labels.astype(np.int64)
    patients = cache.patients
    threshold = spec.protocol_switches.cell_threshold
    metrics = cell_metrics(labels, predictions, threshold, cache.image_ids, patients, split_seed)
    metrics = {
        "run": {k: info.get(k) for k in ("backbone", "setting", "trainset", "seed")},
        "protocol": spec.protocol,
        "checkpoint": checkpoint if not info.get("fallback") else FINAL,
        "checkpoint_step": info.get("step"),
        "checkpoint_val_accuracy": info.get("val_accuracy"),
        "trained_classes": list(spec.classes),
        "head_outputs": spec.num_outputs,
        "val_cache_hash": cache.content_hash(),
        **metrics,
    }
    # Accuracy over the classes the model was trained on (the original's val_noU for 2-class sets).
    trained = np.isin(labels, [CLASSES.index(c) for c in spec.classes])
    metrics["accuracy_trained_classes"] = _finite(accuracy(labels[trained], predictions.probs.argmax(axis=1)[trained]))
    atomic_write_json(run_dir / METRICS, metrics)
    with atomic_path(run_dir / EMBEDDINGS) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(
            handle,
            features=predictions.embeddings.astype(np.float32),
            labels=labels,
            patients=patients,
            keys=cache.keys,
            image_ids=cache.image_ids,
            p_cancer=predictions.p_cancer.astype(np.float32),
            classes=np.array(CLASSES),
        )
    return metrics
