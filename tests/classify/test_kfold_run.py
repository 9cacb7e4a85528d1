"""One run of the k-fold track on the tiny twin's crops: every fold trained and scored on its held-out fold and
the test part, its files written, the table rows read back from them."""

import csv
import json

import numpy as np
import pytest
from classify_helpers import TINY_MODEL

from ctcbench.classify.kfold import labelled_pool, run_kfold
from ctcbench.classify.kfold_spec import KFoldSpec
from ctcbench.classify.schedule import Schedule
from ctcbench.data.crops import CropCache
from ctcbench.errors import ConfigError
from ctcbench.report.results import results_of


def spec(**overrides) -> KFoldSpec:
    values = dict(model="tiny", library="timm", network=TINY_MODEL, paper="Tiny", init="scratch", setting="bf_fluo",
                  scheme="grouped", seed=0, protocol="faithful", folds=3, image_size=32,
                  schedule=Schedule(lr=1e-3, iterations=3, milestones=(2,), warmup=1, batch_size=8))  # fmt: skip
    values.update(overrides)
    return KFoldSpec(**values)


@pytest.fixture(scope="module")
def grouped_run(tiny_crops, tmp_path_factory):
    out = tmp_path_factory.mktemp("kfold")
    result = run_kfold(spec(), tiny_crops.cache("train"), tiny_crops.cache("val"), out)
    return out, result


def test_every_fold_is_scored_on_its_held_out_fold_and_the_test_part(grouped_run, tiny_crops):
    out, result = grouped_run
    assert [fold["fold"] for fold in result["folds"]] == [0, 1, 2]
    pool = labelled_pool(CropCache.load(tiny_crops.cache("train")), CropCache.load(tiny_crops.cache("val")), "drop")
    assert result["crops"]["pool"] == pool.labels.size
    with open(out / "splits.csv", newline="") as handle:
        splits = list(csv.DictReader(handle))
    parts_of_image = {}
    for row in splits:
        parts_of_image.setdefault(row["image_id"], set()).add(row["part"])
    assert all(len(parts) == 1 for parts in parts_of_image.values())  # grouped: one side per image
    for fold in result["folds"]:
        held_out = sum(row["part"] == f"fold{fold['fold']}" for row in splits)
        assert fold["heldout"]["n"] == held_out and fold["test"]["n"] == result["crops"]["test"]
        assert fold["trained_on"] % 2 == 0  # balanced: as many cancer crops as others
        assert fold["heldout"]["tp"] + fold["heldout"]["fn"] + fold["heldout"]["fp"] + fold["heldout"]["tn"] == held_out
    with open(out / "scores.csv", newline="") as handle:
        scores = list(csv.DictReader(handle))
    assert len(scores) == result["crops"]["pool"] - result["crops"]["test"] + 3 * result["crops"]["test"]
    assert json.loads((out / "metrics.json").read_text())["format"] == "ctcbench.kfold/1"


def test_its_rows_are_each_fold_as_a_seed_of_the_long_table(grouped_run):
    out, result = grouped_run
    rows = results_of(out / "metrics.json")
    assert len(rows) == 3 * 2 * 3
    auroc = [r for r in rows if r.subset == "heldout" and r.metric == "auroc"]
    assert [r.seed for r in auroc] == [0, 1, 2] and {r.trainset for r in auroc} == {"kfold-grouped"}
    assert [r.value for r in auroc] == pytest.approx([f["heldout"]["auroc"] for f in result["folds"]], nan_ok=True)
    assert {r.backbone for r in rows} == {"tiny.scratch"} and {r.stage for r in rows} == {"kfold"}


def test_the_same_spec_gives_the_same_numbers(grouped_run, tiny_crops, tmp_path):
    _, first = grouped_run
    again = run_kfold(spec(), tiny_crops.cache("train"), tiny_crops.cache("val"), tmp_path)
    assert [f["test"] for f in again["folds"]] == [f["test"] for f in first["folds"]]


def test_unknown_crops_join_the_negatives_when_asked(tiny_crops):
    train, val = CropCache.load(tiny_crops.cache("train")), CropCache.load(tiny_crops.cache("val"))
    dropped, kept = labelled_pool(train, val, "drop"), labelled_pool(train, val, "negative")
    assert kept.labels.size > dropped.labels.size
    assert np.sum(kept.labels == 0) == np.sum(dropped.labels == 0)


def test_a_bad_spec_is_refused_with_its_field():
    with pytest.raises(ConfigError, match="init 'imagenet21k'"):
        spec(init="imagenet21k")
    with pytest.raises(ConfigError, match="k-fold scheme 'by_patient'"):
        spec(scheme="by_patient")


@pytest.mark.parametrize("builder", ["alexnet", "vgg11"])
def test_the_studys_torchvision_networks_get_a_two_output_head_and_any_stem(builder, tmp_path):
    import torch

    from ctcbench.classify.kfold import build_network

    model = build_network(spec(library="torchvision", network=builder, image_size=64), 4, None)
    assert model(torch.zeros(2, 4, 64, 64)).shape == (2, 2) and model.num_features == 4096
    with pytest.raises(ConfigError, match=f"ctcbench stage-weights --model {builder} --library torchvision"):
        build_network(spec(library="torchvision", network=builder, init="imagenet"), 3, tmp_path / f"{builder}.pth")


def test_a_stopped_run_resumes_at_its_first_unfinished_fold(tiny_crops, tmp_path, monkeypatch):
    """A run killed during fold 1 keeps fold 0: started again it trains folds 1 and 2 only, and its files equal
    those of a run never stopped; a fold trained under another spec is trained again."""
    from ctcbench.classify import kfold

    train, val = tiny_crops.cache("train"), tiny_crops.cache("val")
    whole = run_kfold(spec(), train, val, tmp_path / "whole")
    trained = []
    real = kfold.train_fold

    def stopped_at_fold_one(run_spec, source, positions, weights, device, seed):
        if seed == 1 and not trained:  # fold 1 of seed 0: the kill
            raise KeyboardInterrupt
        return real(run_spec, source, positions, weights, device, seed)

    monkeypatch.setattr(kfold, "train_fold", stopped_at_fold_one)
    with pytest.raises(KeyboardInterrupt):
        run_kfold(spec(), train, val, tmp_path / "resumed")
    assert sorted(p.name for p in (tmp_path / "resumed" / "folds").iterdir()) == ["fold0.json"]
    assert not (tmp_path / "resumed" / "metrics.json").exists()

    def counted(run_spec, source, positions, weights, device, seed):
        trained.append(seed)
        return real(run_spec, source, positions, weights, device, seed)

    monkeypatch.setattr(kfold, "train_fold", counted)
    resumed = run_kfold(spec(), train, val, tmp_path / "resumed")
    assert trained == [1, 2] and resumed["folds"] == whole["folds"]
    for name in ("scores.csv", "confusion.csv", "splits.csv"):
        assert (tmp_path / "resumed" / name).read_text() == (tmp_path / "whole" / name).read_text()
    trained.clear()
    run_kfold(spec(folds=3, image_size=48), train, val, tmp_path / "resumed")  # another spec: nothing kept
    assert trained == [0, 1, 2]
