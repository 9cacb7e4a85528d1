"""UMAP of embeddings (Figs 8 and 10): seeded determinism, cluster separation, subsampling and the CLI end to end.

The first UMAP in a process pays numba's JIT (about 10 s on 2 cores); every test here shares it.
"""

import csv
import sys

import numpy as np
import pytest
from report_helpers import blobs, write_embeddings, write_metrics
from sklearn.metrics import silhouette_score

from ctcbench.errors import ConfigError, DatasetError
from ctcbench.report.umap_embed import UmapParams, embed, import_umap, pick_runs, stratified_subsample

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_umap_deterministic_and_separates_blobs():
    features, labels, _ = blobs(n_per_class=60)
    params = UmapParams(random_state=3)
    first = embed(features, params)
    assert first.shape == (180, 2)
    assert np.array_equal(first, embed(features, params))
    assert silhouette_score(first, labels) > 0.6


def test_stratified_subsample_keeps_class_shares():
    labels = np.array([0] * 600 + [1] * 300 + [2] * 100)
    chosen = stratified_subsample(labels, 100, seed=0)
    assert len(chosen) == 100 and np.all(np.diff(chosen) > 0)
    assert np.bincount(labels[chosen]).tolist() == [60, 30, 10]
    assert np.array_equal(chosen, stratified_subsample(labels, 100, seed=0))
    assert not np.array_equal(chosen, stratified_subsample(labels, 100, seed=1))
    odd = stratified_subsample(np.array([0] * 5 + [1] * 3 + [2] * 2), 7, seed=0)
    assert len(odd) == 7
    assert np.array_equal(stratified_subsample(labels, None, 0), np.arange(1000))


def test_missing_umap_package_is_a_config_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "umap", None)  # makes `import umap` raise ImportError
    with pytest.raises(ConfigError, match=r"umap-learn.*pip install") as caught:
        import_umap()
    assert "\n" not in str(caught.value)


def test_pick_runs_lowest_seed_or_named(tmp_path):
    paths = [write_embeddings(tmp_path, "convnext_b", "bf", "all", seed, n_per_class=4) for seed in (2, 1)]
    assert pick_runs(paths, "convnext_b", ("bf",), None)[0].seed == 1
    assert pick_runs(paths, "convnext_b", ("bf",), 2)[0].seed == 2
    with pytest.raises(DatasetError, match=r"seed 0.*classify_eval"):
        pick_runs(paths, "convnext_b", ("bf",), 0)
    with pytest.raises(DatasetError, match=r"bf_fluo.*classify_eval"):
        pick_runs(paths, "convnext_b", ("bf_fluo", "bf"), None)


def test_cli_writes_every_figure(tmp_path):
    from ctcbench.cli import main

    runs, embeddings = [], []
    for setting in ("bf", "bf_hoechst", "bf_fluo"):
        for seed in (0, 1):
            for trainset in ("all", "frac-0.1"):
                runs.append(write_metrics(tmp_path / "runs", "convnext_b", setting, trainset, seed, f1=0.4 + seed / 10))
            embeddings.append(write_embeddings(tmp_path / "runs", "convnext_b", setting, "all", seed, n_per_class=30))
    out = tmp_path / "figs"
    argv = [
        "report-figures",
        "--runs",
        *map(str, runs),
        "--embeddings",
        *map(str, embeddings),
        "--backbone",
        "convnext_b",
    ]
    names = {
        "fig7_png": "fig7_confusion.png",
        "fig7_csv": "fig7_confusion.csv",
        "fig8_png": "fig8_umap_class.png",
        "fig10_png": "fig10_umap_patient.png",
        "umap_csv": "umap_coordinates.csv",
        "fig11_png": "fig11_fractions.png",
        "fig11_csv": "fig11_fractions.csv",
    }
    outputs = [part for key, name in names.items() for part in (f"--{key.replace('_', '-')}", str(out / name))]
    assert main([*argv, "--umap-max-points", "60", *outputs]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(names.values())
    for name in names.values():
        data = (out / name).read_bytes()
        assert len(data) > 0
        if name.endswith(".png"):
            assert data[:8] == PNG_MAGIC
    with open(out / "umap_coordinates.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * 60  # the cap, per setting
    assert {r["setting"] for r in rows} == {"bf", "bf_hoechst", "bf_fluo"}
    assert {r["seed"] for r in rows} == {"0"}  # the lowest seed by default
    assert {r["class"] for r in rows} == {"R", "G", "U"} and {r["patient"] for r in rows} == {"r06", "r07", "r08"}
    assert all(np.isfinite(float(r["umap_x"])) and np.isfinite(float(r["umap_y"])) for r in rows)
