# Tables and figures from the run records: every result table (report/table_specs.py) and the long results
# table of every run; Fig. 7 (confusion), Figs 8 and 10 (UMAP of the val embeddings by class and by patient), Fig. 9
# (test predictions of the full pipeline), Fig. 11 (training fraction), each PNG with the numbers it plots as CSV;
# the report page.
include: "report_common.smk"


localrules:
    table,
    table_comparisons,
    results_table,
    report_page,
    training_curves,


rule table:
    """One result table with bootstrap intervals beside the paper's numbers: CSV, Markdown, HTML (ctcbench table)."""
    input:
        metrics=table_metrics,
        per_image=table_per_image,
        dataset=DATASET,
    output:
        csv=f"{RESULTS}/tables/{{table}}.csv",
        md=f"{RESULTS}/tables/{{table}}.md",
        html=report(
            f"{RESULTS}/tables/{{table}}.html",
            caption="../report/tables.rst",
            category=lambda wildcards: REPORT_CATEGORIES[
                PLANNED_TABLES[wildcards.table].category
            ],
        ),
    log:
        f"{LOGS}/report/table_{{table}}.log",
    wildcard_constraints:
        table="|".join(PLANNED_TABLES),
    params:
        params=lambda wildcards: json.dumps(
            PLANNED_TABLES[wildcards.table].params(config)
        ),
        paper_dir=PAPER_DIR,
        bootstrap=BOOTSTRAP_OPTIONS,
    conda:
        ENV
    shell:
        "python -m ctcbench table --name {wildcards.table} --params {params.params:q} --metrics {input.metrics}"
        " --per-image {input.per_image} {params.bootstrap} --paper-dir {params.paper_dir:q}"
        " --dataset {input.dataset} --csv {output.csv} --md {output.md} > {log} 2>&1"


rule table_comparisons:
    """A result table's paired bootstrap comparisons as CSV, Markdown and HTML (ctcbench table-comparisons)."""
    input:
        metrics=table_metrics,
        per_image=table_per_image,
        dataset=DATASET,
    output:
        csv=f"{RESULTS}/tables/{{table}}_comparisons.csv",
        md=f"{RESULTS}/tables/{{table}}_comparisons.md",
        html=report(
            f"{RESULTS}/tables/{{table}}_comparisons.html",
            caption="../report/table_comparisons.rst",
            category=lambda wildcards: REPORT_CATEGORIES[
                PLANNED_TABLES[wildcards.table].category
            ],
        ),
    log:
        f"{LOGS}/report/table_comparisons_{{table}}.log",
    wildcard_constraints:
        table="|".join(COMPARED_TABLES),
    params:
        params=lambda wildcards: json.dumps(
            PLANNED_TABLES[wildcards.table].params(config)
        ),
        bootstrap=BOOTSTRAP_OPTIONS,
    conda:
        ENV
    shell:
        "python -m ctcbench table-comparisons --name {wildcards.table} --params {params.params:q}"
        " --metrics {input.metrics} --per-image {input.per_image} {params.bootstrap}"
        " --dataset {input.dataset} --csv {output.csv} --md {output.md} > {log} 2>&1"


rule results_table:
    """Every run's numbers in one long table, one row per run x metric x subset (ctcbench results-table)."""
    input:
        results_metrics(),
    output:
        f"{RESULTS}/results.csv",
    log:
        f"{LOGS}/report/results_table.log",
    conda:
        ENV
    shell:
        "python -m ctcbench results-table --metrics {input} --out {output} > {log} 2>&1"


rule report_figures:
    """Figs 7-11 as PNG with their plotted numbers as CSV (ctcbench report-figures)."""
    input:
        unpack(fig9_inputs),
        runs=figure_runs(),
        embeddings=figure_embeddings(),
        paper=f"{PAPER_DIR}/{FIG11_PAPER_FILE}",
    output:
        **{key: figure_output(name) for key, name in FIGURE_OUTPUTS.items()},
    log:
        f"{LOGS}/report/figures.log",
    threads: 2
    params:
        outputs=figure_options,
        backbone=CLASSIFY["main_backbone"],
        fraction_backbone=" ".join(
            f"--fraction-backbone {name}" for name in FRACTION_BACKBONES
        ),
        qualitative=lambda wildcards, input: (
            f"--scores {input.scores} --pipeline-metrics {input.pipeline_metrics}"
            f" --dataset {input.dataset}"
            if "scores" in input.keys()
            else ""
        ),
        settings=" ".join(s for s in PANEL_ORDER if s in config["settings"]),
        paper_dir=lambda wildcards, input: os.path.dirname(input.paper),
    conda:
        ENV
    shell:
        "python -m ctcbench report-figures --runs {input.runs} --embeddings {input.embeddings}"
        " --backbone {params.backbone} {params.fraction_backbone} --settings {params.settings}"
        " --paper-dir {params.paper_dir:q}"
        " {params.qualitative} {params.outputs} > {log} 2>&1"


