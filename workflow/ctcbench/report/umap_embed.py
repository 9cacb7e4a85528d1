"""UMAP of the val embeddings (docs/experiments.md#embeddings): Fig. 8 coloured by class, Fig. 10 by patient.

The original notebook (visualize_embedding.ipynb) is missing, so its parameters are unknown. We use umap-learn's
defaults (n_neighbors 15, min_dist 0.1, euclidean, 2-D) with a fixed random_state, which makes the layout
reproducible (umap-learn then runs single-threaded) but not guaranteed to match the paper's. Each setting's UMAP is
computed once and drawn twice, and the coordinates go to a CSV so the figures can be checked.
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..data.layout import CLASSES
from ..errors import ConfigError, DatasetError
from .common import add_caption, missing_input, panel_title

UMAP_PACKAGE = "umap-learn"
COORDINATE_COLUMNS = ("backbone", "setting", "trainset", "seed", "key", "class", "patient", "umap_x", "umap_y")
CLASS_COLOURS = {"R": "#d62728", "G": "#2ca02c", "U": "#8c8c8c"}
CLASS_NAMES = {"R": "R (cancer)", "G": "G (normal)", "U": "U (unknown)"}
PATIENT_COLOURS = ("#1f77b4", "#ff7f0e", "#9467bd", "#17becf", "#bcbd22")
SEED_DIR = re.compile(r"^seed(\d+)$")


@dataclass(frozen=True)
class UmapParams:
    """umap-learn's defaults with a fixed seed; `random_state` also seeds the subsample."""

    n_neighbors: int = 15
    min_dist: float = 0.1
    metric: str = "euclidean"
    n_components: int = 2
    random_state: int = 0

    def describe(self) -> str:
        return (
            f"n_neighbors={self.n_neighbors}, min_dist={self.min_dist}, metric={self.metric}, "
            f"n_components={self.n_components}, random_state={self.random_state}"
        )


@dataclass(frozen=True)
class RunEmbeddings:
    """One run's embeddings.npz with the run it belongs to (read from the run folder's path)."""

    backbone: str
    setting: str
    trainset: str
    seed: int
    path: Path
    features: np.ndarray = field(repr=False)
    classes: np.ndarray = field(repr=False)  # class letter per crop
    patients: np.ndarray = field(repr=False)
    keys: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class UmapPanel:
    run: RunEmbeddings
    indices: np.ndarray  # rows of the run's embeddings that were embedded (all, or the subsample)
    coords: np.ndarray  # len(indices) x 2


def import_umap() -> Any:
    """The umap module, or a one-line ConfigError naming the package and how to install it."""
    try:
        import umap  # noqa: PLC0415 - heavy (numba), imported only when a UMAP is drawn
    except ImportError as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ConfigError(
            f"Figs 8/10 need {UMAP_PACKAGE} ({reason}); install it: pip install -r envs/requirements.txt"
            f" (or pip install {UMAP_PACKAGE}==0.5.12)"
        ) from None
    return umap


def umap_version() -> str:
    try:
        return importlib.metadata.version(UMAP_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def embed(features: np.ndarray, params: UmapParams) -> np.ndarray:
    """2-D UMAP of the rows of `features`; the same input and params give the same coordinates."""
    umap = import_umap()
    if len(features) <= params.n_components + 1:
        raise DatasetError(f"UMAP needs more than {params.n_components + 1} embeddings; got {len(features)}")
    reducer = umap.UMAP(
        n_neighbors=min(params.n_neighbors, len(features) - 1),
        min_dist=params.min_dist,
        metric=params.metric,
        n_components=params.n_components,
        random_state=params.random_state,
        n_jobs=1,  # what a fixed random_state forces anyway; said explicitly to keep umap-learn quiet
    )
    return np.asarray(reducer.fit_transform(np.asarray(features, np.float32)), np.float64)


def stratified_subsample(labels: np.ndarray, cap: int | None, seed: int) -> np.ndarray:
    """Sorted row indices of at most `cap` rows, each class keeping its share (largest remainders round)."""
    labels = np.asarray(labels)
    if cap is None or len(labels) <= cap:
        return np.arange(len(labels))
    if cap < 1:
        raise ConfigError(f"--umap-max-points {cap}: expected a positive number of points")
    values, counts = np.unique(labels, return_counts=True)
    exact = counts * cap / len(labels)
    quota = np.floor(exact).astype(int)
    for position in np.argsort(-(exact - quota), kind="stable")[: cap - quota.sum()]:
        quota[position] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(labels == v), size=q, replace=False) for v, q in zip(values, quota)]
    return np.sort(np.concatenate(chosen))


def run_of(path: Path) -> tuple[str, str, str, int]:
    """(backbone, setting, trainset, seed) from `.../{backbone}/{setting}/{trainset}/seed{S}/embeddings.npz`."""
    parts = path.resolve().parts
    match = SEED_DIR.match(parts[-2]) if len(parts) >= 6 else None
    if match is None:
        raise DatasetError(f"{path}: not inside a run folder .../{{backbone}}/{{setting}}/{{trainset}}/seed<S>/")
    return parts[-5], parts[-4], parts[-3], int(match.group(1))


