# Classification stage: stage weights -> train every classifier of the grid -> evaluate on val (metrics,
# embeddings) -> Tables 2 and 3. The drop-U runs of all seeds pseudo-label the unknown cells for Table 5.
include: "classify_common.smk"


localrules:
    stage_weights,
    classify_tables,
    classify_runs_table,


rule stage_weights:
    """A backbone's ImageNet weights as a checksummed file under resources/weights/ (ctcbench stage-weights)."""
    output:
        f"{CLASSIFY['weights_dir']}/{{timm_name}}.safetensors",
    log:
        f"{LOGS}/classify/stage_weights/{{timm_name}}.log",
    wildcard_constraints:
        timm_name=classify_regex(spec["timm"] for spec in CLASSIFY_BACKBONES.values()),
    conda:
        ENV
    shell:
        "python -m ctcbench stage-weights --model {wildcards.timm_name} --out {output} > {log} 2>&1"


rule classify_train:
    """Train (or resume) one classifier run (ctcbench classify-train)."""
    input:
        unpack(classify_train_inputs),
    output:
        best=f"{CLASSIFY_RUN}/best.pt",
        final=f"{CLASSIFY_RUN}/final.pt",
        run=f"{CLASSIFY_RUN}/run.json",
        curves=f"{CLASSIFY_RUN}/curves.csv",
    log:
        f"{CLASSIFY_LOG}/train.log",
    benchmark:
        f"{CLASSIFY_BENCH}/train.tsv"
    wildcard_constraints:
        backbone=classify_regex(CLASSIFY_BACKBONES),
        setting=classify_regex(config["settings"]),
        trainset=wildcard_pattern(),
        seed=r"\d+",
    threads: CLASSIFY_RESOURCES["threads"]
    resources:
        gpu=CLASSIFY_RESOURCES["gpu"],
        mem_mb=CLASSIFY_RESOURCES["mem_mb"],
        runtime=classify_runtime,
    params:
        spec=lambda wildcards: classify_spec(wildcards).to_json(),
        weights_dir=CLASSIFY["weights_dir"],
        out_dir=lambda wildcards, output: os.path.dirname(output.run),
        workers=CLASSIFY_RESOURCES["workers"],
        resume_every=CLASSIFY["resume_every"],
    conda:
        ENV
    shell:
        "python -m ctcbench classify-train --spec {params.spec:q} --weights-dir {params.weights_dir:q}"
        " --train-cache {input.train} --val-cache {input.val} --trainset-file {input.trainset}"
        " --out-dir {params.out_dir} --threads {threads} --workers {params.workers}"
        " --resume-every {params.resume_every} > {log} 2>&1"


rule classify_eval:
    """Cell-level metrics and embeddings of one classifier run on the val crops (ctcbench classify-eval)."""
    input:
        best=f"{CLASSIFY_RUN}/best.pt",
        run=f"{CLASSIFY_RUN}/run.json",
        val=crop_cache("val"),
    output:
        metrics=f"{CLASSIFY_RUN}/metrics.json",
        embeddings=f"{CLASSIFY_RUN}/embeddings.npz",
    log:
        f"{CLASSIFY_LOG}/eval.log",
    benchmark:
        f"{CLASSIFY_BENCH}/eval.tsv"
    wildcard_constraints:
        backbone=classify_regex(CLASSIFY_BACKBONES),
        seed=r"\d+",
    threads: CLASSIFY_RESOURCES["threads"]
    resources:
        gpu=CLASSIFY_RESOURCES["gpu"],
        mem_mb=CLASSIFY_RESOURCES["mem_mb"],
        runtime=30,
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),
        split_seed=CLASSIFY["threshold_split_seed"],
        workers=CLASSIFY_RESOURCES["workers"],
    conda:
        ENV
    shell:
        "python -m ctcbench classify-eval --run-dir {params.out_dir} --val-cache {input.val}"
        " --split-seed {params.split_seed} --threads {threads} --workers {params.workers} > {log} 2>&1"


