"""Rule name = command name = module name: rule `a_b_c` runs `python -m ctcbench a-b-c`, and `cli.COMMANDS` maps
that command to `ctcbench.<package>.<rest>_cli`, `<package>` being the stage whose rule file holds the rule and
`<rest>` the rule name less a leading `<package>_` (classify_train -> classify-train -> ctcbench.classify.train_cli,
crop_cache -> crop-cache -> ctcbench.data.crop_cache_cli)."""

import re
from pathlib import Path

from pointer_helpers import staged_dataset_root
from snakemake_helpers import ROOT, in_directory, plan, snakemake

from ctcbench.cli import COMMANDS

RULES = ROOT / "workflow" / "rules"
STAGES = ("data", "classify", "detect", "pipeline", "external", "report", "apply")
# Aggregate targets: they only name files, so they run no command.
TARGETS = {"all", "data", "classify", "detect", "pipeline", "figures", "bundles"}
# Rules that `all` does not reach, planned as targets of their own (docs/experiments.md#compute-projection).
OUTSIDE_ALL = ("compute",)
JOB = re.compile(r"^(?:local)?rule (?P<rule>\w+):$")
# The grid's rules reused with their files moved (`use rule <rule> as <copy> with:`): a copy runs its rule's command.
COPIES = dict(
    (copy, rule)
    for path in sorted(RULES.glob("*.smk"))
    for rule, copy in re.findall(r"^use rule (\w+) as (\w+) with:", path.read_text(), re.M)
)
SHELL = re.compile(r"^Shell command: (?P<shell>.*)$")
COMMAND = re.compile(r"^python -m ctcbench (?P<command>[a-z][a-z0-9-]*)(?: |$)")


def stdout_of(result):
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def planned_commands(stdout):
    """{rule: {shell command of each of its jobs}} from a dry run with --printshellcmds."""
    commands, rule = {}, None
    for line in stdout.splitlines():
        if job := JOB.match(line):
            rule = job["rule"]
        elif (shell := SHELL.match(line)) and rule is not None:
            commands.setdefault(rule, set()).add(shell["shell"])
            rule = None
    return commands


def listed_rules(stdout):
    """{rule: docstring} from `snakemake --list-rules`."""
    rules = {}
    for line in stdout.splitlines():
        if line and not line.startswith(" "):
            name, _, doc = line.partition(" ")
            rules[name] = doc
    return rules


def stage_of(command):
    """The stage whose rule file runs `command`."""
    needle = f'"python -m ctcbench {command} '
    files = [path.stem for path in sorted(RULES.glob("*.smk")) if needle in path.read_text()]
    assert len(files) == 1 and files[0] in STAGES, (command, files)
    return files[0]


def expected_module(rule, stage):
    rest = rule.removeprefix(f"{stage}_")
    return f"ctcbench.{stage}.{rest}_cli"


def test_every_rule_runs_the_command_and_module_of_its_name(tmp_path):
    local = staged_dataset_root(tmp_path / "copy")
    mine = tmp_path / "mine.json"
    mine.write_text("{}")
    configs = {
        "default": [],
        "demo": ["preset=demo"],
        "corrected": ["protocol=corrected,hoechst_channels=4"],
        "local": ["preset=demo", f"dataset={{source: local, local: {{root: {local}}}}}"],
        "external": ["preset=demo", f"external_methods=[{{name: mine, kind: detections, setting: bf, file: {mine}}}]"],
        # New images to predict: `all` then packs the first of export.pairings and runs it on them.
        "apply": ["preset=demo", "apply={images: new-images}"],
    }
    (tmp_path / "apply" / "new-images").mkdir(parents=True)
    listed, checked = {}, set()
    for name, config in configs.items():
        directory = tmp_path / name
        overrides = ["--config", *config] if config else []
        listed.update(listed_rules(stdout_of(snakemake("--list-rules", *in_directory(directory), *overrides))))
        planned = planned_commands(stdout_of(plan(directory, *config, options=("-p",))))
        assert planned, name
        for target in OUTSIDE_ALL:
            for rule, shells in planned_commands(stdout_of(plan(directory, *config, options=("-p", target)))).items():
                planned.setdefault(rule, set()).update(shells)
        for rule, shells in sorted(planned.items()):
            if rule in TARGETS:
                assert shells == {"None"}, (name, rule, shells)
                continue
            commands = {match["command"] if (match := COMMAND.match(s)) else s for s in shells}
            assert len(commands) == 1, (name, rule, commands)
            command = commands.pop()
            named = COPIES.get(rule, rule)
            assert command == named.replace("_", "-"), (name, rule, command)
            stage = stage_of(command)
            module = expected_module(named, stage)
            assert COMMANDS[command][0] == module, (rule, command, COMMANDS[command][0], module)
            assert (ROOT / "workflow" / Path(*module.split("."))).with_suffix(".py").is_file(), module
            assert listed[rule].endswith(f"(ctcbench {command}).)"), (rule, listed[rule])
            checked.add(rule)
    # Every rule any of these configs defines was seen running its command, unless it is an aggregate target.
    assert set(listed) - TARGETS - checked == set()
    assert {"fetch_dataset", "stage_local_dataset", "synth_dataset", "detect_predict", "pipeline_score"} <= checked
    assert {"defect_classify_train_cross_fitted", "defect_pipeline_score", "defect_effects"} <= checked
    assert set(OUTSIDE_ALL) <= checked


def test_the_convention_gives_the_module_path():
    assert expected_module("classify_train", "classify") == "ctcbench.classify.train_cli"
    assert expected_module("stage_weights", "classify") == "ctcbench.classify.stage_weights_cli"
    assert expected_module("report_page", "report") == "ctcbench.report.page_cli"
    assert expected_module("table", "report") == "ctcbench.report.table_cli"
