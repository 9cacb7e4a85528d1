"""Run records: a classifier run, a detector run, a pipeline pairing and one evaluation of it, each with its name,
its folder under results/{preset}/, its wildcard template and a parser (docs/experiments.md#results-layout).

A name is the run's wildcard path (`convnext_b/bf/all/seed0`); the folder is the stage's directory plus the name;
the template is the same pattern with Snakemake wildcards; `parse` reads a name back. Records are frozen and
hashable, so the plan uses them as keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from ..errors import ConfigError
from .trainsets import TrainingSet, trainset

SEED_RE = re.compile(r"seed(\d+)")


def _parse_parts(name: str, what: str, fields: tuple[str, ...]) -> dict[str, str]:
    parts = str(name).split("/")
    if len(parts) != len(fields) or not SEED_RE.fullmatch(parts[-1]):
        pattern = "/".join(f"<{f}>" for f in fields[:-1]) + "/seed<N>"
        raise ConfigError(f"{what} {name!r}: expected {pattern}")
    values = dict(zip(fields, parts))
    values["seed"] = SEED_RE.fullmatch(parts[-1])[1]
    return values


@dataclass(frozen=True, order=True)
class ClassifierRun:
    """One classifier training run: results/{preset}/classify/{backbone}/{setting}/{trainset}/seed{seed}."""

    backbone: str
    setting: str
    trainset: str
    seed: int

    STAGE: ClassVar[str] = "classify"
    FIELDS: ClassVar[tuple[str, ...]] = ("backbone", "setting", "trainset", "seed")

    @property
    def name(self) -> str:
        return f"{self.backbone}/{self.setting}/{self.trainset}/seed{self.seed}"

    def path(self, results: str) -> str:
        return f"{results}/{self.STAGE}/{self.name}"

    @classmethod
    def template(cls, results: str) -> str:
        return f"{results}/{cls.STAGE}/{{backbone}}/{{setting}}/{{trainset}}/seed{{seed}}"

    @classmethod
    def parse(cls, name: str) -> ClassifierRun:
        values = _parse_parts(name, "classifier run", cls.FIELDS)
        return cls(values["backbone"], values["setting"], values["trainset"], int(values["seed"]))

    @property
    def training_set(self) -> TrainingSet:
        return trainset(self.trainset)


@dataclass(frozen=True, order=True)
class DetectorRun:
    """One detector training run: results/{preset}/detect/{detector}/{setting}/{trainset}/seed{seed}."""

    detector: str
    setting: str
    trainset: str  # the detector's training set: `all` or a patient's
    seed: int

    STAGE: ClassVar[str] = "detect"
    FIELDS: ClassVar[tuple[str, ...]] = ("detector", "setting", "trainset", "seed")

    @property
    def name(self) -> str:
        return f"{self.detector}/{self.setting}/{self.trainset}/seed{self.seed}"

    def path(self, results: str) -> str:
        return f"{results}/{self.STAGE}/{self.name}"

    @classmethod
    def template(cls, results: str) -> str:
        return f"{results}/{cls.STAGE}/{{detector}}/{{setting}}/{{trainset}}/seed{{seed}}"

    @classmethod
    def parse(cls, name: str) -> DetectorRun:
        values = _parse_parts(name, "detector run", cls.FIELDS)
        return cls(values["detector"], values["setting"], values["trainset"], int(values["seed"]))

    @property
    def image_list(self) -> str:
        """Stem of the image list it trains on (splits/images/<stem>.txt)."""
        return trainset(self.trainset).image_list


@dataclass(frozen=True, order=True)
class Pairing:
    """Detector run i with classifier run i of one setting, the original's `_0` with `_0` (docs/protocol.md#fusion):
    results/{preset}/pipeline/{detector}/{setting}/{trainset}/seed{seed}, `trainset` being the classifier's."""

    detector: str
    setting: str
    trainset: str
    seed: int
    backbone: str  # the classifier's; not in the name: the plan holds one backbone per pairing name

    STAGE: ClassVar[str] = "pipeline"
    FIELDS: ClassVar[tuple[str, ...]] = ("detector", "setting", "trainset", "seed")

    @property
    def name(self) -> str:
        return f"{self.detector}/{self.setting}/{self.trainset}/seed{self.seed}"

    def path(self, results: str) -> str:
        return f"{results}/{self.STAGE}/{self.name}"

    @classmethod
    def template(cls, results: str) -> str:
        return f"{results}/{cls.STAGE}/{{detector}}/{{setting}}/{{trainset}}/seed{{seed}}"

    @classmethod
    def parse_key(cls, name: str) -> tuple[str, str, str, int]:
        """(detector, setting, trainset, seed) of a pairing's name; the plan knows its backbone."""
        values = _parse_parts(name, "pipeline run", cls.FIELDS)
        return values["detector"], values["setting"], values["trainset"], int(values["seed"])

    @property
    def key(self) -> tuple[str, str, str, int]:
        return self.detector, self.setting, self.trainset, self.seed

    @property
    def classifier(self) -> ClassifierRun:
        return ClassifierRun(self.backbone, self.setting, self.trainset, self.seed)

    @property
    def detector_run(self) -> DetectorRun:
        return DetectorRun(self.detector, self.setting, trainset(self.trainset).detector_trainset, self.seed)


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
