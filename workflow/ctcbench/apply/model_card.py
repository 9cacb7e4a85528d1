"""A bundle's model card, model.yaml: what the pipeline does, what it was trained on, how well it did on the test
images beside the paper's numbers, its intended use and its limits (docs/apply.md#model-card).

Written for people; every value comes from the bundle's manifest (bundle.json), which programs read.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..data.channels import SETTING_TITLES
from ..detect.recipes import DETECTOR_TITLES

HEADER = (
    "# Model card of a ctcbench pipeline bundle (docs/apply.md#model-card), written by `ctcbench export`.\n"
    "# Programs read bundle.json; checksums.sha256 lists the SHA-256 of every file (sha256sum -c checksums.sha256).\n"
)
INTENDED_USE = (
    "Research: finding candidate cancer cells (the release's class R) in label-free images of cholangiocarcinoma "
    "(CCA) organoid-derived cells taken like the training images, and comparing with the benchmark. Not for "
    "clinical use: it is no diagnostic device and makes no diagnosis."
)


def limitations(manifest: dict[str, Any]) -> list[str]:
    image = manifest["input"]["training_image"]
    return [
        f"Trained on {manifest['training']['data']}. The release holds CCA organoid images of three patients from "
        f"one microscope (Opera Phenix), {image['width']} x {image['height']} px fields; other instruments, "
        "magnifications, cell types, culture conditions or stains were never seen: check it on labelled images of "
        "your own before relying on it.",
        "Labels: R (cancer) and G (normal) were read from the fluorescence stains of the same cells, U marks cells "
        "neither stain settled, and the test boxes are expert annotations (docs/dataset.md#test-annotations). A "
        "cancer call means the cell resembles those stained as cancer in the training images.",
        f"The threshold {format_threshold(manifest)} was chosen on the val images of the same dataset; on other "
        "data the scores may shift, and a threshold chosen on labelled images of your own is better.",
        "Cells must have the training images' pixel size: images are never rescaled. Images larger than the "
        "training size are cut into overlapping tiles of that size (docs/apply.md#image-size).",
        "Images must have the training images' bit depth and channels "
        f"(brightfield {describe_format(image['brightfield'])}"
        + (
            f", fluorescence {describe_format(image['fluorescence'])} in file order R, G, B"
            if "fluorescence" in manifest["input"]["files"]
            else ""
        )
        + "): an 8-bit export of a 16-bit image is another input.",
    ]


def describe_format(found: dict[str, Any]) -> str:
    return f"{found['dtype']}, {found['channels']} channel{'s' if found['channels'] != 1 else ''}"


def format_threshold(manifest: dict[str, Any]) -> str:
    value = manifest["threshold"]["value"]
    return "none (no box on val: nothing is called cancer)" if value is None else f"{value:.4f}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def with_paper(ours: float, paper: dict[str, Any] | None, metric: str) -> str:
    published = (paper or {}).get(metric)
    beside = f" (paper: {published['mean']:.1f} ± {published['std']:.1f} %)" if published else ""
    return f"{percent(ours)}{beside}"


def pipeline_section(manifest: dict[str, Any]) -> dict[str, Any]:
    pairing, inputs = manifest["pairing"], manifest["input"]
    gate = manifest["fusion_gate"]
    fusion = "S = (1 - omega) * S_det + omega * S_cls" + (
        f"; a box with S_det < {gate:g} keeps S_det (the protocol's fusion gate)" if gate is not None else ""
    )
    nms = f"class-agnostic at IoU {manifest['nms_iou']:g} on the fused score" + (
        ", and before classification on S_det" if manifest["nms_before_classification"] else ""
    )
    return {
        "setting": f"{manifest['setting']} ({SETTING_TITLES[manifest['setting']]})",
        "input_files": " + ".join(f"{name} TIFF" for name in inputs["files"]),
        "image_read": inputs["image_read"],
        "channels": inputs["channels"],
        "detector": f"{DETECTOR_TITLES.get(pairing['detector'], pairing['detector'])} ({pairing['detector_run']})",
        "detector_input_scaling": f"per-image min-max to 0-255 ({inputs['detector_scaling']})",
        "classifier": f"{pairing['backbone']} ({pairing['classifier_run']}), crops resized to "
        f"{inputs['classifier_crop_size']} px, normalisation {inputs['classifier_normalisation']}",
        "protocol": f"{manifest['protocol']} (docs/protocol.md#switches)",
        "omega": manifest["omega"],
        "fusion": fusion,
        "nms": nms,
        "cancer_call": f"fused score >= {format_threshold(manifest)}",
    }


def training_section(manifest: dict[str, Any]) -> dict[str, Any]:
    training = manifest["training"]
    detector, classifier = training["detector"], training["classifier"]
    start = {True: "pretrained weights", False: "random initialisation"}
    return {
        "data": training["data"],
        "detector": f"{detector['training_images']} training images (training set {detector['trainset']}), "
        f"seed {detector['seed']}, {detector['epochs']} epochs from {start[detector['pretrained']]}",
        "classifier": f"{classifier['training_crops']} training crops of classes {', '.join(classifier['classes'])} "
        f"(training set {classifier['trainset']}), seed {classifier['seed']}, {classifier['timm']} from "
        f"{start[classifier['pretrained']]}, best of {classifier['steps']} steps at step {classifier['best_step']} "
        f"(val accuracy {percent(classifier['best_val_accuracy'])})",
    }


def test_section(manifest: dict[str, Any]) -> dict[str, Any]:
    test, paper = manifest["test"], manifest["paper"]
    return {
        "images": f"{test['n_images']} test images, {test['n_ground_truth']} cancer boxes ({test['annotator']})",
        "ap50": with_paper(test["ap50"], paper, "ap50"),
        "best_f1": with_paper(test["best_f1"], paper, "f1") + ", at the threshold of the best F1 on test (oracle)",
        "f1_at_bundle_threshold": f"{percent(test['f1_at_threshold'])}, the F1 this bundle's calls reach on test",
        "per_patient": {
            patient: f"AP50 {percent(m['ap50'])}, best F1 {percent(m['best_f1'])}"
            for patient, m in test["per_patient"].items()
        },
        "paper": f"{paper['table']}: {paper['row']}" if paper else "no published number for this pairing",
    }


def model_card(manifest: dict[str, Any]) -> str:
    card = {
        "name": manifest["name"],
        "what_it_does": (
            "Finds cells in an image with the detector, scores each as cancer with the classifier, fuses both "
            "scores and calls a cell cancer when the fused score reaches the threshold; exactly the evaluation's "
            "pipeline (docs/protocol.md#image-level-pipeline)."
        ),
        "pipeline": pipeline_section(manifest),
        "trained_on": training_section(manifest),
        "test_metrics": test_section(manifest),
        "intended_use": INTENDED_USE,
        "limitations": limitations(manifest),
        "versions": {k: v for k, v in manifest["versions"].items() if v is not None},
        "code": manifest["git"],
    }
    return HEADER + yaml.safe_dump(card, sort_keys=False, allow_unicode=True, width=116)
