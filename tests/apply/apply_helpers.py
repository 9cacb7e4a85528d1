"""Helpers of the bundle tests: a tiny pipeline trained and evaluated on the tiny twin as the workflow does it (a
detector run, a classifier run, their scores on test and val, metrics.json at one omega), and images to predict."""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from classify.classify_helpers import TinyCrops, tiny_config
from detect.detect_helpers import tiny_config as tiny_detect_config

from ctcbench.apply.export import PipelineFiles
from ctcbench.classify.train import train as train_classifier
from ctcbench.cli import main
from ctcbench.data.layout import DatasetLayout
from ctcbench.data.splits import write_image_list
from ctcbench.data.synth import TwinConfig, generate_twin
from ctcbench.detect.predict import predict
from ctcbench.detect.predictions import write_predictions
from ctcbench.detect.spec import run_spec
from ctcbench.detect.train import TrainPaths
from ctcbench.detect.train import train as train_detector

ROOT = Path(__file__).resolve().parents[2]
OMEGA = 0.7
PAPER_TABLE = ROOT / "resources" / "paper" / "table4_image_level.csv"


@dataclass(frozen=True)
class PipelineRun:
    """One pairing's results in the workflow's layout, and its bundle."""

    protocol: str
    setting: str
    files: PipelineFiles
    bundle: Path


def train_pipeline_runs(
    base: Path, twin: TinyCrops, pointer: Path, layout: DatasetLayout, demo_config: dict, protocol: str, setting: str
) -> PipelineFiles:
    """Train a tiny Faster R-CNN and a tiny classifier in `setting`, predict and score test and val, evaluate."""
    classifier = tiny_config(twin, base / "classify", protocol=protocol, setting=setting)
    assert train_classifier(classifier, progress=False).completed
    config = copy.deepcopy(tiny_detect_config(demo_config, epochs=3, milestones=[3]))
    config["protocol"] = protocol
    spec = run_spec(config, "faster_rcnn", setting, "all", 0)
    detect_dir = base / "detect"
    train_list = base / "train.txt"
    write_image_list(train_list, layout.read_split("train"))
    # The corrected protocol keeps the detector epoch of the best val AP50 (detector_checkpoint: best_val).
    val_list = layout.split_file("val") if spec.switches.detector_checkpoint == "best_val" else None
    paths = TrainPaths(dataset=pointer, train_list=train_list, model=detect_dir / "model.pth",
                       run_json=detect_dir / "run.json", val_list=val_list)  # fmt: skip
    train_detector(spec, paths, threads=1)
    pipeline = base / "pipeline"
    for split, suffix in (("test", ""), ("val", "-val")):
        predictions = detect_dir / f"predictions{suffix}.json"
        write_predictions(predictions, predict(model_path=paths.model, dataset=pointer,
                                               image_list=layout.split_file(split), device="cpu"))  # fmt: skip
        score = ["pipeline-score", "--dataset", str(pointer), "--image-list", str(layout.split_file(split)),
                 "--predictions", str(predictions), "--classifier", str(classifier.out_dir / "best.pt"),
                 "--protocol", protocol, "--device", "cpu",
                 "--out", str(pipeline / f"scores{suffix}.json")]  # fmt: skip
        assert main(score) == 0
    metrics = pipeline / f"omega{OMEGA:g}" / "metrics.json"
    evaluate = ["pipeline-evaluate", "--dataset", str(pointer), "--image-list", str(layout.split_file("test")),
                "--scores", str(pipeline / "scores.json"), "--omega", str(OMEGA), "--protocol", protocol,
                "--out", str(metrics)]  # fmt: skip
    if protocol == "corrected":  # image_threshold: heldout, as the workflow runs it
        evaluate += ["--val-scores", str(pipeline / "scores-val.json"), "--val-list", str(layout.split_file("val"))]
    assert main(evaluate) == 0
    return PipelineFiles(
        dataset=pointer,
        metrics=metrics,
        test_scores=pipeline / "scores.json",
        test_list=layout.split_file("test"),
        val_scores=pipeline / "scores-val.json",
        val_list=layout.split_file("val"),
        detector=paths.model,
        detector_run=paths.run_json,
        classifier=classifier.out_dir / "best.pt",
        classifier_run=classifier.out_dir / "run.json",
        paper_table=PAPER_TABLE,
    )


def export_args(files: PipelineFiles, out: Path) -> list[str]:
    return ["export", "--dataset", str(files.dataset), "--metrics", str(files.metrics),
            "--scores", str(files.test_scores), "--test-list", str(files.test_list),
            "--val-scores", str(files.val_scores), "--val-list", str(files.val_list),
            "--detector", str(files.detector), "--detector-run", str(files.detector_run),
            "--classifier", str(files.classifier), "--classifier-run", str(files.classifier_run),
            "--paper-table", str(files.paper_table), "--out", str(out)]  # fmt: skip


def new_images(base: Path, image_size: int, seed: int) -> Path:
    """Two freshly synthesised images (another seed than the training data's): their raw_images_for_model folder."""
    config = TwinConfig.demo(
        seed=seed,
        image_size=image_size,
        images_per_patient={"r06": 2},
        test_per_patient=1,
        cells_per_image=12.0,
        cell_radius=10.0,
        write_crops=False,
    )
    generate_twin(base, config, progress=False)
    return base / "raw_images_for_model"


def fresh_folder(base: Path, image_size: int, seed: int, prefix: str, folder: Path | None = None) -> Path:
    """Two new images as `<prefix>-<n>_bf.tiff` and `<prefix>-<n>_fl.tiff` in `folder` (default base/new)."""
    released = new_images(base / f"synth-{prefix}", image_size, seed)
    folder = folder or base / "new"
    folder.mkdir(parents=True, exist_ok=True)
    for number, path in enumerate(sorted((released / "brightfield").glob("*.tiff")), 1):
        shutil.copy(path, folder / f"{prefix}-{number}_bf.tiff")
        shutil.copy(released / "fluorescence" / path.name, folder / f"{prefix}-{number}_fl.tiff")
    return folder


def cells_of(path: Path) -> dict[str, np.ndarray]:
    """A per-image cells CSV of `ctcbench predict` as arrays."""
    import csv

    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        "boxes": np.array([[int(r[k]) for k in ("x1", "y1", "x2", "y2")] for r in rows], dtype=np.int64).reshape(-1, 4),
        **{k: np.array([float(r[k]) for r in rows]) for k in ("s_det", "s_cls", "score")},
        "cancer": np.array([r["cancer"] == "True" for r in rows], dtype=bool),
    }
