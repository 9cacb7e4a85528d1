# ctcbench: the whole benchmark as one DAG. `make demo` runs it on the synthetic twin; see README.md.
import os
import sys

from snakemake.utils import min_version

min_version("9.4")

# The package lives in workflow/ and every rule calls `python -m ctcbench`: the shell prefix (common.smk) puts it
# on the path of every job, also on cluster nodes (where Snakemake re-reads this file) and in conda environments.
PACKAGE_DIR = os.path.join(workflow.basedir, "workflow")
sys.path.insert(0, PACKAGE_DIR)

from ctcbench.config import read_config_file
from ctcbench.errors import ConfigError

# A YAML syntax error or a key given twice: one line naming the file and the line, before Snakemake reads the file.
for config_path in workflow.config_settings.configfiles or ["config.yaml"]:
    try:
        read_config_file(config_path)
    except ConfigError as error:
        sys.exit(f"ctcbench: configuration error: {error}")


configfile: "config.yaml"


# `snakemake --report results/{preset}/report.html`: every table and figure with its caption (workflow/report/).
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/classify.smk"
include: "workflow/rules/detect.smk"
include: "workflow/rules/pipeline.smk"
include: "workflow/rules/defects.smk"
include: "workflow/rules/external.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/apply.smk"


rule all:
    """Every table, figure and report of the configured grid (the default target)."""
    input:
        data_targets(),
        classify_targets(),
        detect_targets(),
        pipeline_targets(),
        defect_targets(),
        figure_targets(),
        report_targets(),
        apply_targets(),
    default_target: True


# One target per stage, e.g. `snakemake data --cores all`.
localrules:
    data,
    classify,
    detect,
    pipeline,
    figures,
    bundles,


rule data:
    """The data stage: Table 1, the audit, the split lists and the crop caches."""
    input:
        data_targets(),


rule classify:
    """The cell-level stage: every classifier run evaluated, Tables 2 and 3."""
    input:
        classify_targets(),


rule detect:
    """The detection stage: every detector run trained, predicted and evaluated."""
    input:
        detect_targets(),


rule pipeline:
    """The image-level stage: every pairing scored and evaluated, Tables 4, 5 and 6."""
    input:
        pipeline_targets(),


rule figures:
    """Figs 7-11 and the training curves."""
    input:
        figure_targets(),


rule bundles:
    """Every pairing of export.pairings packed for new images (README: Apply a trained model)."""
    input:
        bundle_targets(),
