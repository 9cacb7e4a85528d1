"""The k-fold track's runs (the `kfold` block of `ablations:`, docs/experiments.md#k-fold-track): every listed
network, from scratch and (with `pretrained`) from its ImageNet weights, in every listed setting, under the
protocol's fold scheme (`kfold_folds`) and, with `both_schemes`, under the other one too, so the crop leak of the
stratified folds is measured in one DAG (docs/defects.md#defect-32). Torch-free."""

from __future__ import annotations

from typing import Any

from ..classify.kfold_spec import IMAGENET, SCRATCH, KFoldSpec
from ..classify.network import TIMM, TORCHVISION, Network, weights_file
from ..classify.schedule import Schedule
from ..data.kfold_splits import SCHEMES
from ..errors import ConfigError
from ..protocol import of_config
from .runs import KFoldRun

BLOCK = "kfold"
# The table and the figure the runs feed (report.table_specs, report.kfold_roc_cli).
TABLE, FIGURE = "kfold_cv", "kfold_roc"


def block_of(config: dict[str, Any]) -> dict[str, Any] | None:
    return config.get("ablations", {}).get(BLOCK)


def schemes(config: dict[str, Any]) -> list[str]:
    """The protocol's fold scheme first, then the other one when the block asks for both."""
    own = of_config(config).kfold_folds
    return [own] + ([s for s in SCHEMES if s != own] if block_of(config).get("both_schemes") else [])


def inits(block: dict[str, Any]) -> list[str]:
    return [SCRATCH, IMAGENET] if block.get("pretrained", True) else [SCRATCH]


def kfold_runs(config: dict[str, Any]) -> list[KFoldRun]:
    """Every k-fold run of the config, in a stable order ([] without the block)."""
    block = block_of(config)
    if block is None:
        return []
    for model in block["models"]:
        network_entry(block, model)  # a name outside the catalogue stops the plan, not a job
    return [
        KFoldRun(model, init, setting, scheme, int(block.get("seed", 0)))
        for model in block["models"]
        for init in inits(block)
        for setting in block["settings"]
        for scheme in schemes(config)
    ]


def network_entry(block: dict[str, Any], model: str) -> tuple[Network, str]:
    """(network, the study's label) of a listed model; ConfigError naming the catalogue when it is not in it."""
    entry = block["networks"].get(model)
    if entry is None:
        raise ConfigError(f"ablations.kfold.models: {model!r} is not a key of ablations.kfold.networks "
                          f"({', '.join(block['networks'])})")  # fmt: skip
    libraries = [library for library in (TORCHVISION, TIMM) if entry.get(library)]
    if len(libraries) != 1:
        raise ConfigError(f"ablations.kfold.networks.{model}: give exactly one of torchvision (a builder) or timm")
    return Network(libraries[0], entry[libraries[0]]), entry.get("paper", model)


def kfold_spec(config: dict[str, Any], run: KFoldRun) -> KFoldSpec:
    block = block_of(config)
    network, paper = network_entry(block, run.model)
    schedule = {**config["classify"]["schedule"], **block.get("schedule", {})}
    return KFoldSpec(
        model=run.model, library=network.library, network=network.name, paper=paper, init=run.init,
        setting=run.setting, scheme=run.scheme, seed=run.seed, protocol=of_config(config).name,
        folds=int(block.get("folds", 5)), test_fraction=float(block.get("test_fraction", 0.2)),
        unknown=block.get("unknown", "drop"), image_size=int(block.get("image_size", config["classify"]["image_size"])),
        schedule=Schedule(**schedule),
    )  # fmt: skip


def kfold_weights(config: dict[str, Any]) -> dict[str, Network]:
    """Staged file -> network, for every network a planned ImageNet-initialised k-fold run starts from."""
    block = block_of(config)
    if block is None:
        return {}
    networks = [network_entry(block, run.model)[0] for run in kfold_runs(config) if run.init == IMAGENET]
    return {str(weights_file(config["classify"]["weights_dir"], net)): net for net in networks}
