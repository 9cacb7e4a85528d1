"""The long results table: every finished run's numbers, one row per run x metric x subset (results.csv).

Each cell-level evaluation (classify-eval), detection-stage evaluation (detect-evaluate, and nucleus-evaluate for the
classical nucleus detector), pipeline evaluation (pipeline-evaluate; pipeline-oracle and pipeline-localised for the
error decomposition) and control of the image level (random-boxes, nucleus-features) writes a metrics.json; here each
becomes rows with the run's identity (stage, backbone, detector, setting, training set with its kind and value, seed,
omega, test annotator), the subset (all images, or one patient's), the metric, its value (a fraction, or percent
where the name says so) and the provenance (protocol, the metrics file). Every table and the figures' numbers are
views of these rows (`report.views`), and results.csv is all of them in one file (docs/experiments.md#results-table).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..classify.kfold_spec import FORMAT as KFOLD_FORMAT
from ..classify.kfold_spec import HELDOUT, TEST_PART
from ..data.agreement import FORMAT as AGREEMENT_FORMAT
from ..data.layout import CLASSES
from ..errors import DatasetError
from ..io import read_json_input
from ..plan.arms import MAIN_TRAINSET
from ..plan.controls import control_identity
from ..plan.runs import (
    ORACLE_CLASSIFIER,
    PERFECT_LOCALISATION,
    ClassicalRun,
    ControlRun,
    Decomposition,
    DetectorRun,
    Pairing,
)
from ..plan.trainsets import trainset as training_set
from ..tables import write_csv

CELL, DETECTION, PIPELINE = "cell", "detection", "pipeline"
HUMAN = "human"  # one annotator's test boxes scored against another's (data/agreement.py): the human ceiling
EXTERNAL = "external"  # detections of a method ctcbench did not train (ctcbench score); its cell scores are CELL rows
# A detector ctcbench runs without training (the nucleus detector): no setting, training set or seed of its own.
CLASSICAL = "classical"
# A pairing with a stage made perfect (the error decomposition, pipeline-oracle and pipeline-localised): its kind is
# its stage, ORACLE_CLASSIFIER or PERFECT_LOCALISATION, at omega 1.
DECOMPOSITION_STAGES = Decomposition.KINDS
# The k-fold track (classify/kfold.py): one row per fold, part and metric; its `seed` column is the fold, its
# backbone `<model>.<init>`, its training set `kfold-<scheme>`, its subset the part scored (heldout or test).
KFOLD = "kfold"
KFOLD_METRICS = ("auroc", "sensitivity", "specificity")
# A control of the image-level results (plan.controls): random boxes, the nucleus detector with a feature classifier.
CONTROL = "control"
ALL = "all"  # the subset of every image (or val crop) of the split
COLUMNS = (
    "stage",
    "backbone",
    "detector",
    "setting",
    "trainset",
    "trainset_kind",
    "trainset_value",
    "seed",
    "omega",
    "annotator",
    "subset",
    "metric",
    "value",
    "protocol",
    "source",
)
IDENTITY = COLUMNS[: COLUMNS.index("value")]
# Cell level: metrics.json key -> metric; `oracle` holds the threshold chosen on the reported crops.
CELL_METRICS = {"f1": "f1", "precision": "precision", "recall": "recall", "threshold": "threshold", "auroc": "auroc",
                "accuracy": "accuracy", "accuracy_trained_classes": "accuracy_trained_classes"}  # fmt: skip
ORACLE_METRICS = ("f1", "precision", "recall", "threshold", "auroc", "accuracy")
# Image level: metric -> key path in a metrics.json (overall, or under per_patient/<patient>).
IMAGE_METRICS = {
    "ap50": ("ap50",),
    "f1": ("best_f1",),
    "precision": ("precision_at_best_f1",),
    "recall": ("recall_at_best_f1",),
    "threshold": ("score_at_best_f1",),
    "f1_heldout": ("heldout", "f1"),
    "precision_heldout": ("heldout", "precision"),
    "recall_heldout": ("heldout", "recall"),
}


@dataclass(frozen=True)
class Result:
    """One row of results.csv; `value` is None where the metric is undefined for the run (e.g. no held-out F1)."""

    stage: str
    backbone: str
    detector: str
    setting: str
    trainset: str
    trainset_kind: str
    trainset_value: str
    seed: int
    omega: float | None
    annotator: str
    subset: str
    metric: str
    value: float | None
    protocol: str
    source: str

    def get(self, column: str) -> Any:
        return getattr(self, column)

    def to_row(self) -> dict[str, Any]:
        row = {column: getattr(self, column) for column in COLUMNS}
        row["value"] = "" if self.value is None else repr(float(self.value))
        row["omega"] = "" if self.omega is None else f"{self.omega:g}"
        return row


def _dig(record: dict[str, Any], keys: tuple[str, ...]) -> Any:
    value: Any = record
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _identity(stage: str, backbone: str, detector: str, setting: str, trainset: str, seed: int, **more: Any) -> dict:
    kind = training_set(trainset)
    return dict(
        stage=stage,
        backbone=backbone,
        detector=detector,
        setting=setting,
        trainset=trainset,
        trainset_kind=kind.kind.kind,
        trainset_value="" if kind.value is None else kind.value,
        seed=seed,
        omega=more.get("omega"),
        annotator=more.get("annotator", ""),
    )


def cell_results(record: dict[str, Any], source: str) -> list[Result]:
    """Rows of a classifier run's metrics.json (the val crops)."""
    run = record.get("run") or {}
    try:
        identity = _identity(CELL, run["backbone"], "", run["setting"], run["trainset"], int(run["seed"]))
    except (KeyError, TypeError, ValueError):
        raise DatasetError(
            f"{source}: no run identity (backbone, setting, trainset, seed); evaluate it again"
        ) from None
    return _cell_rows(record, identity, source)


