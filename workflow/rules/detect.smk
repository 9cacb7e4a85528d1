# Detection stage: stage pretrained weights -> train every detector run (detectors x settings x seeds on all
# training images, plus the per-patient ablation) -> predict the test images -> detection-stage AP50 / best F1.
# Each run lives in results/{preset}/detect/{detector}/{setting}/{trainset}/seed{seed}/; the classical nucleus
# detector, which trains on nothing, in results/{preset}/detect/classical/nucleus/.
include: "detect_common.smk"


localrules:
    detect_evaluate,
    nucleus_predict,
    nucleus_evaluate,
    random_boxes,


if DETECT_WEIGHTS:

    localrules:
        detect_weights,

    rule detect_weights:
        """A detector's pretrained weights, copied or downloaded and checksummed (ctcbench detect-weights)."""
        output:
            "{weights_file}",
        log:
            f"{LOGS}/detect/weights/{{weights_file}}.log",
        wildcard_constraints:
            weights_file="|".join(re.escape(path) for path in DETECT_WEIGHTS),
        params:
            options=lambda wildcards: detect_weights.weights_options(
                config, wildcards.weights_file
            ),
        conda:
            ENV
        shell:
            "python -m ctcbench detect-weights {params.options} --out {output} > {log} 2>&1"


rule detect_train:
    """Train (or resume) one detector run through MMDetection (ctcbench detect-train)."""
    input:
        unpack(detect_train_inputs),
    output:
        model=f"{DETECT_RUN}/model.pth",
        run=f"{DETECT_RUN}/run.json",
        curves=f"{DETECT_RUN}/curves.csv",
    log:
        f"{DETECT_LOG}/train.log",
    benchmark:
        f"{DETECT_BENCH}/train.tsv"
    wildcard_constraints:
        **DETECT_CONSTRAINTS,
    threads: DETECT["threads"]
    resources:
        gpu=DETECT_RESOURCES["gpu"],
        mem_mb=DETECT_RESOURCES["mem_mb"],
        runtime=DETECT_RESOURCES["runtime"],
    params:
        spec=lambda wildcards: detector_spec(
            config_of(wildcards), detect_run(wildcards)
        ).to_json(),
        weights=lambda wildcards, input: (
            f"--weights {input.weights}" if input.weights else ""
        ),
        val=lambda wildcards, input: (
            f"--val-list {input.val_list}" if "val_list" in input.keys() else ""
        ),
    conda:
        DETECT_ENV
    shell:
        "python -m ctcbench detect-train --dataset {input.dataset} --train-list {input.train_list}"
        " --spec {params.spec:q} {params.weights} {params.val} --threads {threads}"
        " --model {output.model} --run-json {output.run} --curves {output.curves} > {log} 2>&1"


# Test predictions feed the tables; with a held-out image threshold the detectors also predict the val images, on
# which the pipeline chooses its score threshold before applying it to test (plan.Plan.predicted_splits).
rule detect_predict:
    """A trained detector's predictions on one split (ctcbench detect-predict)."""
    input:
        dataset=DATASET,
        image_list=lambda wildcards: image_list(split_of(wildcards.split)),
        model=detect_model,
    output:
        f"{DETECT_RUN}/predictions{{split}}.json",
    log:
        f"{DETECT_LOG}/predict{{split}}.log",
    benchmark:
        f"{DETECT_BENCH}/predict{{split}}.tsv"
    wildcard_constraints:
        **DETECT_CONSTRAINTS,
        split=SPLIT_PATTERN,
    threads: DETECT["threads"]
    resources:
        gpu=DETECT_RESOURCES["gpu"],
        mem_mb=DETECT_RESOURCES["mem_mb"],
        runtime=60,
    params:
        batch_size=DETECT["batch_size"],
    conda:
        DETECT_ENV
    shell:
        "python -m ctcbench detect-predict --dataset {input.dataset} --image-list {input.image_list}"
        " --model {input.model} --batch-size {params.batch_size} --threads {threads}"
        " --out {output} > {log} 2>&1"


