# Target lists and input functions of applying trained pipelines (included by apply.smk); bundles come from the plan.
from ctcbench.plan import Bundle

APPLY = config["apply"]
BUNDLE = Bundle.template(RESULTS)
BUNDLE_LOG = f"{LOGS}/bundles/{{detector}}/{{setting}}/{{trainset}}/seed{{seed}}"
APPLIED = f"{RESULTS}/apply"
# The paper's numbers a bundle's model card shows beside its own: Table 4's (ctcbench.report.table_specs).
TABLE4_PAPER = os.path.join(PAPER_DIR, TABLES["table4_image_level"].paper_file)


def bundle_targets():
    """Every bundle folder of export.pairings (the target `bundles`)."""
    return [bundle.path(RESULTS) for bundle in PLAN.bundles]


def apply_targets():
    """The predictions of apply.images, when set (part of `all`)."""
    return [APPLIED] if APPLY["images"] else []


def export_inputs(wildcards):
    """A bundle's pairing: its models and run records, its scores on test and val, its metrics.json at omega."""
    bundle = PLAN.bundle(
        wildcards.detector,
        wildcards.setting,
        wildcards.trainset,
        wildcards.seed,
        wildcards.omega,
    )
    folder = bundle.pairing.path(RESULTS)
    detector = bundle.pairing.detector_run.path(RESULTS)
    classifier = bundle.pairing.classifier.path(RESULTS)
    return {
        "dataset": DATASET,
        "metrics": bundle.evaluation.path(RESULTS),
        "scores": f"{folder}/{split_file('scores', 'test')}",
        "test_list": image_list("test"),
        "val_scores": f"{folder}/{split_file('scores', 'val')}",
        "val_list": image_list("val"),
        "detector": f"{detector}/model.pth",
        "detector_run": f"{detector}/run.json",
        "classifier": f"{classifier}/best.pt",
        "classifier_run": f"{classifier}/run.json",
        "paper_table": TABLE4_PAPER,
    }


def applied_bundle():
    """The bundle to predict with: apply.bundle, else that of the first of export.pairings."""
    if APPLY["bundle"]:
        return APPLY["bundle"]
    if not PLAN.bundles:
        sys.exit(
            "ctcbench: configuration error: apply.images is set but export.pairings is empty; "
            "name a pairing to export there or a bundle folder in apply.bundle"
        )
    return PLAN.bundles[0].path(RESULTS)
