"""The report page: tables and figures in the paper's order, links relative to the page, provenance counted from
both kinds of run record, and a clear error for a file that is not one of the paper's."""

import json

from pointer_helpers import write_twin_pointer

from ctcbench.cli import main
from ctcbench.run_record import FORMAT


def test_report_page_collects_tables_and_figures_in_the_papers_order(tmp_path, capsys):
    tables, figures = tmp_path / "tables", tmp_path / "figures"
    tables.mkdir()
    figures.mkdir()
    (tables / "table4_image_level.md").write_text("Caption four.\n\n| a |\n|---|\n| 1 |\n")
    (tables / "table1.md").write_text("# Table 1: dataset statistics\n\n## train\n\nrows\n")
    (figures / "fig9_predictions.png").write_bytes(b"\x89PNG fake")
    (figures / "fig9_predictions.csv").write_text("image_id\n")
    (figures / "fig7_confusion.png").write_bytes(b"\x89PNG fake")
    classifier = {
        "format": FORMAT,
        "environment": {"git": {"commit": "a" * 40, "dirty": False}, "device": {"device": "cuda", "name": "H100"}},
        "compute": {"wall_time_s": 3600},
    }
    detector = {
        "format": FORMAT,
        "environment": {"git": {"commit": "b" * 40, "dirty": True}, "device": {"device": "cpu"}},
        "compute": {"wall_time_s": 1800},
    }
    runs = []
    for name, record in (("c.json", classifier), ("d.json", detector)):
        runs.append(tmp_path / name)
        runs[-1].write_text(json.dumps(record))
    out = tmp_path / "report.md"
    argv = [
        "report-page",
        "--title",
        "T",
        "--tables",
        str(tables / "table4_image_level.md"),
        str(tables / "table1.md"),
        "--figures",
        str(figures / "fig9_predictions.png"),
        str(figures / "fig7_confusion.png"),
        "--runs",
        *map(str, runs),
        "--audit",
        str(tmp_path / "data" / "audit.md"),
        "--dataset",
        str(write_twin_pointer(tmp_path)),
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    page = out.read_text()
    order = [page.index(s) for s in ("## Table 1", "## Table 4", "## Fig. 7", "## Fig. 9")]
    assert order == sorted(order)
    assert "### Table 1: dataset statistics" in page and "### train" in page  # headings under the section
    assert "![Fig. 9: test predictions of the full pipeline](figures/fig9_predictions.png)" in page
    assert "[`figures/fig9_predictions.csv`](figures/fig9_predictions.csv)" in page
    assert "(figures/fig7_confusion.csv)" not in page  # no CSV beside it, no link
    assert "2 training runs, 1.50 hours" in page and f"`{'a' * 12}` (1)" in page and "1 of them from a checkout" in page
    assert "H100 (1)" in page and "cpu (1)" in page
    assert "[`data/audit.md`](data/audit.md)" in page

    stray = tmp_path / "notes.md"
    stray.write_text("x")
    assert (
        main(
            [
                "report-page",
                "--title",
                "T",
                "--tables",
                str(stray),
                "--dataset",
                str(tmp_path / "dataset.json"),
                "--out",
                str(out),
            ]
        )
        == 1
    )
    assert "notes.md: not one of the paper's tables" in capsys.readouterr().err
