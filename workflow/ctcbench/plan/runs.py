"""Run records: a classifier run, a detector run, a classical detector run, a pipeline pairing, one evaluation of it,
its error decomposition, a bundle of it, a control run and a k-fold run, each with its name, its folder under
results/{preset}/, its wildcard template and a parser (docs/experiments.md#results-layout).

A name is the run's wildcard path (`convnext_b/bf/all/seed0`); the folder is the stage's directory plus the name;
the template is the same pattern with Snakemake wildcards; `parse` reads a name back. Records are frozen and
hashable, so the plan uses them as keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from ..errors import ConfigError
from .trainsets import TrainingSet, trainset

SEED_RE = re.compile(r"seed(\d+)")
# Snakemake's benchmark files of a run: results/{preset}/benchmarks/<stage>/<name>/<rule>.tsv (train.tsv, ...).
BENCHMARKS = "benchmarks"


class RunName:
    """Name, folder, template and parser of a record whose FIELDS end with its seed: `<f1>/<f2>/<f3>/seed<N>`."""

    STAGE: ClassVar[str]
    FIELDS: ClassVar[tuple[str, ...]]
    WHAT: ClassVar[str]

    @property
    def name(self) -> str:
        return "/".join([*(str(getattr(self, f)) for f in self.FIELDS[:-1]), f"seed{self.seed}"])

    def path(self, results: str) -> str:
        return f"{results}/{self.STAGE}/{self.name}"

    @classmethod
    def template(cls, results: str) -> str:
        return "/".join([f"{results}/{cls.STAGE}", *(f"{{{f}}}" for f in cls.FIELDS[:-1]), "seed{seed}"])

    def benchmarks(self, results: str) -> str:
        """The folder of the run's benchmark files."""
        return self.path(f"{results}/{BENCHMARKS}")

    @classmethod
    def benchmarks_template(cls, results: str) -> str:
        return cls.template(f"{results}/{BENCHMARKS}")

    @classmethod
    def parse(cls, name: str) -> Self:
        """The record of a name (a record whose fields are all in its name; a pairing's are not)."""
        return cls(**cls.parse_fields(name))

    @classmethod
    def parse_fields(cls, name: str) -> dict[str, Any]:
        """The fields of a name, the seed as an int."""
        parts = str(name).split("/")
        if len(parts) != len(cls.FIELDS) or not SEED_RE.fullmatch(parts[-1]):
            pattern = "/".join(f"<{f}>" for f in cls.FIELDS[:-1]) + "/seed<N>"
            raise ConfigError(f"{cls.WHAT} {name!r}: expected {pattern}")
        values: dict[str, Any] = dict(zip(cls.FIELDS, parts))
        values["seed"] = int(SEED_RE.fullmatch(parts[-1])[1])
        return values


@dataclass(frozen=True, order=True)
class ClassifierRun(RunName):
    """One classifier training run: results/{preset}/classify/{backbone}/{setting}/{trainset}/seed{seed}."""

    backbone: str
    setting: str
    trainset: str
    seed: int

    STAGE: ClassVar[str] = "classify"
    FIELDS: ClassVar[tuple[str, ...]] = ("backbone", "setting", "trainset", "seed")
    WHAT: ClassVar[str] = "classifier run"

    @property
    def training_set(self) -> TrainingSet:
        return trainset(self.trainset)


@dataclass(frozen=True, order=True)
class DetectorRun(RunName):
    """One detector training run: results/{preset}/detect/{detector}/{setting}/{trainset}/seed{seed}."""

    detector: str
    setting: str
    trainset: str  # the detector's training set: `all` or a patient's
    seed: int

    STAGE: ClassVar[str] = "detect"
    FIELDS: ClassVar[tuple[str, ...]] = ("detector", "setting", "trainset", "seed")
    WHAT: ClassVar[str] = "detector run"

    @property
    def image_list(self) -> str:
        """Stem of the image list it trains on (splits/images/<stem>.txt)."""
        return trainset(self.trainset).image_list


@dataclass(frozen=True, order=True)
class Pairing(RunName):
    """Detector run i with classifier run i of one setting, the original's `_0` with `_0` (docs/protocol.md#fusion):
    results/{preset}/pipeline/{detector}/{setting}/{trainset}/seed{seed}, `trainset` being the classifier's."""

    detector: str
    setting: str
    trainset: str
    seed: int
    backbone: str  # the classifier's; not in the name: the plan holds one backbone per pairing name

    STAGE: ClassVar[str] = "pipeline"
    FIELDS: ClassVar[tuple[str, ...]] = ("detector", "setting", "trainset", "seed")
    WHAT: ClassVar[str] = "pipeline run"

    @classmethod
    def parse_key(cls, name: str) -> tuple[str, str, str, int]:
        """(detector, setting, trainset, seed) of a pairing's name; the plan knows its backbone."""
        values = cls.parse_fields(name)
        return values["detector"], values["setting"], values["trainset"], values["seed"]

    @property
    def key(self) -> tuple[str, str, str, int]:
        return self.detector, self.setting, self.trainset, self.seed

    @property
    def classifier(self) -> ClassifierRun:
        return ClassifierRun(self.backbone, self.setting, self.trainset, self.seed)

    @property
    def detector_run(self) -> DetectorRun:
        return DetectorRun(self.detector, self.setting, trainset(self.trainset).detector_trainset, self.seed)


