# Inputs and targets of the figures, the long results table and the report page (included by report.smk).
from ctcbench.compute.counts import counts_file
from ctcbench.data.channels import (
    SETTINGS as PANEL_ORDER,
)  # report.common.PANEL_ORDER, torch- and matplotlib-free


# Fig. 9: test predictions of one Table 4 pairing (Faster R-CNN, Brightfield + Fluorescence, all images, lowest
# seed) at omega 0.7, drawn when that pairing is planned.
FIG9_OMEGA = 0.7
FIG9_EVALUATION = next(
    (
        evaluation
        for evaluation in PLAN.evaluations
        if evaluation.pairing.key
        == ("faster_rcnn", "bf_fluo", "all", min(config["seeds"]))
        and evaluation.omega == FIG9_OMEGA
        and evaluation.default_annotator
    ),
    None,
)
FIG9 = FIG9_EVALUATION is not None

# Each figure file under its `ctcbench report-figures` output option; Fig. 11 when the plan has its fractions, Fig. 9
# when its pairing is planned.
FIGURE_OUTPUTS = {
    "fig7_png": "fig7_confusion.png",
    "fig7_csv": "fig7_confusion.csv",
    "fig8_png": "fig8_umap_class.png",
    "fig10_png": "fig10_umap_patient.png",
    "umap_csv": "umap_coordinates.csv",
}
FRACTION_BACKBONES = {
    run.backbone
    for run in PLAN.feeding("fig11")["classifiers"]
    if run.trainset != "all"
}
if FRACTION_BACKBONES:
    FIGURE_OUTPUTS.update(
        fig11_png="fig11_fractions.png", fig11_csv="fig11_fractions.csv"
    )
if FIG9:
    FIGURE_OUTPUTS.update(
        fig9_png="fig9_predictions.png", fig9_csv="fig9_predictions.csv"
    )
FIGURE_FILES = tuple(FIGURE_OUTPUTS.values())
# Fig. 11's published points are Table 2's (report.figures.FIG11_PAPER_FILE).
FIG11_PAPER_FILE = TABLES["table2_cell_level"].paper_file


# The report category of each figure (Fig. 11 is the training-fraction ablation).
FIGURE_CATEGORIES = {
    "fig11_fractions": "ablations",
    "kfold_roc": "ablations",
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
    """metrics.json of the runs of Fig. 7 (the main backbone on all crops) and Fig. 11 (the fraction ablation)."""
    return classify_metrics({"fig7", "fig11"})


def figure_embeddings():
    """embeddings.npz of the lowest-seed run of Figs 8 and 10 in every setting (the main backbone on all crops)."""
    seed = min(config["seeds"])
    return [
        f"{run.path(RESULTS)}/embeddings.npz"
        for run, fed in PLAN.classifiers.items()
        if "fig8" in fed and run.seed == seed
    ]


def fig9_inputs(wildcards):
    if not FIG9:
        return {}
    return {
        "scores": f"{FIG9_EVALUATION.pairing.path(RESULTS)}/scores.json",
        "pipeline_metrics": FIG9_EVALUATION.path(RESULTS),
        "dataset": DATASET,
    }


CURVE_FILES = (
    "training_curves_classify.png",
    "training_curves_detect.png",
    "training_curves.csv",
)


def figure_targets():
    names = FIGURE_FILES + CURVE_FILES + tuple(KFOLD_FIGURES)
    return [f"{RESULTS}/figures/{name}" for name in names]


def figure_options(wildcards, output):
    """`ctcbench report-figures` output options: each declared file under its option."""
    return " ".join(
        f"--{key.replace('_', '-')} {getattr(output, key)}" for key in FIGURE_OUTPUTS
    )


def report_tables():
    comparisons = [spec.comparisons_name for spec in COMPARED_TABLES.values()]
    own_rule = [DEFECT_EFFECTS] if PLAN.defects else []  # rule defect_effects
    return [
        f"{RESULTS}/tables/{name}.md"
        for name in ["table1", *PLANNED_TABLES, *comparisons, *own_rule]
    ]


def results_metrics():
    """metrics.json of every planned run and evaluation: the rows of results.csv."""
    runs = (
        classify_metrics() + detect_metrics() + pipeline_metrics() + external_metrics()
    )
    extra = (
        classical_metrics()
        + decomposition_metrics()
        + kfold_metrics()
        + control_metrics()
    )
    return runs + [HUMAN_AGREEMENT] + extra


def report_run_records():
    """run.json of every classifier and detector training run."""
    classifiers = [f"{run.path(RESULTS)}/run.json" for run in PLAN.classifiers]
    detectors = [f"{run.path(RESULTS)}/run.json" for run in PLAN.detectors]
    return classifiers + detectors


def report_targets():
    return [f"{RESULTS}/report.md", f"{RESULTS}/results.csv"]


# The compute projection reads the dataset's size from the Table 1 that compute.dataset_counts chooses.
COMPUTE_COUNTS = str(counts_file(config, PAPER_DIR, RESULTS))


# The resolved config as one JSON argument, for the commands that plan from it (compute, defect-effects).
RESOLVED_CONFIG_JSON = json.dumps(
    {key: value for key, value in config.items() if key != "presets"}
)
