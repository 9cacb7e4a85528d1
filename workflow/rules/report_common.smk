# Inputs and targets of the figures (included by report.smk).

# Fig. 9: test predictions of one Table 4 pairing (Faster R-CNN, Brightfield + Fluorescence, all images, lowest
# seed) at omega 0.7, drawn when that pairing is planned.
FIG9_RUN = PipelineRun("faster_rcnn", "bf_fluo", "all", min(config["seeds"]))
FIG9_OMEGA = 0.7
FIG9 = FIG9_OMEGA in PIPELINE_RUNS.get(FIG9_RUN, [])
FIG9_FILES = ("fig9_predictions.png", "fig9_predictions.csv") if FIG9 else ()


FIGURE_FILES = (
    "fig7_confusion.png",
    "fig7_confusion.csv",
    "fig8_umap_class.png",
    "fig10_umap_patient.png",
    "umap_coordinates.csv",
    "fig11_fractions.png",
    "fig11_fractions.csv",
)


# The report category of each figure (Fig. 11 is the training-fraction ablation).
FIGURE_CATEGORIES = {
    "fig11_fractions": "ablations",
    "training_curves_classify": "training",
    "training_curves_detect": "training",
}


def figure_output(name):
    """A figure file; PNGs go into the HTML report with their caption workflow/report/{stem}.rst."""
    path = f"{RESULTS}/figures/{name}"
    stem, ext = os.path.splitext(name)
    if ext != ".png":
        return path
    category = REPORT_CATEGORIES[FIGURE_CATEGORIES.get(stem, "figures")]
    return report(path, caption=f"../report/{stem}.rst", category=category)


def figure_runs():
    """metrics.json of the main backbone's full-training-set runs (Fig. 7) and of the fraction ablation (Fig. 11)."""
    fractions = config["ablations"]["fractions"]["backbone"]
    main = CLASSIFY["main_backbone"]
    return [
        f"{run.path(RESULTS)}/metrics.json"
        for run in planned_runs(config)
        if (run.backbone == main and run.trainset == "all")
        or (run.backbone == fractions and run.trainset.startswith("frac-"))
        or (run.backbone == fractions and run.trainset == "all")
    ]


def figure_embeddings():
    """embeddings.npz of the main backbone's lowest-seed run in every setting (Figs 8 and 10)."""
    return [
        f"{RESULTS}/classify/{CLASSIFY['main_backbone']}/{setting}/all/seed{min(config['seeds'])}/embeddings.npz"
        for setting in config["settings"]
    ]


def fig9_inputs(wildcards):
    if not FIG9:
        return {}
    return {
        "scores": f"{FIG9_RUN.path(RESULTS)}/scores.json",
        "pipeline_metrics": f"{FIG9_RUN.path(RESULTS)}/{omega_name(FIG9_OMEGA)}/metrics.json",
        "dataset": DATASET,
    }


CURVE_FILES = (
    "training_curves_classify.png",
    "training_curves_detect.png",
    "training_curves.csv",
)


def figure_targets():
    return [
        f"{RESULTS}/figures/{name}" for name in FIGURE_FILES + FIG9_FILES + CURVE_FILES
    ]


def report_tables():
    names = ["table1", "table2_cell_level", "table3_backbones"] + list(TABLE_NAMES)
    return [f"{RESULTS}/tables/{name}.md" for name in names]


def report_run_records():
    """run.json of every classifier and detector training run."""
    classifiers = [f"{run.path(RESULTS)}/run.json" for run in planned_runs(config)]
    detectors = [
        path for path in detect_targets() if os.path.basename(path) == "run.json"
    ]
    return classifiers + detectors


def report_targets():
    return [f"{RESULTS}/report.md"]
