# Target lists and input functions of the image-level pipeline (included by pipeline.smk).
from ctcbench.pipeline.grid import (
    PipelineRun,
    classifier_path,
    omega_name,
    planned_pipeline_runs,
)

PIPELINE = config["pipeline"]
PIPELINE_RUNS = planned_pipeline_runs(config)
PIPELINE_RUN = f"{RESULTS}/pipeline/{{detector}}/{{setting}}/{{trainset}}/seed{{seed}}"
PIPELINE_LOG = f"{LOGS}/pipeline/{{detector}}/{{setting}}/{{trainset}}/seed{{seed}}"
PIPELINE_CONSTRAINTS = dict(
    detector=DETECT_CONSTRAINTS["detector"],
    setting=DETECT_CONSTRAINTS["setting"],
    trainset=r"all|patient-r\d{2}|u-drop|u-pseudo-all|u-pseudo-[0-9.]+",
    seed=r"\d+",
)
# Each table's report category (report_common.smk).
TABLE_NAMES = {
    "table4_image_level": "image_level",
    "table5_unknown_cells": "ablations",
    "table6_patients": "ablations",
}


def pipeline_run(wildcards):
    return PipelineRun(
        wildcards.detector, wildcards.setting, wildcards.trainset, int(wildcards.seed)
    )


def pipeline_metrics():
    return [
        f"{run.path(RESULTS)}/{omega_name(omega)}/metrics.json"
        for run, omegas in PIPELINE_RUNS.items()
        for omega in omegas
    ]


def pipeline_detection_metrics():
    """Detection-stage metrics of Table 4: every detector trained on all images."""
    runs = {run for run in PIPELINE_RUNS if run.trainset == "all"}
    return sorted(f"{run.detector_path(RESULTS)}/metrics.json" for run in runs)


def pipeline_targets():
    return pipeline_metrics() + [
        f"{RESULTS}/tables/{name}.{ext}"
        for name in TABLE_NAMES
        for ext in ("csv", "md")
    ]


# Scores of the test proposals (and, in the corrected protocol, of the val proposals that choose the threshold).
PIPELINE_SCORE_SPLITS = {
    split: name.replace("predictions", "scores")
    for split, name in DETECT_PREDICT_SPLITS.items()
}


def pipeline_evaluate_inputs(wildcards):
    inputs = {
        "dataset": DATASET,
        "image_list": f"{RESULTS}/splits/images/test.txt",
        "scores": f"{PIPELINE_RUN}/scores.json".format(**wildcards),
    }
    if "val" in PIPELINE_SCORE_SPLITS:
        inputs["val_list"] = f"{RESULTS}/splits/images/val.txt"
        inputs["val_scores"] = f"{PIPELINE_RUN}/{PIPELINE_SCORE_SPLITS['val']}".format(
            **wildcards
        )
    return inputs
