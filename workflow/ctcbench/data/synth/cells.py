"""The cell population of one field of view: classes, class-conditional appearance, and positions.

Cancer and normal cells differ in every label-free cue the models could use (size, elongation, boundary
irregularity, interior texture, nucleus size and DNA content) but each cue is drawn from overlapping
distributions, so brightfield alone is informative without being decisive. The stains decide the annotated
class: R cells carry the red (cancer) stain, G cells the green (normal) one, U cells neither. A U cell still has a
true biology (`cancer`), hidden from the annotations, which drives its label-free appearance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..layout import CLASSES
from .config import TwinConfig
from .style import PatientStyle

# Harmonic orders of the boundary outline (k=1 would only shift the cell).
HARMONICS = (2, 3, 4, 5, 6)


@dataclass(frozen=True)
class KindParams:
    """Distribution parameters of one biological kind of cell; see `sample_appearance`."""

    radius_ratio: float  # median radius relative to config.cell_radius
    axis_ratio_mean: float  # minor/major axis ratio
    irregularity: float  # median total amplitude of the boundary harmonics
    interior_offset: float  # mean relative brightfield level of the interior (negative = darker)
    texture_amp: float  # median relative amplitude of the interior texture
    texture_scale: float  # median grain size of the texture, pixels
    rim: float  # median relative strength of the refractive rim
    nucleus_frac: float  # mean nucleus radius / cell radius
    nucleus_level: float  # median Hoechst brightness (DNA content), relative


CANCER = KindParams(
    radius_ratio=1.14,
    axis_ratio_mean=0.76,
    irregularity=0.075,
    interior_offset=-0.06,
    texture_amp=0.095,
    texture_scale=1.1,
    rim=1.0,
    nucleus_frac=0.52,
    nucleus_level=1.7,
)
NORMAL = KindParams(
    radius_ratio=1.0,
    axis_ratio_mean=0.85,
    irregularity=0.045,
    interior_offset=-0.03,
    texture_amp=0.075,
    texture_scale=1.5,
    rim=0.85,
    nucleus_frac=0.44,
    nucleus_level=1.0,
)

# Share of stained cells whose stain is weak (poor uptake); they stay above the unstained background.
DIM_FRACTION = 0.1


@dataclass(frozen=True)
class Cell:
    """One cell: annotated label, hidden biology, geometry and appearance parameters."""

    label: str  # annotated class: R, G or U
    cancer: bool  # true biology; for U cells it is not in any annotation
    cx: float
    cy: float
    radius: float  # radius of the circle with the same area, pixels
    axis_ratio: float  # minor / major axis
    angle: float  # orientation of the major axis, radians
    harmonics: tuple[tuple[float, float], ...]  # (amplitude, phase) per order in HARMONICS
    interior_offset: float
    texture_amp: float
    texture_scale: float
    rim: float
    nucleus_frac: float
    nucleus_dx: float  # nucleus centre offset, in units of the cell radius
    nucleus_dy: float
    nucleus_level: float
    red: float  # cytoplasmic stain levels, relative (0 = unstained)
    green: float
    texture_seed: int

    @property
    def extent(self) -> float:
        """An upper bound of the distance from the centre to the outline, pixels."""
        amplitude = sum(a for a, _ in self.harmonics)
        return self.radius / np.sqrt(self.axis_ratio) * (1.0 + amplitude)


def _lognormal(rng: np.random.Generator, median: float, sigma: float) -> float:
    return float(median * np.exp(sigma * rng.standard_normal()))


def _stains(rng: np.random.Generator, label: str) -> tuple[float, float]:
    """(red, green): the own stain with a spread of uptake, plus a little spectral crosstalk into the other."""
    if label == "U":
        return 0.0, 0.0
    level = _lognormal(rng, 1.0, 0.4)
    if rng.random() < DIM_FRACTION:
        level *= rng.uniform(0.05, 0.35)
    crosstalk = level * rng.uniform(0.02, 0.08)
    return (level, crosstalk) if label == "R" else (crosstalk, level)


def sample_appearance(
    rng: np.random.Generator, label: str, cancer: bool, config: TwinConfig, style: PatientStyle
) -> Cell:
    """A cell of the given label and biology, not yet placed (centre at the origin)."""
    kind = CANCER if cancer else NORMAL
    radius = _lognormal(rng, config.cell_radius * kind.radius_ratio * style.size_scale, 0.16)
    amplitude = _lognormal(rng, kind.irregularity, 0.45)
    weights = rng.dirichlet(np.ones(len(HARMONICS)))
    harmonics = tuple((float(amplitude * w), float(rng.uniform(0, 2 * np.pi))) for w in weights)
    red, green = _stains(rng, label)
    nucleus_frac = float(np.clip(kind.nucleus_frac + 0.07 * rng.standard_normal(), 0.25, 0.72))
    # The nucleus sits anywhere that keeps it inside the cell.
    room = max(0.0, 0.85 - nucleus_frac)
    offset_r, offset_a = room * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
    return Cell(
        label=label,
        cancer=cancer,
        cx=0.0,
        cy=0.0,
        radius=radius,
        axis_ratio=float(np.clip(kind.axis_ratio_mean + 0.1 * rng.standard_normal(), 0.45, 1.0)),
        angle=float(rng.uniform(0, np.pi)),
        harmonics=harmonics,
        interior_offset=float(kind.interior_offset + 0.035 * rng.standard_normal()),
        texture_amp=_lognormal(rng, kind.texture_amp, 0.35),
        texture_scale=_lognormal(rng, kind.texture_scale, 0.25),
        rim=_lognormal(rng, kind.rim, 0.25),
        nucleus_frac=nucleus_frac,
        nucleus_dx=float(offset_r * np.cos(offset_a)),
        nucleus_dy=float(offset_r * np.sin(offset_a)),
        nucleus_level=_lognormal(rng, kind.nucleus_level * style.hoechst_gain, 0.25),
        red=red * style.stain_gain,
        green=green * style.stain_gain,
        texture_seed=int(rng.integers(0, 2**31 - 1)),
    )


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (xmin, ymin, xmax, ymax) boxes, end-exclusive."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _place(rng: np.random.Generator, cells: list[Cell], size: int, clump_fraction: float) -> list[Cell]:
    """Positions by rejection sampling: cells may touch (clumps) but never pile up, and stay inside the image.

    Keeping the bounding boxes of distinct cells below IoU 0.35 means NMS on any annotation never merges two real
    cells, which is what the test-set union relies on.
    """
    placed: list[Cell] = []
    margin = 3.0
    for cell in cells:
        ext = cell.extent + margin
        if 2 * ext >= size:
            continue
        for _ in range(40):
            if placed and rng.random() < clump_fraction:
                anchor = placed[int(rng.integers(len(placed)))]
                theta = rng.uniform(0, 2 * np.pi)
                dist = (anchor.radius + cell.radius) * rng.uniform(0.9, 1.05)
                cx, cy = anchor.cx + dist * np.cos(theta), anchor.cy + dist * np.sin(theta)
            else:
                cx, cy = rng.uniform(ext, size - ext, size=2)
            if not (ext <= cx <= size - ext and ext <= cy <= size - ext):
                continue
            box = (cx - cell.extent, cy - cell.extent, cx + cell.extent, cy + cell.extent)
            ok = True
            for other in placed:
                if np.hypot(other.cx - cx, other.cy - cy) < 0.85 * (other.radius + cell.radius):
                    ok = False
                    break
                reach = other.extent
                other_box = (other.cx - reach, other.cy - reach, other.cx + reach, other.cy + reach)
                if box_iou(box, other_box) > 0.35:
                    ok = False
                    break
            if ok:
                placed.append(replace(cell, cx=float(cx), cy=float(cy)))
                break
    return placed


def sample_cells(rng: np.random.Generator, config: TwinConfig, style: PatientStyle) -> list[Cell]:
    """The annotated cells of one image, in annotation order."""
    count = max(1, int(rng.poisson(config.cells_per_image)))
    mix = np.array([config.class_mix[c] for c in CLASSES], dtype=float)
    # Each field of view has its own class balance around the configured one (fields differ in the real data).
    probs = rng.dirichlet(mix / mix.sum() * 20.0 + 1e-6)
    labels = rng.choice(np.array(CLASSES), size=count, p=probs)
    cells = []
    for label in labels.tolist():
        if label == "R":
            cancer = True
        elif label == "G":
            cancer = False
        else:
            cancer = bool(rng.random() < config.unknown_cancer_fraction)
        cells.append(sample_appearance(rng, label, cancer, config, style))
    return _place(rng, cells, config.image_size, config.clump_fraction)
