"""The configurations whose results are committed: the demo preset as it is, and its corrected protocol."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Configuration:
    """One committed reference: its folder name and the `--config` overrides that make it."""

    name: str
    overrides: tuple[str, ...]
    description: str

    @property
    def preset(self) -> str:
        return next(o.split("=", 1)[1] for o in self.overrides if o.startswith("preset="))


CONFIGURATIONS: tuple[Configuration, ...] = (
    Configuration("demo-faithful", ("preset=demo",), "the demo preset as it is (faithful protocol)"),
    Configuration(
        "demo-corrected",
        ("preset=demo", "protocol=corrected,hoechst_channels=4"),
        "the demo preset, corrected protocol, four-channel Brightfield + Hoechst",
    ),
)


def by_name(names: list[str] | None) -> list[Configuration]:
    """The named configurations (all of them when `names` is empty), in the order given."""
    if not names:
        return list(CONFIGURATIONS)
    known = {c.name: c for c in CONFIGURATIONS}
    unknown = [n for n in names if n not in known]
    if unknown:
        from ..errors import ConfigError

        raise ConfigError(f"unknown reference configuration {unknown[0]!r}; known: {', '.join(known)}")
    return [known[n] for n in names]