if PSEUDO_SETS:

    rule pseudo_labels:
        """The pseudo-labelled unknown-cell training sets of Table 5 (ctcbench pseudo-labels)."""
        input:
            models=classify_pseudo_models,
            cache=crop_cache("train"),
            base=f"{TRAINSETS}/{trainset(PSEUDO_BASE).list_file()}",
            candidates=f"{TRAINSETS}/{trainset(PSEUDO_CANDIDATES).list_file()}",
        output:
            all=f"{TRAINSETS}/{PSEUDO_SETS[0].list_file()}",
            confident=f"{TRAINSETS}/{PSEUDO_SETS[1].list_file()}",
            scores=f"{RESULTS}/classify/pseudo_labels/scores.tsv",
            summary=f"{RESULTS}/classify/pseudo_labels/summary.json",
        log:
            f"{LOGS}/classify/pseudo_labels.log",
        benchmark:
            f"{RESULTS}/benchmarks/classify/pseudo_labels.tsv"
        threads: CLASSIFY_RESOURCES["threads"]
        resources:
            gpu=CLASSIFY_RESOURCES["gpu"],
            mem_mb=CLASSIFY_RESOURCES["mem_mb"],
            runtime=60,
        params:
            threshold=PSEUDO_SETS[1].number,
            workers=CLASSIFY_RESOURCES["workers"],
        conda:
            ENV
        shell:
            "python -m ctcbench pseudo-labels --models {input.models} --train-cache {input.cache}"
            " --base {input.base} --candidates {input.candidates} --threshold {params.threshold}"
            " --out-all {output.all} --out-confident {output.confident} --scores {output.scores}"
            " --summary {output.summary} --threads {threads} --workers {params.workers} > {log} 2>&1"


rule classify_tables:
    """Tables 2 and 3 beside the paper's numbers (ctcbench classify-table)."""
    input:
        metrics=classify_metrics({"table2", "table3"}),
        paper2=os.path.join(PAPER_TABLES, "table2_cell_level.csv"),
        paper3=os.path.join(PAPER_TABLES, "table3_backbones.csv"),
        dataset=DATASET,
    output:
        table2_csv=f"{RESULTS}/tables/table2_cell_level.csv",
        table2_md=f"{RESULTS}/tables/table2_cell_level.md",
        table2_html=report_table("table2_cell_level", "cell_level"),
        table3_csv=f"{RESULTS}/tables/table3_backbones.csv",
        table3_md=f"{RESULTS}/tables/table3_backbones.md",
        table3_html=report_table("table3_backbones", "cell_level"),
    log:
        f"{LOGS}/classify/tables.log",
    params:
        main=CLASSIFY["main_backbone"],
        backbones=" ".join(CLASSIFY["grid"]),
        labels=" ".join(
            f"'{key}={spec['paper']}'" for key, spec in CLASSIFY_BACKBONES.items()
        ),
    conda:
        ENV
    shell:
        "python -m ctcbench classify-table --metrics {input.metrics} --main-backbone {params.main}"
        " --backbones {params.backbones} --labels {params.labels}"
        " --paper-table2 {input.paper2} --paper-table3 {input.paper3}"
        " --table2-csv {output.table2_csv} --table2-md {output.table2_md}"
        " --table3-csv {output.table3_csv} --table3-md {output.table3_md} --dataset {input.dataset} > {log} 2>&1"


rule classify_runs_table:
    """One row per classifier run (ctcbench classify-table --runs-csv)."""
    input:
        classify_metrics(),
    output:
        f"{RESULTS}/classify/runs.csv",
    log:
        f"{LOGS}/classify/runs_table.log",
    conda:
        ENV
    shell:
        "python -m ctcbench classify-table --metrics {input} --runs-csv {output} > {log} 2>&1"
