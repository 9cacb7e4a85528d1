"""Fig. 9: qualitative test predictions of the full pipeline, Brightfield + Fluorescence
(docs/protocol.md#image-level-pipeline, docs/experiments.md#qualitative-figure).

The paper's Fig. 9 shows "image-level predictions (red boxes) and their confidence on the test set under the
Brightfield + Fluorescence setting", to show oversized boxes and merged cells in dense areas; it reuses a Table 4
run and names neither the images nor the threshold. Here, from one pipeline run (its scores.json and the
metrics.json of one ω):

* the fused detections exactly as evaluated (`pipeline.evaluate.fuse_and_suppress`: fusion, gate, NMS);
* those with fused score >= the run's oracle threshold (`score_at_best_f1`, where Table 4's best F1 is read);
* each marked TP or FP by the evaluation's own greedy VOC matching at IoU 0.5 (`detect.metrics.match`: within an
  image the pooled ranking is the image's own score order, so the flags are those of the evaluation);
* the test annotator's R boxes, matched by a shown TP (`gt`) or missed (`fn`).

Images are picked deterministically: in turn from each patient, each patient's images by descending number of
ground-truth R cells (ties by id), or given by id. Display only: brightfield in gray and the fluorescence as an
RGB composite (red = cancer marker, green = normal marker, blue = Hoechst), each channel percentile-stretched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from ..data.channels import GREEN, HOECHST, RED, SETTING_TITLES, read_pair
from ..data.layout import DatasetLayout, patient_of
from ..detect.evaluate import IOU_CONVENTIONS, ground_truth
from ..detect.metrics import IOU_THRESHOLD, match
from ..errors import ConfigError
from ..pipeline.evaluate import fuse_and_suppress
from ..pipeline.scores import Scores
from .common import add_caption

QUALITATIVE_COLUMNS = (
    "image_id",
    "patient",
    "kind",
    "x1",
    "y1",
    "x2",
    "y2",
    "score",
    "s_det",
    "s_cls",
    "iou",
    "threshold",
)
KIND_STYLES = {  # colour, line style, width, legend label
    "tp": ("#00e5ff", "-", 1.4, "true positive (prediction, IoU \u2265 0.5)"),
    "fp": ("#ff2fd0", "-", 1.4, "false positive (prediction)"),
    "fn": ("#ffd600", "--", 1.4, "missed ground truth (FN)"),
    "gt": ("#ffffff", ":", 0.9, "matched ground truth"),
}
DISPLAY_PERCENTILES = (1.0, 99.8)
DISPLAY_READER = "native"  # full bit depth, channels in canonical order; for display only
PIPELINE_RUN = "results/<preset>/pipeline/<detector>/<setting>/<trainset>/seed<S>"
RULES = {  # input -> (rule that makes it, where)
    "scores": ("pipeline_score", f"{PIPELINE_RUN}/scores.json"),
    "metrics": ("pipeline_evaluate", f"{PIPELINE_RUN}/omega<w>/metrics.json"),
    "dataset": (
        "fetch_dataset, stage_local_dataset or synth_dataset (per dataset.source)",
        "results/<preset>/data/dataset.json",
    ),
}


def check_inputs(scores: Path | None, metrics: Path | None, dataset: Path | None) -> None:
    """One-line ConfigError for an absent or missing input of Fig. 9, naming the file and the rule that makes it."""
    for option, key, path in (
        ("--scores", "scores", scores),
        ("--pipeline-metrics", "metrics", metrics),
        ("--dataset", "dataset", dataset),
    ):
        rule, example = RULES[key]
        if path is None:
            raise ConfigError(f"Fig. 9 (qualitative): {option} is needed ({example}, made by rule {rule})")
        if not Path(path).is_file():
            raise ConfigError(f"Fig. 9 (qualitative): {path} missing; rule {rule} makes it ({example})")


@dataclass(frozen=True)
class Marks:
    """Shown predictions of one image and how the evaluation's matching marks them."""

    order: np.ndarray  # indices of the shown predictions (score >= threshold), by descending score
    true_positive: np.ndarray  # bool per shown prediction
    iou: np.ndarray  # best VOC IoU of each shown prediction with a ground-truth box (0 without any)
    matched: np.ndarray  # bool per ground-truth box: taken by a shown true positive


