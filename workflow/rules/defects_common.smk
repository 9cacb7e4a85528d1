# Constants, target list and helpers of the defect variants' rules (included by defects.smk).
from ctcbench.plan.defects import DEFECT_EFFECTS, DEFECTS_DIR, variant_pattern
from ctcbench.protocol import CLASSIFIER, DETECTOR, IMAGE
from ctcbench.report.defect_effects import defect_spec, spec_inputs

VARIANT_RESULTS = f"{RESULTS}/{DEFECTS_DIR}/{{variant}}"
VARIANT_LOGS = f"{LOGS}/{DEFECTS_DIR}/{{variant}}"
VARIANT_CLASSIFY_RUN = ClassifierRun.template(VARIANT_RESULTS)
VARIANT_CLASSIFY_BENCH = ClassifierRun.benchmarks_template(VARIANT_RESULTS)
VARIANT_DETECT_RUN = DetectorRun.template(VARIANT_RESULTS)
VARIANT_DETECT_BENCH = DetectorRun.benchmarks_template(VARIANT_RESULTS)
VARIANT_PIPELINE_RUN = Pairing.template(VARIANT_RESULTS)
VARIANT_PIPELINE_BENCH = Pairing.benchmarks_template(VARIANT_RESULTS)
VARIANT_CLASSIFY_LOG = (
    f"{VARIANT_LOGS}/classify/{{backbone}}/{{setting}}/{{trainset}}/seed{{seed}}"
)
VARIANT_DETECT_LOG = (
    f"{VARIANT_LOGS}/detect/{{detector}}/{{setting}}/{{trainset}}/seed{{seed}}"
)
VARIANT_PIPELINE_LOG = (
    f"{VARIANT_LOGS}/pipeline/{{detector}}/{{setting}}/{{trainset}}/seed{{seed}}"
)


def cross_fitted(protocol):
    return protocol.classifier_checkpoint == "cross_fitted"


# Every variant's and endpoint's metrics.json and per-image record the table reads, planned once.
DEFECT_INPUTS = (
    spec_inputs(defect_spec(config, RESULTS)["rows"]) if PLAN.defects else []
)


def defect_targets():
    """Every variant's main-pipeline evaluation and cell-level metrics, and the table (none when the block is off)."""
    if not PLAN.defects:
        return []
    return DEFECT_INPUTS + [
        f"{RESULTS}/tables/{DEFECT_EFFECTS}.{ext}" for ext in ("csv", "md")
    ]
