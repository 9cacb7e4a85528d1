"""The `ctcbench` command: one sub-command per step of the DAG; every Snakemake rule calls one of them.

Sub-command modules are imported only when their command runs, so `ctcbench --help` and the light data steps
never pay for importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__, device_slots
from .errors import CtcbenchError

# command name -> (module implementing add_arguments(parser) and run(args), one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "synth-dataset": (
        "ctcbench.data.synth_dataset_cli",
        "write the synthetic twin of the dataset in the figshare layout",
    ),
    "fetch-dataset": ("ctcbench.data.fetch_dataset_cli", "download the dataset from figshare, verify and extract it"),
    "stage-local-dataset": (
        "ctcbench.data.stage_local_dataset_cli",
        "point the workflow at a pre-staged local copy of the dataset",
    ),
    "validate-dataset": (
        "ctcbench.data.validate_dataset_cli",
        "check the dataset and write Table 1 (counts per split, class, patient)",
    ),
    "audit-dataset": (
        "ctcbench.data.audit_dataset_cli",
        "check the facts only the staged data can settle (docs/dataset.md)",
    ),
    "human-agreement": (
        "ctcbench.data.human_agreement_cli",
        "how far the two experts' test annotations agree (precision, recall, F1)",
    ),
    "image-splits": (
        "ctcbench.data.image_splits_cli",
        "write the image lists: train, val, test and per-patient training lists",
    ),
    "crop-cache": ("ctcbench.data.crop_cache_cli", "extract every annotated cell of a split into one crop-cache file"),
    "trainsets": ("ctcbench.data.trainsets_cli", "write the crop-level training sets (patients, fractions, unknowns)"),
    "data-profile": (
        "ctcbench.data.profile_cli",
        "wall time and peak memory of each data step and disk use of its outputs (profile.csv, profile.md)",
    ),
    "twin-check": ("ctcbench.data.synth.learnability", "score a quick classifier per input setting on the crops"),
    "detect-weights": ("ctcbench.detect.weights_cli", "stage pretrained detector weights, verified by checksum"),
    "detect-train": ("ctcbench.detect.train_cli", "train (or resume) one detector run through MMDetection"),
    "detect-predict": ("ctcbench.detect.predict_cli", "run a trained detector on the test images (predictions.json)"),
    "detect-evaluate": ("ctcbench.detect.evaluate_cli", "detection-stage AP50 and best F1 of a run's predictions"),
    "nucleus-predict": (
        "ctcbench.detect.nucleus_predict_cli",
        "the classical nucleus detector (Hoechst, OpenCV, no training) on an image list (predictions.json)",
    ),
    "nucleus-evaluate": (
        "ctcbench.detect.nucleus_evaluate_cli",
        "detection-stage AP50 and best F1 of the nucleus detector, as detect-evaluate scores a trained one",
    ),
    "random-boxes": (
        "ctcbench.detect.random_boxes_cli",
        "random boxes of the ground truth's count and sizes, evaluated as a detector (a control, chance level)",
    ),
    "stage-weights": (
        "ctcbench.classify.stage_weights_cli",
        "stage a backbone's ImageNet weights under resources/weights/",
    ),
    "classify-train": ("ctcbench.classify.train_cli", "train (or resume) one classifier run of the grid"),
    "classify-eval": ("ctcbench.classify.eval_cli", "cell-level metrics and embeddings of a run on the val crops"),
    "classify-bf-only": (
        "ctcbench.classify.bf_only_cli",
        "train and evaluate one run of the brightfield-only track (nuclear crops as extra training images)",
    ),
    "classify-kfold": ("ctcbench.classify.kfold_cli", "one run of the k-fold track: every fold of one network"),
    "pseudo-labels": ("ctcbench.classify.pseudo_labels_cli", "pseudo-labelled unknown-cell training sets (Table 5)"),
    "report-figures": ("ctcbench.report.figures_cli", "Figs 7-11 (PNG and the plotted numbers as CSV)"),
    "kfold-roc": ("ctcbench.report.kfold_roc_cli", "ROC curves of the k-fold track's folds and test part (PNG, CSV)"),
    "report-page": ("ctcbench.report.page_cli", "one page with every regenerated table and figure (report.md)"),
    "pipeline-score": ("ctcbench.pipeline.score_cli", "classifier scores of a detector run's proposals (scores.json)"),
    "pipeline-evaluate": ("ctcbench.pipeline.evaluate_cli", "image-level AP50 and best F1 of a pairing at one omega"),
    "pipeline-oracle": (
        "ctcbench.pipeline.oracle_cli",
        "error decomposition: a pairing's proposals with a perfect classifier, and the detector's recall ceiling",
    ),
    "pipeline-localised": (
        "ctcbench.pipeline.localised_cli",
        "error decomposition: the ground-truth boxes and the detector's misses scored by a pairing's classifier",
    ),
    "nucleus-features": (
        "ctcbench.pipeline.nucleus_features_cli",
        "the nucleus detector's boxes re-scored by a feature classifier, evaluated as the pipeline (a control)",
    ),
    "nucleus-classifier": (
        "ctcbench.pipeline.nucleus_classifier_cli",
        "the nucleus detector's boxes scored by a trained classifier run, evaluated as the pipeline (a control)",
    ),
    "score": ("ctcbench.external.score_cli", "score a method ctcbench did not train, exactly as its own models"),
    "export": ("ctcbench.apply.export_cli", "pack a trained pipeline into one folder for new images (a bundle)"),
    "predict": ("ctcbench.apply.predict_cli", "run a bundle's pipeline on new images: cells, scores, cancer calls"),
    "table": ("ctcbench.report.table_cli", "one result table (CSV, Markdown, HTML) beside the paper's numbers"),
    "table-comparisons": (
        "ctcbench.report.table_comparisons_cli",
        "the paired bootstrap comparisons a result table declares (CSV, Markdown, HTML)",
    ),
    "defect-effects": (
        "ctcbench.report.defect_effects_cli",
        "each protocol switch flipped alone from each endpoint: its effect with paired intervals (CSV, Markdown, HTML)",
    ),
    "results-table": ("ctcbench.report.results_table_cli", "every run's numbers in one long table (results.csv)"),
    "training-curves": (
        "ctcbench.report.training_curves_cli",
        "training loss and val accuracy of every run (PNG and CSV)",
    ),
    "compute": ("ctcbench.report.compute_cli", "projected GPU-hours of the configured grid (compute.csv, compute.md)"),
    "report-browser-check": ("ctcbench.report.browser_cli", "open the HTML report in Chromium and check every table"),
    "smoke-report": (
        "ctcbench.smoke.report_cli",
        "run a preset's DAG, kill each training once after its first resume state, tabulate time, memory, resumption",
    ),
    "reference-check": ("ctcbench.reference.check_cli", "rerun the reference configurations and compare every table"),
    "reference-update": ("ctcbench.reference.update_cli", "rewrite the committed reference results from a fresh run"),
}


# Commands that run a model on the device: with a local GPU pool each claims a GPU of its own (device_slots).
GPU_COMMANDS = {
    "classify-train",
    "classify-eval",
    "classify-bf-only",
    "pseudo-labels",
    "pipeline-score",
    "pipeline-localised",
    "detect-train",
    "detect-predict",
    "predict",
}


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless the help already states it or there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "%(default)" in text
            or "(default" in text
            or action.required
            or not action.option_strings
            or action.default is None
            or action.default is False  # a flag: off unless given
            or action.default is argparse.SUPPRESS
            or action.default == []
        ):
            return text
        return f"{text} (default: %(default)s)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ctcbench", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"ctcbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in COMMANDS:
        build_parser().parse_args(argv)  # prints usage, help or the "invalid choice" error and exits
        return 2
    # The command's own module defines its full argument set, so `ctcbench CMD --help` shows it.
    module = importlib.import_module(COMMANDS[command][0])
    command_parser = argparse.ArgumentParser(
        prog=f"ctcbench {command}", description=COMMANDS[command][1], formatter_class=HelpFormatter
    )
    command_parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    module.add_arguments(command_parser)
    position = argv.index(command)
    args = command_parser.parse_args(argv[position + 1 :])
    verbose = args.verbose or "-v" in argv[:position] or "--verbose" in argv[:position]
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if command in GPU_COMMANDS:
            # Before the command imports torch: it sees only its device.
            device_slots.claim_for_job(getattr(args, "jobs_per_gpu", 1))
        module.run(args)
    except CtcbenchError as exc:
        print(f"ctcbench {command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"ctcbench {command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
