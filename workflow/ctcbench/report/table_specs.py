"""The result tables, each declared once: its name, title, CSV columns, paper table, parameters from the config and
its layout over the long results table (docs/experiments.md#tables-and-figures).

Tables 2 and 3 are cell level (val crops); Table 4 is the detection stage and the full pipeline on the test images;
Tables 5 and 6 and the annotator table are ablations of the pipeline. A table exists in a run of the workflow when
the plan has runs that feed it (`plan.Plan.feeding`), so a config without an ablation has no table for it. Tables 4
and 5 also declare the paired comparisons behind the paper's conclusions (`report.comparisons`).
"""

from __future__ import annotations

import math
from typing import Any

from ..classify.kfold_spec import HELDOUT as HELDOUT_FOLD
from ..classify.kfold_spec import TEST_PART
from ..data.channels import SETTING_TITLES, SETTINGS, SHORT_SETTINGS
from ..detect.nucleus import NAME as NUCLEUS
from ..detect.nucleus import TITLE as NUCLEUS_TITLE
from ..detect.recipes import DETECTOR_TITLES, DETECTORS
from ..plan.arms import ERROR_DECOMPOSITION
from ..plan.controls import (
    CONTROLS,
    CONTROLS_TABLE,
    FEATURE_CLASSIFIER,
    NUCLEUS_CLASSIFIER,
    NUCLEUS_FEATURES,
    RANDOM_BOXES,
    controls_detector,
)
from ..plan.grid import NUCLEUS_TABLE
from ..plan.kfold import BLOCK as KFOLD_BLOCK
from ..plan.kfold import TABLE as KFOLD_TABLE
from ..plan.kfold import inits as kfold_inits
from ..plan.kfold import schemes as kfold_schemes
from ..plan.runs import ORACLE_CLASSIFIER, PERFECT_LOCALISATION, omega_name
from ..plan.trainsets import named, trainset
from ..tables import METRIC_TITLES, summarise
from . import bf_only_tables as bf_only
from .comparisons import Comparison, ComparisonView
from .results import (
    ALL,
    CELL,
    CLASSICAL,
    CONTROL,
    DETECTION,
    EXTERNAL,
    HUMAN,
    KFOLD,
    KFOLD_METRICS,
    PIPELINE,
    Results,
)
from .views import RUNS, Block, Cell, Row, TableSpec, View

CELL_COLUMNS = ("table", "backbone", "paper_label", "setting", "trainset", "metric")
IMAGE_COLUMNS = ("table", "detector", "setting", "trainset", "stage", "tested_on", "metric")
HELDOUT = "f1_heldout"
ORDINALS = ("1st", "2nd", "3rd")
MAIN = "all"


def present(values: list[str], results: Results, column: str, **where: Any) -> list[str]:
    """The values of `column` with results, in the order of `values`."""
    found = {row.get(column) for row in results.select(**where)}
    return [v for v in values if v in found]


def external_methods(config: dict[str, Any], kind: str) -> list[list[str]]:
    """[name, title] of each configured method ctcbench did not train of `kind` (detections | cell_scores), once
    each: a method may have entries for several settings and seeds."""
    methods: dict[str, str] = {}
    for entry in config.get("external_methods") or []:
        if entry["kind"] == kind:
            methods.setdefault(entry["name"], entry.get("title") or entry["name"])
    return [[name, title] for name, title in methods.items()]


EXTERNAL_STAGE = "External method"
# The human ceiling of Tables 4 and 6: Expert 1's boxes scored against Expert 2's (data/agreement.py).
EXPERTS = {"stage": HUMAN, "detector": "Expert1", "annotator": "Expert2", "trainset": MAIN}
EXPERTS_LABEL = "Two experts agree"
EXPERTS_NOTE = (
    " Two experts agree: Expert 1's test boxes scored against Expert 2's (the F1 of every box; a human's boxes have "
    "no score, so AP is not defined); the same in every setting, as the annotations are."
)


def with_heldout(base: tuple[str, ...], results: Results, **where: Any) -> tuple[str, ...]:
    """`base`, plus the F1 at the val-chosen threshold where the records have it (image_threshold: heldout)."""
    return base + (HELDOUT,) if results.has(metric=HELDOUT, **where) else base


# -- Table 2: cell level per setting, the main backbone. ----------------------------------------------------------
TABLE2_METRICS = ("f1", "precision", "recall", "auroc")


def table2_params(config: dict[str, Any]) -> dict[str, Any]:
    main = config["classify"]["main_backbone"]
    return {"backbone": main, "label": config["classify"]["backbones"][main]["paper"],
            "external": external_methods(config, "cell_scores")}  # fmt: skip


def table2_layout(params: dict[str, Any], results: Results) -> View:
    backbone, label = params["backbone"], params["label"]
    run = {"stage": CELL, "backbone": backbone, "trainset": MAIN}
    rows = []
    for setting in present(list(SETTINGS), results, "setting", **run):
        where = {**run, "setting": setting, "subset": ALL}
        csv = {"table": "2", "backbone": backbone, "paper_label": label, "setting": setting, "trainset": MAIN}
        cells = tuple(
            Cell({**where, "metric": m}, {**csv, "metric": m}, {"setting": setting, "metric": m})
            for m in TABLE2_METRICS
        )
        rows.append(Row((SETTING_TITLES[setting], RUNS), cells, where))
    for name, title in params.get("external", []):
        method = {"stage": CELL, "backbone": name, "trainset": MAIN}
        for setting in present(list(SETTINGS), results, "setting", **method):
            where = {**method, "setting": setting, "subset": ALL}
            csv = {"table": "2", "backbone": name, "paper_label": title, "setting": setting, "trainset": MAIN}
            cells = tuple(Cell({**where, "metric": m}, {**csv, "metric": m}) for m in TABLE2_METRICS)
            rows.append(Row((f"{title} ({EXTERNAL_STAGE.lower()}): {SETTING_TITLES[setting]}", RUNS), cells, where))
    header = ("Setting", "n", *(METRIC_TITLES[m] for m in TABLE2_METRICS))
    caption = (
        f"Cell-level results on val, {label} (`{backbone}`), mean ± sample std over seeds, percent; "
        "paper (ConvNeXt-B) in parentheses."
    )
    return View(caption, (Block(header, tuple(rows)),))


