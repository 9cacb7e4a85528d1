"""Configuration: merge the selected preset, check it against the JSON schema, fill defaults.

Every problem becomes one line that names the key and what was expected (`ConfigError`), because the usual
jsonschema report (a dump of the schema and the instance) does not tell a user which line of config.yaml to fix.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import ConfigError

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"
BASE_PRESET = "paper"


def deep_merge(base: dict, override: dict) -> dict:
    """`override` over `base`, recursively for mappings; lists and scalars are replaced whole."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def _key_path(path: Any) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "(top level)"


def as_list(value: Any) -> list[str]:
    """A schema keyword's value (one name or a list of them) as a list of strings."""
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _describe(error: jsonschema.ValidationError, source: str) -> str:
    where = _key_path(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        hints = [f"unknown key '{key}' in {where}" for key in extra]
        if allowed:
            close = difflib.get_close_matches(extra[0], allowed, n=1) if extra else []
            suggestion = f"did you mean '{close[0]}'? " if close else ""
            hints.append(f"{suggestion}allowed: {', '.join(allowed)}")
        return f"{source}: " + "; ".join(hints)
    if error.validator == "required":
        return f"{source}: {where}: {error.message}"
    expected = {
        "type": lambda: f"expected {' or '.join(as_list(error.validator_value))}",
        "enum": lambda: f"expected one of {', '.join('null' if v is None else str(v) for v in error.validator_value)}",
        "pattern": lambda: f"expected text matching {error.validator_value}",
        "minimum": lambda: f"expected at least {error.validator_value}",
        "maximum": lambda: f"expected at most {error.validator_value}",
        "exclusiveMinimum": lambda: f"expected more than {error.validator_value}",
        "exclusiveMaximum": lambda: f"expected less than {error.validator_value}",
        "minItems": lambda: f"expected at least {error.validator_value} item(s)",
        "uniqueItems": lambda: "expected no repeated items",
        "minProperties": lambda: f"expected at least {error.validator_value} entry",
    }.get(error.validator, lambda: error.message)()
    return f"{source}: {where} = {error.instance!r}: {expected}"


def _fill_defaults(instance: Any, schema: dict, root: dict) -> None:
    if "$ref" in schema:
        schema = _resolve_ref(schema["$ref"], root)
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if "$ref" in sub:
            sub = {**_resolve_ref(sub["$ref"], root), **{k: v for k, v in sub.items() if k != "$ref"}}
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub, root)


def _resolve_ref(ref: str, root: dict) -> dict:
    node: Any = root
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def _semantic_checks(config: dict, source: str) -> None:
    """Cross-key rules a schema cannot express."""
    backbones = config["classify"]["backbones"]
    schedules = config["classify"].get("schedules", {})

    def need_backbone(key: str, name: str) -> None:
        if name not in backbones:
            raise ConfigError(
                f"{source}: {key} = {name!r}: expected a key of classify.backbones ({', '.join(backbones)})"
            )

    need_backbone("classify.main_backbone", config["classify"]["main_backbone"])
    for index, name in enumerate(config["classify"]["grid"]):
        need_backbone(f"classify.grid.{index}", name)
    for ablation in ("patients", "fractions", "unknown"):
        name = config["ablations"].get(ablation, {}).get("backbone")
        if name is not None:
            need_backbone(f"ablations.{ablation}.backbone", name)
    for name, spec in backbones.items():
        if "schedule" in spec and spec["schedule"] not in schedules:
            raise ConfigError(
                f"{source}: classify.backbones.{name}.schedule = {spec['schedule']!r}: "
                f"expected a key of classify.schedules ({', '.join(schedules) or 'none defined'})"
            )
    for key, milestones in (
        ("classify.schedule.milestones", config["classify"]["schedule"].get("milestones", [])),
        ("detect.milestones", config["detect"].get("milestones", [])),
    ):
        if list(milestones) != sorted(set(milestones)):
            raise ConfigError(f"{source}: {key} = {milestones}: expected strictly increasing values")
    if config["hoechst_channels"] == 4 and config["protocol"] == "faithful":
        raise ConfigError(f"{source}: hoechst_channels = 4: needs protocol: corrected (the original used 3)")
    dataset = config["dataset"]
    if dataset["source"] == "local" and not dataset.get("local", {}).get("root"):
        raise ConfigError(f"{source}: dataset.local.root is empty: expected the folder of a pre-staged copy")


def resolve(raw: dict, source: str = "config.yaml") -> dict:
    """The effective configuration: preset merged, schema-checked, defaults filled. Raises ConfigError."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of keys at the top level")
    preset = raw.get("preset", BASE_PRESET)
    presets = raw.get("presets") or {}
    if preset != BASE_PRESET:
        if preset not in presets:
            known = ", ".join(presets) or "(none defined)"
            raise ConfigError(f"{source}: preset = {preset!r}: expected {BASE_PRESET} or one of {known}")
        raw = deep_merge(raw, presets[preset])
    schema = load_schema()
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(raw))
    if errors:
        raise ConfigError(_describe(jsonschema.exceptions.best_match(errors), source))
    config = copy.deepcopy(raw)
    _fill_defaults(config, schema, schema)
    _semantic_checks(config, source)
    return config


def load(path: Path | str, overrides: dict | None = None) -> dict:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    return resolve(deep_merge(raw, overrides or {}), str(path))
