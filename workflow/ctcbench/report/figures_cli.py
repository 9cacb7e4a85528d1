"""`ctcbench report-figures`: Figs 7, 8, 9, 10 and 11 (PNG) and the numbers they plot (CSV), from the run records.

Each figure is drawn when its output files are named (the files the rule declares); every input is checked before
anything is written, so a missing run leaves no partial set of figures."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..data.channels import SETTINGS
from ..data.pointer import read_pointer
from ..errors import ConfigError
from ..io import read_json
from ..pipeline.scores import read_scores
from ..tables import read_paper_rows, write_csv
from .common import PANEL_ORDER, save_png
from .figures import (
    FIG7_COLUMNS,
    FIG11_COLUMNS,
    FIG11_PAPER_FILE,
    confusion_figure,
    confusion_panels,
    confusion_rows,
    fraction_rows,
    fractions_figure,
    paper_points,
)
from .qualitative import (
    QUALITATIVE_COLUMNS,
    check_inputs,
    oracle_threshold,
    qualitative_figure,
    qualitative_images,
    qualitative_rows,
    selection_text,
)
from .umap_embed import COORDINATE_COLUMNS, UmapParams, coordinate_rows, pick_runs, umap_figure, umap_panels

log = logging.getLogger(__name__)
# Each figure and its output options: the PNG(s), then the CSV of the plotted numbers.
OUTPUTS = {
    "confusion": ("fig7_png", "fig7_csv"),
    "umap": ("fig8_png", "fig10_png", "umap_csv"),
    "fractions": ("fig11_png", "fig11_csv"),
    "qualitative": ("fig9_png", "fig9_csv"),
}
HELP = {
    "fig7_png": "Fig. 7, the confusion matrices",
    "fig7_csv": "Fig. 7's numbers",
    "fig8_png": "Fig. 8, UMAP by class",
    "fig10_png": "Fig. 10, UMAP by patient",
    "umap_csv": "the UMAP coordinates of Figs 8 and 10",
    "fig11_png": "Fig. 11, the training fractions",
    "fig11_csv": "Fig. 11's numbers",
    "fig9_png": "Fig. 9, the pipeline's test predictions",
    "fig9_csv": "Fig. 9's boxes",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=Path, nargs="+", default=[], help="metrics.json of the runs (Figs 7, 11)")
    parser.add_argument("--embeddings", type=Path, nargs="+", default=[], help="embeddings.npz (Figs 8, 10)")
    parser.add_argument("--backbone", help="main backbone (Figs 7, 8, 10; needed for them)")
    parser.add_argument("--fraction-backbone", help="backbone of the fraction runs (Fig. 11); default --backbone")
    parser.add_argument("--paper-dir", type=Path, help="resources/paper: Fig. 11's published 100 %% points")
    parser.add_argument("--settings", nargs="+", choices=SETTINGS, default=list(PANEL_ORDER), help="panel order")
    parser.add_argument("--seed", type=int, help="run whose embeddings are drawn; default the lowest seed given")
    parser.add_argument("--umap-max-points", type=int, help="class-stratified subsample cap per UMAP (default all)")
    parser.add_argument("--umap-random-state", type=int, default=0, help="seeds UMAP and the subsample")
    parser.add_argument("--umap-n-neighbors", type=int, default=15, help="UMAP neighbourhood size")
    parser.add_argument("--umap-min-dist", type=float, default=0.1, help="UMAP minimum distance between points")
    parser.add_argument("--scores", type=Path, help="scores.json of the pipeline run drawn in Fig. 9")
    parser.add_argument("--pipeline-metrics", type=Path, help="metrics.json of that run at one omega (Fig. 9)")
    parser.add_argument("--dataset", type=Path, help="dataset pointer, dataset.json (Fig. 9)")
    parser.add_argument("--images", type=int, default=4, help="test images drawn in Fig. 9")
    parser.add_argument("--image-ids", nargs="+", help="draw these test images in Fig. 9 instead of picking them")
    outputs = parser.add_argument_group("outputs (a figure is drawn when its files are named)")
    for name, what in HELP.items():
        outputs.add_argument(f"--{name.replace('_', '-')}", type=Path, help=f"output: {what}")


def wanted_figures(args: argparse.Namespace) -> set[str]:
    """The figures whose output files are named; all of a figure's files or none."""
    wanted = set()
    for figure, options in OUTPUTS.items():
        named = [getattr(args, option) is not None for option in options]
        if any(named) and not all(named):
            missing = [f"--{o.replace('_', '-')}" for o, given in zip(options, named) if not given]
            raise ConfigError(f"figures: {', '.join(missing)} missing; a figure's PNG and CSV go together")
        if all(named):
            wanted.add(figure)
    if not wanted:
        raise ConfigError("figures: no output named; give e.g. --fig7-png and --fig7-csv")
    return wanted


