"""The training schedule (docs/protocol.md#classifier-schedule): one record per run and the learning rate at every step.

Kept free of torch so that the workflow can resolve a backbone's schedule while it plans the DAG.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ConfigError
from ..protocol import Protocol


@dataclass(frozen=True)
class Schedule:
    """Everything that decides how long and how fast one classifier trains."""

    lr: float = 1e-4
    iterations: int = 18000
    milestones: tuple[int, ...] = (10000, 14000)
    gamma: float = 0.1
    warmup: int = 1000
    batch_size: int = 64
    val_every: int = 1000
    label_smoothing: float = 0.1
    optimizer: str = "adam"

    def __post_init__(self) -> None:
        object.__setattr__(self, "milestones", tuple(int(m) for m in self.milestones))
        if list(self.milestones) != sorted(set(self.milestones)):
            raise ConfigError(f"milestones {list(self.milestones)}: expected strictly increasing steps")
        if self.optimizer != "adam":
            raise ConfigError(f"optimizer {self.optimizer!r}: only adam is implemented (as the original)")

    def lr_at(self, step: int) -> float:
        """lr(s) = lr * w(s) * gamma ** n(s) (docs/protocol.md#classifier-schedule).

        w(s) = s / warmup for s < warmup (so lr is 0 at step 0), else 1; n(s) counts the milestones m with s > m,
        strictly: the rate drops on the step *after* a milestone, as in the original trainer.
        """
        warm = step / self.warmup if step < self.warmup else 1.0
        drops = sum(1 for m in self.milestones if step > m)
        return self.lr * warm * self.gamma**drops

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["milestones"] = list(self.milestones)
        return data


SCHEDULE_KEYS = tuple(Schedule.__dataclass_fields__)


def resolve_schedule(classify: dict[str, Any], backbone: str, protocol: Protocol) -> Schedule:
    """The effective schedule of `backbone`: base schedule, then its named override, then faithful_lr.

    `faithful_lr` reproduces a per-backbone learning rate the original used despite the paper's "same
    configuration" (EfficientNet-B4 at 1e-3, docs/defects.md#defect-14); it applies when the protocol's
    `backbone_lr_overrides` is on.
    """
    spec = classify["backbones"].get(backbone)
    if spec is None:
        raise ConfigError(
            f"backbone {backbone!r}: expected a key of classify.backbones ({', '.join(classify['backbones'])})"
        )
    values: dict[str, Any] = dict(classify["schedule"])
    name = spec.get("schedule")
    if name is not None:
        override = classify.get("schedules", {}).get(name)
        if override is None:
            raise ConfigError(
                f"classify.backbones.{backbone}.schedule = {name!r}: expected a key of classify.schedules"
            )
        values.update(override)
    if protocol.backbone_lr_overrides and "faithful_lr" in spec:
        values["lr"] = spec["faithful_lr"]
    unknown = sorted(set(values) - set(SCHEDULE_KEYS))
    if unknown:
        raise ConfigError(f"classify.schedule: unknown keys {unknown}; expected some of {', '.join(SCHEDULE_KEYS)}")
    return Schedule(**values)
