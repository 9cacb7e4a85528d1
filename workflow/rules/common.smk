# Configuration check first, then the paths and target lists every other rule file uses.
import json
import sys

from ctcbench.device_slots import POOL_ENV, default_pool
from ctcbench.launch_checks import LOCAL_EXECUTORS, PlannedJob, has_gpu, launch_problems
from ctcbench.config import resolve
from ctcbench.determinism import cpu_isa_exports
from ctcbench.errors import ConfigError
from ctcbench.per_image import per_image_path
from ctcbench.plan import plan
from ctcbench.report import results as records
from ctcbench.report.table_specs import TABLES
from ctcbench.plan.defects import Variant, variant_config, variant_root
from ctcbench.protocol import of_config
from ctcbench.results_stamp import check_stamp, write_stamp

try:
    # config file < preset < command line: the --config values are merged again over the preset's block.
    config = resolve(
        config,
        "config.yaml (with --config overrides)",
        overrides=dict(workflow.config_settings.config),
    )
except ConfigError as error:
    sys.exit(f"ctcbench: configuration error: {error}")

# Every job: the package on its path, and the CPU instruction set pinned when the config asks (determinism.py).
# (Doubled braces: Snakemake formats the prefix once more when it runs a job.)
shell.prefix(
    f'export PYTHONPATH="{PACKAGE_DIR}${{{{PYTHONPATH:+:$PYTHONPATH}}}}"; '
    + cpu_isa_exports(config["cpu_isa"])
)

# Every run of the grid and what it feeds (ctcbench.plan): targets, file names and constraints derive from it.
try:
    PLAN = plan(config)
except ConfigError as error:
    sys.exit(f"ctcbench: configuration error: {error}")

PRESET = config["preset"]
# The protocol's switches (ctcbench.protocol): rules read the one a behaviour needs, never the preset's name.
PROTOCOL = of_config(config)
# The HTML report's captions (workflow/report/*.rst) read the switches too; they see only `config`.
config["protocol_switches"] = PROTOCOL.to_dict()
RESULTS = f"results/{PRESET}"

# Run paths do not name the protocol: a tree made with another one is refused rather than overwritten.
try:
    check_stamp(RESULTS, config)
except ConfigError as error:
    sys.exit(f"ctcbench: configuration error: {error}")


# Before the first job (never in a dry run): the executor's commands, a GPU for the jobs that ask for one, a way to
# stage every detector weight file, and timm names that exist (launch_checks.py). `--touch` runs no job: no checks.
onstart:
    if not workflow.touch:
        planned = [
            PlannedJob(
                job.rule.name,
                dict(job.wildcards.items()),
                [str(path) for path in job.output],
                job.resources.get("gpu", 0),
            )
            for job in workflow.dag.needrun_jobs()
        ]
        executor = getattr(workflow.executor_plugin, "name", None)
        problems = launch_problems(config, executor, planned)
        for problem in problems:
            print(f"ctcbench: {problem}", file=sys.stderr)
        if problems:
            sys.exit(1)
        if (executor or "local") in LOCAL_EXECUTORS and has_gpu():
            # Local GPU jobs each take a GPU of their own from the machine's pool (a cluster's scheduler assigns them).
            os.environ.setdefault(POOL_ENV, str(default_pool()))
    write_stamp(RESULTS, config)


LOGS = f"{RESULTS}/logs"
DATASET = f"{RESULTS}/data/dataset.json"
ENV = "../../envs/ctcbench.yaml"
# Published numbers ship with the workflow, so they resolve from its folder, not the working directory.
PAPER_DIR = os.path.join(workflow.basedir, "resources", "paper")


wildcard_constraints:
    split="train|val|test",
    reader="opencv|native",
    source="released|cut",


IMAGE_LISTS = f"{RESULTS}/splits/images"
TRAINSETS = f"{RESULTS}/splits/trainsets"
HUMAN_AGREEMENT = f"{RESULTS}/data/human_agreement.json"


def image_list(stem):
    return f"{IMAGE_LISTS}/{stem}.txt"


def crop_cache(split, protocol=PROTOCOL):
    """The crop cache of a split: from the release's crop files for train and val when the protocol says so."""
    source = protocol.crop_source if split in ("train", "val") else "cut"
    return f"{RESULTS}/crops/{source}/{protocol.image_read}/{split}.npz"


# -- A job's protocol: the configured one, or that of the defect variant whose folder its run is in (defects.smk). --
def protocol_of(wildcards):
    """The protocol of a job's run: the configured one, or its `variant` wildcard's (plan.defects)."""
    if "variant" not in wildcards.keys():
        return PROTOCOL
    return Variant.parse(wildcards.variant).protocol(PROTOCOL)


