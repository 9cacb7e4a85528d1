"""The brightfield-only track's tables (docs/experiments.md#bf-only): its backbones (the study's Table 2), its
variants (Table 3) and its statistics over seeds, each beside the study's published numbers. The study used its own
private DEPArray data (CTCs against leukocytes), so its numbers are a reference for the method, not a target on this
dataset: the captions say so and no difference is printed."""

from __future__ import annotations

import math
from typing import Any

from ..classify.bf_only.stats import TEST_TITLES, TESTS, compare
from ..classify.bf_only.variants import MAIN, STATS_PAIR, variant
from ..detect.recipes import DETECTOR_TITLES
from ..plan.trainsets import named
from ..tables import METRIC_TITLES, number
from .results import ALL, CELL, Results
from .views import RUNS, Block, Cell, Row, View

METRICS = ("accuracy", "precision", "recall", "f1")
STATS_METRIC = "f1"
STUDY_DATA = (
    "from its own private data (DEPArray single-cell images, CTCs against leukocytes, its test split), not from this "
    "dataset: they show what the method gave there, not a target here."
)
DIFFERENT_DATA = " The study's numbers in parentheses are " + STUDY_DATA
READING = (
    "Accuracy and macro precision, recall and F1 over cancer (R) and not-cancer (G) at the argmax, on the val crops, "
    "mean ± sample std over seeds, percent"
)


def bf_only_name(value: str) -> str:
    return named("bf_only", value).name


def backbones_params(config: dict[str, Any]) -> dict[str, Any]:
    catalogue, block = config["classify"]["backbones"], config["ablations"]["bf_only"]
    return {"backbones": [[key, catalogue[key]["paper"]] for key in block["backbones"]],
            "unknown": block["unknown"]}  # fmt: skip


def _cells(run: dict[str, Any], csv: dict[str, Any], paper: dict[str, Any]) -> tuple[Cell, ...]:
    where = {**run, "subset": ALL}
    return tuple(Cell({**where, "metric": m}, {**csv, "metric": m}, {**paper, "metric": m}) for m in METRICS)


def backbones_layout(params: dict[str, Any], results: Results) -> View:
    trainset = bf_only_name(MAIN)
    rows = []
    for backbone, label in params["backbones"]:
        run = {"stage": CELL, "backbone": backbone, "setting": "bf", "trainset": trainset}
        csv = {"table": "bf_only_backbones", "backbone": backbone, "paper_label": label, "setting": "bf",
               "trainset": trainset}  # fmt: skip
        rows.append(Row((label, RUNS), _cells(run, csv, {"backbone": label}), run))
    header = ("Backbone", "n", *(METRIC_TITLES[m] for m in METRICS))
    caption = (
        f"Brightfield-only track, backbones (the related study's Table 2): each trained on brightfield crops plus the "
        f"Hoechst crop of every training cell (`{trainset}`), validated on brightfield alone, unknown cells "
        f"{unknown_note(params)}. {READING}." + DIFFERENT_DATA
    )
    return View(caption, (Block(header, tuple(rows)),))


def unknown_note(params: dict[str, Any]) -> str:
    return "left out" if params["unknown"] == "drop" else "counted as not-cancer"


def ablation_params(config: dict[str, Any]) -> dict[str, Any]:
    block = config["ablations"]["bf_only"]
    main = block["main_backbone"]
    return {"backbone": main, "label": config["classify"]["backbones"][main]["paper"], "variants": block["variants"],
            "unknown": block["unknown"]}  # fmt: skip


def ablation_layout(params: dict[str, Any], results: Results) -> View:
    backbone, label = params["backbone"], params["label"]
    rows = []
    for value in params["variants"]:
        trainset = bf_only_name(value)
        run = {"stage": CELL, "backbone": backbone, "setting": "bf", "trainset": trainset}
        csv = {"table": "bf_only_ablation", "backbone": backbone, "paper_label": label, "setting": "bf",
               "trainset": trainset}  # fmt: skip
        rows.append(Row((variant(value).title, f"`{trainset}`", RUNS), _cells(run, csv, {"trainset": trainset}), run))
    header = ("Variant", "Training set", "n", *(METRIC_TITLES[m] for m in METRICS))
    caption = (
        f"Brightfield-only track, ablation (the related study's Table 3), {label} (`{backbone}`): AUG1 rotations, AUG2 "
        "+ flips, three operations + brightness/colour; w/ nuclear: the Hoechst crops of the training cells join as "
        "extra images (validated on brightfield); the nuclear rows validate on Hoechst. Unknown cells "
        f"{unknown_note(params)}. {READING}." + DIFFERENT_DATA
    )
    return View(caption, (Block(header, tuple(rows)),))


# -- Statistics over seeds: the study's normality, variance and Mann-Whitney tests of two variants' F1. ----------
STATS_COLUMNS = ("table", "backbone", "arm_a", "arm_b", "metric", "test", "n_a", "n_b", "statistic", "p_value",
                 "paper_p_value")  # fmt: skip
PAPER_TEST = {"shapiro_a": "shapiro_wilk", "shapiro_b": "shapiro_wilk", "levene": "levene",
              "mann_whitney_u": "mann_whitney_u"}  # fmt: skip


def stats_params(config: dict[str, Any]) -> dict[str, Any]:
    return {"backbone": config["ablations"]["bf_only"]["main_backbone"], "arms": list(STATS_PAIR)}


