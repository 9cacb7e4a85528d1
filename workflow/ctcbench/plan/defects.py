"""The effect of each original defect (config `report.defect_effects`, docs/metrics.md#defect-effects): Table 4's main
pipeline of each setting rerun once per protocol switch from each end of the protocol, with only that switch flipped.

The two endpoints are the configured protocol and the other preset with the configured overrides kept (for the
default `faithful`: `corrected`). A variant is an endpoint with one switch set to the other endpoint's value: from
faithful, only that correction applied; from corrected, only that defect put back. Its effect is the variant minus
its endpoint, on the same test images and val cells.

A variant reruns only the runs that read its switch (`protocol` `reads`): a classifier switch retrains the classifier
and reuses the endpoint's detector, a detector switch the reverse, an image-level switch only re-scores and
re-evaluates the endpoint's runs. Runs of the configured protocol are the grid's own (results/{preset}/...); every
other run lives in results/{preset}/defects/<variant>/, laid out as results/{preset}/ is. Torch-free.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..protocol import CLASSIFIER, DETECTOR, FIELDS, IMAGE, PRESETS, SWITCHES, Protocol, of_config
from .arms import MAIN_TRAINSET
from .controls import controls_detector
from .runs import ClassifierRun, DetectorRun, Evaluation, Pairing

DEFECT_EFFECTS = "defect_effects"  # the table spec's name, the config block's and what its runs feed
DEFECTS_DIR = "defects"  # results/{preset}/defects/<variant>/


def reads(switch: str) -> tuple[str, ...]:
    """The runs of the main pipeline that read a switch (protocol CLASSIFIER, DETECTOR, IMAGE); () for none."""
    return FIELDS[switch].metadata["reads"]


def endpoint_protocol(configured: Protocol, base: str) -> Protocol:
    """The endpoint of preset `base`: the configured protocol itself, or the other preset with its overrides."""
    if base == configured.base:
        return configured
    return PRESETS[base].replace(**configured.overrides())


def other_base(base: str) -> str:
    return next(name for name in PRESETS if name != base)


@dataclass(frozen=True, order=True)
class Variant:
    """An endpoint (`faithful` or `corrected`) with at most one switch flipped to the other endpoint's value; its
    name is the folder under defects/: `corrected`, `faithful-fusion_gate`."""

    endpoint: str
    switch: str = ""  # '' for the endpoint itself

    @property
    def name(self) -> str:
        return f"{self.endpoint}-{self.switch}" if self.switch else self.endpoint

    @classmethod
    def parse(cls, name: str) -> Variant:
        endpoint, _, switch = str(name).partition("-")
        if endpoint not in PRESETS or (switch and switch not in SWITCHES):
            raise ConfigError(f"defect variant {name!r}: expected <preset> or <preset>-<switch>")
        return cls(endpoint, switch)

    @property
    def base(self) -> Variant:
        """The endpoint it is compared with."""
        return Variant(self.endpoint)

    def protocol(self, configured: Protocol) -> Protocol:
        start = endpoint_protocol(configured, self.endpoint)
        if not self.switch:
            return start
        other = endpoint_protocol(configured, other_base(self.endpoint))
        return start.replace(**{self.switch: getattr(other, self.switch)})

    def is_configured(self, configured: Protocol) -> bool:
        """Whether its protocol is the configured one, whose runs are the grid's own."""
        return self.protocol(configured) == configured

    def holder(self, reader: str) -> Variant:
        """The variant whose run `reader` (protocol CLASSIFIER, DETECTOR, IMAGE) this one uses: its own where the
        switch is read there, else its endpoint's. The image level (scoring, evaluation) is always its own."""
        return self if reader == IMAGE or (self.switch and reader in reads(self.switch)) else self.base


def flippable(configured: Protocol) -> list[str]:
    """The switches the two endpoints set differently and some run of the main pipeline reads, in field order."""
    other = endpoint_protocol(configured, other_base(configured.base))
    return [s for s in SWITCHES if reads(s) and getattr(configured, s) != getattr(other, s)]


def defects_block(config: dict[str, Any]) -> dict[str, Any]:
    return config["report"][DEFECT_EFFECTS]


def effect_switches(config: dict[str, Any]) -> list[str]:
    """`report.defect_effects.switches` (null: every flippable one) in field order. A listed switch the configured
    protocol overrides is set alike at both ends, so it is skipped; one that is no switch, or that no run of the main
    pipeline reads, is refused."""
    allowed = flippable(of_config(config))
    chosen = defects_block(config)["switches"]
    if chosen is None:
        return allowed
    for switch in chosen:
        if switch not in SWITCHES or not reads(switch):
            why = "no run of the main pipeline reads it" if switch in SWITCHES else "no such switch"
            readable = ", ".join(s for s in SWITCHES if reads(s))
            raise ConfigError(f"report.defect_effects.switches: {switch}: {why}; switches the main pipeline reads: "
                              f"{readable}")  # fmt: skip
    return [s for s in allowed if s in chosen]


