# Data stage: obtain the dataset (figshare, a local copy or the synthetic twin) -> validate (Table 1) ->
# image splits -> crop caches -> crop-level training sets.

from ctcbench.data.profile import BENCHMARKS as DATA_BENCHMARKS
from ctcbench.data.synth_dataset_cli import config_options as synth_options

SOURCE = config["dataset"]["source"]
FIGSHARE = config["dataset"]["figshare"]
# Wall time and peak memory of every data step, tabulated by `ctcbench data-profile` (one TSV per job).
DATA_BENCH = f"{RESULTS}/{DATA_BENCHMARKS}"

if SOURCE == "figshare":

    localrules:
        fetch_dataset,

    rule fetch_dataset:
        """Download, verify and extract the figshare release (ctcbench fetch-dataset)."""
        output:
            DATASET,
        log:
            f"{LOGS}/data/fetch.log",
        benchmark:
            f"{DATA_BENCH}/fetch_dataset.tsv"
        params:
            api=FIGSHARE["api"],
            article=FIGSHARE["article_id"],
            version=FIGSHARE["version"],
            dest=f"{FIGSHARE['download_dir']}/{FIGSHARE['article_id']}v{FIGSHARE['version']}",
            pinned=FIGSHARE["pinned_manifest"],
            retries=FIGSHARE["retries"],
            max_bytes=int(FIGSHARE["max_extract_gb"] * 2**30),
            max_ratio=FIGSHARE["max_compression_ratio"],
        conda:
            ENV
        shell:
            "python -m ctcbench fetch-dataset --api {params.api} --article {params.article} --version {params.version}"
            " --dest {params.dest} --pinned-manifest {params.pinned} --retries {params.retries}"
            " --max-extract-bytes {params.max_bytes} --max-compression-ratio {params.max_ratio}"
            " --pointer {output} > {log} 2>&1"

elif SOURCE == "local":

    localrules:
        stage_local_dataset,

    rule stage_local_dataset:
        """Point the workflow at a pre-staged copy of the release (ctcbench stage-local-dataset)."""
        output:
            DATASET,
        log:
            f"{LOGS}/data/stage_local.log",
        benchmark:
            f"{DATA_BENCH}/stage_local_dataset.tsv"
        params:
            root=config["dataset"]["local"]["root"],
        conda:
            ENV
        shell:
            "python -m ctcbench stage-local-dataset --root {params.root} --pointer {output} > {log} 2>&1"

else:

    rule synth_dataset:
        """Write the synthetic twin in the figshare layout (ctcbench synth-dataset)."""
        output:
            DATASET,
        log:
            f"{LOGS}/data/synth.log",
        benchmark:
            f"{DATA_BENCH}/synth_dataset.tsv"
        params:
            root=f"{RESULTS}/dataset",
            options=synth_options(config["dataset"]["synth"]),
        conda:
            ENV
        shell:
            "python -m ctcbench synth-dataset --root {params.root} {params.options} --pointer {output} > {log} 2>&1"


rule validate_dataset:
    """Check the dataset, every image decoded once, and write Table 1 (ctcbench validate-dataset)."""
    input:
        DATASET,
    output:
        report=f"{RESULTS}/data/validation.json",
        csv=f"{RESULTS}/tables/table1.csv",
        md=f"{RESULTS}/tables/table1.md",
        html=report_table("table1", "data"),
    log:
        f"{LOGS}/data/validate.log",
    benchmark:
        f"{DATA_BENCH}/validate_dataset.tsv"
    threads: config["threads"]["validate"]
    params:
        size_flag=(
            f"--expected-size {config['dataset']['expected_image_size']}"
            if config["dataset"]["expected_image_size"]
            else ""
        ),
        annotator=config["dataset"]["test_annotator"],
        paper=f"{PAPER_DIR}/table1_dataset.csv",
        mixed=(
            "--allow-mixed-formats" if config["dataset"]["allow_mixed_formats"] else ""
        ),
    conda:
        ENV
    shell:
        "python -m ctcbench validate-dataset --dataset {input} --test-annotator {params.annotator}"
        " {params.size_flag} {params.mixed} --paper-table1 {params.paper} --threads {threads}"
        " --report {output.report} --table1-csv {output.csv} --table1-md {output.md} > {log} 2>&1"


