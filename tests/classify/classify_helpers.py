"""Helpers of the classification tests: a tiny synthetic twin cut into crop caches, and tiny training runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ctcbench.classify.schedule import Schedule
from ctcbench.classify.spec import ClassifierSpec
from ctcbench.classify.train import TrainConfig
from ctcbench.data.crops import build_crop_cache
from ctcbench.data.layout import DatasetLayout
from ctcbench.data.splits import records_from_cache, select_trainset, write_trainset
from ctcbench.data.synth import TwinConfig, generate_twin
from ctcbench.plan import trainset
from ctcbench.protocol import parse

ROOT = Path(__file__).resolve().parents[2]

TINY_MODEL = "test_resnet"
# The training sets of the tiny runs: (file name, kind, value).
TINY_TRAINSETS = (
    ("all", "all", None),
    ("patient-r06", "patient", "r06"),
    ("frac-0.5/seed0", "fraction", 0.5),
    ("u-drop", "u-drop", None),
    ("u-candidates", "u-candidates", None),
)  # timm's tiny ResNet: a real architecture that trains in seconds on CPU


@dataclass(frozen=True)
class TinyCrops:
    root: Path

    def cache(self, split: str, reader: str = "opencv") -> Path:
        return self.root / reader / f"{split}.npz"

    def trainset(self, name: str, reader: str = "opencv") -> Path:
        return self.root / reader / "trainsets" / f"{name}.tsv"


def build_tiny_crops(base: Path) -> TinyCrops:
    """18 images of 128 x 128 (train/val/test per patient), ~12 cells each, crop caches of both image readers (the
    `native` one with stratified fractions, as the corrected protocol)."""
    config = TwinConfig.demo(
        image_size=128,
        images_per_patient={"r06": 6, "r07": 6, "r08": 6},
        test_per_patient=1,
        val_fraction=0.3,
        cells_per_image=12.0,
        cell_radius=10.0,
        write_crops=False,
    )
    generate_twin(base / "dataset", config, progress=False)
    layout = DatasetLayout(base / "dataset")
    for reader in ("opencv", "native"):
        for split in ("train", "val"):
            cache = build_crop_cache(layout, split, layout.read_split(split), reader)
            cache.save(base / "crops" / reader / f"{split}.npz")
            if split == "train":
                records = records_from_cache(cache.keys, cache.labels, cache.image_ids)
                for name, kind, value in TINY_TRAINSETS:
                    chosen = select_trainset(records, kind, value, seed=0, stratified=reader == "native")
                    write_trainset(base / "crops" / reader / "trainsets" / f"{name}.tsv", chosen)
    return TinyCrops(base / "crops")


SPEC_FIELDS = set(ClassifierSpec.__dataclass_fields__)


def tiny_spec(**overrides) -> ClassifierSpec:
    """The spec of a tiny run: 12 steps of 16 crops at 32 px, validation every 4 steps."""
    values = dict(
        backbone="tiny",
        timm_name=TINY_MODEL,
        setting="bf_fluo",
        trainset="all",
        seed=0,
        protocol="faithful",
        schedule=Schedule(lr=1e-3, iterations=12, milestones=(8, 10), warmup=2, batch_size=16, val_every=4),
        image_size=32,
    )
    values.update(overrides)
    training_set = trainset(values["trainset"])  # its classes and head, as the plan gives them
    values.setdefault("classes", training_set.classes)
    values.setdefault("head_outputs", training_set.head_outputs(parse(values["protocol"])))
    cross_fitted = parse(values["protocol"]).classifier_checkpoint == "cross_fitted"
    values.setdefault("val_halves_seed", 0 if cross_fitted else None)
    return ClassifierSpec(**values)


def tiny_config(crops: TinyCrops, out: Path, **overrides) -> TrainConfig:
    """A run of the tiny model on the crops of its protocol's image reader; spec fields and TrainConfig fields
    may both be overridden."""
    spec = tiny_spec(**{k: overrides.pop(k) for k in list(overrides) if k in SPEC_FIELDS})
    reader = parse(spec.protocol).image_read
    values = dict(
        spec=spec,
        train_cache=crops.cache("train", reader),
        val_cache=crops.cache("val", reader),
        trainset_file=crops.trainset(spec.trainset, reader),
        out_dir=out,
        threads=1,
        workers=0,
        resume_every=4,
    )
    values.update(overrides)
    return TrainConfig(**values)


def same_weights(a: Path, b: Path) -> bool:
    """Two checkpoints hold bit-identical weights."""
    sa, sb = (torch.load(path, map_location="cpu", weights_only=True)["state_dict"] for path in (a, b))
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
