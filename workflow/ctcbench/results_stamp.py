"""The protocol a results tree was made with, so that switching protocols cannot overwrite it unnoticed.

Run paths name the preset, setting, training set and seed (docs/experiments.md#results-layout) but not the protocol: a
faithful and a corrected run of the same grid point share a path. The first real run writes `protocol.json` at the root
of `results/{preset}/`; every later plan of that tree with another protocol (any switch changed) stops with one line
instead of retraining over the earlier results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .io import atomic_write_json
from .protocol import SWITCHES, Protocol, format_value, of_config, parse

STAMP_NAME = "protocol.json"


def stamp_of(config: dict[str, Any]) -> dict[str, Any]:
    return {"protocol": of_config(config).name}


def _stamped_protocol(found: dict[str, Any], path: Path) -> Protocol:
    """The protocol of a stamp; one written before the switches existed also carries `hoechst_channels`."""
    try:
        protocol = parse(found.get("protocol", ""), f"{path}: protocol")
        if "hoechst_channels" in found:
            protocol = protocol.replace(hoechst_channels=found["hoechst_channels"])
        return protocol
    except ConfigError:
        raise ConfigError(
            f"{path}: unreadable protocol; delete it if {path.parent} holds no results you need"
        ) from None


def stamped_protocol(path: Path | str) -> Protocol:
    """The protocol a results tree's stamp names (ConfigError when there is none)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: missing; {path.parent} is not a results tree of a run, or give --protocol")
    try:
        found = json.loads(path.read_text())
    except json.JSONDecodeError:
        raise ConfigError(f"{path}: unreadable; give --protocol") from None
    return _stamped_protocol(found, path)


def check_stamp(results: Path | str, config: dict[str, Any]) -> None:
    """ConfigError when `results` was made with another protocol than `config` asks for."""
    path = Path(results) / STAMP_NAME
    if not path.is_file():
        return
    try:
        found = json.loads(path.read_text())
    except json.JSONDecodeError:
        raise ConfigError(f"{path}: unreadable; delete it if {results} holds no results you need") from None
    before, wanted = _stamped_protocol(found, path), of_config(config)
    changed = [
        f"{key} {format_value(getattr(before, key))} -> {format_value(getattr(wanted, key))}"
        for key in SWITCHES
        if getattr(before, key) != getattr(wanted, key)
    ]
    if changed:
        raise ConfigError(
            f"{path}: {results} holds results of another protocol ({before.name}; {', '.join(changed)}); run this "
            f"one in another --directory, or delete {results} to replace them"
        )


def write_stamp(results: Path | str, config: dict[str, Any]) -> None:
    atomic_write_json(Path(results) / STAMP_NAME, stamp_of(config))