# -- Table 3: cell level per backbone. ------------------------------------------------------------------------------
TABLE3_METRICS = ("f1", "auroc")


def table3_params(config: dict[str, Any]) -> dict[str, Any]:
    catalogue = config["classify"]["backbones"]
    return {"backbones": [[key, catalogue[key]["paper"]] for key in config["classify"]["grid"]]}


def table3_layout(params: dict[str, Any], results: Results) -> View:
    settings = present(list(SETTINGS), results, "setting", stage=CELL, trainset=MAIN)
    rows = []
    for backbone, label in params["backbones"]:
        cells, counts = [], []
        for setting in settings:
            where = {"stage": CELL, "backbone": backbone, "setting": setting, "trainset": MAIN, "subset": ALL}
            counts.append(results.seeds(**where))
            csv = {"table": "3", "backbone": backbone, "paper_label": label, "setting": setting, "trainset": MAIN}
            for metric in TABLE3_METRICS:
                paper = {"setting": setting, "backbone": label, "metric": metric}
                cells.append(Cell({**where, "metric": metric}, {**csv, "metric": metric}, paper))
        rows.append(Row((label, str(min(counts) if counts else 0)), tuple(cells)))
    header = ("Backbone", "n", *(f"{SHORT_SETTINGS[s]} {METRIC_TITLES[m]}" for s in settings for m in TABLE3_METRICS))
    caption = (
        "Cell-level F1 and AUROC on val per backbone, mean ± sample std over seeds, percent; paper in parentheses."
    )
    return View(caption, (Block(header, tuple(rows)),))


# -- Table 4: image level, the detection stage and the full pipeline at each omega. --------------------------------
DETECTION_STAGE = "detection"


def stage_title(stage: str) -> str:
    return "Detection stage" if stage == DETECTION_STAGE else f"Full pipeline (ω = {stage.removeprefix('omega')})"


def paper_stage(stage: str) -> str:
    """Our stage name -> the paper CSV's: detection, pipeline_omega1, pipeline_omega0.7."""
    return stage if stage == DETECTION_STAGE else f"pipeline_{stage}"


def stage_where(stage: str, annotator: str) -> dict[str, Any]:
    """The results rows of a stage: the detection stage, or the pipeline at one omega, against `annotator`."""
    if stage == DETECTION_STAGE:
        return {"stage": DETECTION, "annotator": annotator}
    return {"stage": PIPELINE, "omega": float(stage.removeprefix("omega")), "annotator": annotator}


def table4_params(config: dict[str, Any]) -> dict[str, Any]:
    return {"omegas": list(config["pipeline"]["omegas"]), "annotator": config["dataset"]["test_annotator"],
            "external": external_methods(config, "detections"),
            "compared_omega": config["pipeline"]["ablation_omega"]}  # fmt: skip


def table4_axes(params: dict[str, Any], results: Results) -> tuple[str, list, list, tuple, list]:
    """Table 4's annotator, and its detectors, settings and metrics with results, and its stages."""
    annotator = params["annotator"]
    image = {"trainset": MAIN, "subset": ALL, "annotator": annotator}
    detectors = present(list(DETECTORS), results, "detector", **image)
    settings = present(list(SETTINGS), results, "setting", **image)
    metrics = with_heldout(("ap50", "f1"), results, **image)
    return annotator, detectors, settings, metrics, [DETECTION_STAGE] + [omega_name(w) for w in params["omegas"]]


def table4_layout(params: dict[str, Any], results: Results) -> View:
    annotator, detectors, settings, metrics, stages = table4_axes(params, results)
    rows = []
    for detector in detectors:
        for stage in stages:
            cells = []
            for setting in settings:
                where = {**stage_where(stage, annotator), "detector": detector, "setting": setting, "trainset": MAIN}
                csv = {"table": "4", "detector": detector, "setting": setting, "trainset": MAIN, "stage": stage,
                       "tested_on": ALL}  # fmt: skip
                for metric in metrics:
                    paper = {"detector": DETECTOR_TITLES[detector], "setting": setting, "stage": paper_stage(stage),
                             "metric": metric}  # fmt: skip
                    cells.append(Cell({**where, "subset": ALL, "metric": metric}, {**csv, "metric": metric}, paper))
            rows.append(Row((DETECTOR_TITLES[detector], stage_title(stage)), tuple(cells)))
    for name, title in params.get("external", []):
        where = {"stage": EXTERNAL, "detector": name, "trainset": MAIN, "annotator": annotator, "subset": ALL}
        csv = {"table": "4", "detector": name, "trainset": MAIN, "stage": EXTERNAL, "tested_on": ALL}
        cells = [
            Cell({**where, "setting": s, "metric": m}, {**csv, "setting": s, "metric": m})
            for s in settings
            for m in metrics
        ]
        rows.append(Row((title, EXTERNAL_STAGE), tuple(cells)))
    experts = results.has(**EXPERTS, subset=ALL, metric="f1")
    if experts:
        csv = {"table": "4", "detector": "experts", "trainset": MAIN, "stage": HUMAN, "tested_on": ALL}
        cells = [
            Cell({**EXPERTS, "subset": ALL, "metric": m}, {**csv, "setting": s, "metric": m})
            for s in settings
            for m in metrics
        ]
        rows.append(Row((EXPERTS_LABEL, "Human"), tuple(cells)))
    header = ("Detector", "Stage", *(f"{SHORT_SETTINGS[s]} {METRIC_TITLES[m]}" for s in settings for m in metrics))
    caption = (
        "Image-level results on test, mean ± sample std over seeds, percent; the paper's in parentheses. "
        "F1 is the best F1 over the test PR curve (an oracle threshold, as the original)"
        + (
            "; F1 (val thr.) is the F1 on test at the threshold chosen on the val images."
            if HELDOUT in metrics
            else "."
        )
        + (EXPERTS_NOTE if experts else "")
    )
    return View(caption, (Block(header, tuple(rows)),))


