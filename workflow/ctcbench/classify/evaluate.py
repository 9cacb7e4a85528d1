"""Cell-level evaluation of one run on the val crops (docs/metrics.md#cell-level) and its embeddings
(docs/experiments.md#embeddings).

Every run reports the original's numbers: the F1-maximising threshold of the sweep, chosen on the same val
crops it is reported on (an oracle, defect 8), with that threshold's precision and recall; AUROC of P(R); 3-class
argmax accuracy; the row-normalised R/G/U confusion matrix (Fig. 7) and the binary confusion at the threshold.

With the protocol's `cell_threshold: cross_fitted` (docs/defects.md#defect-8) an honest F1 is added by cross-fitting
the threshold: the val images are split in two halves
(seeded, stratified by patient, every crop of an image in the same half), the threshold is tuned on each half and
applied to the other, and F1/precision/recall are computed over all val crops with those held-out predictions.
These then become the headline `f1`/`precision`/`recall`; the oracle values stay under `oracle`.

With the protocol's `classifier_checkpoint: cross_fitted` the checkpoint is cross-fitted too: the crops of each half
are scored by the checkpoint chosen on the other half (`selection.HALF_BEST`), and that checkpoint's own threshold
is tuned on the half it was chosen on. Every headline number (F1, precision, recall, AUROC, accuracy, the confusion
matrices) then comes from those held-out scores, so nothing reported was selected on the crops it is reported on;
`oracle` keeps the original's numbers of `best.pt` (chosen and reported on all val crops) beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.crops import CropCache
from ..data.layout import CLASSES
from ..errors import ConfigError
from ..io import atomic_path
from ..per_image import Evaluation, per_image_path, write_evaluation
from .checkpoint import load_model
from .crop_records import CropRecords
from .data import CropSource
from .metrics import BinaryScores, accuracy, auroc, binary_at, confusion_counts, row_percent, threshold_sweep
from .predict import Predictions, predict
from .runtime import pick_device
from .selection import HALF_BEST, image_halves
from .train import BEST, FINAL

METRICS, EMBEDDINGS = "metrics.json", "embeddings.npz"
PER_IMAGE = per_image_path(METRICS).name


def _finite(value: float) -> float | None:
    """NaN (a metric undefined on these crops) as JSON null."""
    return None if np.isnan(value) else float(value)


@dataclass(frozen=True)
class HeldOut:
    scores: BinaryScores
    thresholds: tuple[float, float]  # tuned on half 0, tuned on half 1
    predicted: np.ndarray  # bool per crop: its decision by the threshold tuned on the other half


def cross_fitted(
    is_cancer: np.ndarray, p_cancer: np.ndarray | tuple[np.ndarray, np.ndarray], halves: np.ndarray
) -> HeldOut:
    """Threshold tuned on one half, applied to the other, both ways; scores pooled over all crops.

    `p_cancer` is one score per crop, or a pair: the scores of the checkpoint chosen on half 0 and of the one chosen
    on half 1 (a checkpoint's threshold is tuned on its own half and applied to the other half's crops)."""
    by_fit_half = p_cancer if isinstance(p_cancer, tuple) else (p_cancer, p_cancer)
    predicted = np.zeros(len(is_cancer), bool)
    tuned = []
    for half in (0, 1):
        fit, apply, scores = halves == half, halves != half, by_fit_half[half]
        best, _ = threshold_sweep(is_cancer[fit], scores[fit])
        tuned.append(best.threshold)
        predicted[apply] = scores[apply] >= best.threshold
    # binary_at on the 0/1 decisions with threshold 0.5 counts exactly these held-out predictions
    return HeldOut(binary_at(is_cancer, predicted.astype(float), 0.5), (tuned[0], tuned[1]), predicted)


def _scored(labels: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """The threshold-free numbers and the oracle-threshold sweep of one set of scores."""
    is_cancer = labels == CLASSES.index("R")
    best, curve = threshold_sweep(is_cancer, probs[:, 0])
    argmax = probs.argmax(axis=1)
    counts = confusion_counts(labels, argmax, len(CLASSES))
    return {
        "best": best.to_dict(),
        "curve": curve,
        "auroc": _finite(auroc(is_cancer, probs[:, 0])),
        "accuracy": _finite(accuracy(labels, argmax)),
        "counts": counts,
    }


def cell_metrics(
    labels: np.ndarray,
    predictions: Predictions,
    threshold: str,
    image_ids: np.ndarray | None = None,
    patients: np.ndarray | None = None,
    split_seed: int = 0,
    half_checkpoints: tuple[Predictions, Predictions] | None = None,
) -> dict[str, Any]:
    """Every number of docs/metrics.md#cell-level for one run, as a JSON-ready dict (fractions, not percent).

    `predictions`: the scores of best.pt; `threshold`: the protocol's `cell_threshold` (oracle | cross_fitted);
    `half_checkpoints`: the scores of the checkpoints chosen on val half 0 and half 1 when the protocol's
    `classifier_checkpoint` is cross_fitted (each crop is then reported with the one chosen on the other half)."""
    return _cell_numbers(labels, predictions, threshold, image_ids, patients, split_seed, half_checkpoints)[0]


def cell_evaluation(
    labels: np.ndarray,
    predictions: Predictions,
    threshold: str,
    image_ids: np.ndarray,
    patients: np.ndarray,
    split_seed: int = 0,
    half_checkpoints: tuple[Predictions, Predictions] | None = None,
) -> Evaluation:
    """`cell_metrics` and the per-crop records they pool (`crop_records`): every crop's image, patient, label,
    reported score and held-out decision."""
    metrics, reported, held = _cell_numbers(
        labels, predictions, threshold, image_ids, patients, split_seed, half_checkpoints
    )
    is_cancer = np.asarray(labels, np.int64) == CLASSES.index("R")
    records = CropRecords(np.asarray(image_ids, str), np.asarray(patients, str), is_cancer, reported, held)
    return Evaluation(metrics, records)


def _cell_numbers(
    labels: np.ndarray,
    predictions: Predictions,
    threshold: str,
    image_ids: np.ndarray | None,
    patients: np.ndarray | None,
    split_seed: int,
    half_checkpoints: tuple[Predictions, Predictions] | None,
) -> tuple[dict[str, Any], np.ndarray, np.ndarray | None]:
    """(the metrics, the reported P(R) of every crop, its held-out decision under a cross-fitted threshold)."""
    labels = np.asarray(labels, np.int64)
    is_cancer = labels == CLASSES.index("R")
    halves = None
    if threshold == "cross_fitted" or half_checkpoints is not None:
        if image_ids is None or patients is None:
            raise ValueError("cross-fitting needs the image id and patient of every crop")
        halves = image_halves(np.asarray(image_ids), np.asarray(patients), split_seed)
    original = _scored(labels, predictions.probs)
    oracle = {**original["best"], "auroc": original["auroc"], "accuracy": original["accuracy"]}
    reported, by_fit_half, reported_p = original, predictions.p_cancer, predictions.p_cancer
    if half_checkpoints is not None:
        held_probs = np.where((halves == 0)[:, None], half_checkpoints[1].probs, half_checkpoints[0].probs)
        reported, reported_p = _scored(labels, held_probs), held_probs[:, 0]
        by_fit_half = (half_checkpoints[0].p_cancer, half_checkpoints[1].p_cancer)
    best, counts = reported["best"], reported["counts"]
    result: dict[str, Any] = {
        "n_crops": int(len(labels)),
        "n_cancer": int(is_cancer.sum()),
        "class_counts": {c: int(np.sum(labels == i)) for i, c in enumerate(CLASSES)},
        "auroc": reported["auroc"],
        "accuracy": reported["accuracy"],
        "checkpoint_choice": "best.pt: chosen on all val crops (as the original)",
        "threshold_choice": "oracle: tuned on the reported val crops (as the original)",
        "oracle": oracle,
        **{k: best[k] for k in ("threshold", "f1", "precision", "recall")},
        "binary_confusion": {k: best[k] for k in ("tp", "fp", "fn", "tn")},
        "confusion_counts": counts.tolist(),
        "confusion_percent": row_percent(counts).tolist(),
        "confusion_order": list(CLASSES),
        "sweep": [{k: s.to_dict()[k] for k in ("threshold", "f1", "precision", "recall")} for s in reported["curve"]],
    }
    if half_checkpoints is not None:
        result["checkpoint_choice"] = "cross-fitted: each val half scored by the checkpoint chosen on the other half"
        result["split_seed"] = split_seed
    decisions = None
    if threshold == "cross_fitted":
        held = cross_fitted(is_cancer, by_fit_half, halves)
        decisions = held.predicted
        scores = {k: v for k, v in held.scores.to_dict().items() if k != "threshold"}
        result["heldout"] = {**scores, "thresholds": list(held.thresholds), "split_seed": split_seed}
        result.update({k: result["heldout"][k] for k in ("f1", "precision", "recall")})
        result["binary_confusion"] = {k: result["heldout"][k] for k in ("tp", "fp", "fn", "tn")}
        result["threshold"] = None
        result["threshold_choice"] = "cross-fitted: tuned on one half of the val images, applied to the other"
    return result, reported_p, decisions


def _half_checkpoint_scores(
    run_dir: Path, source: CropSource, indices: np.ndarray, device, workers: int, split_seed: int
) -> tuple[Predictions, Predictions]:
    """Scores of every val crop under the checkpoint chosen on val half 0 and under the one chosen on half 1."""
    scores = []
    for name in HALF_BEST:
        path = run_dir / name
        if not path.is_file():
            raise ConfigError(f"{path}: missing; a run of a protocol with cross-fitted checkpoints keeps one per val "
                              "half: train it again (rule classify_train)")  # fmt: skip
        model, spec, info = load_model(path, device)
        if info.get("val_halves_seed") != split_seed:
            raise ConfigError(
                f"{path}: chosen on the val halves of seed {info.get('val_halves_seed')}, evaluated with seed "
                f"{split_seed}; use the same classify.threshold_split_seed for both, or train the run again"
            )
        scores.append(predict(model, source, indices, spec.image_size, spec.normalisation, device, workers,
                              desc=f"evaluate {path}"))  # fmt: skip
    return scores[0], scores[1]


def evaluate_run(
    run_dir: Path | str,
    val_cache_path: Path | str,
    *,
    device: str = "auto",
    workers: int = 0,
    split_seed: int = 0,
    checkpoint: str = BEST,
) -> dict[str, Any]:
    """Score the val crops with the run's best checkpoint (and, with cross-fitted checkpoints, with the one chosen on
    each val half); write metrics.json, its per-crop records (per_image.npz) and embeddings.npz."""
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
    halves = None
    if spec.protocol_switches.classifier_checkpoint == "cross_fitted":
        halves = _half_checkpoint_scores(run_dir, source, indices, torch_device, workers, split_seed)
    threshold = spec.protocol_switches.cell_threshold
    evaluation = cell_evaluation(labels, predictions, threshold, cache.image_ids, patients, split_seed, halves)
    metrics = {
        "run": {k: info.get(k) for k in ("backbone", "setting", "trainset", "seed")},
        "protocol": spec.protocol,
        "checkpoint": checkpoint if not info.get("fallback") else FINAL,
        "checkpoint_step": info.get("step"),
        "checkpoint_val_accuracy": info.get("val_accuracy"),
        "trained_classes": list(spec.classes),
        "head_outputs": spec.num_outputs,
        "val_cache_hash": cache.content_hash(),
        **evaluation.metrics,
    }
    # Accuracy over the classes the model was trained on (the original's val_noU for 2-class sets).
    trained = np.isin(labels, [CLASSES.index(c) for c in spec.classes])
    metrics["accuracy_trained_classes"] = _finite(accuracy(labels[trained], predictions.probs.argmax(axis=1)[trained]))
    metrics = write_evaluation(Evaluation(metrics, evaluation.per_image), run_dir / METRICS, run_dir / PER_IMAGE)
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
