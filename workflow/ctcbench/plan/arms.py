"""What the grid runs, as arms: one training set trained by one backbone in some settings, optionally paired with a
detector and evaluated at some omegas against some test annotators, for the tables and figures it feeds.

The paper's main grid (Tables 2-4, Figs 7-10) is a list of arms, and so is every ablation: each block of
`ablations:` in the config is expanded by the kind of the same name registered here (docs/extending.md). `plan`
turns arms into runs; nothing else loops over the grid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..classify.bf_only.variants import MAIN as BF_ONLY_MAIN
from ..classify.bf_only.variants import STATS_PAIR as BF_ONLY_STATS_PAIR
from ..errors import ConfigError
from .controls import CONTROLS_TABLE, controls_block, controls_detector
from .trainsets import named, trainset

MAIN_TRAINSET = "all"


@dataclass(frozen=True)
class Arm:
    trainset: str
    backbone: str
    settings: tuple[str, ...]
    feeds: frozenset[str]  # the tables and figures it feeds (table specs' names)
    detector: str | None = None  # paired with this detector's runs in the pipeline; None: classifier only
    omegas: tuple[float, ...] = ()
    annotators: tuple[str, ...] = ()  # test annotators the pairings are scored against; () = dataset.test_annotator
    train: bool = True  # False: the arm reuses classifier runs another arm trains (a table's `all` row)
    seeds: tuple[int, ...] = ()  # its own seeds; () = config `seeds`
    decompose: bool = False  # True: its pairings also get the error decomposition's stand-ins (plan.runs.Decomposition)


def main_backbones(config: dict[str, Any]) -> list[str]:
    """The grid's backbones, the main one last if the grid lacks it (Table 3, then Table 2's model)."""
    classify = config["classify"]
    backbones = list(classify["grid"])
    if classify["main_backbone"] not in backbones:
        backbones.append(classify["main_backbone"])
    return backbones


def main_arms(config: dict[str, Any]) -> Iterator[Arm]:
    """Tables 2 and 3 (every backbone on all crops), Figs 7, 8 and 10 (the main backbone), Table 4 (each detector
    with the main backbone at every omega)."""
    classify, settings = config["classify"], tuple(config["settings"])
    main = classify["main_backbone"]
    for backbone in main_backbones(config):
        feeds = {"table3"} | ({"table2", "fig7", "fig8", "fig10"} if backbone == main else set())
        yield Arm(MAIN_TRAINSET, backbone, settings, frozenset(feeds))
    for detector in config["detect"]["detectors"]:
        omegas = tuple(config["pipeline"]["omegas"])
        yield Arm(MAIN_TRAINSET, main, settings, frozenset({"table4"}), detector, omegas, train=False)


# The error decomposition's table (report.table_specs), fed by the arms below.
ERROR_DECOMPOSITION = "error_decomposition"


def decomposition_arms(config: dict[str, Any]) -> Iterator[Arm]:
    """The error decomposition (config `report.error_decomposition`, docs/metrics.md#error-decomposition): Table 4's
    main pipeline, every detector with the main model in every setting, at omega 1 and the ablation omega (the
    evaluations Table 4 already has when pipeline.omegas holds both), with its two stand-ins."""
    if not config["report"]["error_decomposition"]:
        return
    main, settings = config["classify"]["main_backbone"], tuple(config["settings"])
    omegas = tuple(dict.fromkeys((1.0, float(config["pipeline"]["ablation_omega"]))))
    for detector in config["detect"]["detectors"]:
        feeds = frozenset({ERROR_DECOMPOSITION})
        yield Arm(MAIN_TRAINSET, main, settings, feeds, detector, omegas, train=False, decompose=True)


def _main_row(config: dict[str, Any], block: dict[str, Any], settings: tuple[str, ...], table: str) -> Arm:
    """A table's row of the main model (all crops, the main backbone) paired with the block's detector."""
    omegas = (config["pipeline"]["ablation_omega"],)
    main = config["classify"]["main_backbone"]
    return Arm(MAIN_TRAINSET, main, settings, frozenset({table}), block["detector"], omegas, train=False)


def patients(config: dict[str, Any], block: dict[str, Any]) -> Iterator[Arm]:
    """Table 6: the main model and one model per patient, each paired with the detector of the same images."""
    settings, omegas = (block["setting"],), (config["pipeline"]["ablation_omega"],)
    yield _main_row(config, block, settings, "table6")
    for patient in block["values"]:
        name = named("patient", patient).name
        yield Arm(name, block["backbone"], settings, frozenset({"table6"}), block["detector"], omegas)


def fractions(config: dict[str, Any], block: dict[str, Any]) -> Iterator[Arm]:
    """Fig. 11: the backbone on a fraction of the training crops, in every setting; its `all` runs are the grid's."""
    settings = tuple(config["settings"])
    yield Arm(MAIN_TRAINSET, block["backbone"], settings, frozenset({"fig11"}), train=False)
    for fraction in block["values"]:
        yield Arm(named("fraction", float(fraction)).name, block["backbone"], settings, frozenset({"fig11"}))


def unknown(config: dict[str, Any], block: dict[str, Any]) -> Iterator[Arm]:
    """Table 5: the unknown-cell strategies, each paired with the detector trained on all images, beside the main
    model (U as its own class)."""
    settings, omegas = (block["setting"],), (config["pipeline"]["ablation_omega"],)
    yield _main_row(config, block, settings, "table5")
    for strategy in block["strategies"]:
        trainset(strategy)  # the registry's grammar
        yield Arm(strategy, block["backbone"], settings, frozenset({"table5"}), block["detector"], omegas)


def annotators(config: dict[str, Any], block: dict[str, Any]) -> Iterator[Arm]:
    """Ground truth by annotator: Table 4's main pipeline (the block's detector with the main model, at the ablation
    omega) scored against each test annotator's boxes."""
    arm = _main_row(config, block, tuple(config["settings"]), "annotators")
    yield Arm(**{**arm.__dict__, "annotators": tuple(block["values"])})


def bf_only(config: dict[str, Any], block: dict[str, Any]) -> Iterator[Arm]:
    """The brightfield-only track (classify.bf_only), Brightfield only, over the block's own seeds: its backbones on
    its main variant (the study's Table 2), its variants with its main backbone (Table 3), and the two variants its
    statistics compare."""
    seeds, main, settings = tuple(block["seeds"]), block["main_backbone"], ("bf",)
    for backbone in block["backbones"]:
        yield Arm(
            named("bf_only", BF_ONLY_MAIN).name, backbone, settings, frozenset({"bf_only_backbones"}), seeds=seeds
        )
    for value in block["variants"]:
        feeds = {"bf_only_ablation"} | ({"bf_only_stats"} if value in BF_ONLY_STATS_PAIR else set())
        yield Arm(named("bf_only", value).name, main, settings, frozenset(feeds), seeds=seeds)
    # The image level: the main variant's model paired with each brightfield detector of Table 4 the block lists (the
    # seeds the detectors have), beside Table 4's own brightfield pairings.
    paired = tuple(seed for seed in seeds if seed in config["seeds"])
    omegas, image_level = tuple(config["pipeline"]["omegas"]), frozenset({"bf_only_image_level"})
    table4 = [detector for detector in config["detect"]["detectors"] if detector in block["detectors"]]
    for detector in table4 if paired and BF_ONLY_MAIN in block["variants"] else ():
        yield Arm(named("bf_only", BF_ONLY_MAIN).name, main, settings, image_level, detector, omegas, train=False,
                  seeds=paired)  # fmt: skip
        yield Arm(MAIN_TRAINSET, config["classify"]["main_backbone"], settings, image_level, detector, omegas,
                  train=False)  # fmt: skip


def kfold(config: dict[str, Any], block: dict[str, Any]) -> Iterator[Arm]:
    """The k-fold track trains no classifier run of the grid: its runs are `plan.kfold`'s own (KFoldRun)."""
    return iter(())


# Config block name -> the arms it adds. A new ablation: a block in config.yaml and the schema, an entry here when
# no existing kind expands it, and a table spec.
ABLATIONS: dict[str, Callable[[dict[str, Any], dict[str, Any]], Iterator[Arm]]] = {
    "patients": patients,
    "fractions": fractions,
    "unknown": unknown,
    "annotators": annotators,
    "bf_only": bf_only,
    "kfold": kfold,
}


def ablation_arms(config: dict[str, Any]) -> Iterator[Arm]:
    for name, block in config.get("ablations", {}).items():
        if name not in ABLATIONS:
            raise ConfigError(f"ablations.{name}: no ablation of that name; known: {', '.join(ABLATIONS)}")
        yield from ABLATIONS[name](config, block)


def control_arms(config: dict[str, Any]) -> Iterator[Arm]:
    """The controls table's pipeline rows (`report.controls`): the block's detector with the main model at the
    ablation omega in every setting, the label-free settings and the fluorescence upper bound; it trains nothing."""
    block = controls_block(config)
    if block["enabled"]:
        yield _main_row(config, {"detector": controls_detector(config)}, tuple(config["settings"]), CONTROLS_TABLE)


def arms(config: dict[str, Any]) -> list[Arm]:
    return [*main_arms(config), *decomposition_arms(config), *ablation_arms(config), *control_arms(config)]