# Table 4's comparisons: the settings against each other per detector and stage (does the extra channel help?), and
# the fused pipeline against the detection stage per detector and setting (does the classifier help?).
SETTING_PAIRS = (("bf_hoechst", "bf"), ("bf_fluo", "bf"), ("bf_fluo", "bf_hoechst"))
COMPARED = "Compared (A − B)"


def table4_comparisons(params: dict[str, Any], results: Results) -> ComparisonView:
    annotator, detectors, settings, metrics, stages = table4_axes(params, results)
    fused = omega_name(params["compared_omega"])
    pairs = [(a, b) for a, b in SETTING_PAIRS if a in settings and b in settings]
    comparisons = []
    for detector in detectors:
        arm = {"detector": detector, "trainset": MAIN, "subset": ALL}
        csv = {"table": "4", "detector": detector, "trainset": MAIN}
        for stage, (a, b), metric in ((s, p, m) for s in stages for p in pairs for m in metrics):
            where = {**stage_where(stage, annotator), **arm, "metric": metric}
            labels = (DETECTOR_TITLES[detector], stage_title(stage), f"{SHORT_SETTINGS[a]} − {SHORT_SETTINGS[b]}",
                      METRIC_TITLES[metric])  # fmt: skip
            row = {**csv, "setting": "", "stage": stage, "compared": "setting", "arm_a": a, "arm_b": b,
                   "metric": metric}  # fmt: skip
            comparisons.append(Comparison(labels, {**where, "setting": a}, {**where, "setting": b}, row))
        for setting, metric in ((s, m) for s in settings if fused in stages for m in metrics):
            where = {**arm, "setting": setting, "metric": metric}
            labels = (DETECTOR_TITLES[detector], SHORT_SETTINGS[setting],
                      f"{stage_title(fused)} − {stage_title(DETECTION_STAGE)}", METRIC_TITLES[metric])  # fmt: skip
            row = {**csv, "setting": setting, "stage": "", "compared": "stage", "arm_a": fused,
                   "arm_b": DETECTION_STAGE, "metric": metric}  # fmt: skip
            a, b = {**stage_where(fused, annotator), **where}, {**stage_where(DETECTION_STAGE, annotator), **where}
            comparisons.append(Comparison(labels, a, b, row))
    caption = (
        "Table 4, paired: the input settings against each other for every detector and stage, and the full pipeline "
        f"at ω = {params['compared_omega']:g} against the detection stage for every detector and setting, on test."
    )
    found = tuple(c for c in comparisons if results.has(**c.a) and results.has(**c.b))
    return ComparisonView(caption, ("Detector", "Held fixed", COMPARED, "Metric"), found)


# -- Error decomposition: does detection or classification limit Table 4's main pipeline? ---------------------------
DECOMPOSITION_TITLES = {
    ORACLE_CLASSIFIER: "Detector + oracle classifier (ω = 1)",
    PERFECT_LOCALISATION: "Perfect localisation + classifier (ω = 1)",
}
DECOMPOSITION_METRICS = ("ap50", "f1", "recall")


def error_decomposition_params(config: dict[str, Any]) -> dict[str, Any]:
    omegas = list(dict.fromkeys([1.0, float(config["pipeline"]["ablation_omega"])]))
    return {"omegas": omegas, "annotator": config["dataset"]["test_annotator"]}


def error_decomposition_layout(params: dict[str, Any], results: Results) -> View:
    """Per detector: the detection stage, its two stand-ins and the pipeline at each omega, a column per setting and
    metric (Table 4's layout)."""
    annotator = params["annotator"]
    image = {"trainset": MAIN, "subset": ALL, "annotator": annotator}
    detectors = present(list(DETECTORS), results, "detector", stage=ORACLE_CLASSIFIER, **image)
    settings = present(list(SETTINGS), results, "setting", stage=ORACLE_CLASSIFIER, **image)
    metrics = with_heldout(DECOMPOSITION_METRICS, results, stage=PIPELINE, **image)
    stages = [DETECTION_STAGE, *DECOMPOSITION_TITLES, *(omega_name(w) for w in params["omegas"])]
    rows = []
    for detector, stage in ((d, s) for d in detectors for s in stages):
        run = {"stage": stage} if stage in DECOMPOSITION_TITLES else stage_where(stage, annotator)
        where = {**image, **run, "detector": detector}
        csv = {"table": ERROR_DECOMPOSITION, "detector": detector, "trainset": MAIN, "stage": stage, "tested_on": ALL}
        cells = [
            Cell({**where, "setting": s, "metric": m}, {**csv, "setting": s, "metric": m})
            for s in settings
            for m in metrics
        ]
        rows.append(
            Row((DETECTOR_TITLES[detector], DECOMPOSITION_TITLES.get(stage) or stage_title(stage)), tuple(cells))
        )
    header = ("Detector", "Stage", *(f"{SHORT_SETTINGS[s]} {METRIC_TITLES[m]}" for s in settings for m in metrics))
    caption = (
        "Error decomposition of Table 4's main pipeline on test: does detection or classification limit it? "
        "Detector + oracle classifier: the detector's proposals scored 1 where the evaluation matches them to a "
        "ground-truth R box (IoU ≥ 0.5, its IoU convention) and 0 elsewhere (background and duplicates alike), the "
        "best any classifier could rank them; its recall is the detector's recall ceiling (the share of R boxes some "
        "proposal reaches) and its AP50 equals it; its gap to the pipeline at ω = 1 is what the classifier loses. "
        "Perfect localisation + classifier: the test annotations hold only R boxes, so the ground-truth boxes alone "
        "would be trivially perfect; the proposals are the ground-truth R boxes plus the detector's proposals that "
        "reach none (the negatives the classifier must still reject), every box scored by the real classifier; its "
        "gap to the pipeline at ω = 1 is what the detector loses (it can be negative: in the pipeline a cell with "
        "several proposals counts with the best-scored one, here it has one box). Both rank by S_cls alone, without "
        "the fusion gate. Mean ± sample std over seeds, "
        "percent; F1 is the best F1 over the test PR curve (an oracle threshold, as the original), recall the recall "
        "at it"
        + ("; F1 (val thr.) is the real pipeline's at the threshold chosen on val." if HELDOUT in metrics else ".")
    )
    return View(caption, (Block(header, tuple(rows)),))


