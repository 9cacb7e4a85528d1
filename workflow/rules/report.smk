# Figures from the run records: Fig. 7 (confusion), Figs 8 and 10 (UMAP of the val embeddings by class and by
# patient), Fig. 9 (test predictions of the full pipeline), Fig. 11 (training fraction). The PNGs come with the
# numbers they plot as CSV.
include: "report_common.smk"


localrules:
    report_page,
    training_curves,


rule report_figures:
    """Figs 7-11 as PNG with their plotted numbers as CSV (ctcbench figures)."""
    input:
        unpack(fig9_inputs),
        runs=figure_runs(),
        embeddings=figure_embeddings(),
    output:
        [figure_output(name) for name in FIGURE_FILES + FIG9_FILES],
    log:
        f"{LOGS}/report/figures.log",
    threads: 2
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
        backbone=CLASSIFY["main_backbone"],
        fraction_backbone=config["ablations"]["fractions"]["backbone"],
        qualitative=lambda wildcards, input: (
            f"--scores {input.scores} --pipeline-metrics {input.pipeline_metrics}"
            f" --dataset {input.dataset}"
            if "scores" in input.keys()
            else ""
        ),
        settings=" ".join(
            s for s in ("bf_fluo", "bf", "bf_hoechst") if s in config["settings"]
        ),
    conda:
        ENV
    shell:
        "python -m ctcbench figures --runs {input.runs} --embeddings {input.embeddings}"
        " --backbone {params.backbone} --fraction-backbone {params.fraction_backbone}"
        " --settings {params.settings} {params.qualitative} --out-dir {params.out_dir} > {log} 2>&1"


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
    """report.md: every regenerated table and figure in the paper's order (ctcbench report)."""
    input:
        tables=report_tables(),
        figures=[
            f"{RESULTS}/figures/{name}"
            for name in FIGURE_FILES + FIG9_FILES + CURVE_FILES
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
        "python -m ctcbench report --title {params.title} --tables {input.tables}"
        " --figures {input.figures} --runs {input.runs} --audit {input.audit} --dataset {input.dataset}"
        " --out {output} > {log} 2>&1"
