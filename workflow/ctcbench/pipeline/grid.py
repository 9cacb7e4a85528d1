"""The image-level pipeline runs of the experiment grid (docs/experiments.md#experiment-grid, Tables 4-6), from the
config alone.

Kept free of torch: the workflow imports it while planning the DAG. A pipeline run pairs detector run i with classifier
run i (the original paired `_0` with `_0`, docs/protocol.md#fusion) and is identified by
`{detector}/{setting}/{trainset}/seed{seed}` (docs/experiments.md#results-layout), where `trainset` is the classifier's
training set:

* Table 4: every detector x setting x seed, with the main backbone trained on `all`;
* Table 5: the unknown-cell strategies (and `all`, the main model's "U as its own class") with the detector
  trained on all images;
* Table 6: per-patient classifiers with the detector trained on the same patient's images (and `all`).

Table 4 is evaluated at every configured omega, the ablations at `pipeline.ablation_omega` only.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class PipelineRun(NamedTuple):
    detector: str
    setting: str
    trainset: str
    seed: int

    @property
    def detector_trainset(self) -> str:
        """Per-patient classifiers pair with the detector of the same patient; every other one with `all`."""
        return self.trainset if self.trainset.startswith("patient-") else "all"

    def path(self, results: str) -> str:
        return f"{results}/pipeline/{self.detector}/{self.setting}/{self.trainset}/seed{self.seed}"

    def detector_path(self, results: str) -> str:
        return f"{results}/detect/{self.detector}/{self.setting}/{self.detector_trainset}/seed{self.seed}"


def classifier_backbone(config: dict[str, Any], trainset: str) -> str:
    """The backbone whose runs on `trainset` score the proposals."""
    ablations = config["ablations"]
    if trainset.startswith("patient-"):
        return ablations["patients"]["backbone"]
    if trainset.startswith("u-"):
        return ablations["unknown"]["backbone"]
    return config["classify"]["main_backbone"]


def classifier_path(config: dict[str, Any], results: str, run: PipelineRun) -> str:
    backbone = classifier_backbone(config, run.trainset)
    return f"{results}/classify/{backbone}/{run.setting}/{run.trainset}/seed{run.seed}"


def planned_pipeline_runs(config: dict[str, Any]) -> dict[PipelineRun, list[float]]:
    """Every pipeline run, each once in a stable order, with the omegas it is evaluated at."""
    runs: dict[PipelineRun, list[float]] = {}

    def add(run: PipelineRun, omegas: list[float]) -> None:
        known = runs.setdefault(run, [])
        known.extend(w for w in omegas if w not in known)

    seeds, ablations, pipeline = config["seeds"], config["ablations"], config["pipeline"]
    ablation_omega = [pipeline["ablation_omega"]]
    for detector in config["detect"]["detectors"]:
        for setting in config["settings"]:
            for seed in seeds:
                add(PipelineRun(detector, setting, "all", seed), list(pipeline["omegas"]))
    unknown = ablations["unknown"]
    for trainset in ["all", *unknown["strategies"]]:
        for seed in seeds:
            add(PipelineRun(unknown["detector"], unknown["setting"], trainset, seed), ablation_omega)
    patients = ablations["patients"]
    for trainset in ["all", *(f"patient-{p}" for p in patients["values"])]:
        for seed in seeds:
            add(PipelineRun(patients["detector"], patients["setting"], trainset, seed), ablation_omega)
    return runs


def omega_name(omega: float) -> str:
    """The omega's path segment: omega1, omega0.7."""
    return f"omega{omega:g}"