# -- Table 5: the unknown-cell strategies. ---------------------------------------------------------------------------
def ablation_params(config: dict[str, Any], block: str) -> dict[str, Any]:
    ablation = config["ablations"][block]
    return {
        "detector": ablation["detector"],
        "setting": ablation.get("setting"),
        "omega": config["pipeline"]["ablation_omega"],
        "annotator": config["dataset"]["test_annotator"],
    }


def table5_params(config: dict[str, Any]) -> dict[str, Any]:
    return {**ablation_params(config, "unknown"), "strategies": config["ablations"]["unknown"]["strategies"]}


def strategy_title(name: str) -> str:
    """The paper's Table 5 row of a training set; the main model is its "all unknown cells as normal" row."""
    return "Assign all unknown cells as normal" if name == MAIN else trainset(name).title


def table5_layout(params: dict[str, Any], results: Results) -> View:
    detector, setting, omega = params["detector"], params["setting"], params["omega"]
    run = {"stage": PIPELINE, "detector": detector, "setting": setting, "omega": float(omega),
           "annotator": params["annotator"]}  # fmt: skip
    metrics = with_heldout(("f1", "ap50"), results, **run)
    rows = []
    for name in [*params["strategies"], MAIN]:
        where = {**run, "trainset": name, "subset": ALL}
        csv = {"table": "5", "detector": detector, "setting": setting, "trainset": name, "stage": omega_name(omega),
               "tested_on": ALL}  # fmt: skip
        cells = tuple(
            Cell({**where, "metric": m}, {**csv, "metric": m}, {"strategy": strategy_title(name), "metric": m})
            for m in metrics
        )
        rows.append(Row((strategy_title(name), f"`{name}`", RUNS), cells, where))
    header = ("Strategy", "Training set", "n", *(METRIC_TITLES[m] for m in metrics))
    caption = (
        f"Unknown-cell strategies: {DETECTOR_TITLES[detector]}, {SHORT_SETTINGS[setting]}, full pipeline at "
        f"ω = {omega:g}, test, mean ± sample std over seeds, percent; the paper's in parentheses."
    )
    return View(caption, (Block(header, tuple(rows)),))


def table5_comparisons(params: dict[str, Any], results: Results) -> ComparisonView:
    """Each strategy against the main model (unknown cells counted as not cancer)."""
    detector, setting, omega = params["detector"], params["setting"], params["omega"]
    run = {"stage": PIPELINE, "detector": detector, "setting": setting, "omega": float(omega),
           "annotator": params["annotator"], "subset": ALL}  # fmt: skip
    comparisons = []
    for name in params["strategies"]:
        for metric in with_heldout(("f1", "ap50"), results, **run):
            a, b = {**run, "trainset": name, "metric": metric}, {**run, "trainset": MAIN, "metric": metric}
            if results.has(**a) and results.has(**b):
                row = {"table": "5", "detector": detector, "setting": setting, "stage": omega_name(omega),
                       "trainset": "", "compared": "trainset", "arm_a": name, "arm_b": MAIN,
                       "metric": metric}  # fmt: skip
                labels = (strategy_title(name), f"`{name}` − `{MAIN}`", METRIC_TITLES[metric])
                comparisons.append(Comparison(labels, a, b, row))
    caption = (
        f"Table 5, paired: each unknown-cell strategy against the main model ({strategy_title(MAIN).lower()}), "
        f"{DETECTOR_TITLES[detector]}, {SHORT_SETTINGS[setting]}, full pipeline at ω = {omega:g}, on test."
    )
    return ComparisonView(caption, ("Strategy", COMPARED, "Metric"), tuple(comparisons))


# -- Table 6: patient generalisation. -------------------------------------------------------------------------------
def table6_params(config: dict[str, Any]) -> dict[str, Any]:
    return {**ablation_params(config, "patients"), "patients": config["ablations"]["patients"]["values"],
            "external": external_methods(config, "detections")}  # fmt: skip


