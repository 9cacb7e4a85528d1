"""The defect-effects table (docs/metrics.md#defect-effects): what each original defect is worth on its own.

A variant is one endpoint of the protocol (`faithful` or `corrected`, plan.defects) with one switch set to the other
endpoint's value. Its effect, per setting, is variant − endpoint of Table 4's main pipeline on five numbers: AP50,
best F1 and the F1 its protocol reports (at the val-chosen threshold under `image_threshold: heldout`) of the image
level (the test images), and F1 and AUROC of its classifier (the val crops). Each difference gets the paired bootstrap
of the other comparison tables (report.intervals, report.bootstrap): both arms scored on the same resampled images,
drawn within patients, the mean over the seeds listed; p-values Holm-adjusted over the table.

The rule hands the command one spec JSON (`defect_spec`, built here from the plan so that the rule only dumps it):

    {"configured": <protocol name>, "annotator": <test annotator>,
     "rows": [{"switch", "endpoint", "variant", "setting", "seed",
               "endpoint_image", "variant_image", "endpoint_cell", "variant_cell"}]}

`endpoint` and `variant` are protocol names; the four paths are metrics.json files (a pipeline evaluation, a
classifier run's cell-level metrics), each with its per-image record beside it. A variant reuses its endpoint's runs
that do not read its switch, so some of its paths are the endpoint's own: that difference is zero by construction,
reported as such and left out of Holm's family (a run compared with itself tests nothing).

The spec's part is torch-free (the workflow calls it while planning); the numbers need numpy and the records.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data.channels import SETTING_TITLES
from ..errors import ConfigError, DatasetError
from ..io import read_json_input
from ..per_image import per_image_path
from ..plan.defects import DEFECT_EFFECTS, defect_runs, reads
from ..protocol import CLASSIFIER, FIELDS, SWITCHES, Protocol, agrees, of_config, parse, same_protocol
from ..tables import number, summarise
from .bootstrap import Bootstrap, holm
from .comparisons import format_p_csv
from .intervals import Intervals
from .results import ALL, Result, results_of

TITLE = "Defect effects: each original defect on its own"
IMAGE_LEVEL, CELL_LEVEL = "image", "cell"  # the spec's path keys: <arm>_<level>
ENDPOINT, VARIANT = "endpoint", "variant"
PATH_KEYS = tuple(f"{arm}_{level}" for level in (IMAGE_LEVEL, CELL_LEVEL) for arm in (ENDPOINT, VARIANT))
SPEC_KEYS = ("switch", ENDPOINT, VARIANT, "setting", "seed", *PATH_KEYS)
# What the variant does, by the preset of its endpoint.
DIRECTIONS = {"faithful": "correction applied to faithful", "corrected": "defect put back into corrected"}


@dataclass(frozen=True)
class Metric:
    key: str  # the CSV's column prefix
    level: str  # IMAGE_LEVEL or CELL_LEVEL: which spec paths hold it
    name: str  # its metric in the long results table (report.results)
    title: str  # its Markdown column
    heldout_name: str = ""  # its metric instead where the threshold is chosen on val, if another

    def name_under(self, protocol: Protocol) -> str:
        """The metric an arm of `protocol` reports: with a threshold chosen on val, the F1 at that threshold."""
        return self.heldout_name if self.heldout_name and protocol.threshold_on_val else self.name

    def repeats(self, effect: Effect) -> str:
        """The key of the column this one is again for both arms of `effect` (ΔF1, where neither arm chooses its
        threshold on val): the same difference, so no test of its own; '' otherwise."""
        if not self.heldout_name or {self.name_under(effect.endpoint), self.name_under(effect.variant)} != {self.name}:
            return ""
        return next(m.key for m in METRICS if (m.level, m.name, m.heldout_name) == (self.level, self.name, ""))


METRICS = (
    Metric("ap50", IMAGE_LEVEL, "ap50", "ΔAP50"),
    Metric("f1", IMAGE_LEVEL, "f1", "ΔF1"),
    # The F1 each arm's protocol reports: best F1 on test (oracle) or at the val-chosen threshold (heldout), so that
    # image_threshold's own effect shows; every other switch compares like with like.
    Metric("reported_f1", IMAGE_LEVEL, "f1", "Δreported F1", heldout_name="f1_heldout"),
    Metric("cell_f1", CELL_LEVEL, "f1", "Δcell F1"),
    Metric("cell_auroc", CELL_LEVEL, "auroc", "Δcell AUROC"),
)
IDENTITY_COLUMNS = ("switch", "defect", "direction", "endpoint_protocol", "variant_protocol", "setting", "seeds",
                    "reads")  # fmt: skip
NUMBER_COLUMNS = ("endpoint", "variant", "delta", "ci_low", "ci_high", "p", "p_holm")
TITLES = {metric.key: metric.title for metric in METRICS}
COLUMNS = IDENTITY_COLUMNS + tuple(f"{m.key}_{c}" for m in METRICS for c in NUMBER_COLUMNS)
SHARED = "0 (shared)"  # the Markdown of a difference that is zero by construction


# -- The spec, from the plan (torch-free). ---------------------------------------------------------------------------
def spec_rows(config: dict[str, Any], results: str) -> list[dict[str, Any]]:
    """One row per variant with a switch, setting and seed of `plan.defects.defect_runs`, paired with its endpoint's
    run of the same setting and seed; each path in the folder of the variant that holds that run."""
    configured = of_config(config)
    annotator = config["dataset"]["test_annotator"]
    runs = defect_runs(config)
    by_key = {(run.variant, run.pairing.setting, run.pairing.seed): run for run in runs}
    rows = []
    for run in runs:
        if not run.variant.switch:
            continue
        base = by_key[(run.variant.base, run.pairing.setting, run.pairing.seed)]
        row = {"switch": run.variant.switch, ENDPOINT: base.variant.protocol(configured).name,
               VARIANT: run.variant.protocol(configured).name, "setting": run.pairing.setting,
               "seed": run.pairing.seed}  # fmt: skip
        for arm, of in ((ENDPOINT, base), (VARIANT, run)):
            row[f"{arm}_{IMAGE_LEVEL}"] = of.evaluation_path(results, configured, annotator)
            row[f"{arm}_{CELL_LEVEL}"] = f"{of.classifier_path(results, configured)}/metrics.json"
        rows.append(row)
    return rows


def defect_spec(config: dict[str, Any], results: str) -> dict[str, Any]:
    """The command's whole spec JSON: the configured protocol, the test annotator and `spec_rows`."""
    return {"configured": of_config(config).name, "annotator": config["dataset"]["test_annotator"],
            "rows": spec_rows(config, results)}  # fmt: skip


