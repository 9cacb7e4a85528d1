# Target lists and input functions of the classification stage (included by classify.smk).
import math
import re

from ctcbench.classify.grid import planned_runs, trainset_path
from ctcbench.classify.spec import classifier_spec
from ctcbench.classify.variants import pseudo_threshold

CLASSIFY = config["classify"]
CLASSIFY_RESOURCES = CLASSIFY["resources"]
CLASSIFY_BACKBONES = CLASSIFY["backbones"]
UNKNOWN = config["ablations"]["unknown"]
PSEUDO_SETS = [s for s in UNKNOWN["strategies"] if s.startswith("u-pseudo")]
# The confident set carries its threshold in its name (u-pseudo-0.8); without one, its default threshold names it.
PSEUDO_CONFIDENT = next(
    (s for s in PSEUDO_SETS if pseudo_threshold(s) is not None), "u-pseudo-0.8"
)
TRAINSETS = f"{RESULTS}/splits/trainsets"
CLASSIFY_RUN = f"{RESULTS}/classify/{{backbone}}/{{setting}}/{{trainset}}/seed{{seed}}"
CLASSIFY_LOG = f"{LOGS}/classify/{{backbone}}/{{setting}}/{{trainset}}/seed{{seed}}"
CLASSIFY_BENCH = (
    f"{RESULTS}/benchmarks/classify/{{backbone}}/{{setting}}/{{trainset}}/seed{{seed}}"
)
# The published numbers ship with the workflow, wherever --directory puts the results.
PAPER_TABLES = os.path.join(workflow.basedir, "resources", "paper")


def classify_metrics(trainset=None):
    """metrics.json of every planned run, or of the runs on one training set."""
    return [
        f"{run.path(RESULTS)}/metrics.json"
        for run in planned_runs(config)
        if trainset is None or run.trainset == trainset
    ]


def classify_tables():
    return [
        f"{RESULTS}/tables/table2_cell_level.csv",
        f"{RESULTS}/tables/table2_cell_level.md",
        f"{RESULTS}/tables/table3_backbones.csv",
        f"{RESULTS}/tables/table3_backbones.md",
        f"{RESULTS}/classify/runs.csv",
    ]


def classify_targets():
    """Everything the classification stage produces: metrics and embeddings of every run, and the tables."""
    return classify_metrics() + classify_tables()


def classify_weights_file(timm_name):
    """A hand-staged .pth is used as it is; otherwise the rule stage_weights makes the .safetensors."""
    stem = f"{CLASSIFY['weights_dir']}/{timm_name}"
    return f"{stem}.pth" if os.path.isfile(f"{stem}.pth") else f"{stem}.safetensors"


def classify_train_inputs(wildcards):
    inputs = {
        "train": crop_cache("train"),
        "val": crop_cache("val"),
        "trainset": trainset_path(TRAINSETS, wildcards.trainset, wildcards.seed),
    }
    if CLASSIFY["pretrained"]:
        inputs["weights"] = classify_weights_file(
            CLASSIFY_BACKBONES[wildcards.backbone]["timm"]
        )
    return inputs


def classify_spec(wildcards):
    """The run's spec (ctcbench.classify.spec): everything that changes its numbers, as classify-train reads it."""
    return classifier_spec(
        config,
        wildcards.backbone,
        wildcards.setting,
        wildcards.trainset,
        wildcards.seed,
    )


def classify_runtime(wildcards):
    """Minutes for the job: the configured base-schedule runtime scaled by this backbone's iterations."""
    base = CLASSIFY["schedule"]["iterations"]
    iterations = classify_spec(wildcards).schedule.iterations
    return math.ceil(CLASSIFY_RESOURCES["runtime"] * iterations / base)


def classify_pseudo_models(wildcards):
    """best.pt of the drop-U runs of every seed: they score the unknown cells."""
    return [
        f"{RESULTS}/classify/{UNKNOWN['backbone']}/{UNKNOWN['setting']}/u-drop/seed{seed}/best.pt"
        for seed in config["seeds"]
    ]


def classify_regex(names):
    return "|".join(re.escape(str(name)) for name in names)
