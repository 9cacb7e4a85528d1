"""The classifier runs of the experiment grid (docs/experiments.md#experiment-grid), from the resolved config alone.

Kept free of torch: the workflow imports it while planning the DAG. A run is identified by its wildcard path
`{backbone}/{setting}/{trainset}/seed{seed}` (docs/experiments.md#results-layout).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Run(NamedTuple):
    backbone: str
    setting: str
    trainset: str
    seed: int

    def path(self, results: str) -> str:
        return f"{results}/classify/{self.backbone}/{self.setting}/{self.trainset}/seed{self.seed}"


def planned_runs(config: dict[str, Any]) -> list[Run]:
    """Every classifier training run, each once, in a stable order.

    * Tables 2 and 3: every grid backbone (and the main backbone) x setting x seed on the full training set;
    * Table 6: one training set per patient, for the configured setting and backbone;
    * Fig. 11: every fraction x setting x seed with the configured backbone;
    * Table 5: every unknown-cell strategy x seed for the configured setting and backbone.
    """
    runs: list[Run] = []

    def add(backbone: str, setting: str, trainset: str, seed: int) -> None:
        run = Run(backbone, setting, trainset, seed)
        if run not in runs:
            runs.append(run)

    classify, ablations, seeds = config["classify"], config["ablations"], config["seeds"]
    backbones = list(classify["grid"])
    if classify["main_backbone"] not in backbones:
        backbones.append(classify["main_backbone"])
    for backbone in backbones:
        for setting in config["settings"]:
            for seed in seeds:
                add(backbone, setting, "all", seed)
    patients = ablations["patients"]
    for patient in patients["values"]:
        for seed in seeds:
            add(patients["backbone"], patients["setting"], f"patient-{patient}", seed)
    fractions = ablations["fractions"]
    for fraction in fractions["values"]:
        for setting in config["settings"]:
            for seed in seeds:
                add(fractions["backbone"], setting, f"frac-{fraction:g}", seed)
    unknown = ablations["unknown"]
    for strategy in unknown["strategies"]:
        for seed in seeds:
            add(unknown["backbone"], unknown["setting"], strategy, seed)
    return runs


def trainset_path(trainsets_dir: str, trainset: str, seed: int | str) -> str:
    """The list a run trains on: fractions are drawn once per seed, every other set is shared by all seeds."""
    if trainset.startswith("frac-"):
        return f"{trainsets_dir}/{trainset}/seed{seed}.tsv"
    return f"{trainsets_dir}/{trainset}.tsv"
