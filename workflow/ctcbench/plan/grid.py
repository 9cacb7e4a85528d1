"""`plan(config)`: every run of the grid and what it feeds, from the resolved config alone (torch-free; the workflow
plans its DAG with it).

Classifier runs, detector runs, pairings and their evaluations come out in a stable order, each once, with the set
of tables and figures that read it. On the paper's configuration: 180 classifier and 36 detector trainings, 45
pairings evaluated 72 times (docs/experiments.md#experiment-grid).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from ..data.layout import SPLITS
from ..detect.nucleus import NAME as NUCLEUS
from ..detect.nucleus import SWITCH
from ..errors import ConfigError
from ..protocol import FAITHFUL, Protocol, of_config
from .arms import Arm, arms
from .controls import CONTROLS_TABLE, control_runs, controls_block
from .defects import DefectRun, defect_runs
from .kfold import FIGURE as KFOLD_FIGURE
from .kfold import TABLE as KFOLD_TABLE
from .kfold import kfold_runs
from .runs import (
    Bundle,
    ClassicalRun,
    ClassifierRun,
    ControlRun,
    Decomposition,
    DetectorRun,
    Evaluation,
    KFoldRun,
    Pairing,
    omega_name,
)
from .trainsets import (
    PSEUDO_ALL,
    PSEUDO_CONFIDENT,
    PSEUDO_INPUTS,
    PSEUDO_STEP,
    TRAINSETS_STEP,
    TrainingSet,
    named,
    trainset,
)


@dataclass
class Plan:
    """The runs of one configuration; each maps to the names of the tables and figures that read it."""

    protocol: Protocol = field(default=FAITHFUL)
    classifiers: dict[ClassifierRun, set[str]] = field(default_factory=dict)
    detectors: dict[DetectorRun, set[str]] = field(default_factory=dict)
    pairings: dict[Pairing, set[str]] = field(default_factory=dict)
    evaluations: dict[Evaluation, set[str]] = field(default_factory=dict)
    bundles: list[Bundle] = field(default_factory=list)  # pairings exported for new images (config `export`)
    classical: dict[ClassicalRun, set[str]] = field(default_factory=dict)  # detectors run without training
    decompositions: dict[Decomposition, set[str]] = field(default_factory=dict)  # pairings with a stage made perfect
    kfold: dict[KFoldRun, set[str]] = field(default_factory=dict)  # the k-fold track (ablations.kfold)
    controls: dict[ControlRun, set[str]] = field(default_factory=dict)  # controls of the image level (plan.controls)
    defects: list[DefectRun] = field(default_factory=list)  # the main pipeline under each defect variant (plan.defects)

    def pairing(self, detector: str, setting: str, trainset_name: str, seed: int | str) -> Pairing:
        """The planned pairing of a pipeline folder's wildcards (which backbone scores it is the plan's)."""
        key = (detector, setting, trainset_name, int(seed))
        for pairing in self.pairings:
            if pairing.key == key:
                return pairing
        raise ConfigError(f"pipeline run {'/'.join(map(str, key))} is not in the configured grid")

    def bundle(self, detector: str, setting: str, trainset_name: str, seed: int | str, omega: float | str) -> Bundle:
        """The planned bundle of a bundle folder's wildcards."""
        key = (detector, setting, trainset_name, int(seed))
        for bundle in self.bundles:
            if bundle.pairing.key == key and bundle.evaluation.omega == float(omega):
                return bundle
        raise ConfigError(f"bundle {'/'.join(map(str, key))}/{omega_name(float(omega))} is not in export.pairings")

    def feeding(self, name: str) -> dict[str, list]:
        """Everything that feeds table or figure `name`, by kind of record."""
        return {
            kind: [record for record, feeds in records.items() if name in feeds]
            for kind, records in (
                ("classifiers", self.classifiers),
                ("detectors", self.detectors),
                ("pairings", self.pairings),
                ("evaluations", self.evaluations),
                ("classical", self.classical),
                ("decompositions", self.decompositions),
                ("kfold", self.kfold),
                ("controls", self.controls),
            )
        }

    def lists(self, producer: str) -> list[tuple[TrainingSet, int | None]]:
        """(training set, seed or None) of every list `producer` writes: those a planned classifier trains on, and
        the inputs of the pseudo-labels when a pseudo-labelled set is planned. The seed is None where one list
        serves every seed."""
        entries = [(trainset(run.trainset).listed_as, run.seed) for run in self.classifiers]
        if any(ts.kind.producer == PSEUDO_STEP for ts, _ in entries):
            entries += [(trainset(name), None) for name in PSEUDO_INPUTS]
        chosen: dict[str, tuple[TrainingSet, int | None]] = {}
        for ts, seed in entries:
            if ts.kind.producer == producer:
                seed = seed if ts.kind.per_seed else None
                chosen.setdefault(ts.list_file(seed), (ts, seed))
        return list(chosen.values())

    def trainsets_spec(self, trainsets_dir: str) -> list[dict[str, Any]]:
        """What the `trainsets` step writes: one entry per list (ctcbench trainsets --spec)."""
        return [
            {"name": ts.name, "file": f"{trainsets_dir}/{ts.list_file(seed)}", "kind": ts.kind.kind,
             "value": ts.number, "seed": seed}
            for ts, seed in self.lists(TRAINSETS_STEP)
        ]  # fmt: skip

    def pseudo_labelled(self) -> tuple[TrainingSet, TrainingSet] | None:
        """The two sets one pseudo-labelling pass writes, (u-pseudo-all, u-pseudo-<t>), when the plan trains either;
        the threshold is the planned set's, else the default one."""
        planned = {ts.kind.kind: ts for ts, _ in self.lists(PSEUDO_STEP)}
        if not planned:
            return None
        return planned.get(PSEUDO_ALL, trainset(PSEUDO_ALL)), planned.get(
            PSEUDO_CONFIDENT, named(PSEUDO_CONFIDENT, 0.8)
        )

    @property
    def predicted_splits(self) -> list[str]:
        """The splits detectors (trained or classical) predict and pairings are scored on (`predicted_splits`)."""
        return predicted_splits(self.protocol)

    @property
    def scored_splits(self) -> list[str]:
        """The splits a detector may predict and a pairing may be scored on for some target: the predicted ones,
        and val as well when bundles are planned (a bundle's threshold is chosen on val under every protocol) or a
        defect variant chooses its image threshold there."""
        heldout = any(run.variant.protocol(self.protocol).threshold_on_val for run in self.defects)
        return ["test", "val"] if self.bundles or heldout else self.predicted_splits

    def image_lists(self) -> list[str]:
        """Stems of the image lists: the released splits, then each detector training set's own list."""
        stems = list(SPLITS)
        for run in self.detectors:
            if run.image_list not in stems:
                stems.append(run.image_list)
        return stems


