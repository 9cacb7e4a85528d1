# Applying trained pipelines to new images (docs/apply.md): rule export packs each pairing of export.pairings at
# export.omega into a bundle folder, results/{preset}/bundles/{detector}/{setting}/{trainset}/seed{seed}/omega{omega}/
# (target `bundles`); with apply.images set, rule predict runs a bundle on those images into results/{preset}/apply/.
include: "apply_common.smk"


# Export copies files and recomputes a threshold from JSON: not worth a cluster job.
localrules:
    export,


rule export:
    """One pairing at one omega packed into a bundle folder for new images (ctcbench export)."""
    input:
        unpack(export_inputs),
    output:
        directory(BUNDLE),
    log:
        f"{BUNDLE_LOG}/export-omega{{omega}}.log",
    wildcard_constraints:
        **PIPELINE_CONSTRAINTS,
        omega=r"[0-9.]+",
    conda:
        ENV
    shell:
        "python -m ctcbench export --dataset {input.dataset} --metrics {input.metrics} --scores {input.scores}"
        " --test-list {input.test_list} --val-scores {input.val_scores} --val-list {input.val_list}"
        " --detector {input.detector} --detector-run {input.detector_run} --classifier {input.classifier}"
        " --classifier-run {input.classifier_run} --paper-table {input.paper_table:q} --out {output} > {log} 2>&1"


if APPLY["images"]:

    rule predict:
        """The images of apply.images through a bundle: cells, scores and cancer calls per image (ctcbench predict)."""
        input:
            bundle=applied_bundle(),
            images=APPLY["images"],
        output:
            directory(APPLIED),
        log:
            f"{LOGS}/apply/predict.log",
        threads: CLASSIFY_RESOURCES["threads"]
        resources:
            gpu=CLASSIFY_RESOURCES["gpu"],
            mem_mb=CLASSIFY_RESOURCES["mem_mb"],
            runtime=60,
        params:
            workers=CLASSIFY_RESOURCES["workers"],
        conda:
            DETECT_ENV
        shell:
            "python -m ctcbench predict --bundle {input.bundle:q} --images {input.images:q} --threads {threads}"
            " --workers {params.workers} --out {output} > {log} 2>&1"