def table6_layout(params: dict[str, Any], results: Results) -> View:
    detector, setting, omega, patients = params["detector"], params["setting"], params["omega"], params["patients"]
    run = {"stage": PIPELINE, "detector": detector, "setting": setting, "omega": float(omega),
           "annotator": params["annotator"]}  # fmt: skip
    ordinal = {p: f"{ORDINALS[i]} patient" if i < len(ORDINALS) else p for i, p in enumerate(patients)}
    blocks = []
    for metric in with_heldout(("f1",), results, **run):
        rows = []
        for patient_set in [MAIN, *(named("patient", p).name for p in patients)]:
            own = trainset(patient_set).value
            trained_on = "All 3 patients" if own is None else ordinal[own]
            csv = {"table": "6", "detector": detector, "setting": setting, "trainset": patient_set,
                   "stage": omega_name(omega), "metric": metric}  # fmt: skip
            cells = tuple(
                Cell(
                    {**run, "trainset": patient_set, "subset": patient, "metric": metric},
                    {**csv, "tested_on": patient},
                    {"trained_on": trained_on, "tested_on": ordinal[patient], "metric": metric},
                )
                for patient in patients
            )
            label = "All patients" if own is None else f"{trained_on} ({own})"
            rows.append(Row((label,), cells))
        for name, title in params.get("external", []):
            method = {"stage": EXTERNAL, "detector": name, "trainset": MAIN, "annotator": params["annotator"]}
            for own_setting in present(list(SETTINGS), results, "setting", **method):
                csv = {"table": "6", "detector": name, "setting": own_setting, "trainset": MAIN, "stage": EXTERNAL,
                       "metric": metric}  # fmt: skip
                cells = tuple(
                    Cell(
                        {**method, "setting": own_setting, "subset": patient, "metric": metric},
                        {**csv, "tested_on": patient},
                    )  # fmt: skip
                    for patient in patients
                )
                label = f"{title} ({EXTERNAL_STAGE.lower()}, {SHORT_SETTINGS[own_setting]}, all patients)"
                rows.append(Row((label,), cells))
        if metric == "f1" and results.has(**EXPERTS, metric="f1"):
            csv = {
                "table": "6",
                "detector": "experts",
                "setting": "",
                "trainset": MAIN,
                "stage": HUMAN,
                "metric": metric,
            }
            cells = tuple(
                Cell({**EXPERTS, "subset": patient, "metric": metric}, {**csv, "tested_on": patient})
                for patient in patients
            )
            rows.append(Row((f"{EXPERTS_LABEL} (human)",), cells))
        header = (f"Trained on ({METRIC_TITLES[metric]})", *(f"Test {ordinal[p]} ({p})" for p in patients))
        blocks.append(Block(header, tuple(rows)))
    caption = (
        f"Patient generalisation: F1 per test patient, {DETECTOR_TITLES[detector]} + classifier, "
        f"{SHORT_SETTINGS[setting]}, full pipeline at ω = {omega:g}, mean ± sample std over seeds, percent; "
        "the paper's in parentheses (its patients are ordered 1st-3rd; ours are mapped in the configured order)."
        + (
            EXPERTS_NOTE.replace("; the same in every setting, as the annotations are", "")
            if results.has(**EXPERTS)
            else ""
        )
    )
    return View(caption, tuple(blocks))


# -- Ground truth by annotator: Table 4's main pipeline scored against each expert and their union. ---------------
ANNOTATOR_COLUMNS = ("table", "detector", "setting", "trainset", "stage", "annotator", "metric")


def annotators_params(config: dict[str, Any]) -> dict[str, Any]:
    ablation = config["ablations"]["annotators"]
    return {"detector": ablation["detector"], "annotators": ablation["values"],
            "omega": config["pipeline"]["ablation_omega"]}  # fmt: skip


def annotators_layout(params: dict[str, Any], results: Results) -> View:
    detector, omega = params["detector"], params["omega"]
    run = {"stage": PIPELINE, "detector": detector, "trainset": MAIN, "omega": float(omega), "subset": ALL}
    settings = present(list(SETTINGS), results, "setting", **run)
    metrics = with_heldout(("ap50", "f1"), results, **run)
    rows = []
    for annotator in params["annotators"]:
        cells = []
        for setting in settings:
            where = {**run, "setting": setting, "annotator": annotator}
            csv = {"table": "annotators", "detector": detector, "setting": setting, "trainset": MAIN,
                   "stage": omega_name(omega), "annotator": annotator}  # fmt: skip
            cells += [Cell({**where, "metric": m}, {**csv, "metric": m}) for m in metrics]
        rows.append(Row((annotator, RUNS), tuple(cells), {**run, "annotator": annotator}))
    header = ("Ground truth", "n", *(f"{SHORT_SETTINGS[s]} {METRIC_TITLES[m]}" for s in settings for m in metrics))
    caption = (
        f"Ground truth by annotator: {DETECTOR_TITLES[detector]} + the main classifier, full pipeline at "
        f"ω = {omega:g}, test, scored against each expert's boxes and their union, mean ± sample std over seeds, "
        "percent (the paper reports the union only, Table 4)."
    )
    return View(caption, (Block(header, tuple(rows)),))


# -- The human ceiling: how far the two experts' test annotations agree. --------------------------------------------
AGREEMENT_COLUMNS = ("table", "annotator", "reference", "tested_on", "metric")
AGREEMENT_METRICS = ("f1", "precision", "recall")


def human_agreement_params(config: dict[str, Any]) -> dict[str, Any]:
    return {"patients": config["ablations"]["patients"]["values"]}


def human_agreement_layout(params: dict[str, Any], results: Results) -> View:
    pairs = sorted({(r.detector, r.annotator) for r in results.select(stage=HUMAN, subset=ALL)})
    patients = present(params["patients"], results, "subset", stage=HUMAN)
    rows = []
    for annotator, reference in pairs:
        where = {"stage": HUMAN, "detector": annotator, "annotator": reference}
        csv = {"table": "human_agreement", "annotator": annotator, "reference": reference}
        cells = [Cell({**where, "subset": ALL, "metric": m}, {**csv, "tested_on": ALL, "metric": m})
                 for m in AGREEMENT_METRICS]  # fmt: skip
        cells += [
            Cell({**where, "subset": p, "metric": "f1"}, {**csv, "tested_on": p, "metric": "f1"}) for p in patients
        ]
        rows.append(Row((annotator, reference), tuple(cells)))
    header = ("Annotator", "Scored against", *(METRIC_TITLES[m] for m in AGREEMENT_METRICS),
              *(f"F1 {p}" for p in patients))  # fmt: skip
    caption = (
        "Human agreement on the test images: each annotator's boxes scored against another's with the models' "
        "image-level matching (IoU 0.5, the protocol's IoU convention), percent. A human's boxes have no score, so "
        "there is no precision-recall curve and AP is not defined: F1, precision and recall are those of every box. "
        "Against the union (the ground truth of every table) an expert's precision counts the boxes the union kept."
    )
    return View(caption, (Block(header, tuple(rows)),))