def predicted_splits(protocol: Protocol) -> list[str]:
    """The splits a protocol's detectors predict and its pairings are scored on: test, and val where it chooses the
    image-level threshold there (image_threshold: heldout)."""
    return ["test", "val"] if protocol.threshold_on_val else ["test"]


def _add(records: dict, record, feeds: frozenset[str]) -> None:
    records.setdefault(record, set()).update(feeds)


def _pair(plan: Plan, config: dict[str, Any], arm: Arm, setting: str, seed: int) -> None:
    classifier = ClassifierRun(arm.backbone, setting, arm.trainset, seed)
    pairing = Pairing(arm.detector, setting, arm.trainset, seed, arm.backbone)
    known = next((p for p in plan.pairings if p.key == pairing.key), None)
    if known is not None and known != pairing:
        raise ConfigError(
            f"pipeline run {pairing.name}: scored by {known.backbone} in one table and by {arm.backbone} in another; "
            "a pairing has one classifier: use the same backbone for both"
        )
    _add(plan.classifiers, classifier, frozenset())
    _add(plan.detectors, pairing.detector_run, arm.feeds)
    _add(plan.pairings, pairing, arm.feeds)
    test_annotator = config["dataset"]["test_annotator"]
    for omega in arm.omegas:
        for annotator in arm.annotators or (test_annotator,):
            evaluation = Evaluation(pairing, float(omega), annotator, annotator == test_annotator)
            _add(plan.evaluations, evaluation, arm.feeds)
    if arm.decompose:
        for kind in Decomposition.KINDS:
            _add(plan.decompositions, Decomposition(pairing, kind), arm.feeds)