def _cell_rows(record: dict[str, Any], identity: dict[str, Any], source: str) -> list[Result]:
    common = {**identity, "subset": ALL, "protocol": record.get("protocol", ""), "source": source}
    values = {metric: record.get(key) for key, metric in CELL_METRICS.items()}
    values.update({f"oracle_{key}": _dig(record, ("oracle", key)) for key in ORACLE_METRICS})
    order = record.get("confusion_order", list(CLASSES))
    confusion = record.get("confusion_percent")
    square = isinstance(confusion, list) and len(confusion) == len(order)
    if not square or not all(isinstance(row, list) and len(row) == len(order) for row in confusion):
        raise DatasetError(f"{source}: no {len(order)}x{len(order)} confusion_percent; evaluate it again")
    for i, true in enumerate(order):
        for j, predicted in enumerate(order):
            values[f"confusion_percent_{true}_{predicted}"] = confusion[i][j]
    return [Result(**common, metric=metric, value=value) for metric, value in values.items()]


def _image_results(record: dict[str, Any], identity: dict[str, Any], source: str) -> list[Result]:
    common = {**identity, "protocol": record.get("protocol", ""), "source": source}
    subsets = {ALL: record, **(record.get("per_patient") or {})}
    return [
        Result(**common, subset=subset, metric=metric, value=_dig(values, keys))
        for subset, values in subsets.items()
        for metric, keys in IMAGE_METRICS.items()
    ]


def detection_results(record: dict[str, Any], source: str) -> list[Result]:
    """Rows of a detector run's detection-stage metrics.json (the test images, overall and per patient)."""
    run = DetectorRun.parse(record.get("run", ""))
    identity = _identity(DETECTION, "", run.detector, run.setting, run.trainset, run.seed,
                         annotator=record.get("test_annotator", ""))  # fmt: skip
    return _image_results(record, identity, source)