def mark(
    boxes: np.ndarray,
    scores: np.ndarray,
    truth: np.ndarray,
    threshold: float,
    iou_threshold: float = IOU_THRESHOLD,
    pixel: int = 1,
) -> Marks:
    """TP/FP flags of the predictions with score >= `threshold`, and which ground truth they take (IoU with the
    evaluation's pixel convention, `pixel`).

    `match` is greedy by descending score, so the flags of a score prefix are those of the whole curve.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    truth = np.asarray(truth, dtype=np.float64).reshape(-1, 4)
    shown = np.flatnonzero(scores >= threshold)
    curve = match({"image": (boxes[shown], scores[shown])}, {"image": truth}, iou_threshold, pixel)
    matched = np.zeros(len(truth), dtype=bool)
    matched[curve.matched_truth[curve.true_positive]] = True
    return Marks(shown[curve.order], curve.true_positive.copy(), curve.best_iou, matched)


@dataclass(frozen=True)
class MarkedImage:
    image_id: str
    boxes: np.ndarray  # shown predictions, K x 4, descending fused score
    scores: np.ndarray  # fused scores
    s_det: np.ndarray
    s_cls: np.ndarray
    true_positive: np.ndarray
    iou: np.ndarray
    truth: np.ndarray  # all ground-truth R boxes, M x 4
    matched: np.ndarray
    n_detections: int  # fused detections of the image before the threshold
    display: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)  # (gray H x W, RGB H x W x 3)

    @property
    def counts(self) -> dict[str, int]:
        tp = int(self.true_positive.sum())
        return {"tp": tp, "fp": len(self.true_positive) - tp, "fn": int((~self.matched).sum())}


def pick_images(truth: dict[str, np.ndarray], n: int) -> list[str]:
    """`n` images taken in turn from each patient (sorted), each patient's by descending R count, ties by id."""
    if n < 1:
        raise ConfigError(f"Fig. 9: --images {n}; draw at least one image")
    queues: dict[str, list[str]] = {}
    for image_id in sorted(truth, key=lambda i: (-len(truth[i]), i)):
        queues.setdefault(patient_of(image_id), []).append(image_id)
    picked: list[str] = []
    while len(picked) < n and any(queues.values()):
        for patient in sorted(queues):
            if queues[patient] and len(picked) < n:
                picked.append(queues[patient].pop(0))
    return picked


def stretch(channel: np.ndarray, limits: tuple[float, float]) -> np.ndarray:
    """Display scaling of one channel to [0, 1] between two limits."""
    low, high = limits
    if high <= low:
        return np.zeros(np.shape(channel))
    return np.clip((np.asarray(channel, dtype=np.float64) - low) / (high - low), 0.0, 1.0)