def _bundles(plan: Plan, config: dict[str, Any]) -> list[Bundle]:
    """The bundles of `export.pairings` at `export.omega`: each a planned pairing evaluated at that omega."""
    export = config.get("export", {})
    bundles = []
    names = export.get("pairings")
    if names is None:  # by default the label-free main pairing: the first detector, Brightfield, all, the first seed
        main = [p for p in plan.pairings if p.key[2] == "all" and p.key[3] == min(config["seeds"])]
        detectors = config["detect"]["detectors"]
        rank = {detector: index for index, detector in enumerate(detectors)}
        main = [p for p in main if p.key[0] in rank]  # Table 4's detectors, not an ablation's own
        main.sort(key=lambda p: (p.key[1] != "bf", rank[p.key[0]]))
        names = [main[0].name] if main else []
    for name in names:
        key = Pairing.parse_key(name)
        pairing = next((p for p in plan.pairings if p.key == key), None)
        if pairing is None:
            close = difflib.get_close_matches(name, [p.name for p in plan.pairings], n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"export.pairings: {name} is not a pipeline run of the configured grid{hint}")
        omega = float(export["omega"])
        found = [e for e in plan.evaluations if e.pairing == pairing and e.omega == omega and e.default_annotator]
        if not found:
            evaluated = ", ".join(f"{w:g}" for w in sorted({e.omega for e in plan.evaluations if e.pairing == pairing}))
            raise ConfigError(f"export.omega = {omega:g}: pipeline run {name} is evaluated at omega {evaluated} only")
        bundles.append(Bundle(found[0]))
    return bundles


# The table of the classical nucleus detector (report.table_specs), which its run alone feeds.
NUCLEUS_TABLE = "nucleus_detector"


def plan(config: dict[str, Any]) -> Plan:
    """Every run of the configured grid, each once, in a stable order, with what it feeds."""
    result = Plan(protocol=of_config(config))
    for run in control_runs(config):
        _add(result.controls, run, frozenset({CONTROLS_TABLE}))
    if config["detect"][NUCLEUS][SWITCH]:
        # The controls table reads the nucleus detector alone beside its feature-classifier control.
        fed = {NUCLEUS_TABLE} | ({CONTROLS_TABLE} if controls_block(config)["enabled"] else set())
        _add(result.classical, ClassicalRun(NUCLEUS), frozenset(fed))
    seeds = config["seeds"]
    for arm in arms(config):
        trainset(arm.trainset)  # one grammar for every name (ConfigError otherwise)
        for setting in arm.settings:
            for seed in arm.seeds or seeds:
                run = ClassifierRun(arm.backbone, setting, arm.trainset, seed)
                if arm.train:
                    _add(result.classifiers, run, arm.feeds)
                elif run in result.classifiers:
                    result.classifiers[run].update(arm.feeds)
                if arm.detector is not None:
                    _pair(result, config, arm, setting, seed)
    for run in kfold_runs(config):
        _add(result.kfold, run, frozenset({KFOLD_TABLE, KFOLD_FIGURE}))
    result.bundles = _bundles(result, config)
    result.defects = defect_runs(config)
    return result