# -- The classical nucleus detector: a non-deep baseline on the Hoechst channel, one run for every setting. ----------
NUCLEUS_COLUMNS = ("table", "detector", "tested_on", "metric")
NUCLEUS_METRICS = ("ap50", "f1", "precision", "recall")


def nucleus_detector_params(config: dict[str, Any]) -> dict[str, Any]:
    block = config["detect"][NUCLEUS]
    return {"annotator": config["dataset"]["test_annotator"],
            "recipe": {key: value for key, value in block.items() if key != "enabled"}}  # fmt: skip


def nucleus_detector_layout(params: dict[str, Any], results: Results) -> View:
    run = {"stage": CLASSICAL, "detector": NUCLEUS, "annotator": params["annotator"]}
    metrics = with_heldout(NUCLEUS_METRICS, results, **run, subset=ALL)
    patients = sorted({row.subset for row in results.select(**run)} - {ALL})
    rows = []
    for subset in [ALL, *patients]:
        csv = {"table": NUCLEUS_TABLE, "detector": NUCLEUS, "tested_on": subset}
        cells = tuple(Cell({**run, "subset": subset, "metric": m}, {**csv, "metric": m}) for m in metrics)
        rows.append(Row(("All test images" if subset == ALL else f"Patient {subset}",), cells))
    header = ("Test images", *(METRIC_TITLES[m] for m in metrics))
    recipe = ", ".join(f"{key} {value}" for key, value in params["recipe"].items())
    caption = (
        f"{NUCLEUS_TITLE}: a non-deep baseline that finds every Hoechst-stained nucleus with the OpenCV recipe of "
        f"Guo et al. 2022 ({recipe}) and is trained on nothing. It reads only the Hoechst channel of the fluorescence "
        "image, so one run stands for every setting: read Table 4's detection stage against it (its BF + H and BF + FL "
        "detectors see the same channel, its BF detectors do not). Scored as the detectors are, on the test images "
        "against the cancer (R) boxes, percent, one run. A box's score is the mean Hoechst intensity of its "
        "nucleus, so AP50 measures how well brighter nuclei rank the cancer cells above the other cells and debris, "
        "and the best F1 is that of the best brightness cut (an oracle threshold, as everywhere)"
        + ("; F1 (val thr.) is that of the cut chosen on the val images." if HELDOUT in metrics else ".")
    )
    return View(caption, (Block(header, tuple(rows)),))


# -- The k-fold track: the related study's protocol (Guo et al. 2022) on these crops. ------------------------------
KFOLD_COLUMNS = ("table", "backbone", "init", "setting", "scheme", "part", "metric")
KFOLD_PARTS = {HELDOUT_FOLD: "CV", TEST_PART: "Test"}
KFOLD_EVALUATIONS = {HELDOUT_FOLD: "5-fold CV on train", TEST_PART: "test (20%)"}  # the study's CSV's names
LEAK_READ = "; the Leak block is stratified minus grouped, in points."
LEAK_HOW = "; both schemes side by side: ablations.kfold.both_schemes, or the faithful and corrected tables."
# The networks the study published numbers for (resources/paper/seed004_kfold.csv; its Fig. 5B names no network):
# shown with the study's values alone when the configured networks do not include them.
KFOLD_STUDY_ROWS = (("ResNet-18", "scratch"), ("VGG-16", "imagenet"), ("best transfer model", "imagenet"))


def kfold_params(config: dict[str, Any]) -> dict[str, Any]:
    block = config["ablations"][KFOLD_BLOCK]
    return {"models": [[m, block["networks"][m].get("paper", m)] for m in block["models"]],
            "inits": kfold_inits(block), "settings": block["settings"], "schemes": kfold_schemes(config),
            "folds": block.get("folds", 5)}  # fmt: skip


def _kfold_cells(where: dict[str, Any], csv: dict[str, Any], paper: dict[str, Any] | None) -> list[Cell]:
    return [
        Cell({**where, "subset": part, "metric": metric}, {**csv, "part": part, "metric": metric},
             None if paper is None else {**paper, "evaluation": KFOLD_EVALUATIONS[part], "metric": metric})
        for part in KFOLD_PARTS
        for metric in KFOLD_METRICS
    ]  # fmt: skip


def _kfold_leak(params: dict[str, Any], results: Results) -> Block | None:
    """Stratified minus grouped mean, in points, per model and setting: the crop leak (docs/defects.md#defect-32)."""
    if len(params["schemes"]) < 2:
        return None
    rows = []
    for (model, label), init in ((m, i) for m in params["models"] for i in params["inits"]):
        texts = []
        axes = ((s, p, m) for s in params["settings"] for p in KFOLD_PARTS for m in KFOLD_METRICS)
        for setting, part, metric in axes:
            means = [summarise(results.values(stage=KFOLD, backbone=f"{model}.{init}", setting=setting,
                                              trainset=f"{KFOLD}-{scheme}", subset=part, metric=metric)).mean
                     for scheme in ("stratified", "grouped")]  # fmt: skip
            texts.append(f"{means[0] - means[1]:+.1f}" if not any(math.isnan(m) for m in means) else "–")
        rows.append(Row(("stratified − grouped", "", f"{label} ({init})", *texts), ()))
    return Block(("Leak", "", *_kfold_header(params)[2:]), tuple(rows))


def _kfold_header(params: dict[str, Any]) -> tuple[str, ...]:
    return ("Fold scheme", "n", "Network", *(f"{SHORT_SETTINGS[s]} {KFOLD_PARTS[p]} {METRIC_TITLES[m]}"
                                  for s in params["settings"] for p in KFOLD_PARTS for m in KFOLD_METRICS))  # fmt: skip


