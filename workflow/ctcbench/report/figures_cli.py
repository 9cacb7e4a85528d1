"""`ctcbench figures`: Figs 7, 8, 9, 10 and 11 (PNG) and the numbers they plot (CSV), from the run records."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..classify.table import load_runs
from ..data.channels import SETTINGS
from ..data.pointer import read_pointer
from ..errors import ConfigError
from ..io import read_json
from ..pipeline.scores import read_scores
from ..tables import write_csv
from .common import PANEL_ORDER, save_png
from .figures import (
    FIG7_COLUMNS,
    FIG11_COLUMNS,
    confusion_figure,
    confusion_panels,
    confusion_rows,
    fraction_rows,
    fractions_figure,
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
FIGURES = ("confusion", "umap", "fractions", "qualitative")
OUTPUTS = {
    "confusion": ("fig7_confusion.png", "fig7_confusion.csv"),
    "umap": ("fig8_umap_class.png", "fig10_umap_patient.png", "umap_coordinates.csv"),
    "fractions": ("fig11_fractions.png", "fig11_fractions.csv"),
    "qualitative": ("fig9_predictions.png", "fig9_predictions.csv"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=Path, nargs="+", default=[], help="metrics.json of the runs (Figs 7, 11)")
    parser.add_argument("--embeddings", type=Path, nargs="+", default=[], help="embeddings.npz (Figs 8, 10)")
    parser.add_argument("--backbone", help="main backbone (Figs 7, 8, 10; needed for them)")
    parser.add_argument("--fraction-backbone", help="backbone of the fraction runs (Fig. 11); default --backbone")
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
    parser.add_argument(
        "--figures",
        nargs="+",
        choices=FIGURES,
        help="which to draw; default all, `qualitative` (Fig. 9) only when any of its inputs is given",
    )
    parser.add_argument("--out-dir", type=Path, required=True, help="folder for the PNGs and their CSVs")


def default_figures(args: argparse.Namespace) -> list[str]:
    """Without --figures: all of them, Fig. 9 only when one of its inputs is named (it reads a pipeline run)."""
    qualitative = any(v is not None for v in (args.scores, args.pipeline_metrics, args.dataset))
    return [f for f in FIGURES if f != "qualitative" or qualitative]


def run(args: argparse.Namespace) -> None:
    settings = tuple(dict.fromkeys(args.settings))
    wanted = set(args.figures or default_figures(args))
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
    records = load_runs(args.runs) if args.runs else []
    # Every input is checked before anything is written, so a missing run leaves no partial set of figures.
    confusion = confusion_panels(records, args.backbone, settings) if "confusion" in wanted else None
    fraction_backbone = args.fraction_backbone or args.backbone
    fractions = None
    if "fractions" in wanted:
        fractions = fraction_rows(records, fraction_backbone, tuple(s for s in SETTINGS if s in settings))
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
    out = args.out_dir
    if confusion is not None:
        write_csv(out / OUTPUTS["confusion"][1], confusion_rows(confusion, args.backbone), FIG7_COLUMNS)
        save_png(confusion_figure(confusion, args.backbone), out / OUTPUTS["confusion"][0])
    if umap is not None:
        write_csv(out / OUTPUTS["umap"][2], coordinate_rows(umap), COORDINATE_COLUMNS)
        save_png(umap_figure(umap, "class", params, "Fig. 8"), out / OUTPUTS["umap"][0])
        save_png(umap_figure(umap, "patient", params, "Fig. 10"), out / OUTPUTS["umap"][1])
    if fractions is not None:
        write_csv(out / OUTPUTS["fractions"][1], fractions, FIG11_COLUMNS)
        save_png(fractions_figure(fractions, fraction_backbone), out / OUTPUTS["fractions"][0])
    if qualitative is not None:
        metrics, images = qualitative
        write_csv(
            out / OUTPUTS["qualitative"][1], qualitative_rows(images, oracle_threshold(metrics)), QUALITATIVE_COLUMNS
        )
        save_png(
            qualitative_figure(images, metrics, selection_text(args.image_ids, len(images))),
            out / OUTPUTS["qualitative"][0],
            dpi=200,
        )
    log.info("figures %s written to %s", ", ".join(f for f in FIGURES if f in wanted), out)
