# Image-level pipeline (docs/protocol.md#image-level-pipeline): detector run i's test proposals are scored by classifier run i,
# the scores fused at each omega and evaluated on the test images; then Tables 4, 5 and 6. Each pairing lives in
# results/{preset}/pipeline/{detector}/{setting}/{trainset}/seed{seed}/, `trainset` being the classifier's.
include: "pipeline_common.smk"


# Evaluation and tables are seconds of JSON arithmetic: not worth a cluster job each.
localrules:
    pipeline_evaluate,
    pipeline_oracle,
    nucleus_features,


rule pipeline_score:
    """Classifier scores of a detector run's proposals on one split (ctcbench pipeline-score)."""
    input:
        dataset=DATASET,
        image_list=lambda wildcards: image_list(split_of(wildcards.split)),
        predictions=pipeline_predictions,
        classifier=pipeline_classifier,
    output:
        f"{PIPELINE_RUN}/scores{{split}}.json",
    log:
        f"{PIPELINE_LOG}/score{{split}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/pipeline/{{detector}}/{{setting}}/{{trainset}}/seed{{seed}}/score{{split}}.tsv"
    wildcard_constraints:
        **PIPELINE_CONSTRAINTS,
        split=SPLIT_PATTERN,
    threads: CLASSIFY_RESOURCES["threads"]
    resources:
        gpu=CLASSIFY_RESOURCES["gpu"],
        mem_mb=CLASSIFY_RESOURCES["mem_mb"],
        runtime=60,
    params:
        protocol=lambda wildcards: protocol_of(wildcards).name,
        nms_iou=PIPELINE["nms_iou"],
        workers=CLASSIFY_RESOURCES["workers"],
    conda:
        ENV
    shell:
        "python -m ctcbench pipeline-score --dataset {input.dataset} --image-list {input.image_list}"
        " --predictions {input.predictions} --classifier {input.classifier} --protocol {params.protocol:q}"
        " --nms-iou {params.nms_iou} --threads {threads} --workers {params.workers}"
        " --out {output} > {log} 2>&1"


rule pipeline_evaluate:
    """Image-level AP50, best F1 and per-image matches of a pairing at one omega (ctcbench pipeline-evaluate)."""
    input:
        unpack(pipeline_evaluate_inputs),
    output:
        metrics=f"{PIPELINE_RUN}/omega{{omega}}/metrics{{annotator}}.json",
        per_image=str(
            per_image_path(f"{PIPELINE_RUN}/omega{{omega}}/metrics{{annotator}}.json")
        ),
    log:
        f"{PIPELINE_LOG}/evaluate-omega{{omega}}{{annotator}}.log",
    wildcard_constraints:
        **PIPELINE_CONSTRAINTS,
        omega=r"[0-9.]+",
        annotator=PIPELINE_ANNOTATOR_SUFFIX,
    params:
        protocol=lambda wildcards: protocol_of(wildcards).name,
        nms_iou=PIPELINE["nms_iou"],
        annotator=pipeline_annotator,
        val=lambda wildcards, input: (
            f"--val-scores {input.val_scores} --val-list {input.val_list}"
            if "val_scores" in input.keys()
            else ""
        ),
    conda:
        ENV
    shell:
        "python -m ctcbench pipeline-evaluate --dataset {input.dataset} --image-list {input.image_list}"
        " --scores {input.scores} --omega {wildcards.omega} --protocol {params.protocol:q}"
        " --nms-iou {params.nms_iou} --test-annotator {params.annotator} {params.val}"
        " --out {output.metrics} --per-image {output.per_image} > {log} 2>&1"


# The error decomposition (docs/metrics.md#error-decomposition): each stage of a pairing made perfect in turn, scored at
# omega 1 with the pipeline's evaluation, beside its per-image record.
rule pipeline_oracle:
    """A pairing's test proposals with a perfect classifier, and the detector's recall ceiling (ctcbench pipeline-oracle)."""
    input:
        dataset=DATASET,
        image_list=image_list("test"),
        scores=f"{PIPELINE_RUN}/{split_file('scores', 'test')}",
    output:
        metrics=f"{PIPELINE_RUN}/{ORACLE_CLASSIFIER}/metrics.json",
        per_image=str(
            per_image_path(f"{PIPELINE_RUN}/{ORACLE_CLASSIFIER}/metrics.json")
        ),
    log:
        f"{PIPELINE_LOG}/{ORACLE_CLASSIFIER}.log",
    benchmark:
        f"{Pairing.benchmarks_template(RESULTS)}/{ORACLE_CLASSIFIER}.tsv"
    wildcard_constraints:
        **PIPELINE_CONSTRAINTS,
    params:
        protocol=PROTOCOL.name,
        nms_iou=PIPELINE["nms_iou"],
        annotator=config["dataset"]["test_annotator"],
    conda:
        ENV
    shell:
        "python -m ctcbench pipeline-oracle --dataset {input.dataset} --image-list {input.image_list}"
        " --scores {input.scores} --protocol {params.protocol:q} --nms-iou {params.nms_iou}"
        " --test-annotator {params.annotator} --out {output.metrics} --per-image {output.per_image} > {log} 2>&1"


