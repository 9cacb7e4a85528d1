"""The plan of the grid, torch-free: run records, the training-set registry, the arms of the main grid and of each
ablation, and `plan(config)`, from which the workflow derives its targets, wildcard constraints and file names."""

from .arms import ABLATIONS, Arm, arms
from .grid import Plan, plan
from .runs import (
    SPLIT_SUFFIXES,
    Bundle,
    ClassicalRun,
    ClassifierRun,
    Decomposition,
    DetectorRun,
    Evaluation,
    KFoldRun,
    Pairing,
    omega_name,
    split_file,
    split_of,
)
from .trainsets import KINDS, TrainingSet, named, trainset, wildcard_pattern

__all__ = [
    "ABLATIONS",
    "KINDS",
    "Arm",
    "Bundle",
    "ClassicalRun",
    "KFoldRun",
    "ClassifierRun",
    "Decomposition",
    "DetectorRun",
    "Evaluation",
    "Pairing",
    "SPLIT_SUFFIXES",
    "Plan",
    "TrainingSet",
    "arms",
    "named",
    "omega_name",
    "plan",
    "split_file",
    "split_of",
    "trainset",
    "wildcard_pattern",
]
