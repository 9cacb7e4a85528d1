"""Packing one pairing of the grid at one ω into a bundle (docs/apply.md#export).

Everything a bundle states comes from the pipeline's own records: ω, the protocol, the NMS IoU and the test annotator
from its metrics.json at ω; the models are the files its scores were made with (checked by SHA-256 against the
scores, the metrics and the run records); the score threshold of a cancer call is chosen on the val images by the
evaluation's own function (`pipeline.evaluate.val_operating_point`): the held-out threshold of protocols with
`image_threshold: heldout`, computed the same way under protocols that report only the oracle, whose threshold was
chosen on the test images themselves and so cannot be carried to new ones (docs/defects.md#defect-8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import provenance
from ..data.channels import SETTING_TITLES, channel_names
from ..data.imageio import read_native
from ..data.layout import DatasetLayout
from ..data.pointer import describe_data, read_pointer
from ..data.splits import read_image_list
from ..detect.evaluate import ground_truth, score_images
from ..detect.recipes import DETECTOR_TITLES
from ..errors import ConfigError
from ..io import read_json_input
from ..pipeline.evaluate import fused_detections, val_operating_point
from ..pipeline.scores import Scores, read_scores
from ..plan.runs import omega_name
from ..protocol import Protocol, parse, same_protocol
from ..run_record import read_run_record
from ..tables import index_paper, read_paper_rows
from .bundle import CLASSIFIER, DETECTOR, FORMAT, METRICS, Bundle, write_bundle
from .model_card import model_card

PAPER_TABLE = "Table 4"
PAPER_TRAINSET = "all"  # Table 4's rows are the classifiers trained on all training crops


@dataclass(frozen=True)
class PipelineFiles:
    """The results of one pairing at one ω that a bundle is made from."""

    dataset: Path  # the dataset pointer (val ground truth, training image format)
    metrics: Path  # pipeline metrics.json at ω
    test_scores: Path  # scores.json of the test images
    test_list: Path
    val_scores: Path  # scores-val.json: the same runs on the val images
    val_list: Path
    detector: Path  # the detector run's model.pth
    detector_run: Path  # its run.json
    classifier: Path  # the classifier run's best.pt
    classifier_run: Path  # its run.json
    paper_table: Path | None = None  # resources/paper/table4_image_level.csv


def export(files: PipelineFiles, out: Path | str) -> Bundle:
    """Write the bundle folder `out` of a pairing at the ω of `files.metrics`."""
    metrics = read_json_input(files.metrics, "pipeline metrics", "evaluate the pairing (rule pipeline_evaluate)")
    protocol = parse(metrics["protocol"])
    test, val = read_scores(files.test_scores), read_scores(files.val_scores)
    runs = {"detector": read_run_record(files.detector_run), "classifier": read_run_record(files.classifier_run)}
    check_same_models(files, metrics, test, val, runs)
    pointer = read_pointer(files.dataset)
    omega, nms_iou = float(metrics["omega"]), float(metrics["nms_iou"])
    val_ids = read_image_list(files.val_list)
    threshold, val_record = val_operating_point(
        val, val_ids, pointer.layout, omega, protocol, nms_iou, str(files.val_scores)
    )
    at_threshold = test_operating_point(files, test, pointer.layout, metrics, protocol, threshold)
    manifest = {
        "format": FORMAT,
        "name": f"{metrics['pipeline_run']}/{omega_name(omega)}",
        "pairing": pairing_record(metrics, runs),
        "protocol": protocol.name,
        "setting": runs["classifier"]["run"]["setting"],
        "omega": omega,
        "fusion_gate": protocol.fusion_gate,
        "nms_before_classification": protocol.nms_before_classification,
        "nms_iou": nms_iou,
        "threshold": {
            "value": None if math.isinf(threshold) else threshold,
            "chosen_on": "val",
            "rule": "the fused score of the best F1 on the val images (R boxes of their trainval XMLs)",
            "val": val_record,
            "test": at_threshold,
        },
        "input": input_record(pointer.layout, val, val_ids, protocol, runs),
        "test": test_record(metrics, at_threshold),
        "paper": paper_record(files.paper_table, metrics, omega),
        "training": training_record(runs, describe_data(pointer), pointer.source),
        "sources": {name: source(path) for name, path in vars(files).items() if path is not None and name != "dataset"},
        "versions": provenance.versions(),
        "git": provenance.git_state(),
    }
    copies = {DETECTOR: files.detector, CLASSIFIER: files.classifier, METRICS: files.metrics}
    return write_bundle(out, manifest, model_card(manifest), copies)


def source(path: Path) -> dict[str, str]:
    return {"path": str(path), "sha256": provenance.file_sha256(path)}


def check_same_models(
    files: PipelineFiles, metrics: dict[str, Any], test: Scores, val: Scores, runs: dict[str, dict[str, Any]]
) -> None:
    """The models copied are those the scores, the metrics and the run records were made with, under one protocol."""
    detector, classifier = provenance.file_sha256(files.detector), provenance.file_sha256(files.classifier)
    recorded = [
        (files.test_scores, "detector", test.meta.get("detector", {}).get("model_sha256"), detector),
        (files.val_scores, "detector", val.meta.get("detector", {}).get("model_sha256"), detector),
        (files.detector_run, "detector", runs["detector"]["outputs"]["model"]["sha256"], detector),
        (files.test_scores, "classifier", test.meta.get("classifier", {}).get("sha256"), classifier),
        (files.val_scores, "classifier", val.meta.get("classifier", {}).get("sha256"), classifier),
        (files.metrics, "classifier", (metrics.get("classifier") or {}).get("sha256"), classifier),
        (files.classifier_run, "classifier", output_sha256(runs["classifier"], files.classifier), classifier),
    ]
    for path, what, found, expected in recorded:
        if found != expected:
            model = files.detector if what == "detector" else files.classifier
            raise ConfigError(
                f"{path}: made with another {what} than {model} (SHA-256 {str(found)[:16]} vs {expected[:16]}); "
                "export the results of one pairing: rerun its scoring and evaluation"
            )
    protocol = parse(metrics["protocol"])
    for path, found in ((files.test_scores, test.meta.get("protocol")), (files.val_scores, val.meta.get("protocol"))):
        if not same_protocol(found, protocol):
            raise ConfigError(f"{path}: protocol {found!r}, but {files.metrics} has {protocol.name}; score it again")


def output_sha256(record: dict[str, Any], model: Path) -> str | None:
    """The SHA-256 a classifier run record lists for the checkpoint of that name (best.pt or final.pt)."""
    return record["outputs"].get(model.name, {}).get("sha256")


def test_operating_point(
    files: PipelineFiles,
    test: Scores,
    layout: DatasetLayout,
    metrics: dict[str, Any],
    protocol: Protocol,
    threshold: float,
) -> dict[str, Any]:
    """F1, precision and recall on the test images at the bundle's threshold, by the evaluation's own code; a
    metrics.json with a held-out F1 must agree with it."""
    ids = read_image_list(files.test_list)
    omega, nms_iou = float(metrics["omega"]), float(metrics["nms_iou"])
    detections = fused_detections(test, ids, omega, protocol.fusion_gate, nms_iou, str(files.test_scores))
    truth = ground_truth(layout, "test", ids, metrics["test_annotator"])
    found = score_images(detections, truth, protocol, threshold)["heldout"]
    if "heldout" in metrics and metrics["heldout"] != found:
        raise ConfigError(
            f"{files.metrics}: its held-out F1 {metrics['heldout']} is not the {found} of {files.test_scores} and "
            f"{files.val_scores}; evaluate the pairing again (rule pipeline_evaluate)"
        )
    return found


def pairing_record(metrics: dict[str, Any], runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    detector, classifier = runs["detector"]["run"], runs["classifier"]["run"]
    return {
        "name": metrics["pipeline_run"],
        "detector": detector["detector"],
        "detector_run": detector["name"],
        "backbone": classifier["backbone"],
        "classifier_run": classifier["name"],
        "setting": classifier["setting"],
        "trainset": classifier["trainset"],
        "seed": classifier["seed"],
    }


def image_format(path: Path) -> dict[str, Any]:
    pixels = read_native(path)
    return {"dtype": str(pixels.dtype), "channels": int(pixels.shape[2])}


def input_record(
    layout: DatasetLayout, val: Scores, val_ids: list[str], protocol: Protocol, runs: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """What the models expect: the files, how they are read and scaled, the channel order, the training images."""
    setting = runs["classifier"]["run"]["setting"]
    sizes = [(entry.width, entry.height) for entry in val.images.values()]
    first = val_ids[0]
    return {
        "files": ["brightfield"] if setting == "bf" else ["brightfield", "fluorescence"],
        "image_read": protocol.image_read,
        "detector_scaling": protocol.detector_scaling,
        "hoechst_channels": protocol.hoechst_channels,
        "channels": channel_names(setting, protocol.hoechst_channels),
        "classifier_crop_size": runs["classifier"]["spec"]["image_size"],
        "classifier_normalisation": protocol.classifier_normalisation,
        "training_image": {
            "width": max(w for w, _ in sizes),
            "height": max(h for _, h in sizes),
            "brightfield": image_format(layout.brightfield(first)),
            "fluorescence": image_format(layout.fluorescence(first)),
        },
    }


def test_record(metrics: dict[str, Any], at_threshold: dict[str, Any]) -> dict[str, Any]:
    """The test numbers of metrics.json that the model card shows, and the F1 at the bundle's threshold."""
    keys = ("ap50", "best_f1", "precision_at_best_f1", "recall_at_best_f1", "n_images", "n_ground_truth")
    return {
        "annotator": metrics["test_annotator"],
        **{key: metrics[key] for key in keys},
        "f1_at_threshold": at_threshold["f1"],
        "per_patient": {p: {k: m[k] for k in ("ap50", "best_f1")} for p, m in metrics["per_patient"].items()},
        "threshold_choice": metrics["threshold_choice"],
    }