def classical_results(record: dict[str, Any], source: str) -> list[Result]:
    """Rows of a classical detector's detection-stage metrics.json: stage `classical`, its name as the detector, no
    setting and no training set (it reads the fluorescence image whatever the setting, and trains on nothing), seed 0
    (it has none: one deterministic run)."""
    run = ClassicalRun.parse(record["run"])
    identity = dict(stage=CLASSICAL, backbone="", detector=run.detector, setting="", trainset="", trainset_kind="",
                    trainset_value="", seed=0, omega=None, annotator=record.get("test_annotator", ""))  # fmt: skip
    return _image_results(record, identity, source)


def control_results(record: dict[str, Any], source: str) -> list[Result]:
    """Rows of a control's metrics.json: stage `control`, its identity from its run (`plan.controls`: what its boxes
    come from as the detector, what re-scores them as the backbone; no setting for one that reads no image)."""
    classifier = (record.get("classifier") or {}).get("backbone", "")
    identity = control_identity(ControlRun.parse(record["control"]), classifier)
    trainset = identity["trainset"]
    kind = training_set(trainset) if trainset else None
    identity.update(stage=CONTROL, trainset_kind="" if kind is None else kind.kind.kind,
                    trainset_value="" if kind is None or kind.value is None else kind.value,
                    annotator=record.get("test_annotator", ""))  # fmt: skip
    return _image_results(record, identity, source)


def pipeline_results(record: dict[str, Any], source: str) -> list[Result]:
    """Rows of a pairing's metrics.json at one omega (the test images, overall and per patient); those of its error
    decomposition under the stage of their kind (`decomposition`), with the pairing's identity."""
    detector, setting, trainset, seed = Pairing.parse_key(record.get("pipeline_run", ""))
    backbone = (record.get("classifier") or {}).get("backbone", "")
    stage = record.get("decomposition", PIPELINE)
    if stage not in (PIPELINE, *DECOMPOSITION_STAGES):
        raise DatasetError(f"{source}: decomposition {stage!r}, expected one of {', '.join(DECOMPOSITION_STAGES)}")
    identity = _identity(stage, backbone, detector, setting, trainset, seed, omega=float(record["omega"]),
                         annotator=record.get("test_annotator", ""))  # fmt: skip
    return _image_results(record, identity, source)


def external_results(record: dict[str, Any], source: str) -> list[Result]:
    """Rows of a method ctcbench did not train (ctcbench score): its detections as stage `external` under its name as
    the detector, its cell scores as stage `cell` under its name as the backbone; training set `all`."""
    method = record["external_method"]
    name, setting, seed = method["name"], method["setting"], int(method["seed"])
    if method.get("kind") == "cell_scores":
        return _cell_rows(record, _identity(CELL, name, "", setting, MAIN_TRAINSET, seed), source)
    identity = _identity(EXTERNAL, "", name, setting, MAIN_TRAINSET, seed, annotator=record.get("test_annotator", ""))
    return _image_results(record, identity, source)


HUMAN_METRICS = ("f1", "precision", "recall")  # no AP: a human's boxes have no score to rank them by


def human_results(record: dict[str, Any], source: str) -> list[Result]:
    """Rows of the annotator agreement: stage `human`, the scored annotator as the detector, the other as the
    annotator (the ground truth), overall and per patient; no setting (annotations do not depend on one)."""
    rows = []
    for pair in record["pairs"]:
        identity = _identity(HUMAN, "", pair["annotator"], "", MAIN_TRAINSET, 0, annotator=pair["reference"])
        common = {**identity, "protocol": record.get("protocol", ""), "source": source}
        for subset, values in {ALL: pair, **pair.get("per_patient", {})}.items():
            rows += [Result(**common, subset=subset, metric=m, value=values.get(m)) for m in HUMAN_METRICS]
    return rows


