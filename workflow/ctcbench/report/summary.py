"""One page for a whole results tree: every table and figure of the paper that the DAG regenerated, in the
paper's order, with what produced them (`results/{preset}/report.md`).

It is assembled from the files the other steps wrote (tables as Markdown, figures as PNG, run records) and adds no
number of its own, so it can never disagree with them.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from ..data.table1 import TITLE as TABLE1_TITLE
from ..errors import DatasetError
from ..plan.defects import DEFECT_EFFECTS
from ..run_record import read_run_record
from .defect_effects import TITLE as DEFECT_EFFECTS_TITLE
from .table_specs import TABLES as RESULT_TABLES


def _result_tables() -> dict[str, str]:
    """Every result table's file stem -> its title, a table's paired comparisons right after it."""
    titles = {}
    for name, spec in RESULT_TABLES.items():
        titles[name] = spec.title
        if spec.comparisons is not None:
            titles[spec.comparisons_name] = spec.comparisons_title
    return titles


# Tables a rule of their own writes (not a view of the long results table, so no table spec): file stem -> title.
OWN_RULE_TABLES = {DEFECT_EFFECTS: DEFECT_EFFECTS_TITLE}  # rule defect_effects
# Every table's file stem -> its title, in the paper's order.
TABLES = {"table1": TABLE1_TITLE, **_result_tables(), **OWN_RULE_TABLES}
FIGURES = {
    "fig7_confusion": "Fig. 7: confusion matrices",
    "fig8_umap_class": "Fig. 8: UMAP of the embeddings by class",
    "fig9_predictions": "Fig. 9: test predictions of the full pipeline",
    "fig10_umap_patient": "Fig. 10: UMAP of the embeddings by patient",
    "fig11_fractions": "Fig. 11: training fraction",
    "kfold_roc": "K-fold track: ROC curves of the folds and the test part (the related study's protocol)",
    "training_curves_classify": "Training curves: classifiers (not in the paper)",
    "training_curves_detect": "Training curves: detectors (not in the paper)",
}


def in_paper_order(paths: list[Path], names: dict[str, str], kind: str) -> list[tuple[str, Path]]:
    by_stem = {}
    for path in paths:
        if path.stem not in names:
            raise DatasetError(f"{path}: not one of the paper's {kind} ({', '.join(names)})")
        if not path.is_file():
            raise DatasetError(f"{path}: missing; make it first (snakemake all)")
        by_stem[path.stem] = path
    return [(names[stem], by_stem[stem]) for stem in names if stem in by_stem]


def demote_headings(markdown: str) -> str:
    """A table file's own headings sit under the report's section heading."""
    return "\n".join("##" + line if line.startswith("#") else line for line in markdown.splitlines())


def provenance_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Code versions, devices and compute time of the training runs (classifier and detector records)."""
    commits, devices = Counter(), Counter()
    dirty, hours = 0, 0.0
    for record in records:
        environment = record["environment"]
        git = environment.get("git") or {}
        commits[git.get("commit") or "unknown"] += 1
        dirty += bool(git.get("dirty"))
        device = environment.get("device") or {}
        devices[device.get("name") or device.get("device") or "unknown"] += 1
        hours += float(record["compute"].get("wall_time_s") or 0) / 3600
    return {"runs": len(records), "commits": dict(commits), "dirty": dirty, "devices": dict(devices), "hours": hours}


def render(
    title: str,
    tables: list[tuple[str, Path]],
    figures: list[tuple[str, Path]],
    provenance: dict[str, Any],
    out_dir: Path,
    audit: Path | None = None,
    data: str = "",
) -> str:
    lines = [f"# {title}", ""]
    if data:
        lines += [f"**Data: {data}.**", ""]
    commits = ", ".join(f"`{c[:12]}` ({n})" for c, n in provenance["commits"].items()) or "none"
    devices = ", ".join(f"{d} ({n})" for d, n in provenance["devices"].items()) or "none"
    lines += [
        f"{provenance['runs']} training runs, {provenance['hours']:.2f} hours of wall time; code {commits}"
        + (f", {provenance['dirty']} of them from a checkout with uncommitted changes" if provenance["dirty"] else "")
        + f"; devices {devices}. Every number below comes from the files linked beside it.",
        "",
    ]
    if audit is not None:
        relative = os.path.relpath(audit, out_dir)
        lines += [
            f"What the staged data says about the facts only it can settle: [`{relative}`]({relative}).",
            "",
        ]
    for name, path in tables:
        lines += [f"## {name}", "", f"[`{os.path.relpath(path, out_dir)}`]({os.path.relpath(path, out_dir)})", ""]
        lines += [demote_headings(path.read_text().strip()), ""]
    for name, path in figures:
        relative = os.path.relpath(path, out_dir)
        lines += [f"## {name}", "", f"![{name}]({relative})", ""]
        numbers = path.with_suffix(".csv")
        if numbers.is_file():
            lines += [
                f"The plotted numbers: [`{os.path.relpath(numbers, out_dir)}`]({os.path.relpath(numbers, out_dir)})",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def load_records(paths: list[Path]) -> list[dict[str, Any]]:
    return [read_run_record(path) for path in paths]
