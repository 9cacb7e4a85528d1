"""Shared pytest setup: make helper modules in the tests directory importable from every test package."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