def kfold_results(record: dict[str, Any], source: str) -> list[Result]:
    """Rows of a k-fold run's metrics.json: every fold's metrics on its held-out fold and on the test part."""
    spec = record["spec"]
    identity = dict(stage=KFOLD, backbone=f"{spec['model']}.{spec['init']}", detector="", setting=spec["setting"],
                    trainset=f"{KFOLD}-{spec['scheme']}", trainset_kind=KFOLD, trainset_value=spec["scheme"],
                    omega=None, annotator="", protocol=record.get("protocol", ""), source=source)  # fmt: skip
    return [
        Result(**identity, seed=int(fold["fold"]), subset=part, metric=metric, value=fold[part][metric])
        for fold in record["folds"]
        for part in (HELDOUT, TEST_PART)
        for metric in KFOLD_METRICS
    ]


def results_of(path: Path | str) -> list[Result]:
    """The rows of one metrics.json, whichever stage wrote it."""
    record = read_json_input(
        path, "metrics", "run its evaluation first (classify-eval, detect-evaluate, pipeline-evaluate)"
    )
    source = str(path)
    if record.get("format") == KFOLD_FORMAT:
        return kfold_results(record, source)
    if "control" in record:
        return control_results(record, source)
    if "external_method" in record:
        return external_results(record, source)
    if record.get("format") == AGREEMENT_FORMAT:
        return human_results(record, source)
    if "omega" in record:
        return pipeline_results(record, source)
    if isinstance(record.get("run"), dict):
        return cell_results(record, source)
    if ClassicalRun.is_name(record.get("run")):
        return classical_results(record, source)
    return detection_results(record, source)


class Results:
    """The rows of many runs, queried by column values; a run given twice would weigh double, so it fails."""

    def __init__(self, rows: Iterable[Result]) -> None:
        self.rows = list(rows)
        seen: dict[tuple, str] = {}
        for row in self.rows:
            key = tuple(row.get(c) for c in IDENTITY)
            if key in seen:
                again = "given twice" if seen[key] == row.source else f"the same run as {seen[key]}"
                raise DatasetError(f"{row.source}: {again}; pass each run's metrics.json once")
            seen[key] = row.source

    @classmethod
    def load(cls, paths: Iterable[Path | str]) -> Results:
        return cls(row for path in paths for row in results_of(path))

    def select(self, **where: Any) -> list[Result]:
        """Rows matching every given column value, by seed."""
        chosen = [row for row in self.rows if all(row.get(k) == v for k, v in where.items())]
        return sorted(chosen, key=lambda row: row.seed)

    def values(self, **where: Any) -> list[float | None]:
        return [row.value for row in self.select(**where)]

    def seeds(self, **where: Any) -> int:
        """How many seeds have rows matching `where` (the runs of a table cell or row)."""
        return len({row.seed for row in self.select(**where)})

    def has(self, **where: Any) -> bool:
        return any(value is not None for value in self.values(**where))

    def write(self, path: Path | str) -> None:
        write_csv(path, (row.to_row() for row in self.rows), COLUMNS)


def read_results(path: Path | str) -> Results:
    """results.csv back as rows (values as floats, exactly as written)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"{path}: results table missing; build it with `ctcbench results-table` (rule results_table)"
        )
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise DatasetError(f"{path}: columns {reader.fieldnames}, expected {', '.join(COLUMNS)}")
        rows = []
        for row in reader:
            values = dict(row)
            values["seed"] = int(values["seed"])
            values["omega"] = float(values["omega"]) if values["omega"] else None
            values["value"] = float(values["value"]) if values["value"] else None
            rows.append(Result(**values))
    return Results(rows)


__all__ = [
    "ALL",
    "CELL",
    "CLASSICAL",
    "COLUMNS",
    "DECOMPOSITION_STAGES",
    "CONTROL",
    "DETECTION",
    "EXTERNAL",
    "HUMAN",
    "ORACLE_CLASSIFIER",
    "PERFECT_LOCALISATION",
    "KFOLD",
    "PIPELINE",
    "Result",
    "Results",
    "read_results",
    "results_of",
]