def load_embeddings(path: Path | str) -> RunEmbeddings:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: embeddings missing; rule classify_eval (`ctcbench classify-eval`) makes them")
    backbone, setting, trainset, seed = run_of(path)
    with np.load(path, allow_pickle=False) as data:
        names = data["classes"] if "classes" in data.files else np.array(CLASSES)
        return RunEmbeddings(
            backbone,
            setting,
            trainset,
            seed,
            path,
            data["features"],
            names[data["labels"].astype(np.int64)].astype(str),
            data["patients"].astype(str),
            data["keys"].astype(str),
        )


def pick_runs(
    paths: list[Path], backbone: str, settings: tuple[str, ...], seed: int | None, trainset: str = "all"
) -> list[RunEmbeddings]:
    """One run per setting: the given seed, or the lowest seed among the embeddings given for that setting."""
    candidates: dict[str, dict[int, Path]] = {s: {} for s in settings}
    for path in map(Path, paths):
        run = run_of(path)
        if run[0] == backbone and run[2] == trainset and run[1] in candidates:
            candidates[run[1]][run[3]] = path
    missing = [s for s, seeds in candidates.items() if (seed not in seeds if seed is not None else not seeds)]
    if missing:
        what = "embeddings.npz" + (f" of seed {seed}" if seed is not None else "")
        raise missing_input("Figs 8/10", what, backbone, missing, trainset, "embeddings.npz")
    return [load_embeddings(seeds[seed if seed is not None else min(seeds)]) for seeds in candidates.values()]


def umap_panels(runs: list[RunEmbeddings], params: UmapParams, max_points: int | None) -> list[UmapPanel]:
    """The UMAP of each run's (optionally subsampled) embeddings, computed once for both figures."""
    panels = []
    for run in runs:
        indices = stratified_subsample(run.classes, max_points, params.random_state)
        panels.append(UmapPanel(run, indices, embed(run.features[indices], params)))
    return panels


def coordinate_rows(panels: list[UmapPanel]) -> list[dict[str, Any]]:
    rows = []
    for panel in panels:
        run = panel.run
        for index, (x, y) in zip(panel.indices.tolist(), panel.coords.tolist()):
            rows.append(
                {
                    "backbone": run.backbone,
                    "setting": run.setting,
                    "trainset": run.trainset,
                    "seed": run.seed,
                    "key": run.keys[index],
                    "class": run.classes[index],
                    "patient": run.patients[index],
                    "umap_x": f"{x:.6f}",
                    "umap_y": f"{y:.6f}",
                }
            )
    return rows


def _groups(panel: UmapPanel, colour_by: str) -> np.ndarray:
    """Class letter or patient of every embedded point."""
    return (panel.run.classes if colour_by == "class" else panel.run.patients)[panel.indices]


def _colour_key(panels: list[UmapPanel], colour_by: str) -> tuple[dict[str, str], dict[str, str]]:
    """Colour and legend label of every group value (class letter or patient)."""
    if colour_by == "class":
        return CLASS_COLOURS, CLASS_NAMES
    patients = sorted({p for panel in panels for p in _groups(panel, "patient").tolist()})
    colours = {p: PATIENT_COLOURS[i % len(PATIENT_COLOURS)] for i, p in enumerate(patients)}
    return colours, {p: p for p in patients}


def umap_figure(panels: list[UmapPanel], colour_by: str, params: UmapParams, figure_name: str) -> Figure:
    """Scatter of every panel's UMAP, points drawn in a seeded random order so no group hides another."""
    colours, names = _colour_key(panels, colour_by)
    figure = Figure(figsize=(4.4 * len(panels), 4.6), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for index, (ax, panel) in enumerate(zip(axes, panels)):
        groups = _groups(panel, colour_by)
        order = np.random.default_rng(params.random_state).permutation(len(groups))
        ax.scatter(
            panel.coords[order, 0],
            panel.coords[order, 1],
            c=[colours.get(g, "#000000") for g in groups[order]],
            s=4 if len(groups) > 2000 else 10,
            alpha=0.7,
            linewidths=0,
        )
        ax.set_title(f"{panel_title(index, panel.run.setting)}, seed {panel.run.seed}, n = {len(groups)}")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("UMAP 1")
        ax.set_ylabel("UMAP 2")
    present = {g for panel in panels for g in _groups(panel, colour_by)}
    handles = [
        Line2D([], [], marker="o", linestyle="", color=colours[g], label=names[g]) for g in colours if g in present
    ]
    axes[-1].legend(handles=handles, loc="best", fontsize=8, title=colour_by)
    backbone = panels[0].run.backbone
    figure.suptitle(f"{figure_name}: UMAP of the val embeddings by {colour_by}, {backbone}")
    add_caption(
        figure,
        f"umap-learn {umap_version()}, {params.describe()}. These parameters are ours: the original notebook is "
        "missing, so the layout is not guaranteed to match the paper's. Embeddings: the pooled backbone feature "
        "of every val crop (or a class-stratified subsample, as n says).",
    )
    return figure