def kfold_layout(params: dict[str, Any], results: Results) -> View:
    rows = []
    for scheme in params["schemes"]:
        for (model, label), init in ((m, i) for m in params["models"] for i in params["inits"]):
            run = {"stage": KFOLD, "backbone": f"{model}.{init}", "trainset": f"{KFOLD}-{scheme}"}
            cells = []
            for setting in params["settings"]:
                csv = {"table": "kfold", "backbone": model, "init": init, "setting": setting, "scheme": scheme}
                cells += _kfold_cells({**run, "setting": setting}, csv, {"model": label, "init": init})
            rows.append(Row((scheme, RUNS, f"{label} ({init})"), tuple(cells), run))
    ours = {(label, init) for (_, label), init in ((m, i) for m in params["models"] for i in params["inits"])}
    for label, init in (row for row in KFOLD_STUDY_ROWS if row not in ours):  # published, not run here: theirs only
        cells = []
        for setting in params["settings"]:
            csv = {"table": "kfold", "backbone": label, "init": init, "setting": setting, "scheme": "study"}
            cells += _kfold_cells({"stage": KFOLD, "backbone": label, "setting": setting}, csv,
                                  {"model": label, "init": init})  # fmt: skip
        rows.append(Row(("study only", "", f"{label} ({init})"), tuple(cells)))
    blocks = [Block(_kfold_header(params), tuple(rows))]
    leak = _kfold_leak(params, results)
    if leak is not None:
        blocks.append(leak)
    caption = (
        "The k-fold track: the related study's classifier protocol (Guo et al. 2022) on these data: the labelled "
        f"train + val crops, cancer against not cancer, split 80/20, {params['folds']}-fold cross-validation on the "
        "80 % with the majority class down-sampled in every training fold; CV is each fold's model on its held-out "
        "fold, Test the same models on the 20 % part; mean ± sample std over the folds (n), percent; "
        "sensitivity and specificity at P(cancer) ≥ 0.5. In parentheses the study's published values, on its own "
        "imFISH images of 776 patients: different data, a reference for the method, not a target. Folds "
        "`stratified` split the crops by class only, as the study, so crops of one image sit on both sides of a "
        "split; `grouped` keeps each image's crops on one side (docs/defects.md#defect-32)"
        + (LEAK_READ if leak is not None else LEAK_HOW)
    )
    return View(caption, tuple(blocks))


# -- Controls: chance, a non-deep baseline and the fluorescence upper bound, beside the label-free pipeline. --------
CONTROL_COLUMNS = ("table", "row", "detector", "backbone", "setting", "stage", "metric")
UPPER_BOUND = "bf_fluo"  # the cancer stain's channels are the label itself: not a label-free result


def controls_params(config: dict[str, Any]) -> dict[str, Any]:
    main = config["classify"]["main_backbone"]
    return {"detector": controls_detector(config), "backbone": main,
            "label": config["classify"]["backbones"][main]["paper"], "omega": config["pipeline"]["ablation_omega"],
            "annotator": config["dataset"]["test_annotator"]}  # fmt: skip


def control_arms(params: dict[str, Any], results: Results) -> list[tuple[tuple[str, str], dict, dict]]:
    """((title, input), results rows, CSV identity) of each row of the controls table, in reading order."""
    annotator, detector, omega = params["annotator"], params["detector"], float(params["omega"])
    random = {"stage": CONTROL, "detector": RANDOM_BOXES, "annotator": annotator}
    nucleus = {"stage": CLASSICAL, "detector": NUCLEUS, "annotator": annotator}
    arms = [
        (("Random boxes (chance)", "none: each image's count and box sizes"), random,
         {"row": RANDOM_BOXES, "detector": RANDOM_BOXES, "backbone": "", "setting": "", "stage": CONTROL}),
        (("Nucleus detector alone", "Hoechst"), nucleus,
         {"row": NUCLEUS_TABLE, "detector": NUCLEUS, "backbone": "", "setting": "", "stage": CLASSICAL}),
    ]  # fmt: skip
    features = {"stage": CONTROL, "detector": NUCLEUS, "backbone": FEATURE_CLASSIFIER, "annotator": annotator}
    for setting in present(list(SETTINGS), results, "setting", **features):
        csv = {"row": NUCLEUS_FEATURES, "detector": NUCLEUS, "backbone": FEATURE_CLASSIFIER, "setting": setting,
               "stage": CONTROL}  # fmt: skip
        labels = (CONTROLS[NUCLEUS_FEATURES].title, f"Hoechst; classifier {SHORT_SETTINGS[setting]}")
        arms.append((labels, {**features, "setting": setting}, csv))
    # The nucleus detector as the pipeline's proposal source: its boxes scored by the main classifier (Table 4's).
    trained = {**features, "backbone": params["backbone"]}
    for setting in present(list(SETTINGS), results, "setting", **trained):
        csv = {"row": NUCLEUS_CLASSIFIER, "detector": NUCLEUS, "backbone": params["backbone"], "setting": setting,
               "stage": CONTROL}  # fmt: skip
        labels = (f"Nucleus detector + {params['label']}", f"Hoechst; classifier {SHORT_SETTINGS[setting]}")
        arms.append((labels, {**trained, "setting": setting}, csv))
    pipeline = {"stage": PIPELINE, "detector": detector, "trainset": MAIN, "omega": omega, "annotator": annotator}
    title = f"{DETECTOR_TITLES[detector]} + {params['label']}, ω = {omega:g}"
    for setting in present(list(SETTINGS), results, "setting", **pipeline):
        bound = setting == UPPER_BOUND
        csv = {"row": "upper_bound" if bound else "label_free", "detector": detector, "backbone": params["backbone"],
               "setting": setting, "stage": omega_name(omega)}  # fmt: skip
        labels = (f"{'Upper bound (not label-free)' if bound else 'Pipeline'}: {title}", SHORT_SETTINGS[setting])
        arms.append((labels, {**pipeline, "setting": setting}, csv))
    return [arm for arm in arms if results.has(**arm[1])]