def run(args: argparse.Namespace) -> None:
    from .results import Results

    settings = tuple(dict.fromkeys(args.settings))
    wanted = wanted_figures(args)
    if wanted & {"confusion", "fractions"} and not args.runs:
        raise ConfigError("figures: --runs (metrics.json of the runs, rule classify_eval) is needed for Figs 7/11")
    if "umap" in wanted and not args.embeddings:
        raise ConfigError("figures: --embeddings (embeddings.npz rule classify_eval) is needed for Figs 8/10")
    if wanted & {"confusion", "umap"} and not args.backbone:
        raise ConfigError("figures: --backbone (the main classifier backbone) is needed for Figs 7, 8 and 10")
    if "fractions" in wanted and not (args.fraction_backbone or args.backbone):
        raise ConfigError("figures: --fraction-backbone or --backbone is needed for Fig. 11")
    if "qualitative" in wanted:
        check_inputs(args.scores, args.pipeline_metrics, args.dataset)
    records = Results.load(args.runs) if args.runs else Results([])
    # Every input is checked before anything is written, so a missing run leaves no partial set of figures.
    confusion = confusion_panels(records, args.backbone, settings) if "confusion" in wanted else None
    fraction_backbone = args.fraction_backbone or args.backbone
    fractions = None
    if "fractions" in wanted:
        published = read_paper_rows(args.paper_dir / FIG11_PAPER_FILE) if args.paper_dir else []
        ordered = tuple(s for s in SETTINGS if s in settings)
        fractions = fraction_rows(records, fraction_backbone, ordered, paper_points(published, fraction_backbone))
    umap = None
    if "umap" in wanted:
        params = UmapParams(
            n_neighbors=args.umap_n_neighbors, min_dist=args.umap_min_dist, random_state=args.umap_random_state
        )
        umap = umap_panels(pick_runs(args.embeddings, args.backbone, settings, args.seed), params, args.umap_max_points)
    qualitative = None
    if "qualitative" in wanted:
        metrics = read_json(args.pipeline_metrics)
        images = qualitative_images(
            read_scores(args.scores),
            metrics,
            read_pointer(args.dataset).layout,
            args.images,
            args.image_ids,
            sources=(str(args.scores), str(args.pipeline_metrics)),
        )
        qualitative = (metrics, images)
    if confusion is not None:
        write_csv(args.fig7_csv, confusion_rows(confusion, args.backbone), FIG7_COLUMNS)
        save_png(confusion_figure(confusion, args.backbone), args.fig7_png)
    if umap is not None:
        write_csv(args.umap_csv, coordinate_rows(umap), COORDINATE_COLUMNS)
        save_png(umap_figure(umap, "class", params, "Fig. 8"), args.fig8_png)
        save_png(umap_figure(umap, "patient", params, "Fig. 10"), args.fig10_png)
    if fractions is not None:
        write_csv(args.fig11_csv, fractions, FIG11_COLUMNS)
        save_png(fractions_figure(fractions, fraction_backbone), args.fig11_png)
    if qualitative is not None:
        metrics, images = qualitative
        write_csv(args.fig9_csv, qualitative_rows(images, oracle_threshold(metrics)), QUALITATIVE_COLUMNS)
        save_png(
            qualitative_figure(images, metrics, selection_text(args.image_ids, len(images))), args.fig9_png, dpi=200
        )
    log.info("figures written: %s", ", ".join(figure for figure in OUTPUTS if figure in wanted))