def display_images(layout: DatasetLayout, image_ids: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per image: (brightfield gray, fluorescence RGB composite: red = cancer, green = normal, blue = Hoechst).

    Brightfield is stretched per image (its illumination varies); each fluorescence channel between percentiles
    of that channel over all drawn images, so that a marker absent from an image stays dark instead of showing
    its noise stretched to full range.
    """
    pairs = {image_id: read_pair(layout, image_id, DISPLAY_READER) for image_id in image_ids}
    fl_limits = {
        channel: tuple(
            np.percentile(np.concatenate([fl[..., channel].ravel() for _, fl in pairs.values()]), DISPLAY_PERCENTILES)
        )
        for channel in (RED, GREEN, HOECHST)
    }
    displays = {}
    for image_id, (bf, fl) in pairs.items():
        gray = bf.astype(np.float64).mean(axis=2)
        rgb = np.stack([stretch(fl[..., c], fl_limits[c]) for c in (RED, GREEN, HOECHST)], axis=2)
        displays[image_id] = (stretch(gray, tuple(np.percentile(gray, DISPLAY_PERCENTILES))), rgb)
    return displays


def oracle_threshold(metrics: dict[str, Any], source: str = "metrics.json") -> float:
    """The run's best-F1 score (the oracle threshold of Table 4's F1); +inf when the run has no prediction."""
    if "score_at_best_f1" not in metrics:
        raise ConfigError(f"{source}: no score_at_best_f1; it is not a pipeline metrics.json (rule pipeline_evaluate)")
    threshold = metrics["score_at_best_f1"]
    return math.inf if threshold is None else float(threshold)


def check_same_run(scores: Scores, metrics: dict[str, Any], sources: tuple[str, str]) -> None:
    """The metrics.json must be the evaluation of these scores: same pipeline run, classifier and protocol."""
    classifiers = ((scores.meta.get("classifier") or {}).get("sha256"), (metrics.get("classifier") or {}).get("sha256"))
    checks = (
        ("pipeline run", scores.meta.get("pipeline_run"), metrics.get("pipeline_run")),
        ("classifier", *classifiers),
        ("protocol", scores.meta.get("protocol"), metrics.get("protocol")),
    )
    for what, ours, theirs in checks:
        if ours != theirs:
            raise ConfigError(
                f"{sources[1]}: {what} {theirs!r} differs from {ours!r} of {sources[0]}; pass the "
                "metrics.json evaluated from that scores.json"
            )


def qualitative_images(
    scores: Scores,
    metrics: dict[str, Any],
    layout: DatasetLayout,
    n_images: int = 4,
    image_ids: list[str] | None = None,
    *,
    read_display: bool = True,
    sources: tuple[str, str] = ("scores.json", "metrics.json"),
) -> list[MarkedImage]:
    """The drawn images, marked as the evaluation marks them (see the module docstring)."""
    check_same_run(scores, metrics, sources)
    omega, gate, nms_iou = float(metrics["omega"]), metrics.get("gate"), float(metrics["nms_iou"])
    threshold = oracle_threshold(metrics, sources[1])
    # The evaluation's IoU convention, as its metrics.json names it (VOC +1 pixel, or exact).
    pixel = next(p for p, name in IOU_CONVENTIONS.items() if name == metrics.get("iou_convention", IOU_CONVENTIONS[1]))
    test_ids = list(scores.images)
    truth = ground_truth(layout, "test", test_ids, metrics.get("test_annotator", "Unioned"))
    if image_ids:
        unknown = [i for i in image_ids if i not in scores.images]
        if unknown:
            raise ConfigError(f"Fig. 9: image(s) {', '.join(unknown)} are not among the scored test images")
        chosen = list(dict.fromkeys(image_ids))
    else:
        chosen = pick_images(truth, n_images)
    displays = display_images(layout, chosen) if read_display else {}
    images = []
    for image_id in chosen:
        entry = scores.images[image_id]
        keep, fused = fuse_and_suppress(entry, omega, gate, nms_iou)  # the fused detections as evaluated
        marks = mark(entry.boxes[keep], fused, truth[image_id], threshold, pixel=pixel)
        shown = keep[marks.order]
        images.append(
            MarkedImage(
                image_id=image_id,
                boxes=entry.boxes[shown].astype(np.float64),
                scores=fused[marks.order],
                s_det=entry.s_det[shown],
                s_cls=entry.s_cls[shown],
                true_positive=marks.true_positive,
                iou=marks.iou,
                truth=truth[image_id],
                matched=marks.matched,
                n_detections=len(fused),
                display=displays.get(image_id),
            )
        )
    return images


def qualitative_rows(images: list[MarkedImage], threshold: float) -> list[dict[str, Any]]:
    """One row per drawn box: predictions (tp/fp, with fused score, S_det, S_cls, best IoU), then ground truth
    (gt = matched, fn = missed)."""
    rows = []
    shown = "" if math.isinf(threshold) else f"{threshold:.6f}"
    for image in images:
        base = {"image_id": image.image_id, "patient": patient_of(image.image_id), "threshold": shown}
        for k, box in enumerate(image.boxes):
            rows.append(
                {
                    **base,
                    "kind": "tp" if image.true_positive[k] else "fp",
                    **dict(zip(("x1", "y1", "x2", "y2"), (int(v) for v in box))),
                    "score": f"{image.scores[k]:.6f}",
                    "s_det": f"{image.s_det[k]:.6f}",
                    "s_cls": f"{image.s_cls[k]:.6f}",
                    "iou": f"{image.iou[k]:.6f}",
                }
            )
        for box, matched in zip(image.truth, image.matched):
            rows.append(
                {
                    **base,
                    "kind": "gt" if matched else "fn",
                    **dict(zip(("x1", "y1", "x2", "y2"), (int(v) for v in box))),
                }
            )
    return rows


def _draw_box(ax, box: np.ndarray, kind: str) -> None:
    colour, style, width, _ = KIND_STYLES[kind]
    x1, y1, x2, y2 = (float(v) for v in box)
    # VOC corners are inclusive pixels: the outline runs along their outer edges.
    ax.add_patch(
        Rectangle(
            (x1 - 0.5, y1 - 0.5),
            x2 - x1 + 1,
            y2 - y1 + 1,
            fill=False,
            edgecolor=colour,
            linestyle=style,
            linewidth=width,
        )
    )


def _draw_image(ax, image: MarkedImage, background: np.ndarray, with_scores: bool) -> None:
    ax.imshow(background, cmap="gray" if background.ndim == 2 else None, vmin=0, vmax=1, interpolation="antialiased")
    for box, matched in zip(image.truth, image.matched):
        _draw_box(ax, box, "gt" if matched else "fn")
    # Lowest score first, so the most confident boxes are drawn on top.
    for k in range(len(image.boxes) - 1, -1, -1):
        kind = "tp" if image.true_positive[k] else "fp"
        _draw_box(ax, image.boxes[k], kind)
        if with_scores:
            x1, y1 = float(image.boxes[k][0]), float(image.boxes[k][1])
            ax.text(
                x1,
                y1 - 1,
                f"{image.scores[k]:.2f}",
                color=KIND_STYLES[kind][0],
                fontsize=5.5,
                va="bottom",
                ha="left",
                clip_on=True,
                bbox={"facecolor": "black", "alpha": 0.45, "pad": 0.4, "linewidth": 0},
            )
    ax.set_xticks([])
    ax.set_yticks([])


def qualitative_figure(images: list[MarkedImage], metrics: dict[str, Any], selection: str) -> Figure:
    """Columns: the images; rows: (a) brightfield and (b) fluorescence, the same boxes on both."""
    if any(image.display is None for image in images):
        raise ValueError("qualitative_figure needs the display images (qualitative_images(read_display=True))")
    threshold = oracle_threshold(metrics)
    n = len(images)
    figure = Figure(figsize=(3.6 * n + 2.6, 8.0), layout="constrained")
    axes = figure.subplots(2, n, squeeze=False)
    for column, image in enumerate(images):
        gray, rgb = image.display
        _draw_image(axes[0, column], image, gray, with_scores=True)
        _draw_image(axes[1, column], image, rgb, with_scores=False)
        counts = image.counts
        axes[0, column].set_title(
            f"{image.image_id}\nTP {counts['tp']}   FP {counts['fp']}   FN {counts['fn']}", fontsize=9
        )
    axes[0, 0].set_ylabel("(a) Brightfield", fontsize=10)
    axes[1, 0].set_ylabel("(b) Fluorescence (R cancer, G normal, B Hoechst)", fontsize=9)
    handles = [
        Line2D([], [], color=c, linestyle=s, linewidth=w + 0.6, label=label) for c, s, w, label in KIND_STYLES.values()
    ]
    figure.legend(
        handles=handles,
        loc="outside right center",
        ncols=1,
        fontsize=8,
        facecolor="#404040",
        labelcolor="white",
        framealpha=1.0,
    )
    detector, classifier = metrics.get("detector") or {}, metrics.get("classifier") or {}
    setting = SETTING_TITLES.get(detector.get("setting"), detector.get("setting"))
    figure.suptitle(
        f"Fig. 9: test predictions of the full pipeline, {setting} ({detector.get('detector')} + "
        f"{classifier.get('backbone')}, seed {detector.get('seed')}, \u03c9 = {metrics.get('omega'):g})",
        fontsize=11,
    )
    gate = metrics.get("gate")
    fusion = "S = (1 \u2212 \u03c9)\u00b7S_det + \u03c9\u00b7S_cls"
    if gate:
        fusion += f" (S = S_det where S_det < {gate:g})"
    dropped = [i.image_id for i in images if i.n_detections == 0]
    if dropped and metrics.get("ground_truth_of_images_without_detections") == "dropped":
        selection += (
            f" {', '.join(dropped)}: no detection at all, so the evaluation does not count its ground truth "
            "(as the original); drawn as missed here."
        )
    shown = "none (the run has no prediction)" if math.isinf(threshold) else f"S \u2265 {threshold:.3f}"
    add_caption(
        figure,
        f"Predictions: fused score {fusion} after class-agnostic NMS at IoU {metrics.get('nms_iou'):g}, as evaluated; "
        f"shown when {shown}, the run's oracle threshold (best F1 = {100 * metrics.get('best_f1', 0):.1f} % on the "
        "whole test set, chosen on it, as Table 4). Labels (top row): fused score. TP/FP: the evaluation's greedy "
        f"matching at VOC IoU \u2265 0.5 against the {metrics.get('test_annotator', 'Unioned')} R boxes; "
        f"ground truth drawn dashed (missed) or dotted (matched). {selection} "
        "Ours, not the paper's: the paper shows red boxes with their confidence on images it does not name; the "
        "choice of images, the threshold, the TP/FP/FN colouring and the display stretch "
        f"(percentiles {DISPLAY_PERCENTILES[0]:g}-{DISPLAY_PERCENTILES[1]:g}: brightfield per image, each "
        "fluorescence channel over the drawn images) are ours.",
    )
    return figure


def selection_text(image_ids: list[str] | None, n_images: int) -> str:
    if image_ids:
        return "Images: given by id."
    return (
        f"Images: {n_images} test image(s), taken in turn from each patient, each patient's with the most "
        "ground-truth cancer cells first."
    )