def spec_inputs(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Every metrics.json the rows name and the per-image record beside each, once each (the rule's inputs)."""
    metrics = sorted({row[key] for row in rows for key in PATH_KEYS})
    return metrics + [str(per_image_path(path)) for path in metrics]


# -- The spec, read back and grouped into effects. -------------------------------------------------------------------
@dataclass(frozen=True)
class Effect:
    """One switch flipped from one endpoint in one setting, over the seeds listed: per level, each arm's metrics.json
    of every seed (in the order of `seeds`)."""

    switch: str
    endpoint: Protocol
    variant: Protocol
    setting: str
    seeds: tuple[int, ...]
    paths: dict[str, dict[str, tuple[str, ...]]]  # level -> arm -> metrics.json per seed

    @property
    def direction(self) -> str:
        return DIRECTIONS[self.endpoint.base]

    def metrics_paths(self) -> list[str]:
        return [path for arms in self.paths.values() for paths in arms.values() for path in paths]

    def shared(self, level: str) -> bool:
        """Whether the variant reuses the endpoint's runs of `level`: the difference is zero by construction."""
        return self.paths[level][ENDPOINT] == self.paths[level][VARIANT]


@dataclass(frozen=True)
class DefectSpec:
    configured: str
    annotator: str
    effects: tuple[Effect, ...]


def read_spec(path: Path | str) -> DefectSpec:
    """A spec JSON file (`defect_spec`'s), checked as `parse_spec` does."""
    spec = read_json_input(path, "defect-effects spec", "write it with report.defect_effects.defect_spec")
    return parse_spec(spec, path)


def parse_spec(spec: Any, path: Path | str) -> DefectSpec:
    """The spec, checked: every row complete, each variant its endpoint with only its switch changed, no seed of an
    effect twice; `path` names where it came from in errors."""
    if not isinstance(spec, dict) or not isinstance(spec.get("rows"), list):
        raise ConfigError(f"{path}: expected {{'configured', 'annotator', 'rows': [...]}}; write it with defect_spec")
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for index, row in enumerate(spec["rows"]):
        missing = [key for key in SPEC_KEYS if not isinstance(row, dict) or key not in row]
        if missing:
            raise ConfigError(f"{path}: row {index} lacks {', '.join(missing)}; write the spec with defect_spec")
        groups.setdefault((row["switch"], row[ENDPOINT], row[VARIANT], row["setting"]), []).append(row)
    effects = tuple(_effect(path, key, rows) for key, rows in groups.items())
    return DefectSpec(str(spec.get("configured", "")), str(spec.get("annotator", "")), effects)


def _effect(path: Path | str, key: tuple, rows: list[dict[str, Any]]) -> Effect:
    switch, endpoint_name, variant_name, setting = key
    where = f"{path}: {switch} from {endpoint_name} in {setting}"
    if switch not in SWITCHES:
        raise ConfigError(f"{where}: no such protocol switch")
    endpoint, variant = parse(endpoint_name, f"{path}: endpoint"), parse(variant_name, f"{path}: variant")
    changed = [s for s in SWITCHES if getattr(endpoint, s) != getattr(variant, s)]
    if endpoint.base not in DIRECTIONS or changed != [switch]:
        raise ConfigError(f"{where}: the variant {variant_name} must be its endpoint with only {switch} changed "
                          f"(it changes {', '.join(changed) or 'nothing'})")  # fmt: skip
    rows = sorted(rows, key=lambda row: int(row["seed"]))
    seeds = tuple(int(row["seed"]) for row in rows)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{where}: a seed is listed twice ({', '.join(map(str, seeds))})")
    paths = {level: {arm: tuple(str(row[f"{arm}_{level}"]) for row in rows) for arm in (ENDPOINT, VARIANT)}
             for level in (IMAGE_LEVEL, CELL_LEVEL)}  # fmt: skip
    return Effect(switch, endpoint, variant, str(setting), seeds, paths)


# -- The numbers. ----------------------------------------------------------------------------------------------------
class RunRows:
    """The long-table rows of each metrics.json (report.results), read once, checked against the spec's claims."""

    def __init__(self) -> None:
        self._rows: dict[str, list[Result]] = {}

    def get(self, path: str, metric: Metric, effect: Effect, arm: str, seed: int) -> Result:
        if path not in self._rows:
            self._rows[path] = results_of(path)
        protocol = getattr(effect, arm)
        name = metric.name_under(protocol)
        found = [row for row in self._rows[path] if row.subset == ALL and row.metric == name]
        if len(found) != 1:
            raise DatasetError(f"{path}: no {name} of every image; is it a {metric.level}-level metrics.json?")
        row = found[0]
        if (row.setting, row.seed) != (effect.setting, seed):
            raise DatasetError(f"{path}: a run of {row.setting} seed {row.seed}, listed as {effect.setting} seed "
                               f"{seed} in the defect-effects spec; write the spec again")  # fmt: skip
        # The image level is always the arm's own; a classifier run may be the endpoint's if the switch is not read.
        serves = (same_protocol(row.protocol, protocol) if metric.level == IMAGE_LEVEL
                  else agrees(row.protocol, protocol, CLASSIFIER))  # fmt: skip
        if not serves:
            raise DatasetError(f"{path}: evaluated under protocol {row.protocol!r}, which does not serve the {arm} "
                               f"{protocol.name}; run it again under that protocol")  # fmt: skip
        if row.value is None and name != metric.name:
            raise DatasetError(f"{path}: no {name}, which protocol {protocol.name} reports; evaluate it again with "
                               "the val scores (pipeline-evaluate --val-scores)")  # fmt: skip
        return row


@dataclass(frozen=True)
class Difference:
    endpoint: float  # percent, mean over seeds
    variant: float
    delta: float  # variant − endpoint, percentage points
    low: float
    high: float
    p: float
    shared: bool  # zero by construction: the same runs on both sides
    repeats: str = ""  # the key of the metric whose difference this one is again (Metric.repeats): no test


def difference(effect: Effect, metric: Metric, runs: RunRows, intervals: Intervals) -> Difference:
    """variant − endpoint of one metric over the effect's seeds, with its paired bootstrap interval and p-value."""
    arms = {arm: [runs.get(path, metric, effect, arm, seed) for path, seed in zip(paths, effect.seeds)]
            for arm, paths in effect.paths[metric.level].items()}  # fmt: skip
    endpoint = summarise([row.value for row in arms[ENDPOINT]]).mean
    variant = summarise([row.value for row in arms[VARIANT]]).mean
    test = intervals.difference(arms[VARIANT], arms[ENDPOINT], variant - endpoint)
    low, high, p = (math.nan,) * 3 if test is None else (test.low, test.high, test.p_value)
    return Difference(
        endpoint, variant, variant - endpoint, low, high, p, effect.shared(metric.level), metric.repeats(effect)
    )


def record_paths(effects: Iterable[Effect]) -> list[Path]:
    """The per-image record of every metrics.json of the effects, once each."""
    metrics = {path for effect in effects for path in effect.metrics_paths()}
    return [per_image_path(path) for path in sorted(metrics)]


def compute(spec: DefectSpec, bootstrap: Bootstrap) -> list[tuple[Effect, dict[str, Difference]]]:
    """Every effect's differences, sorted by the size of the effect: |ΔAP50|, then |Δcell F1|, largest first."""
    intervals = Intervals.load(record_paths(spec.effects), bootstrap)
    runs = RunRows()
    table = [(effect, {m.key: difference(effect, m, runs, intervals) for m in METRICS}) for effect in spec.effects]
    return sorted(table, key=lambda item: sort_key(*item))


def sort_key(effect: Effect, numbers: dict[str, Difference]) -> tuple:
    def size(key: str) -> float:
        delta = numbers[key].delta
        return -1.0 if math.isnan(delta) else abs(delta)

    return (-size("ap50"), -size("cell_f1"), effect.switch, effect.direction, effect.setting)


# -- The table. ------------------------------------------------------------------------------------------------------
def tests(table: list[tuple[Effect, dict[str, Difference]]]) -> list[tuple[int, str]]:
    """(row, metric) of every difference that is a test: not zero by construction, not another column's again, with
    a p-value."""
    return [(i, m.key) for i, (_, numbers) in enumerate(table) for m in METRICS
            if not numbers[m.key].shared and not numbers[m.key].repeats
            and not math.isnan(numbers[m.key].p)]  # fmt: skip


def csv_rows(table: list[tuple[Effect, dict[str, Difference]]]) -> list[dict[str, Any]]:
    """One CSV row per effect; Holm's adjustment over every difference of the table that is a test."""
    tested = tests(table)
    adjusted = dict(zip(tested, holm([table[i][1][key].p for i, key in tested])))
    rows = []
    for i, (effect, numbers) in enumerate(table):
        row = {"switch": effect.switch, "defect": FIELDS[effect.switch].metadata["defect"],
               "direction": effect.direction, "endpoint_protocol": effect.endpoint.name,
               "variant_protocol": effect.variant.name, "setting": effect.setting,
               "seeds": " ".join(map(str, effect.seeds)), "reads": " ".join(reads(effect.switch))}  # fmt: skip
        for metric in METRICS:
            d = numbers[metric.key]
            p_holm = adjusted.get((i, metric.key), d.p)
            values = (number(d.endpoint), number(d.variant), number(d.delta), number(d.low), number(d.high),
                      format_p_csv(d.p), format_p_csv(p_holm))  # fmt: skip
            row.update({f"{metric.key}_{column}": value for column, value in zip(NUMBER_COLUMNS, values)})
        rows.append(row)
    return rows


def format_difference(d: Difference) -> str:
    """`+1.2 [-0.3, +2.5]` in points; `0 (shared)` when zero by construction; `= ΔF1` when another column's
    difference again; – where undefined."""
    if d.shared:
        return SHARED
    if d.repeats:
        return f"= {TITLES[d.repeats]}"
    if math.isnan(d.delta):
        return "–"
    interval = "" if math.isnan(d.low) else f" [{d.low:+.1f}, {d.high:+.1f}]"
    return f"{d.delta:+.1f}{interval}"


def markdown(spec: DefectSpec, table: list[tuple[Effect, dict[str, Difference]]], bootstrap: Bootstrap) -> str:
    header = ("Switch", "Defect", "Direction", "Setting", *(m.title for m in METRICS))
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for effect, numbers in table:
        cells = (f"`{effect.switch}`", str(FIELDS[effect.switch].metadata["defect"]), effect.direction,
                 SETTING_TITLES.get(effect.setting, effect.setting),
                 *(format_difference(numbers[m.key]) for m in METRICS))  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return caption(spec, table, bootstrap, len(tests(table))) + "\n\n" + "\n".join(lines) + "\n"


def caption(spec: DefectSpec, table: list, bootstrap: Bootstrap, family: int) -> str:
    seeds = sorted({seed for effect, _ in table for seed in effect.seeds})
    seeds_text = f"{'seeds' if len(seeds) > 1 else 'seed'} {', '.join(map(str, seeds))}"
    ground_truth = f" against the {spec.annotator} test boxes" if spec.annotator else ""
    configured = f" The configured protocol is `{spec.configured}`." if spec.configured else ""
    return (
        "**What each original defect is worth on its own (not in the paper).** A variant is one endpoint of the "
        "protocol with exactly one switch set to the other endpoint's value: from `faithful`, that correction applied "
        "alone; from `corrected`, that defect put back alone. It reruns only the runs that read its switch (a "
        "classifier, a detector, or only the scoring and evaluation of the image level) and reuses the endpoint's "
        f"others.{configured} Δ: variant − endpoint of Table 4's main pipeline, the mean over {seeds_text}, in "
        f"percentage points: AP50 and best F1 on the test images{ground_truth}; the F1 each arm's protocol reports "
        "(reported F1: the best F1, or with `image_threshold: heldout` the F1 at the score threshold chosen on the "
        "val images, so that the oracle threshold's own effect shows); F1 and AUROC of its classifier on the val "
        "crops. Rows by the size of the effect, |ΔAP50| first. Brackets: the "
        f"{bootstrap.percent} paired bootstrap interval, from {bootstrap.resamples} resamples of the test images (of "
        "the val images for the cell level, every crop of a drawn image with it) drawn with replacement within each "
        "patient, the same images for both arms. "
        f"{SHARED}: the variant shares the endpoint's runs of that level (an image-level or detector switch's "
        "cell-level numbers: the same classifier), so the difference is exactly zero by construction and is no "
        f"test. = {TITLES['f1']}: both arms report their best F1, so the reported F1's difference is that one again "
        "and no test of its own. The CSV has both means, the p-value (two-sided, bootstrap standard error) and the "
        f"p-value adjusted by Holm's method over the {family} differences of this table that are tests."
    )


def render(spec: DefectSpec, bootstrap: Bootstrap) -> tuple[list[dict[str, Any]], str]:
    """(CSV rows, Markdown) of the table."""
    table = compute(spec, bootstrap)
    return csv_rows(table), markdown(spec, table, bootstrap)


__all__ = ["COLUMNS", "DEFECT_EFFECTS", "TITLE", "defect_spec", "read_spec", "render", "spec_inputs", "spec_rows"]