rule pipeline_localised:
    """The ground-truth boxes and the detector's misses scored by a pairing's classifier (ctcbench pipeline-localised)."""
    input:
        dataset=DATASET,
        image_list=image_list("test"),
        scores=f"{PIPELINE_RUN}/{split_file('scores', 'test')}",
        classifier=lambda wildcards: (
            f"{pipeline_run(wildcards).classifier.path(RESULTS)}/best.pt"
        ),
    output:
        scores=f"{PIPELINE_RUN}/{PERFECT_LOCALISATION}/scores.json",
        metrics=f"{PIPELINE_RUN}/{PERFECT_LOCALISATION}/metrics.json",
        per_image=str(
            per_image_path(f"{PIPELINE_RUN}/{PERFECT_LOCALISATION}/metrics.json")
        ),
    log:
        f"{PIPELINE_LOG}/{PERFECT_LOCALISATION}.log",
    benchmark:
        f"{Pairing.benchmarks_template(RESULTS)}/{PERFECT_LOCALISATION}.tsv"
    wildcard_constraints:
        **PIPELINE_CONSTRAINTS,
    threads: CLASSIFY_RESOURCES["threads"]
    resources:
        gpu=CLASSIFY_RESOURCES["gpu"],
        mem_mb=CLASSIFY_RESOURCES["mem_mb"],
        runtime=30,
    params:
        protocol=PROTOCOL.name,
        nms_iou=PIPELINE["nms_iou"],
        annotator=config["dataset"]["test_annotator"],
        workers=CLASSIFY_RESOURCES["workers"],
    conda:
        ENV
    shell:
        "python -m ctcbench pipeline-localised --dataset {input.dataset} --image-list {input.image_list}"
        " --scores {input.scores} --classifier {input.classifier} --protocol {params.protocol:q}"
        " --nms-iou {params.nms_iou} --test-annotator {params.annotator} --threads {threads}"
        " --workers {params.workers} --out-scores {output.scores} --out {output.metrics}"
        " --per-image {output.per_image} > {log} 2>&1"


# The nucleus detector with a feature classifier, a control of the image level (docs/metrics.md#controls): a
# logistic regression on hand-made crop features of one setting re-scores the nucleus detector's boxes; seconds of CPU.
rule nucleus_features:
    """Nucleus detector boxes re-scored by a feature classifier of one setting, a control (ctcbench nucleus-features)."""
    input:
        **NUCLEUS_VAL_INPUTS,
        dataset=DATASET,
        test_list=image_list("test"),
        predictions=f"{NUCLEUS_RUN}/{split_file('predictions', 'test')}",
        train_crops=crop_cache("train"),
    output:
        metrics=f"{CONTROL_RUN}/metrics.json",
        per_image=str(per_image_path(f"{CONTROL_RUN}/metrics.json")),
    log:
        f"{CONTROL_LOG}/evaluate.log",
    benchmark:
        f"{CONTROL_BENCH}/evaluate.tsv"
    wildcard_constraints:
        control=NUCLEUS_FEATURES,
        setting=DETECT_CONSTRAINTS["setting"],
        seed=r"\d+",
    params:
        annotator=config["dataset"]["test_annotator"],
        protocol=PROTOCOL.name,
        nms_iou=PIPELINE["nms_iou"],
        val=evaluate_val_option,
    conda:
        ENV
    shell:
        "python -m ctcbench nucleus-features --dataset {input.dataset} --image-list {input.test_list}"
        " --predictions {input.predictions} --train-crops {input.train_crops} --setting {wildcards.setting}"
        " --seed {wildcards.seed} --test-annotator {params.annotator} --protocol {params.protocol:q}"
        " --nms-iou {params.nms_iou} {params.val} --out {output.metrics} --per-image {output.per_image} > {log} 2>&1"


# The nucleus detector as the pipeline's proposal source, a control of the image level (docs/metrics.md#controls): its
# boxes scored by the main classifier run of one setting and seed, at omega 1.
rule nucleus_classifier:
    """Nucleus detector boxes scored by a trained classifier run, a control (ctcbench nucleus-classifier)."""
    input:
        **NUCLEUS_VAL_INPUTS,
        dataset=DATASET,
        test_list=image_list("test"),
        predictions=f"{NUCLEUS_RUN}/{split_file('predictions', 'test')}",
        classifier=nucleus_classifier_checkpoint,
    output:
        metrics=f"{CONTROL_RUN}/metrics.json",
        per_image=str(per_image_path(f"{CONTROL_RUN}/metrics.json")),
    log:
        f"{CONTROL_LOG}/evaluate.log",
    benchmark:
        f"{CONTROL_BENCH}/evaluate.tsv"
    wildcard_constraints:
        control=NUCLEUS_CLASSIFIER,
        setting=DETECT_CONSTRAINTS["setting"],
        seed=r"\d+",
    threads: CLASSIFY_RESOURCES["threads"]
    resources:
        gpu=CLASSIFY_RESOURCES["gpu"],
        mem_mb=CLASSIFY_RESOURCES["mem_mb"],
        runtime=30,
    params:
        annotator=config["dataset"]["test_annotator"],
        protocol=PROTOCOL.name,
        nms_iou=PIPELINE["nms_iou"],
        val=evaluate_val_option,
        workers=CLASSIFY_RESOURCES["workers"],
    conda:
        ENV
    shell:
        "python -m ctcbench nucleus-classifier --dataset {input.dataset} --image-list {input.test_list}"
        " --predictions {input.predictions} --classifier {input.classifier} --test-annotator {params.annotator}"
        " --protocol {params.protocol:q} --nms-iou {params.nms_iou} {params.val} --threads {threads}"
        " --workers {params.workers} --out {output.metrics} --per-image {output.per_image} > {log} 2>&1"
