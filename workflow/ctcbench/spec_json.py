"""What every run spec shares: its JSON form (keys sorted, compact), the digest of it that guards resumption, and
reading it back with one clear error (classify.spec, detect.spec)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, ClassVar, TypeVar

from .errors import ConfigError

T = TypeVar("T", bound="JsonSpec")


class JsonSpec:
    """Mixin of a frozen dataclass spec; `KIND` names it in errors (e.g. "detector run spec")."""

    KIND: ClassVar[str] = "run spec"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"{cls.KIND}: {exc}; regenerate it from config.yaml") from None

    @classmethod
    def from_json(cls: type[T], text: str) -> T:
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{cls.KIND} is not valid JSON ({exc})") from None