def stats_layout(params: dict[str, Any], results: Results) -> View:
    """No cells of its own: the tests are computed by `render_stats` over the runs' F1."""
    return View("", ())


def _p(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.3f}"


def render_stats(spec, params: dict[str, Any], results: Results, paper_rows: list[dict[str, str]], *_: Any):
    """(CSV rows, Markdown) of the tests of arm a against arm b over their seeds (stats.compare)."""
    backbone, (a, b) = params["backbone"], params["arms"]
    run = {"stage": CELL, "backbone": backbone, "setting": "bf", "subset": ALL, "metric": STATS_METRIC}
    values = {arm: [v for v in results.values(**run, trainset=bf_only_name(arm)) if v is not None] for arm in (a, b)}
    tests = compare(values[a], values[b])
    paper = {row["test"]: float(row["p_value"]) for row in paper_rows}
    rows, lines = [], ["| Test | Statistic | p | study's p |", "|---|---|---|---|"]
    for test in TESTS:
        statistic, p_value = tests[test]
        published = paper.get(PAPER_TEST[test])
        rows.append({"table": spec.name, "backbone": backbone, "arm_a": bf_only_name(a), "arm_b": bf_only_name(b),
                     "metric": STATS_METRIC, "test": test, "n_a": len(values[a]), "n_b": len(values[b]),
                     "statistic": number(statistic), "p_value": number(p_value),
                     "paper_p_value": "" if published is None else published})  # fmt: skip
        shown = "–" if published is None else f"{published:.3f}"
        lines.append(f"| {TEST_TITLES[test]} | {number(statistic) or '–'} | {_p(p_value)} | {shown} |")
    caption = (
        f"Brightfield-only track, statistics over seeds: macro F1 of {variant(a).title} (A, `{bf_only_name(a)}`, "
        f"{len(values[a])} runs) against {variant(b).title} (B, `{bf_only_name(b)}`, {len(values[b])} runs), "
        f"`{backbone}`, on the val crops: Shapiro-Wilk of each arm, Levene (median-centred) and the two-sided "
        "Mann-Whitney U test, scipy.stats; '–' where an arm has too few runs (Shapiro-Wilk and Levene need three "
        "each) or no spread. The study reports one Shapiro-Wilk p (arm not stated), from Jamovi; its p-values are "
        + STUDY_DATA
    )
    return rows, caption + "\n\n" + "\n".join(lines) + "\n"


# -- The image level: the track's model in the pipeline beside Table 4's Brightfield rows. -------------------------
IMAGE_COLUMNS = ("table", "detector", "setting", "trainset", "stage", "tested_on", "metric")


def image_level_params(config: dict[str, Any]) -> dict[str, Any]:
    block, classify = config["ablations"]["bf_only"], config["classify"]
    return {"detectors": block["detectors"], "omegas": list(config["pipeline"]["omegas"]),
            "annotator": config["dataset"]["test_annotator"], "backbone": block["main_backbone"],
            "main_backbone": classify["main_backbone"],
            "labels": {key: classify["backbones"][key]["paper"]
                       for key in (block["main_backbone"], classify["main_backbone"])}}  # fmt: skip


def image_level_layout(params: dict[str, Any], results: Results) -> View:
    # Imported here: Table 4's helpers live in the module that imports this one.
    from .table_specs import DETECTION_STAGE, paper_stage, stage_title, stage_where, with_heldout

    annotator, track = params["annotator"], bf_only_name(MAIN)
    image = {"setting": "bf", "subset": ALL, "annotator": annotator}
    metrics = with_heldout(("ap50", "f1"), results, **image)
    label = {"all": f"{params['labels'][params['main_backbone']]} on all crops (Table 4)",
             track: f"{params['labels'][params['backbone']]}, brightfield-only track (`{track}`)"}  # fmt: skip
    rows = []
    for detector in params["detectors"]:
        title = DETECTOR_TITLES[detector]
        stages = [(DETECTION_STAGE, "all")] + [(f"omega{w:g}", ts) for w in params["omegas"] for ts in ("all", track)]
        for stage, trainset in stages:
            where = {**stage_where(stage, annotator), "detector": detector, "setting": "bf", "trainset": trainset,
                     "subset": ALL}  # fmt: skip
            csv = {"table": "bf_only_image_level", "detector": detector, "setting": "bf", "trainset": trainset,
                   "stage": stage, "tested_on": ALL}  # fmt: skip
            published = trainset == "all"  # the track's rows have no published value: the study had no image level
            cells = tuple(
                Cell(
                    {**where, "metric": m},
                    {**csv, "metric": m},
                    {"detector": title, "setting": "bf", "stage": paper_stage(stage), "metric": m}
                    if published
                    else None,
                )  # fmt: skip
                for m in metrics
            )
            classifier = "–" if stage == DETECTION_STAGE else label[trainset]
            rows.append(Row((title, stage_title(stage), classifier, RUNS), cells, where))
    header = ("Detector", "Stage", "Classifier", "n", *(METRIC_TITLES[m] for m in metrics))
    caption = (
        "Brightfield-only track at the image level (not in the related study, which classified single cells): its "
        f"{params['labels'][params['backbone']]} trained on brightfield plus Hoechst crops (`{track}`) scoring the "
        "Brightfield detectors' proposals, beside Table 4's Brightfield rows (the same detector runs with the main "
        "classifier); test images, mean ± sample std over seeds (the track's seeds that the detectors have), percent; "
        "the CCA paper's Table 4 in parentheses."
    )
    return View(caption, (Block(header, tuple(rows)),))