def paper_record(table: Path | None, metrics: dict[str, Any], omega: float) -> dict[str, Any] | None:
    """The paper's Table 4 mean and std of this detector and setting at ω (in percent), where it has them."""
    detector = metrics["detector"]
    if table is None or metrics["classifier"].get("trainset") != PAPER_TRAINSET:
        return None
    published = index_paper(read_paper_rows(table), "detector", "setting", "stage", "metric")
    key = (DETECTOR_TITLES.get(detector["detector"], ""), detector["setting"], f"pipeline_{omega_name(omega)}")
    found = {metric: published.get((*key, metric)) for metric in ("ap50", "f1")}
    if not any(found.values()):
        return None
    return {
        "table": PAPER_TABLE,
        "row": f"{key[0]}, {SETTING_TITLES[detector['setting']]}, full pipeline at omega {omega:g}",
        **{metric: {"mean": v[0], "std": v[1]} for metric, v in found.items() if v is not None},
    }


def training_record(runs: dict[str, dict[str, Any]], data: str, source_name: str) -> dict[str, Any]:
    """What each model was trained on, from its run record."""
    detector, classifier = runs["detector"], runs["classifier"]
    return {
        "data": data,
        "source": source_name,
        "detector": {
            "run": detector["run"]["name"],
            "training_images": detector["inputs"]["train_list"]["images"],
            "trainset": detector["run"]["trainset"],
            "seed": detector["run"]["seed"],
            "epochs": detector["training"]["epochs"],
            "pretrained": detector["inputs"].get("weights") is not None,
        },
        "classifier": {
            "run": classifier["run"]["name"],
            "timm": classifier["spec"]["timm_name"],
            "training_crops": classifier["inputs"]["trainset"]["crops"],
            "classes": classifier["training"]["classes"],
            "trainset": classifier["run"]["trainset"],
            "seed": classifier["run"]["seed"],
            "steps": classifier["training"]["steps"],
            "best_step": classifier["training"]["best_step"],
            "best_val_accuracy": classifier["training"]["best_val_accuracy"],
            "pretrained": classifier["inputs"].get("weights") is not None,
        },
    }
