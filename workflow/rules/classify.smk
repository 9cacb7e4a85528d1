# Classification stage: stage weights -> train every classifier of the grid -> evaluate on val (metrics,
# embeddings) -> Tables 2 and 3. The drop-U runs of all seeds pseudo-label the unknown cells for Table 5.
include: "classify_common.smk"
include: "kfold_common.smk"


if CLASSIFY_WEIGHTS:

    localrules:
        stage_weights,

    rule stage_weights:
        """A backbone's ImageNet weights as a checksummed file under resources/weights/ (ctcbench stage-weights)."""
        output:
            "{classifier_weights}",
        log:
            f"{LOGS}/classify/stage_weights/{{classifier_weights}}.log",
        wildcard_constraints:
            classifier_weights=classify_regex(CLASSIFY_WEIGHTS),
        params:
            options=lambda wildcards: stage_options(
                CLASSIFY_WEIGHTS[wildcards.classifier_weights]
            ),
        conda:
            ENV
        shell:
            "python -m ctcbench stage-weights {params.options} --out {output} > {log} 2>&1"


rule classify_train:
    """Train (or resume) one classifier run (ctcbench classify-train)."""
    input:
        unpack(classify_train_inputs),
    output:
        best=f"{CLASSIFY_RUN}/best.pt",
        final=f"{CLASSIFY_RUN}/final.pt",
        run=f"{CLASSIFY_RUN}/run.json",
        curves=f"{CLASSIFY_RUN}/curves.csv",
        halves=classify_half_checkpoints(),
    log:
        f"{CLASSIFY_LOG}/train.log",
    benchmark:
        f"{CLASSIFY_BENCH}/train.tsv"
    wildcard_constraints:
        **CLASSIFY_CONSTRAINTS,
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
        speed=classify_speed_options(),
    conda:
        ENV
    shell:
        "python -m ctcbench classify-train --spec {params.spec:q} --weights-dir {params.weights_dir:q}"
        " --train-cache {input.train} --val-cache {input.val} --trainset-file {input.trainset}"
        " --out-dir {params.out_dir} --threads {threads} --workers {params.workers}"
        " --resume-every {params.resume_every} {params.speed} > {log} 2>&1"


rule classify_eval:
    """Cell-level metrics, per-crop records and embeddings of one run on the val crops (ctcbench classify-eval)."""
    input:
        unpack(classify_eval_inputs),
    output:
        metrics=f"{CLASSIFY_RUN}/metrics.json",
        per_image=str(per_image_path(f"{CLASSIFY_RUN}/metrics.json")),
        embeddings=f"{CLASSIFY_RUN}/embeddings.npz",
    log:
        f"{CLASSIFY_LOG}/eval.log",
    benchmark:
        f"{CLASSIFY_BENCH}/eval.tsv"
    wildcard_constraints:
        backbone=classify_regex(CLASSIFY_BACKBONES),
        trainset=wildcard_pattern(),
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


rule classify_bf_only:
    """Train and evaluate one run of the brightfield-only track (ctcbench classify-bf-only)."""
    input:
        unpack(classify_train_inputs),
    output:
        best=f"{CLASSIFY_RUN}/best.pt",
        halves=classify_half_checkpoints(),
        metrics=f"{CLASSIFY_RUN}/metrics.json",
        per_image=str(per_image_path(f"{CLASSIFY_RUN}/metrics.json")),
        curves=f"{CLASSIFY_RUN}/curves.csv",
        run=f"{CLASSIFY_RUN}/run.json",
    log:
        f"{CLASSIFY_LOG}/bf_only.log",
    benchmark:
        f"{CLASSIFY_BENCH}/bf_only.tsv"
    wildcard_constraints:
        backbone=classify_regex(CLASSIFY_BACKBONES),
        setting="bf",
        trainset=wildcard_pattern(trainer="classify_bf_only"),
        seed=r"\d+",
    threads: CLASSIFY_RESOURCES["threads"]
    resources:
        gpu=CLASSIFY_RESOURCES["gpu"],
        mem_mb=CLASSIFY_RESOURCES["mem_mb"],
        runtime=CLASSIFY_RESOURCES["runtime"],
    params:
        spec=lambda wildcards: bf_only_spec(
            config, wildcards.backbone, wildcards.trainset, wildcards.seed
        ).to_json(),
        weights_dir=CLASSIFY["weights_dir"],
        out_dir=lambda wildcards, output: os.path.dirname(output.run),
    conda:
        ENV
    shell:
        "python -m ctcbench classify-bf-only --spec {params.spec:q} --weights-dir {params.weights_dir:q}"
        " --train-cache {input.train} --val-cache {input.val} --trainset-file {input.trainset}"
        " --out-dir {params.out_dir} --threads {threads} > {log} 2>&1"


rule classify_kfold:
    """One run of the k-fold track: every fold of one network in one setting, scored (ctcbench classify-kfold)."""
    input:
        unpack(kfold_inputs),
    output:
        metrics=f"{KFOLD_RUN}/metrics.json",
        scores=f"{KFOLD_RUN}/scores.csv",
        confusion=f"{KFOLD_RUN}/confusion.csv",
        splits=f"{KFOLD_RUN}/splits.csv",
    log:
        f"{KFOLD_LOG}/kfold.log",
    benchmark:
        f"{KFOLD_BENCH}/kfold.tsv"
    wildcard_constraints:
        setting=classify_regex(config["settings"]),
        init="scratch|imagenet",
        scheme="stratified|grouped",
        seed=r"\d+",
    threads: CLASSIFY_RESOURCES["threads"]
    resources:
        gpu=CLASSIFY_RESOURCES["gpu"],
        mem_mb=CLASSIFY_RESOURCES["mem_mb"],
        runtime=CLASSIFY_RESOURCES["runtime"],
    params:
        spec=lambda wildcards: kfold_spec(config, kfold_run(wildcards)).to_json(),
        weights_dir=CLASSIFY["weights_dir"],
        out_dir=lambda wildcards, output: os.path.dirname(output.metrics),
    conda:
        ENV
    shell:
        "python -m ctcbench classify-kfold --spec {params.spec:q} --weights-dir {params.weights_dir:q}"
        " --train-cache {input.train} --val-cache {input.val} --out-dir {params.out_dir}"
        " --threads {threads} > {log} 2>&1"


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
