"""The command line itself: the version, and a command list that parses without importing torch."""

import subprocess
import sys

import pytest

from ctcbench import __version__
from ctcbench.cli import main


def test_version_is_printed_and_exits_cleanly(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"ctcbench {__version__}"


def test_the_command_list_does_not_import_torch():
    code = "import sys; from ctcbench.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def command_parser(name):
    import argparse
    import importlib

    from ctcbench.cli import COMMANDS

    parser = argparse.ArgumentParser()
    importlib.import_module(COMMANDS[name][0]).add_arguments(parser)
    return parser


def test_every_option_of_every_command_has_a_help_text():
    import argparse

    from ctcbench.cli import COMMANDS

    silent = [
        f"{name} {action.option_strings[0] if action.option_strings else action.dest}"
        for name in COMMANDS
        for action in command_parser(name)._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert silent == []


def test_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["pipeline-score", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "IoU of the class-agnostic NMS before classification (protocols with nms_before_classification) (default: 0.5)"
        in text
    )
    assert "switches: docs/protocol.md#switches) (default: faithful)" in text  # a Protocol shown by its name
    assert "--out OUT output: scores.json --" in text or text.endswith("--out OUT output: scores.json")  # required
    assert "(default: False)" not in text and "(default: None)" not in text
    with pytest.raises(SystemExit):
        main(["classify-train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "steps between resume states (last.pt) (default: 1000)" in text
    assert "--spec SPEC run spec as JSON" in text


def test_no_command_imports_torch_for_its_help():
    """`ctcbench CMD --help` parses before anything heavy is imported, so it answers at once."""
    from ctcbench.cli import COMMANDS

    code = (
        "import sys\nfrom ctcbench.cli import main\nheavy = []\n"
        f"for name in {list(COMMANDS)!r}:\n"
        "    try:\n        main([name, '--help'])\n    except SystemExit:\n        pass\n"
        "    heavy += [name] if 'torch' in sys.modules else []\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr[-2000:]