def config_of(wildcards):
    """The config a job's run specs are built from: `config`, with a defect variant's protocol in its runs."""
    if "variant" not in wildcards.keys():
        return config
    return variant_config(config, Variant.parse(wildcards.variant))


def root_of(wildcards, reader):
    """results/{preset}, or the folder of the defect variant holding the run of `reader` (protocol CLASSIFIER,
    DETECTOR, IMAGE) that a job of a variant reads."""
    if "variant" not in wildcards.keys():
        return RESULTS
    return variant_root(
        RESULTS, Variant.parse(wildcards.variant).holder(reader), PROTOCOL
    )


def data_targets():
    """Everything the data stage produces: Table 1, the split lists and the crop caches."""
    return [
        f"{RESULTS}/tables/table1.md",
        f"{RESULTS}/data/audit.md",
        *[image_list(stem) for stem in PLAN.image_lists()],
        *[entry["file"] for entry in PLAN.trainsets_spec(TRAINSETS)],
        *[crop_cache(split) for split in ("train", "val", "test")],
    ]


# -- The result tables (ctcbench.report.table_specs): those the plan has runs for, and what each reads. ----------
PLANNED_TABLES = {
    name: spec
    for name, spec in TABLES.items()
    if any(PLAN.feeding(spec.feeds).values())
}


# The tables that declare paired comparisons (report.comparisons): tables/<table>_comparisons.*, rule table_comparisons.
COMPARED_TABLES = {
    name: spec for name, spec in PLANNED_TABLES.items() if spec.comparisons is not None
}
# config report.bootstrap: the resampling behind every interval and comparison (report.bootstrap).
BOOTSTRAP_OPTIONS = (
    f"--resamples {config['report']['bootstrap']['resamples']}"
    f" --bootstrap-seed {config['report']['bootstrap']['seed']}"
    f" --level {config['report']['bootstrap']['level']}"
)


def table_files(name):
    """A table's CSV and Markdown, and those of its paired comparisons if it declares any."""
    stems = [name] + (
        [COMPARED_TABLES[name].comparisons_name] if name in COMPARED_TABLES else []
    )
    return [f"{RESULTS}/tables/{stem}.{ext}" for stem in stems for ext in ("csv", "md")]


def table_targets(*stages):
    """The tables that read records of any of `stages` (cell, detection, pipeline)."""
    return [
        path
        for name, spec in PLANNED_TABLES.items()
        if set(spec.reads) & set(stages)
        for path in table_files(name)
    ]


def table_metrics(wildcards):
    """metrics.json of every run that feeds a table, of the stages it reads (the stage files' *_metrics)."""
    spec = PLANNED_TABLES[wildcards.table]
    paths = []
    if records.CELL in spec.reads:
        paths += classify_metrics({spec.feeds})
    if records.DETECTION in spec.reads:
        paths += detect_metrics({spec.feeds})
    if records.PIPELINE in spec.reads:
        paths += pipeline_metrics({spec.feeds})
    if set(records.DECOMPOSITION_STAGES) & set(spec.reads):
        paths += decomposition_metrics({spec.feeds})
    if records.CELL in spec.reads:
        paths += external_metrics("cell_scores")
    if records.EXTERNAL in spec.reads:
        paths += external_metrics("detections")
    if records.HUMAN in spec.reads:
        paths.append(HUMAN_AGREEMENT)
    if records.CLASSICAL in spec.reads:
        paths += classical_metrics({spec.feeds})
    if records.KFOLD in spec.reads:
        paths += kfold_metrics({spec.feeds})
    if records.CONTROL in spec.reads:
        paths += control_metrics({spec.feeds})
    return paths


def table_per_image(wildcards):
    """The per-image record beside each of those metrics (the human agreement and the k-fold runs have none): the
    bootstrap's input."""
    return [
        str(per_image_path(path))
        for path in table_metrics(wildcards)
        if path != HUMAN_AGREEMENT and path not in kfold_metrics()
    ]


# -- The Snakemake HTML report (snakemake --report): its categories, and the tables' HTML pages in them. --------
REPORT_CATEGORIES = {
    "data": "1. Data",
    "cell_level": "2. Cell level",
    "image_level": "3. Image level",
    "ablations": "4. Ablations",
    "figures": "5. Figures",
    "training": "6. Training curves",
}


def report_table(name, category):
    """A table's HTML page, in the report under `category` with its caption workflow/report/{name}.rst."""
    return report(
        f"{RESULTS}/tables/{name}.html",
        caption=f"../report/{name}.rst",
        category=REPORT_CATEGORIES[category],
    )
