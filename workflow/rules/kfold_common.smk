# Targets and input functions of the k-fold track (included by classify.smk; ablations.kfold, ctcbench.plan.kfold).
from ctcbench.plan import KFoldRun
from ctcbench.plan.kfold import FIGURE as KFOLD_FIGURE
from ctcbench.plan.kfold import kfold_spec, network_entry
from ctcbench.classify.network import weights_file

KFOLD_RUN = KFoldRun.template(RESULTS)
KFOLD_LOG = f"{LOGS}/kfold/{{model}}/{{init}}/{{setting}}/{{scheme}}/seed{{seed}}"
KFOLD_BENCH = KFoldRun.benchmarks_template(RESULTS)
# figures/kfold_roc.{png,csv}: the ROC curves of every fold and of the test part, when the plan has k-fold runs.
KFOLD_FIGURES = [f"{KFOLD_FIGURE}.png", f"{KFOLD_FIGURE}.csv"] if PLAN.kfold else []


def kfold_metrics(feeds=None):
    """metrics.json of every planned k-fold run, or of those that feed one of `feeds`."""
    return [
        f"{run.path(RESULTS)}/metrics.json"
        for run, fed in PLAN.kfold.items()
        if feeds is None or fed & set(feeds)
    ]


def kfold_scores():
    """scores.csv of every planned k-fold run: the ROC figure's input."""
    return [f"{run.path(RESULTS)}/scores.csv" for run in PLAN.kfold]


def kfold_run(wildcards):
    return KFoldRun(
        wildcards.model,
        wildcards.init,
        wildcards.setting,
        wildcards.scheme,
        int(wildcards.seed),
    )


def kfold_inputs(wildcards):
    """The train and val crop caches, and the staged weights of an ImageNet-initialised run."""
    inputs = {"train": crop_cache("train"), "val": crop_cache("val")}
    if kfold_spec(config, kfold_run(wildcards)).pretrained:
        network = network_entry(config["ablations"]["kfold"], wildcards.model)[0]
        inputs["weights"] = str(weights_file(CLASSIFY["weights_dir"], network))
    return inputs
