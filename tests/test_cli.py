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
