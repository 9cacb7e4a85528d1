# Target lists and input functions of the classification stage (included by classify.smk); runs come from the plan.
import math
import re

from ctcbench.classify.network import stage_options
from ctcbench.plan import ClassifierRun, trainset, wildcard_pattern
from ctcbench.plan import weights as classify_weights
from ctcbench.plan.specs import classifier_spec
from ctcbench.classify.bf_only.spec import bf_only_spec
from ctcbench.plan.trainsets import PSEUDO_BASE, PSEUDO_CANDIDATES
from ctcbench.classify.selection import HALF_BEST
from ctcbench.protocol import CLASSIFIER

CLASSIFY = config["classify"]
CLASSIFY_RESOURCES = CLASSIFY["resources"]
CLASSIFY_BACKBONES = CLASSIFY["backbones"]
CLASSIFY_RUN = ClassifierRun.template(RESULTS)
CLASSIFY_LOG = f"{LOGS}/classify/{{backbone}}/{{setting}}/{{trainset}}/seed{{seed}}"
CLASSIFY_BENCH = ClassifierRun.benchmarks_template(RESULTS)
# Staged file -> network, for every backbone the plan trains (the protocol picks timm's or torchvision's network).
CLASSIFY_WEIGHTS = classify_weights.needed_classifier_weights(config)
# The pseudo-labelled sets (all, confident) one pass writes when the plan trains either (ctcbench pseudo-labels).
PSEUDO_SETS = PLAN.pseudo_labelled()


def classify_metrics(feeds=None):
    """metrics.json of every planned run, or of the runs that feed one of the tables or figures `feeds`."""
    return [
        f"{run.path(RESULTS)}/metrics.json"
        for run, fed in PLAN.classifiers.items()
        if feeds is None or fed & set(feeds)
    ]


def half_checkpoints(folder):
    """The checkpoints chosen on each val half of a run folder (or template)."""
    return [f"{folder}/{name}" for name in HALF_BEST]


def classify_half_checkpoints(protocol=PROTOCOL, folder=CLASSIFY_RUN):
    """The checkpoints chosen on each val half: kept when the protocol cross-fits checkpoints (defect 8)."""
    if protocol.classifier_checkpoint != "cross_fitted":
        return []
    return half_checkpoints(folder)


def classify_targets():
    """Everything the classification stage produces: metrics and embeddings of every run (and of the k-fold
    track), and its tables."""
    return (
        classify_metrics()
        + kfold_metrics()
        + table_targets(records.CELL, records.KFOLD)
    )


def classify_run(wildcards):
    return ClassifierRun(
        wildcards.backbone, wildcards.setting, wildcards.trainset, int(wildcards.seed)
    )


def classify_train_inputs(wildcards):
    list_file = trainset(wildcards.trainset).listed_as.list_file(wildcards.seed)
    protocol = protocol_of(wildcards)
    inputs = {
        "train": crop_cache("train", protocol),
        "val": crop_cache("val", protocol),
        "trainset": f"{TRAINSETS}/{list_file}",
    }
    weights = classify_weights.classifier_weights_inputs(
        config_of(wildcards), wildcards.backbone
    )
    if weights:
        inputs["weights"] = weights[0]
    return inputs


def classify_eval_inputs(wildcards):
    """A run's checkpoints and spec, and the val crops of its protocol."""
    folder = classify_run(wildcards).path(root_of(wildcards, CLASSIFIER))
    return {
        "best": f"{folder}/best.pt",
        "halves": classify_half_checkpoints(protocol_of(wildcards), folder),
        "run": f"{folder}/run.json",
        "val": crop_cache("val", protocol_of(wildcards)),
    }


def classify_spec(wildcards):
    """The run's spec (ctcbench.classify.spec): everything that changes its numbers, as classify-train reads it."""
    return classifier_spec(config_of(wildcards), classify_run(wildcards))


def classify_runtime(wildcards):
    """Minutes for the job: the configured base-schedule runtime scaled by this backbone's iterations."""
    base = CLASSIFY["schedule"]["iterations"]
    iterations = classify_spec(wildcards).schedule.iterations
    return math.ceil(CLASSIFY_RESOURCES["runtime"] * iterations / base)


def classify_speed_options():
    """classify-train's speed flags from the config: none by default (classify.compile, fused_optimizer,
    resources.jobs_per_gpu; augment_on changes the run, so it is in the spec)."""
    flags = []
    if CLASSIFY["compile"]:
        flags.append("--compile")
    if CLASSIFY["fused_optimizer"]:
        flags.append("--fused-optimizer")
    if CLASSIFY_RESOURCES["jobs_per_gpu"] > 1:
        flags.append(f"--jobs-per-gpu {CLASSIFY_RESOURCES['jobs_per_gpu']}")
    return " ".join(flags)


def classify_pseudo_models(wildcards):
    """best.pt of the planned drop-U runs (every seed): they score the unknown cells."""
    return [
        f"{run.path(RESULTS)}/best.pt"
        for run in PLAN.classifiers
        if run.trainset == PSEUDO_BASE
    ]


def classify_regex(names):
    return "|".join(re.escape(str(name)) for name in names)


CLASSIFY_CONSTRAINTS = dict(
    backbone=classify_regex(CLASSIFY_BACKBONES),
    setting=classify_regex(config["settings"]),
    trainset=wildcard_pattern(),
    seed=r"\d+",
)