if KFOLD_FIGURES:

    rule kfold_roc:
        """ROC curves of every k-fold run's folds and test part, PNG and the plotted points as CSV (ctcbench kfold-roc)."""
        input:
            kfold_scores(),
        output:
            png=figure_output(KFOLD_FIGURES[0]),
            csv=f"{RESULTS}/figures/{KFOLD_FIGURES[1]}",
        log:
            f"{LOGS}/report/kfold_roc.log",
        conda:
            ENV
        shell:
            "python -m ctcbench kfold-roc --scores {input} --png {output.png} --csv {output.csv} > {log} 2>&1"


rule training_curves:
    """Training loss and val accuracy of every run (ctcbench training-curves)."""
    input:
        report_run_records(),
    output:
        classify=figure_output("training_curves_classify.png"),
        detect=figure_output("training_curves_detect.png"),
        csv=f"{RESULTS}/figures/training_curves.csv",
    log:
        f"{LOGS}/report/training_curves.log",
    conda:
        ENV
    shell:
        "python -m ctcbench training-curves --runs {input} --classify-png {output.classify}"
        " --detect-png {output.detect} --csv {output.csv} > {log} 2>&1"


rule report_page:
    """report.md: every regenerated table and figure in the paper's order (ctcbench report-page)."""
    input:
        tables=report_tables(),
        figures=[
            f"{RESULTS}/figures/{name}"
            for name in FIGURE_FILES + CURVE_FILES + tuple(KFOLD_FIGURES)
            if name.endswith(".png")
        ],
        runs=report_run_records(),
        audit=f"{RESULTS}/data/audit.md",
        dataset=DATASET,
    output:
        f"{RESULTS}/report.md",
    log:
        f"{LOGS}/report/page.log",
    params:
        title=f"'ctcbench: {PRESET} preset, {PROTOCOL.name} protocol'",
    conda:
        ENV
    shell:
        "python -m ctcbench report-page --title {params.title} --tables {input.tables}"
        " --figures {input.figures} --runs {input.runs} --audit {input.audit} --dataset {input.dataset}"
        " --out {output} > {log} 2>&1"


# Not part of `all`: a projection made before a run (it needs no result of the grid), minutes of CPU on the paper's
# configuration. `snakemake compute` (docs/experiments.md#compute-projection).
rule compute:
    """Projected GPU-hours of the configured grid: each network's FLOPs times the plan's steps (ctcbench compute)."""
    input:
        counts=COMPUTE_COUNTS,
        table3=f"{PAPER_DIR}/{TABLES['table3_backbones'].paper_file}",
    output:
        csv=f"{RESULTS}/compute.csv",
        md=f"{RESULTS}/compute.md",
    log:
        f"{LOGS}/report/compute.log",
    threads: 2
    resources:
        mem_mb=12000,
        runtime=30,
    params:
        config=RESOLVED_CONFIG_JSON,
    conda:
        DETECT_ENV
    shell:
        "python -m ctcbench compute --config-json {params.config:q} --counts {input.counts}"
        " --paper-table3 {input.table3} --threads {threads} --csv {output.csv} --md {output.md} > {log} 2>&1"


if PLAN.defects:

    localrules:
        defect_effects,

    rule defect_effects:
        """Each protocol switch's effect on the main pipeline, paired on the same images (ctcbench defect-effects)."""
        input:
            metrics=DEFECT_INPUTS,
            dataset=DATASET,
        output:
            csv=f"{RESULTS}/tables/{DEFECT_EFFECTS}.csv",
            md=f"{RESULTS}/tables/{DEFECT_EFFECTS}.md",
            html=report(
                f"{RESULTS}/tables/{DEFECT_EFFECTS}.html",
                caption="../report/defect_effects.rst",
                category=REPORT_CATEGORIES["ablations"],
            ),
        log:
            f"{LOGS}/report/{DEFECT_EFFECTS}.log",
        params:
            config=RESOLVED_CONFIG_JSON,
            # results/<preset>: the folder of tables/
            results=lambda wildcards, output: os.path.dirname(
                os.path.dirname(output.csv)
            ),
            bootstrap=BOOTSTRAP_OPTIONS,
        conda:
            ENV
        shell:
            "python -m ctcbench defect-effects --config-json {params.config:q} --results {params.results}"
            " {params.bootstrap} --dataset {input.dataset} --out-csv {output.csv} --out-md {output.md} > {log} 2>&1"
