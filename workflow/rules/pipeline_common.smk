# Target lists and input functions of the image-level pipeline (included by pipeline.smk); pairings come from the plan.
from ctcbench.data.layout import TEST_ANNOTATORS
from ctcbench.plan import Pairing, omega_name, wildcard_pattern
from ctcbench.plan.runs import ORACLE_CLASSIFIER, PERFECT_LOCALISATION
from ctcbench.protocol import CLASSIFIER, DETECTOR, IMAGE

PIPELINE = config["pipeline"]
PIPELINE_RUN = Pairing.template(RESULTS)
PIPELINE_LOG = f"{LOGS}/pipeline/{{detector}}/{{setting}}/{{trainset}}/seed{{seed}}"
PIPELINE_CONSTRAINTS = dict(
    detector=DETECT_CONSTRAINTS["detector"],
    setting=DETECT_CONSTRAINTS["setting"],
    trainset=f"{wildcard_pattern()}|{wildcard_pattern(trainer='classify_bf_only')}",
    seed=r"\d+",
)


def pipeline_run(wildcards):
    """The planned pairing of a pipeline folder: which classifier scores its proposals is the plan's."""
    return PLAN.pairing(
        wildcards.detector, wildcards.setting, wildcards.trainset, wildcards.seed
    )


def pipeline_predictions(wildcards):
    """The predictions a pairing's job scores: its detector run's on the job's split (a defect variant's own or its
    end's, plan.defects)."""
    folder = pipeline_run(wildcards).detector_run.path(root_of(wildcards, DETECTOR))
    return f"{folder}/{split_file('predictions', split_of(wildcards.split))}"


def pipeline_classifier(wildcards):
    """best.pt of the classifier run that scores a pairing's proposals."""
    return f"{pipeline_run(wildcards).classifier.path(root_of(wildcards, CLASSIFIER))}/best.pt"


def pipeline_metrics(feeds=None):
    """metrics.json of every planned evaluation, or of those feeding one of the tables `feeds`."""
    return [
        evaluation.path(RESULTS)
        for evaluation, fed in PLAN.evaluations.items()
        if feeds is None or fed & set(feeds)
    ]


def decomposition_metrics(feeds=None):
    """metrics.json of every planned error decomposition, or of those feeding one of the tables `feeds`."""
    return [
        decomposition.path(RESULTS)
        for decomposition, fed in PLAN.decompositions.items()
        if feeds is None or fed & set(feeds)
    ]


def pipeline_targets():
    """Every evaluation and error decomposition of the plan, every control of the image level and the image-level
    tables."""
    return (
        pipeline_metrics()
        + decomposition_metrics()
        + control_metrics()
        + table_targets(records.DETECTION, records.PIPELINE)
    )


# An evaluation against another annotator than dataset.test_annotator is metrics-<annotator>.json (plan.runs).
PIPELINE_ANNOTATOR_SUFFIX = "|" + "|".join(f"-{name}" for name in TEST_ANNOTATORS)


def pipeline_annotator(wildcards):
    return wildcards.annotator.removeprefix("-") or config["dataset"]["test_annotator"]


def pipeline_evaluate_inputs(wildcards):
    """The test scores, and with a held-out threshold the val scores that choose it."""
    folder = pipeline_run(wildcards).path(root_of(wildcards, IMAGE))
    inputs = {
        "dataset": DATASET,
        "image_list": image_list("test"),
        "scores": f"{folder}/{split_file('scores', 'test')}",
    }
    if protocol_of(wildcards).threshold_on_val:
        inputs["val_list"] = image_list("val")
        inputs["val_scores"] = f"{folder}/{split_file('scores', 'val')}"
    return inputs


def nucleus_classifier_checkpoint(wildcards):
    """best.pt of the classifier run that scores a nucleus_classifier control's boxes (plan.controls)."""
    run = ControlRun(wildcards.control, wildcards.setting, int(wildcards.seed))
    return f"{control_classifier(config, run).path(RESULTS)}/best.pt"