def controls_layout(params: dict[str, Any], results: Results) -> View:
    metrics = with_heldout(("ap50", "f1"), results, annotator=params["annotator"], subset=ALL)
    rows = []
    for labels, where, csv in control_arms(params, results):
        csv = {"table": CONTROLS_TABLE, **csv}
        cells = tuple(Cell({**where, "subset": ALL, "metric": m}, {**csv, "metric": m}) for m in metrics)
        rows.append(Row((*labels, RUNS), cells, {**where, "subset": ALL}))
    header = ("Row", "Input", "n", *(METRIC_TITLES[m] for m in metrics))
    caption = (
        "Controls of the image-level results, on test against the cancer (R) boxes, mean ± sample std over runs (n: "
        "random draws or seeds), percent. Random boxes: per image as many boxes as its cancer cells, of their sizes, "
        "at random places with random scores (chance). The nucleus detector (Hoechst, OpenCV, trained on nothing) "
        "ranks its boxes by brightness; with the feature classifier, a logistic regression on hand-made crop "
        "features of the setting's channels fitted on the train crops (R against the rest) ranks them alone "
        f"(ω = 1); with {params['label']}, Table 4's classifier of the setting ranks them alone (ω = 1): the nucleus "
        "detector as the pipeline's proposal source. Both without the fusion gate. The pipeline rows are Table 4's "
        f"at ω = {float(params['omega']):g}: Brightfield and Brightfield + "
        "Hoechst (a nuclear stain on every cell) are label-free; Brightfield + Fluorescence sees the cancer stain, "
        "the label itself, so it is an upper bound. F1 is the best F1 over the test PR curve (an oracle threshold)"
        + ("; F1 (val thr.) is the F1 at the threshold chosen on the val images." if HELDOUT in metrics else ".")
    )
    return View(caption, (Block(header, tuple(rows)),))


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("table2_cell_level", "Table 2: cell level, per input setting", "cell_level", "table2", (CELL,),
                  CELL_COLUMNS, table2_params, table2_layout, "table2_cell_level.csv", ("setting", "metric")),
        TableSpec("table3_backbones", "Table 3: cell level, per backbone", "cell_level", "table3", (CELL,),
                  CELL_COLUMNS, table3_params, table3_layout, "table3_backbones.csv",
                  ("setting", "backbone", "metric")),
        TableSpec("table4_image_level", "Table 4: image level, detection stage and full pipeline", "image_level",
                  "table4", (DETECTION, PIPELINE, EXTERNAL, HUMAN), IMAGE_COLUMNS, table4_params, table4_layout,
                  "table4_image_level.csv", ("detector", "setting", "stage", "metric"), table4_comparisons),
        TableSpec("table5_unknown_cells", "Table 5: unknown-cell strategies", "ablations", "table5", (PIPELINE,),
                  IMAGE_COLUMNS, table5_params, table5_layout, "table5_unknown_cells.csv", ("strategy", "metric"),
                  table5_comparisons),
        TableSpec("table6_patients", "Table 6: patient generalisation", "ablations", "table6",
                  (PIPELINE, EXTERNAL, HUMAN), IMAGE_COLUMNS, table6_params, table6_layout, "table6_patients.csv",
                  ("trained_on", "tested_on", "metric")),
        TableSpec("annotators", "Ground truth by annotator", "ablations", "annotators", (PIPELINE,),
                  ANNOTATOR_COLUMNS, annotators_params, annotators_layout),
        TableSpec("human_agreement", "Human agreement: the two experts", "image_level", "table4", (HUMAN,),
                  AGREEMENT_COLUMNS, human_agreement_params, human_agreement_layout),
        TableSpec(NUCLEUS_TABLE, "Classical nucleus detector: a non-deep baseline", "image_level", NUCLEUS_TABLE,
                  (CLASSICAL,), NUCLEUS_COLUMNS, nucleus_detector_params, nucleus_detector_layout),
        TableSpec("bf_only_backbones", "Brightfield-only track: backbones", "ablations", "bf_only_backbones",
                  (CELL,), CELL_COLUMNS, bf_only.backbones_params, bf_only.backbones_layout, "bf_only_backbones.csv",
                  ("backbone", "metric")),
        TableSpec("bf_only_ablation", "Brightfield-only track: nuclear images and augmentation", "ablations",
                  "bf_only_ablation", (CELL,), CELL_COLUMNS, bf_only.ablation_params, bf_only.ablation_layout,
                  "bf_only_ablation.csv", ("trainset", "metric")),
        TableSpec("bf_only_stats", "Brightfield-only track: statistics over seeds", "ablations", "bf_only_stats",
                  (CELL,), bf_only.STATS_COLUMNS, bf_only.stats_params, bf_only.stats_layout, "bf_only_stats.csv",
                  writer=bf_only.render_stats),
        TableSpec("bf_only_image_level", "Brightfield-only track: image level", "ablations", "bf_only_image_level",
                  (DETECTION, PIPELINE), bf_only.IMAGE_COLUMNS, bf_only.image_level_params, bf_only.image_level_layout,
                  "table4_image_level.csv", ("detector", "setting", "stage", "metric")),
        TableSpec(ERROR_DECOMPOSITION, "Error decomposition: detection or classification?", "image_level",
                  ERROR_DECOMPOSITION, (DETECTION, PIPELINE, ORACLE_CLASSIFIER, PERFECT_LOCALISATION), IMAGE_COLUMNS,
                  error_decomposition_params, error_decomposition_layout),
        TableSpec(KFOLD_TABLE, "K-fold track: the related study's classifier protocol", "ablations", KFOLD_TABLE,
                  (KFOLD,), KFOLD_COLUMNS, kfold_params, kfold_layout, "seed004_kfold.csv",
                  ("model", "init", "evaluation", "metric")),
        TableSpec(CONTROLS_TABLE, "Controls: chance, a non-deep baseline, the fluorescence upper bound",
                  "image_level", CONTROLS_TABLE, (CONTROL, CLASSICAL, PIPELINE), CONTROL_COLUMNS, controls_params,
                  controls_layout),
    )
}  # fmt: skip