def variants(config: dict[str, Any]) -> list[Variant]:
    """The other endpoint, then every chosen switch flipped from each endpoint; [] when the block is off."""
    if not defects_block(config)["enabled"]:
        return []
    configured = of_config(config)
    ends = [configured.base, other_base(configured.base)]
    switched = [Variant(end, switch) for switch in effect_switches(config) for end in ends]
    return [Variant(ends[1]), *switched]


def variant_root(results: str, variant: Variant, configured: Protocol) -> str:
    """Where a variant's runs live: results/{preset} for the configured protocol, else its defects/ folder."""
    if variant.is_configured(configured):
        return results
    return f"{results}/{DEFECTS_DIR}/{variant.name}"


def variant_pattern(config: dict[str, Any], reader: str, where: Callable[[Protocol], bool] | None = None) -> str:
    """Regex of the defects/ folders holding a run of `reader` (whose protocol satisfies `where`, if given), for
    Snakemake's wildcard constraints; one that matches nothing when there are none."""
    configured = of_config(config)
    holders = {variant.holder(reader) for variant in variants(config)}
    names = sorted(
        holder.name
        for holder in holders
        if not holder.is_configured(configured) and (where is None or where(holder.protocol(configured)))
    )
    return "|".join(re.escape(name) for name in names) or "(?!)"


def settings_and_seeds(config: dict[str, Any]) -> tuple[list[str], list[int]]:
    """The block's settings and seeds (null: all the configured settings; the first seed), each a configured one."""
    block = defects_block(config)
    settings = block["settings"] or list(config["settings"])
    seeds = block["seeds"] or [min(config["seeds"])]
    for key, chosen, known in (("settings", settings, config["settings"]), ("seeds", seeds, config["seeds"])):
        unknown = [str(value) for value in chosen if value not in known]
        if unknown:
            raise ConfigError(
                f"report.defect_effects.{key}: {', '.join(unknown)} not among the configured {key} "
                f"({', '.join(map(str, known))})"
            )
    return list(settings), [int(seed) for seed in seeds]


@dataclass(frozen=True, order=True)
class DefectRun:
    """The main pipeline of one setting and seed under one variant: its evaluation at pipeline.ablation_omega and its
    classifier's cell-level metrics, each in the folder of the variant that holds that run."""

    variant: Variant
    pairing: Pairing
    omega: float

    @property
    def classifier(self) -> ClassifierRun:
        return self.pairing.classifier

    def evaluation_path(self, results: str, configured: Protocol, annotator: str) -> str:
        root = variant_root(results, self.variant, configured)
        return Evaluation(self.pairing, self.omega, annotator).path(root)

    def classifier_path(self, results: str, configured: Protocol) -> str:
        root = variant_root(results, self.variant.holder(CLASSIFIER), configured)
        return self.classifier.path(root)


def defect_runs(config: dict[str, Any]) -> list[DefectRun]:
    """Every variant's main pipeline in the block's settings and seeds (the configured endpoint's are the grid's)."""
    chosen = variants(config)
    if not chosen:
        return []
    configured = of_config(config)
    detector = controls_detector(config, DEFECT_EFFECTS)
    backbone = config["classify"]["main_backbone"]
    omega = float(config["pipeline"]["ablation_omega"])
    settings, seeds = settings_and_seeds(config)
    runs = []
    for variant in [Variant(configured.base), *chosen]:
        for setting in settings:
            for seed in seeds:
                runs.append(DefectRun(variant, Pairing(detector, setting, MAIN_TRAINSET, seed, backbone), omega))
    return runs


def variant_config(config: dict[str, Any], variant: Variant) -> dict[str, Any]:
    """The config a variant's runs are specified from: `config` with the variant's protocol."""
    return {**config, "protocol": variant.protocol(of_config(config)).name}


def variant_trainings(
    configured: Protocol, runs: Iterable[DefectRun]
) -> tuple[list[tuple[Variant, ClassifierRun]], list[tuple[Variant, DetectorRun]]]:
    """The classifier and detector runs the variants of `runs` (a plan's `defects`) train themselves, not the grid's,
    each once, in plan order."""
    classifiers: dict[tuple[Variant, ClassifierRun], None] = {}
    detectors: dict[tuple[Variant, DetectorRun], None] = {}
    for run in runs:
        for reader, found, record in ((CLASSIFIER, classifiers, run.classifier),
                                      (DETECTOR, detectors, run.pairing.detector_run)):  # fmt: skip
            holder = run.variant.holder(reader)
            if not holder.is_configured(configured):
                found[(holder, record)] = None
    return list(classifiers), list(detectors)
