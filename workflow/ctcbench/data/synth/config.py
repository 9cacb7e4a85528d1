"""What a synthetic twin looks like: counts, sizes, class mix and annotator behaviour, with two presets.

The paper preset mirrors the release (docs/dataset.md#splits, docs/dataset.md#table-1): 533/543/131 images for
r06/r07/r08 with 40 test images each, 967/120/120 train/val/test and about 75 annotated cells per 1080 x 1080 image in a
roughly 1:1:1 R/G/U mix. The demo preset keeps every structural property at a size that generates in seconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ...errors import ConfigError
from ..layout import CLASSES, PATIENTS

PAPER_IMAGES: dict[str, int] = {"r06": 533, "r07": 543, "r08": 131}
PAPER_TEST_PER_PATIENT = 40
# 120 val images out of the 1087 annotated train+val images.
PAPER_VAL_FRACTION = 120 / 1087


@dataclass(frozen=True)
class TwinConfig:
    """Parameters of one synthetic twin; equal configs give byte-identical datasets."""

    seed: int = 0
    image_size: int = 1080
    images_per_patient: dict[str, int] = field(default_factory=lambda: dict(PAPER_IMAGES))
    test_per_patient: int = PAPER_TEST_PER_PATIENT
    # Fraction of each patient's non-test images that go to val (rounded per patient).
    val_fraction: float = PAPER_VAL_FRACTION
    # Mean number of annotated cells per image (Poisson); the release has ~75 at 1080 x 1080.
    cells_per_image: float = 75.0
    # Expected share of each annotated class; each image draws its own mix around it.
    class_mix: dict[str, float] = field(default_factory=lambda: {"R": 0.31, "G": 0.34, "U": 0.35})
    # Hidden biology of unknown (U) cells: the share that are cancer cells.
    unknown_cancer_fraction: float = 0.5
    # Median radius in pixels of a normal cell; cancer cells are larger on average.
    cell_radius: float = 20.0
    # Share of cells placed touching an earlier cell, to make clumps.
    clump_fraction: float = 0.3
    # Mean number of unannotated debris blobs per image.
    debris_per_image: float = 30.0
    # Per-expert (Expert1, Expert2) chance of missing a cancer cell, and box jitter (std, pixels).
    expert_miss_rates: tuple[float, float] = (0.04, 0.12)
    expert_jitter_px: tuple[float, float] = (1.0, 2.0)
    write_crops: bool = True
    # Digits of the field number in image ids; 0 picks the smallest width >= 2 that fits every field.
    field_width: int = 0

    def __post_init__(self) -> None:
        # Normalise containers so that configs read back from JSON compare and hash like the originals.
        object.__setattr__(self, "images_per_patient", {k: int(v) for k, v in self.images_per_patient.items()})
        object.__setattr__(self, "class_mix", {k: float(v) for k, v in self.class_mix.items()})
        object.__setattr__(self, "expert_miss_rates", tuple(float(v) for v in self.expert_miss_rates))
        object.__setattr__(self, "expert_jitter_px", tuple(float(v) for v in self.expert_jitter_px))
        self.validate()

    @classmethod
    def demo(cls, **overrides: Any) -> TwinConfig:
        """A twin small enough for CI: 40 images of 256 x 256 with ~15 cells each, generated in seconds."""
        values: dict[str, Any] = dict(
            image_size=256,
            images_per_patient={"r06": 16, "r07": 16, "r08": 8},
            test_per_patient=3,
            val_fraction=0.2,
            cells_per_image=15.0,
            cell_radius=12.0,
            debris_per_image=4.0,
        )
        values.update(overrides)
        return cls(**values)

    @classmethod
    def paper(cls, **overrides: Any) -> TwinConfig:
        """The release's size: 1207 images of 1080 x 1080 split 967/120/120."""
        return cls(**overrides)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> TwinConfig:
        if name not in PRESETS:
            raise ConfigError(f"unknown twin preset {name!r}; choose one of {sorted(PRESETS)}")
        return getattr(cls, name)(**overrides)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TwinConfig:
        """Inverse of `to_dict`; unknown keys are an error so that a typo is not silently ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown twin config keys {unknown}; valid keys are {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["expert_miss_rates"] = list(self.expert_miss_rates)
        data["expert_jitter_px"] = list(self.expert_jitter_px)
        return data

    @property
    def patients(self) -> tuple[str, ...]:
        return tuple(p for p in PATIENTS if p in self.images_per_patient)

    @property
    def id_width(self) -> int:
        """Field-number digits: as configured, or just wide enough for the largest patient."""
        if self.field_width:
            return self.field_width
        return max(2, len(str(max(self.images_per_patient.values()))))

    def validate(self) -> None:
        if self.image_size < 64:
            raise ConfigError(f"image_size={self.image_size}: the twin needs at least 64 pixels per side")
        unknown = sorted(set(self.images_per_patient) - set(PATIENTS))
        if unknown or not self.images_per_patient:
            raise ConfigError(
                f"images_per_patient keys must be among {list(PATIENTS)}; got {sorted(self.images_per_patient)}"
            )
        if self.test_per_patient < 0:
            raise ConfigError("test_per_patient must be >= 0")
        for patient, count in self.images_per_patient.items():
            if count <= self.test_per_patient:
                raise ConfigError(
                    f"{patient} has {count} images but test_per_patient={self.test_per_patient}; "
                    "every patient needs more images than test images"
                )
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction={self.val_fraction} must be in [0, 1)")
        if self.cells_per_image <= 0:
            raise ConfigError("cells_per_image must be positive")
        if set(self.class_mix) != set(CLASSES) or any(v < 0 for v in self.class_mix.values()):
            raise ConfigError(f"class_mix needs non-negative weights for exactly {list(CLASSES)}; got {self.class_mix}")
        if sum(self.class_mix.values()) <= 0:
            raise ConfigError("class_mix weights must not all be zero")
        if not 0.0 <= self.unknown_cancer_fraction <= 1.0:
            raise ConfigError("unknown_cancer_fraction must be in [0, 1]")
        if not 3.0 <= self.cell_radius <= self.image_size / 6:
            raise ConfigError(
                f"cell_radius={self.cell_radius} must be between 3 and image_size/6 ({self.image_size / 6:g})"
            )
        if not 0.0 <= self.clump_fraction <= 1.0:
            raise ConfigError("clump_fraction must be in [0, 1]")
        if self.debris_per_image < 0:
            raise ConfigError("debris_per_image must be >= 0")
        if len(self.expert_miss_rates) != 2 or len(self.expert_jitter_px) != 2:
            raise ConfigError("expert_miss_rates and expert_jitter_px need one value per expert (two)")
        if any(not 0.0 <= v < 1.0 for v in self.expert_miss_rates) or any(v < 0 for v in self.expert_jitter_px):
            raise ConfigError("expert miss rates must be in [0, 1) and jitter must be >= 0")
        largest = max(self.images_per_patient.values())
        if self.field_width and len(str(largest)) > self.field_width:
            raise ConfigError(f"field_width={self.field_width} cannot number {largest} fields")


PRESETS: tuple[str, ...] = ("demo", "paper")
