"""Figs 7 and 11 from hand-made metrics.json files: the CSVs hold exactly the means/stds numpy gives."""

import csv
from pathlib import Path

import numpy as np
import pytest
from report_helpers import write_metrics

from ctcbench.errors import DatasetError
from ctcbench.report.figures import confusion_panels, fraction_rows, paper_points
from ctcbench.report.results import Results

SETTINGS = ("bf", "bf_hoechst", "bf_fluo")  # the tables' order, in which the figures draw their panels


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def random_confusion(rng):
    counts = rng.integers(0, 50, size=(3, 3)) + 1
    return 100 * counts / counts.sum(axis=1, keepdims=True)


def test_fig7_is_mean_of_confusions(tmp_path):
    from ctcbench.cli import main

    rng = np.random.default_rng(1)
    matrices, paths = {}, []
    for setting in SETTINGS:
        matrices[setting] = [random_confusion(rng) for _ in range(3)]
        for seed, matrix in enumerate(matrices[setting]):
            paths.append(write_metrics(tmp_path / "runs", "convnext_b", setting, "all", seed, confusion=matrix))
    # Runs that must not enter Fig. 7: another backbone and a fraction run.
    paths.append(write_metrics(tmp_path / "runs", "resnet50", "bf", "all", 0, confusion=np.full((3, 3), 50.0)))
    paths.append(write_metrics(tmp_path / "runs", "convnext_b", "bf", "frac-0.1", 0, confusion=np.zeros((3, 3))))
    out = tmp_path / "figs"
    argv = ["report-figures", "--runs", *map(str, paths), "--backbone", "convnext_b"]
    assert (
        main([*argv, "--fig7-png", str(out / "fig7_confusion.png"), "--fig7-csv", str(out / "fig7_confusion.csv")]) == 0
    )
    rows = read_csv(out / "fig7_confusion.csv")
    assert len(rows) == 27
    assert [r["setting"] for r in rows[::9]] == list(SETTINGS)  # the tables' order: BF, BF+H, BF+FL
    for row in rows:
        stack = np.array(matrices[row["setting"]])
        i, j = "RGU".index(row["true_class"]), "RGU".index(row["predicted_class"])
        assert float(row["percent"]) == pytest.approx(stack[:, i, j].mean(), abs=1e-6)
        assert float(row["std"]) == pytest.approx(stack[:, i, j].std(), abs=1e-6)
        assert row["n_runs"] == "3" and row["seeds"] == "0 1 2"
    assert (out / "fig7_confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fig11_means_and_stds(tmp_path):
    rng = np.random.default_rng(2)
    values, records = {}, []
    for setting in ("bf", "bf_hoechst", "bf_fluo"):
        for trainset in ("frac-0.05", "frac-0.5", "all"):
            values[(setting, trainset)] = rng.uniform(0.4, 1.0, size=(3, 2))  # seeds x (auroc, f1)
            for seed, (auroc, f1) in enumerate(values[(setting, trainset)]):
                records.append((setting, trainset, seed, auroc, f1))
    paths = [write_metrics(tmp_path, "convnext_b", s, t, seed, auroc=a, f1=f) for s, t, seed, a, f in records]
    paths.append(write_metrics(tmp_path, "convnext_b", "bf", "patient-r06", 0))  # not a fraction: ignored
    from ctcbench.cli import main

    out = tmp_path / "figs"
    argv = ["report-figures", "--runs", *map(str, paths), "--backbone", "resnet50", "--fraction-backbone", "convnext_b"]
    outputs = ["--fig11-png", str(out / "fig11_fractions.png"), "--fig11-csv", str(out / "fig11_fractions.csv")]
    assert main([*argv, *outputs]) == 0
    rows = read_csv(out / "fig11_fractions.csv")
    assert len(rows) == 3 * 3 * 2
    for row in rows:
        data = 100 * values[(row["setting"], row["trainset"])][:, ("auroc", "f1").index(row["metric"])]
        assert float(row["mean"]) == pytest.approx(np.mean(data), abs=1e-5)
        assert float(row["std_ddof0"]) == pytest.approx(np.std(data), abs=1e-5)
        assert float(row["std_ddof1"]) == pytest.approx(np.std(data, ddof=1), abs=1e-5)
        assert float(row["fraction"]) == (1.0 if row["trainset"] == "all" else float(row["trainset"][5:]))
    assert [float(r["fraction"]) for r in rows if r["setting"] == "bf" and r["metric"] == "f1"] == [0.05, 0.5, 1.0]
    assert (out / "fig11_fractions.png").stat().st_size > 0
    assert {r["paper_mean"] for r in rows} == {""}  # no --paper-dir: no published point

    # With the paper's tables, the 100 % points carry Table 2's values (ConvNeXt-B, val): BF F1 60.5 ± 0.4.
    paper = Path(__file__).resolve().parents[2] / "resources" / "paper"
    assert main([*argv, "--paper-dir", str(paper), *outputs]) == 0
    published = {
        (r["setting"], r["metric"]): (r["paper_mean"], r["paper_std"])
        for r in read_csv(out / "fig11_fractions.csv")
        if r["paper_mean"]
    }
    full = {(r["setting"], r["metric"]) for r in rows if float(r["fraction"]) == 1.0}
    assert set(published) == full and published[("bf", "f1")] == ("60.5", "0.4")
    # Another backbone than the paper's Table 2 has no published point.
    other = fraction_rows(Results.load(paths), "convnext_b", ("bf",), paper_points([], "convnext_b"))
    assert all(r["paper_mean"] == "" for r in other)


def test_missing_setting_names_rule(tmp_path):
    records = Results.load([write_metrics(tmp_path, "convnext_b", "bf", "all", 0)])
    with pytest.raises(DatasetError, match=r"bf_hoechst, bf_fluo.*rule classify_eval") as caught:
        confusion_panels(records, "convnext_b", SETTINGS)
    assert "\n" not in str(caught.value)
    with pytest.raises(DatasetError, match=r"Fig. 11.*frac-<value>.*classify_eval"):
        fraction_rows(records, "convnext_b", ("bf",))


def test_duplicate_run_is_refused(tmp_path):
    path = write_metrics(tmp_path, "convnext_b", "bf", "all", 0)
    from ctcbench.cli import main

    argv = ["report-figures", "--runs", str(path), str(path), "--backbone", "convnext_b", "--settings", "bf"]
    assert main([*argv, "--fig7-png", str(tmp_path / "o.png"), "--fig7-csv", str(tmp_path / "o.csv")]) == 1


def test_cli_missing_inputs_one_line_error(tmp_path, capsys):
    from ctcbench.cli import main

    path = write_metrics(tmp_path / "runs", "convnext_b", "bf", "all", 0)
    out = tmp_path / "figs"
    umap = ["--fig8-png", str(out / "8.png"), "--fig10-png", str(out / "10.png"), "--umap-csv", str(out / "u.csv")]
    assert main(["report-figures", "--runs", str(path), "--backbone", "convnext_b", *umap]) == 1
    message = capsys.readouterr().err.strip()
    assert message.count("\n") == 0
    assert "classify_eval" in message and "--embeddings" in message
    assert (
        main(["report-figures", "--runs", str(path), "--backbone", "convnext_b", "--fig7-png", str(out / "7.png")]) == 1
    )
    assert "--fig7-csv missing; a figure's PNG and CSV go together" in capsys.readouterr().err
    argv = ["report-figures", "--runs", str(path), "--backbone", "convnext_b"]
    assert main([*argv, "--fig7-png", str(out / "7.png"), "--fig7-csv", str(out / "7.csv")]) == 1
    message = capsys.readouterr().err.strip()
    assert message.count("\n") == 0 and "bf_hoechst, bf_fluo" in message and "classify_eval" in message
    assert not out.exists()  # nothing half-done is written
