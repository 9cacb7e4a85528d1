# The effect of each original defect (plan.defects, docs/metrics.md#defect-effects): Table 4's main pipeline under
# each defect variant, every run in results/{preset}/defects/<variant>/ laid out as results/{preset}/ is. Each rule is
# the grid's own with its files moved there; a job's protocol, specs and input folders follow its `variant` wildcard
# (common.smk protocol_of, config_of, root_of), and a variant has jobs only for the runs that read its switch.
include: "defects_common.smk"


localrules:
    defect_pipeline_evaluate,


use rule classify_train as defect_classify_train with:
    output:
        best=f"{VARIANT_CLASSIFY_RUN}/best.pt",
        final=f"{VARIANT_CLASSIFY_RUN}/final.pt",
        run=f"{VARIANT_CLASSIFY_RUN}/run.json",
        curves=f"{VARIANT_CLASSIFY_RUN}/curves.csv",
    log:
        f"{VARIANT_CLASSIFY_LOG}/train.log",
    benchmark:
        f"{VARIANT_CLASSIFY_BENCH}/train.tsv"
    wildcard_constraints:
        **CLASSIFY_CONSTRAINTS,
        variant=variant_pattern(
            config, CLASSIFIER, lambda protocol: not cross_fitted(protocol)
        ),


# A cross-fitted checkpoint also keeps the checkpoint chosen on each val half.
use rule classify_train as defect_classify_train_cross_fitted with:
    output:
        best=f"{VARIANT_CLASSIFY_RUN}/best.pt",
        final=f"{VARIANT_CLASSIFY_RUN}/final.pt",
        run=f"{VARIANT_CLASSIFY_RUN}/run.json",
        curves=f"{VARIANT_CLASSIFY_RUN}/curves.csv",
        halves=half_checkpoints(VARIANT_CLASSIFY_RUN),
    log:
        f"{VARIANT_CLASSIFY_LOG}/train.log",
    benchmark:
        f"{VARIANT_CLASSIFY_BENCH}/train.tsv"
    wildcard_constraints:
        **CLASSIFY_CONSTRAINTS,
        variant=variant_pattern(config, CLASSIFIER, cross_fitted),


use rule classify_eval as defect_classify_eval with:
    output:
        metrics=f"{VARIANT_CLASSIFY_RUN}/metrics.json",
        per_image=str(per_image_path(f"{VARIANT_CLASSIFY_RUN}/metrics.json")),
        embeddings=f"{VARIANT_CLASSIFY_RUN}/embeddings.npz",
    log:
        f"{VARIANT_CLASSIFY_LOG}/eval.log",
    benchmark:
        f"{VARIANT_CLASSIFY_BENCH}/eval.tsv"
    wildcard_constraints:
        **CLASSIFY_CONSTRAINTS,
        variant=variant_pattern(config, CLASSIFIER),


use rule detect_train as defect_detect_train with:
    output:
        model=f"{VARIANT_DETECT_RUN}/model.pth",
        run=f"{VARIANT_DETECT_RUN}/run.json",
        curves=f"{VARIANT_DETECT_RUN}/curves.csv",
    log:
        f"{VARIANT_DETECT_LOG}/train.log",
    benchmark:
        f"{VARIANT_DETECT_BENCH}/train.tsv"
    wildcard_constraints:
        **DETECT_CONSTRAINTS,
        variant=variant_pattern(config, DETECTOR),


use rule detect_predict as defect_detect_predict with:
    output:
        f"{VARIANT_DETECT_RUN}/predictions{{split}}.json",
    log:
        f"{VARIANT_DETECT_LOG}/predict{{split}}.log",
    benchmark:
        f"{VARIANT_DETECT_BENCH}/predict{{split}}.tsv"
    wildcard_constraints:
        **DETECT_CONSTRAINTS,
        split=SPLIT_PATTERN,
        variant=variant_pattern(config, DETECTOR),


use rule pipeline_score as defect_pipeline_score with:
    output:
        f"{VARIANT_PIPELINE_RUN}/scores{{split}}.json",
    log:
        f"{VARIANT_PIPELINE_LOG}/score{{split}}.log",
    benchmark:
        f"{VARIANT_PIPELINE_BENCH}/score{{split}}.tsv"
    wildcard_constraints:
        **PIPELINE_CONSTRAINTS,
        split=SPLIT_PATTERN,
        variant=variant_pattern(config, IMAGE),


use rule pipeline_evaluate as defect_pipeline_evaluate with:
    output:
        metrics=f"{VARIANT_PIPELINE_RUN}/omega{{omega}}/metrics{{annotator}}.json",
        per_image=str(
            per_image_path(
                f"{VARIANT_PIPELINE_RUN}/omega{{omega}}/metrics{{annotator}}.json"
            )
        ),
    log:
        f"{VARIANT_PIPELINE_LOG}/evaluate-omega{{omega}}{{annotator}}.log",
    wildcard_constraints:
        **PIPELINE_CONSTRAINTS,
        omega=r"[0-9.]+",
        annotator=PIPELINE_ANNOTATOR_SUFFIX,
        variant=variant_pattern(config, IMAGE),