rule detect_evaluate:
    """Detection-stage AP50 and best F1 of one detector run, with its per-image matches (ctcbench detect-evaluate)."""
    input:
        **DETECT_VAL_INPUTS,
        dataset=DATASET,
        test_list=image_list("test"),
        predictions=f"{DETECT_RUN}/{split_file('predictions', 'test')}",
    output:
        metrics=f"{DETECT_RUN}/metrics.json",
        per_image=str(per_image_path(f"{DETECT_RUN}/metrics.json")),
    log:
        f"{DETECT_LOG}/evaluate.log",
    wildcard_constraints:
        **DETECT_CONSTRAINTS,
    params:
        annotator=config["dataset"]["test_annotator"],
        protocol=PROTOCOL.name,
        nms_iou=config["pipeline"]["nms_iou"],
        val=evaluate_val_option,
    conda:
        ENV
    shell:
        "python -m ctcbench detect-evaluate --dataset {input.dataset} --image-list {input.test_list}"
        " --predictions {input.predictions} --test-annotator {params.annotator}"
        " --protocol {params.protocol:q} --nms-iou {params.nms_iou} {params.val} --out {output.metrics}"
        " --per-image {output.per_image} > {log} 2>&1"


# The classical nucleus detector: the Hoechst channel alone, no training, no GPU (docs/metrics.md#nucleus-detector);
# its predictions are scored by the trained detectors' evaluation.
rule nucleus_predict:
    """The classical nucleus detector's boxes on one split, from the Hoechst channel alone (ctcbench nucleus-predict)."""
    input:
        dataset=DATASET,
        image_list=lambda wildcards: image_list(split_of(wildcards.split)),
    output:
        f"{NUCLEUS_RUN}/predictions{{split}}.json",
    log:
        f"{LOGS}/detect/classical/{NUCLEUS}/predict{{split}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/detect/classical/{NUCLEUS}/predict{{split}}.tsv"
    wildcard_constraints:
        split=SPLIT_PATTERN,
    params:
        reader=PROTOCOL.image_read,
        params=NUCLEUS_PARAMS,
    conda:
        ENV
    shell:
        "python -m ctcbench nucleus-predict --dataset {input.dataset} --image-list {input.image_list}"
        " --reader {params.reader} --params {params.params:q} --out {output} > {log} 2>&1"


rule nucleus_evaluate:
    """Detection-stage AP50 and best F1 of the nucleus detector, as a trained detector's (ctcbench nucleus-evaluate)."""
    input:
        **NUCLEUS_VAL_INPUTS,
        dataset=DATASET,
        test_list=image_list("test"),
        predictions=f"{NUCLEUS_RUN}/{split_file('predictions', 'test')}",
    output:
        metrics=f"{NUCLEUS_RUN}/metrics.json",
        per_image=str(per_image_path(f"{NUCLEUS_RUN}/metrics.json")),
    log:
        f"{LOGS}/detect/classical/{NUCLEUS}/evaluate.log",
    params:
        annotator=config["dataset"]["test_annotator"],
        protocol=PROTOCOL.name,
        nms_iou=config["pipeline"]["nms_iou"],
        val=evaluate_val_option,
    conda:
        ENV
    shell:
        "python -m ctcbench nucleus-evaluate --dataset {input.dataset} --image-list {input.test_list}"
        " --predictions {input.predictions} --test-annotator {params.annotator}"
        " --protocol {params.protocol:q} --nms-iou {params.nms_iou} {params.val} --out {output.metrics}"
        " --per-image {output.per_image} > {log} 2>&1"


# Random boxes, a control of the image level (docs/metrics.md#controls): one draw per seed of report.controls, no
# image read but their headers, scored by the detection stage's evaluation.
rule random_boxes:
    """One draw of random boxes of the test images' cancer-cell counts and sizes, a control (ctcbench random-boxes)."""
    input:
        **RANDOM_BOXES_VAL_INPUTS,
        dataset=DATASET,
        test_list=image_list("test"),
    output:
        metrics=f"{CONTROL_RUN}/metrics.json",
        per_image=str(per_image_path(f"{CONTROL_RUN}/metrics.json")),
    log:
        f"{CONTROL_LOG}/evaluate.log",
    benchmark:
        f"{CONTROL_BENCH}/evaluate.tsv"
    wildcard_constraints:
        control=RANDOM_BOXES,
        setting=ANY_SETTING,
        seed=r"\d+",
    params:
        annotator=config["dataset"]["test_annotator"],
        protocol=PROTOCOL.name,
        nms_iou=config["pipeline"]["nms_iou"],
        val=lambda wildcards, input: (
            f"--val-list {input.val_list}" if "val_list" in input.keys() else ""
        ),
    conda:
        ENV
    shell:
        "python -m ctcbench random-boxes --dataset {input.dataset} --image-list {input.test_list}"
        " --seed {wildcards.seed} --test-annotator {params.annotator} --protocol {params.protocol:q}"
        " --nms-iou {params.nms_iou} {params.val} --out {output.metrics} --per-image {output.per_image} > {log} 2>&1"