rule image_splits:
    """The image lists: train, val, test and the per-patient training lists (ctcbench image-splits)."""
    input:
        dataset=DATASET,
        validated=f"{RESULTS}/data/validation.json",
    output:
        [image_list(stem) for stem in PLAN.image_lists()],
    log:
        f"{LOGS}/data/image_splits.log",
    benchmark:
        f"{DATA_BENCH}/image_splits.tsv"
    conda:
        ENV
    shell:
        "python -m ctcbench image-splits --dataset {input.dataset} --lists {output} > {log} 2>&1"


rule crop_cache:
    """The cells of one split in one crop cache, cut from the images or the release's crops (ctcbench crop-cache)."""
    input:
        dataset=DATASET,
        validated=f"{RESULTS}/data/validation.json",
    output:
        f"{RESULTS}/crops/{{source}}/{{reader}}/{{split}}.npz",
    log:
        f"{LOGS}/data/crops_{{source}}_{{reader}}_{{split}}.log",
    benchmark:
        f"{DATA_BENCH}/crop_cache_{{source}}_{{reader}}_{{split}}.tsv"
    threads: config["threads"]["crops"]
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        annotator=config["dataset"]["test_annotator"],
    conda:
        ENV
    shell:
        "python -m ctcbench crop-cache --dataset {input.dataset} --split {wildcards.split} --reader {wildcards.reader}"
        " --source {wildcards.source} --test-annotator {params.annotator} --threads {threads} --out {output} > {log} 2>&1"


rule human_agreement:
    """How far the two experts' test annotations agree, the human ceiling (ctcbench human-agreement)."""
    input:
        dataset=DATASET,
        validated=f"{RESULTS}/data/validation.json",
        test_list=image_list("test"),
    output:
        HUMAN_AGREEMENT,
    log:
        f"{LOGS}/data/human_agreement.log",
    benchmark:
        f"{DATA_BENCH}/human_agreement.tsv"
    params:
        protocol=PROTOCOL.name,
    conda:
        ENV
    shell:
        "python -m ctcbench human-agreement --dataset {input.dataset} --image-list {input.test_list}"
        " --protocol {params.protocol:q} --out {output} > {log} 2>&1"


rule trainsets:
    """The crop-level training sets: main, per patient, fractions, unknown-cell variants (ctcbench trainsets)."""
    input:
        crop_cache("train"),
    output:
        [entry["file"] for entry in PLAN.trainsets_spec(TRAINSETS)],
        summary=f"{TRAINSETS}/summary.json",
    log:
        f"{LOGS}/data/trainsets.log",
    benchmark:
        f"{DATA_BENCH}/trainsets.tsv"
    params:
        spec=json.dumps(PLAN.trainsets_spec(TRAINSETS)),
        stratified="--stratified" if PROTOCOL.stratified_fractions else "",
    conda:
        ENV
    shell:
        "python -m ctcbench trainsets --cache {input} --spec {params.spec:q} {params.stratified}"
        " --summary {output.summary} > {log} 2>&1"


localrules:
    audit_dataset,


# Facts only the data can settle (docs/dataset.md#facts-to-verify): released crops vs exact box slices, images
# per patient vs Table 6, test ids in trainval, TIFF formats, split-line format. Reports only: never fails on a finding,
# and runs on validated data only, so that no audit of a copy with broken images reads as consistent.
rule audit_dataset:
    """The facts only the staged data can settle, reported not judged (ctcbench audit-dataset)."""
    input:
        dataset=DATASET,
        validated=f"{RESULTS}/data/validation.json",
    output:
        json=f"{RESULTS}/data/audit.json",
        md=f"{RESULTS}/data/audit.md",
    log:
        f"{LOGS}/data/audit.log",
    benchmark:
        f"{DATA_BENCH}/audit_dataset.tsv"
    params:
        paper=os.path.join(PAPER_DIR, "table1_dataset.csv"),
    conda:
        ENV
    shell:
        "python -m ctcbench audit-dataset --dataset {input.dataset} --paper-table1 {params.paper:q}"
        " --json {output.json} --md {output.md} > {log} 2>&1"
