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

from .data.layout import check_dataset_root
from .detect.nucleus import NucleusParams
from .errors import ConfigError, DatasetError
from .plan.trainsets import trainset
from .protocol import parse as parse_protocol

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"
BASE_PRESET = "paper"
# Keys that became switches of the protocol (ctcbench.protocol): key path -> switch.
MOVED_TO_PROTOCOL = {
    ("hoechst_channels",): "hoechst_channels",
    ("detect", "standardise"): "detector_standardise",
    ("detect", "stem"): "detector_stem",
    ("detect", "box_shift"): "box_shift",
    ("pipeline", "fusion_gate"): "fusion_gate",
}


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
    if isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for item in instance:  # the items of a list of objects get their defaults too
            _fill_defaults(item, schema["items"], root)
        return
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


def schedule_lengths(config: dict) -> list[tuple[str, dict, int]]:
    """Each learning-rate schedule with its length: (config key, schedule, iterations or epochs)."""
    classify = config["classify"]
    found = [("classify.schedule", classify["schedule"], classify["schedule"].get("iterations"))]
    for name, schedule in classify.get("schedules", {}).items():
        merged = {**classify["schedule"], **schedule}
        found.append((f"classify.schedules.{name}", merged, merged.get("iterations")))
    found.append(("detect", config["detect"], config["detect"]["epochs"]))
    return [(key, schedule, length) for key, schedule, length in found if length is not None]


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
    for key, schedule, length in schedule_lengths(config):
        late = [m for m in schedule.get("milestones", []) if m >= length]
        if late:
            raise ConfigError(
                f"{source}: {key}.milestones = {schedule['milestones']}: {late[0]} is not before the end of "
                f"training ({length}); a learning-rate step there never happens"
            )
    strategies = config["ablations"].get("unknown", {}).get("strategies", [])
    confident = [s for s in strategies if trainset(s).kind.kind == "u-pseudo"]
    if len(confident) > 1:
        raise ConfigError(
            f"{source}: ablations.unknown.strategies = {confident}: one u-pseudo-<threshold> set at most (one "
            "pseudo-labelling pass writes it)"
        )
    NucleusParams.from_dict(config["detect"]["nucleus"], f"{source}: detect.nucleus")  # an odd blur, ...
    dataset = config["dataset"]
    if dataset["source"] == "local":
        root = dataset.get("local", {}).get("root")
        if not root:
            raise ConfigError(f"{source}: dataset.local.root is empty: expected the folder of a pre-staged copy")
        try:
            check_dataset_root(Path(root))
        except DatasetError as error:
            reason = str(error).removeprefix(f"{Path(root)}: ")
            raise ConfigError(f"{source}: dataset.local.root = {root}: {reason}") from None


def _moved_keys(raw: dict, source: str) -> None:
    """One line for a key that is now a protocol switch, saying how to write it instead."""
    for path, switch in MOVED_TO_PROTOCOL.items():
        node: Any = raw
        for part in path:
            node = node.get(part, KeyError) if isinstance(node, dict) else KeyError
        if node is not KeyError:
            base = raw.get("protocol", "faithful")
            base = base.get("base", "faithful") if isinstance(base, dict) else str(base).split(",")[0]
            value = "null" if node is None else node
            raise ConfigError(
                f"{source}: {'.'.join(path)} is now a switch of the protocol: write `protocol: {{base: {base}, "
                f"{switch}: {value}}}` instead (docs/protocol.md#switches)"
            )


def typed(value: Any) -> Any:
    """A command-line value with YAML types inside lists and mappings.

    Snakemake types a top-level `--config key=value` but reads `[0, 1]` or `{omegas: [0.5]}` with YAML's base
    loader, which keeps every leaf a string; such a leaf is read again as a YAML scalar (0 -> int, 0.5 -> float,
    true -> bool, null -> None), and stays text when it is anything else.
    """
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, str):
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        return parsed if parsed is None or isinstance(parsed, (bool, int, float)) else value
    return value


def resolve(raw: dict, source: str = "config.yaml", overrides: dict | None = None) -> dict:
    """The effective configuration, schema-checked and with defaults filled. Raises ConfigError.

    Precedence, lowest first: the config file(s), the preset's block, the command line (`overrides`, the
    `--config` values; `raw` may already hold them as Snakemake merged them, untyped).
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of keys at the top level")
    overrides = typed(overrides or {})
    raw = deep_merge(raw, overrides)
    preset = raw.get("preset", BASE_PRESET)
    presets = raw.get("presets") or {}
    if preset != BASE_PRESET:
        if preset not in presets:
            known = ", ".join(presets) or "(none defined)"
            raise ConfigError(f"{source}: preset = {preset!r}: expected {BASE_PRESET} or one of {known}")
        raw = deep_merge(deep_merge(raw, presets[preset]), overrides)
    _moved_keys(raw, source)
    schema = load_schema()
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(raw))
    if errors:
        raise ConfigError(_describe(jsonschema.exceptions.best_match(errors), source))
    config = copy.deepcopy(raw)
    _fill_defaults(config, schema, schema)
    # The protocol is kept as its name (`faithful`, `faithful,fusion_gate=null`): one string, every switch in it.
    config["protocol"] = parse_protocol(config["protocol"], f"{source}: protocol").name
    _semantic_checks(config, source)
    return config


class StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain YAML keeps the last silently)."""


def _mapping_without_duplicates(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(
                f"line {key_node.start_mark.line + 1}: key {key!r} given twice in one mapping "
                f"(first on line {seen[key]}); keep one"
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def read_config_file(path: Path | str) -> dict:
    """A config file, or one ConfigError line naming the file and the line of a syntax error or duplicate key."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(), Loader=StrictLoader) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: {where}not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return data


def load(path: Path | str, overrides: dict | None = None) -> dict:
    """The effective configuration of a config file with command-line style `overrides`."""
    return resolve(read_config_file(path), str(path), overrides)
