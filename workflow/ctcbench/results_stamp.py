"""The protocol a results tree was made with, so that switching protocols cannot overwrite it unnoticed.

Run paths name the preset, setting, training set and seed (docs/experiments.md#results-layout) but not the protocol: a
faithful and a corrected run of the same grid point share a path. The first real run writes `protocol.json` at the root
of `results/{preset}/`; every later plan of that tree with another protocol (or another Hoechst channel count) stops
with one line instead of retraining over the earlier results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .io import atomic_write_json

STAMP_NAME = "protocol.json"
STAMPED_KEYS = ("protocol", "hoechst_channels")


def stamp_of(config: dict[str, Any]) -> dict[str, Any]:
    return {key: config[key] for key in STAMPED_KEYS}


def check_stamp(results: Path | str, config: dict[str, Any]) -> None:
    """ConfigError when `results` was made with other stamped settings than `config` asks for."""
    path = Path(results) / STAMP_NAME
    if not path.is_file():
        return
    try:
        found = json.loads(path.read_text())
    except json.JSONDecodeError:
        raise ConfigError(f"{path}: unreadable; delete it if {results} holds no results you need") from None
    wanted = stamp_of(config)
    changed = [f"{key} {found.get(key)!r} -> {wanted[key]!r}" for key in STAMPED_KEYS if found.get(key) != wanted[key]]
    if changed:
        raise ConfigError(
            f"{path}: {results} holds results of another configuration ({', '.join(changed)}); run this one in "
            f"another --directory, or delete {results} to replace them"
        )


def write_stamp(results: Path | str, config: dict[str, Any]) -> None:
    atomic_write_json(Path(results) / STAMP_NAME, stamp_of(config))