@dataclass(frozen=True, order=True)
class KFoldRun(RunName):
    """One network of the k-fold track trained on every fold of one setting (docs/experiments.md#k-fold-track):
    results/{preset}/kfold/{model}/{init}/{setting}/{scheme}/seed{seed}; `init` is scratch or imagenet, `scheme` the
    fold scheme (stratified or grouped), the seed that of the split and the down-sampling."""

    model: str  # key of ablations.kfold.networks
    init: str
    setting: str
    scheme: str
    seed: int

    STAGE: ClassVar[str] = "kfold"
    FIELDS: ClassVar[tuple[str, ...]] = ("model", "init", "setting", "scheme", "seed")
    WHAT: ClassVar[str] = "k-fold run"


@dataclass(frozen=True, order=True)
class ClassicalRun:
    """A detector ctcbench runs without training (the classical nucleus detector, docs/metrics.md#nucleus-detector):
    one run per configuration, the same in every setting, without training set or seed, so its name has neither:
    results/{preset}/detect/classical/{detector}."""

    detector: str

    STAGE: ClassVar[str] = "detect"
    KIND: ClassVar[str] = "classical"
    WHAT: ClassVar[str] = "classical detector run"

    @property
    def name(self) -> str:
        return f"{self.KIND}/{self.detector}"

    def path(self, results: str) -> str:
        return f"{results}/{self.STAGE}/{self.name}"

    @classmethod
    def is_name(cls, name: Any) -> bool:
        """Whether `name` is a classical run's (a detector run's has four parts, the last its seed)."""
        return isinstance(name, str) and re.fullmatch(rf"{cls.KIND}/[A-Za-z0-9_]+", name) is not None

    @classmethod
    def parse(cls, name: str) -> ClassicalRun:
        if not cls.is_name(name):
            raise ConfigError(f"{cls.WHAT} {name!r}: expected {cls.KIND}/<detector>")
        return cls(name.split("/")[1])


@dataclass(frozen=True, order=True)
class ControlRun(RunName):
    """One run of a control of the image-level results (plan.controls, docs/metrics.md#controls):
    results/{preset}/controls/{control}/{setting}/seed{seed}; a control that reads no image channel (random boxes)
    has the setting `any`, and its seed is its draw's."""

    control: str
    setting: str
    seed: int

    STAGE: ClassVar[str] = "controls"
    FIELDS: ClassVar[tuple[str, ...]] = ("control", "setting", "seed")
    WHAT: ClassVar[str] = "control run"


# The split a detector predicts or a pairing is scored on, as a suffix of its file: predictions.json (test, what the
# tables read) and predictions-val.json (val, where a held-out threshold is chosen); scores.json likewise.
SPLIT_SUFFIXES = {"test": "", "val": "-val"}


def split_file(stem: str, split: str) -> str:
    """`predictions.json` of the test split, `predictions-val.json` of val."""
    return f"{stem}{SPLIT_SUFFIXES[split]}.json"


def split_of(suffix: str) -> str:
    """The split of a file suffix ('' -> test, '-val' -> val)."""
    return next(split for split, known in SPLIT_SUFFIXES.items() if known == suffix)


def omega_name(omega: float) -> str:
    """An omega's folder: omega1, omega0.7."""
    return f"omega{omega:g}"


@dataclass(frozen=True, order=True)
class Evaluation:
    """One pairing fused at one omega and scored against one test annotator:
    <pairing>/omega{omega}/metrics.json, or metrics-<annotator>.json for an annotator other than the configured one."""

    pairing: Pairing
    omega: float
    annotator: str
    default_annotator: bool = True  # scored against dataset.test_annotator: the file every table reads

    @property
    def metrics_file(self) -> str:
        return "metrics.json" if self.default_annotator else f"metrics-{self.annotator}.json"

    def path(self, results: str) -> str:
        return f"{self.pairing.path(results)}/{omega_name(self.omega)}/{self.metrics_file}"


# The error decomposition's two stand-ins (docs/metrics.md#error-decomposition): each a folder of a pairing, the stage
# name of its rows in results.csv and of its table rows.
ORACLE_CLASSIFIER = "oracle_classifier"  # the detector's proposals, a perfect classifier
PERFECT_LOCALISATION = "perfect_localisation"  # the ground-truth boxes and the detector's misses, the real classifier


@dataclass(frozen=True, order=True)
class Decomposition:
    """One pairing with one stage of its pipeline made perfect, scored at omega 1: <pairing>/<kind>/metrics.json."""

    pairing: Pairing
    kind: str  # ORACLE_CLASSIFIER | PERFECT_LOCALISATION

    KINDS: ClassVar[tuple[str, ...]] = (ORACLE_CLASSIFIER, PERFECT_LOCALISATION)

    def folder(self, results: str) -> str:
        return f"{self.pairing.path(results)}/{self.kind}"

    def path(self, results: str) -> str:
        return f"{self.folder(results)}/metrics.json"


@dataclass(frozen=True, order=True)
class Bundle:
    """One evaluation's pairing at its omega packed for new images (`ctcbench export`, docs/apply.md#bundle):
    results/{preset}/bundles/{detector}/{setting}/{trainset}/seed{seed}/omega{omega}."""

    evaluation: Evaluation  # against the configured test annotator: its metrics.json is the bundle's test record

    STAGE: ClassVar[str] = "bundles"

    @property
    def pairing(self) -> Pairing:
        return self.evaluation.pairing

    @property
    def name(self) -> str:
        return f"{self.pairing.name}/{omega_name(self.evaluation.omega)}"

    def path(self, results: str) -> str:
        return f"{results}/{self.STAGE}/{self.name}"

    @classmethod
    def template(cls, results: str) -> str:
        folders = "/".join(f"{{{f}}}" for f in Pairing.FIELDS[:-1])
        return f"{results}/{cls.STAGE}/{folders}/seed{{seed}}/omega{{omega}}"
