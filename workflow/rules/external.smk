# Methods ctcbench did not train (config external_methods): each entry's file scored exactly as the built-in models
# (ctcbench score); the tables and results.csv read the metrics beside theirs.
include: "external_common.smk"


rule score:
    """Score one configured external method exactly as the built-in models (ctcbench score)."""
    input:
        unpack(score_inputs),
    output:
        metrics=f"{EXTERNAL_RUN}/metrics.json",
        per_image=str(per_image_path(f"{EXTERNAL_RUN}/metrics.json")),
    log:
        f"{LOGS}/external/{{name}}_{{setting}}_seed{{seed}}.log",
    wildcard_constraints:
        seed=r"\d+",
    params:
        options=score_options,
        protocol=PROTOCOL.name,
        annotator=config["dataset"]["test_annotator"],
        nms_iou=config["pipeline"]["nms_iou"],
        split_seed=CLASSIFY["threshold_split_seed"],
    conda:
        ENV
    shell:
        "python -m ctcbench score --name {wildcards.name} --setting {wildcards.setting} --seed {wildcards.seed}"
        " {params.options} --protocol {params.protocol:q} --test-annotator {params.annotator}"
        " --nms-iou {params.nms_iou} --split-seed {params.split_seed} --out {output.metrics}"
        " --per-image {output.per_image} > {log} 2>&1"
