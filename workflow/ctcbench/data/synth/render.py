"""Drawing one field of view: a brightfield and a three-channel fluorescence image, both 16-bit.

Intensities are set so that OpenCV's 8-bit read (v >> 8 for gray, v / 257 for RGB) gives what the release gives
(docs/dataset.md#image-formats): brightfield around 14 +- 3, fluorescence channels around 1-3 with bright cells. So the
label-free cues of a cell are only a few 8-bit grey levels deep, as in the real data.

Brightfield: background x low-frequency illumination x (1 + sum of cell and debris perturbations), then
signal-dependent (Poisson-Gaussian) camera noise. A cell perturbs it by a textured interior, a dark refractive rim
with a bright halo just outside (inverted in some defocused fields), and a faint nuclear outline.
Fluorescence (file order red, green, blue): cytoplasmic red/green stain per the cell's label, Hoechst in every
nucleus, an offset, dimmer illumination falloff and camera noise; some debris is autofluorescent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.special import expit

from .cells import Cell
from .config import TwinConfig
from .geometry import cell_window, tight_box
from .style import PatientStyle

BF_LEVEL = 3700.0  # 16-bit background; >> 8 gives ~14 as in the release
BF_GAIN = 6.0  # digital numbers per photo-electron: sets the shot noise
BF_READ_NOISE = 60.0
RIM_DEPTH = 0.32  # relative depth of the dark refractive rim at focus 1
HALO_RATIO = 0.55  # bright halo height relative to the rim depth

# Fluorescence, 16-bit levels for a stain level of 1 (8-bit = level / 257).
RED_LEVEL = 2400.0
GREEN_LEVEL = 2900.0
HOECHST_LEVEL = 1900.0
FL_OFFSET = np.array([170.0, 230.0, 70.0])  # red, green, Hoechst dark offsets
FL_GAIN = 3.0
FL_READ_NOISE = 25.0
INVERTED_FOCUS_FRACTION = 0.15  # fields imaged on the other side of focus: bright rim, dark halo


@dataclass(frozen=True)
class RenderedImage:
    brightfield: np.ndarray  # H x W uint16
    fluorescence: np.ndarray  # H x W x 3 uint16, file order red, green, Hoechst
    boxes: list[tuple[int, int, int, int]]  # tight (xmin, ymin, xmax, ymax) per cell, end-exclusive


def _texture(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> np.ndarray:
    """Unit-variance band-limited noise with grains of about `scale` pixels."""
    field = gaussian_filter(rng.standard_normal(shape), scale, mode="reflect")
    return field / (field.std() + 1e-12)


def _illumination(rng: np.random.Generator, size: int, strength: float) -> np.ndarray:
    """Multiplicative flat-field: vignetting plus a few random low-frequency waves, mean about 1."""
    coords = (np.arange(size) + 0.5) / size - 0.5
    x, y = coords[None, :], coords[:, None]
    ox, oy = rng.normal(0.0, 0.1, size=2)  # optical centre slightly off the image centre
    field = 1.0 - strength * rng.uniform(0.6, 1.4) * ((x - ox) ** 2 + (y - oy) ** 2) * 2.0
    for _ in range(4):
        kx, ky = rng.uniform(-1.6, 1.6, size=2)
        amplitude = strength * 0.35 * rng.standard_normal()
        phase_x = 2 * np.pi * kx * x + rng.uniform(0, 2 * np.pi)
        phase_y = 2 * np.pi * ky * y
        # cos(a + b) as outer products: a plane wave at the cost of two 1-D evaluations.
        field = field + amplitude * (np.cos(phase_x) * np.cos(phase_y) - np.sin(phase_x) * np.sin(phase_y))
    return field / field.mean()


def _camera(rng: np.random.Generator, signal: np.ndarray, gain: float, read_noise: float) -> np.ndarray:
    """Shot noise (variance = gain x signal) plus read noise, quantised to 16 bits.

    At these photon counts the Poisson-Gaussian noise is indistinguishable from a Gaussian with the same
    signal-dependent variance, which is several times cheaper to draw on a full 1080 x 1080 frame.
    """
    signal = np.maximum(signal, 0.0)
    noise = rng.standard_normal(signal.shape, dtype=np.float32)
    counts = signal + np.sqrt(gain * signal + read_noise**2) * noise
    return np.clip(np.rint(counts), 0, 65535).astype(np.uint16)


def _draw_cell(cell: Cell, size: int, focus: float, bf: np.ndarray, fl: np.ndarray) -> tuple[int, int, int, int]:
    window = cell_window(cell, size)
    rng = np.random.default_rng(cell.texture_seed)
    shape = window.dist.shape
    inside = expit(-window.dist / 0.6)
    nucleus = expit(-window.nucleus_dist / 0.8)
    dist = window.dist

    # Brightfield, relative to the background.
    interior = cell.interior_offset + cell.texture_amp * _texture(rng, shape, cell.texture_scale)
    rim = -np.exp(-0.5 * (dist / 1.2) ** 2) + HALO_RATIO * np.exp(-0.5 * ((dist - 2.8) / 1.6) ** 2)
    envelope = -0.03 * np.exp(-0.5 * (window.nucleus_dist / 0.8) ** 2) - 0.015 * nucleus
    bf[window.slices] += inside * (interior + envelope) + focus * cell.rim * RIM_DEPTH * rim

    # Fluorescence: cytoplasmic stains are excluded from the nucleus; everything is blurred by the optics.
    cytoplasm = np.clip(inside * (1.0 + 0.3 * _texture(rng, shape, 2.0)) * (1.0 - 0.6 * nucleus), 0.0, None)
    cytoplasm = gaussian_filter(cytoplasm, 1.0, mode="constant")
    chromatin = np.clip(nucleus * (1.0 + 0.25 * _texture(rng, shape, 1.0)), 0.0, None)
    chromatin = gaussian_filter(chromatin, 1.0, mode="constant")
    fl[window.slices + (0,)] += RED_LEVEL * cell.red * cytoplasm
    fl[window.slices + (1,)] += GREEN_LEVEL * cell.green * cytoplasm
    fl[window.slices + (2,)] += HOECHST_LEVEL * cell.nucleus_level * chromatin
    return tight_box(window)


def _draw_debris(rng: np.random.Generator, config: TwinConfig, bf: np.ndarray, fl: np.ndarray) -> None:
    """Unannotated dust and cell fragments: small dark blobs, some of them autofluorescent in every channel."""
    size = config.image_size
    scale = config.cell_radius / 12.0
    for _ in range(int(rng.poisson(config.debris_per_image))):
        sigma = rng.uniform(0.8, 2.5) * scale
        reach = int(np.ceil(4 * sigma))
        cx, cy = rng.uniform(0, size, size=2)
        x0, x1 = max(0, int(cx) - reach), min(size, int(cx) + reach + 1)
        y0, y1 = max(0, int(cy) - reach), min(size, int(cy) + reach + 1)
        dx = (np.arange(x0, x1) + 0.5)[None, :] - cx
        dy = (np.arange(y0, y1) + 0.5)[:, None] - cy
        blob = np.exp(-0.5 * (dx**2 + dy**2) / sigma**2)
        bf[y0:y1, x0:x1] -= rng.uniform(0.1, 0.5) * blob
        if rng.random() < 0.3:
            fl[y0:y1, x0:x1, :] += rng.uniform(150.0, 1000.0) * blob[:, :, None]


def render_scene(rng: np.random.Generator, cells: list[Cell], config: TwinConfig, style: PatientStyle) -> RenderedImage:
    size = config.image_size
    focus = style.focus * float(np.exp(0.2 * rng.standard_normal()))
    if rng.random() < INVERTED_FOCUS_FRACTION:
        focus = -focus
    bf = np.zeros((size, size), dtype=np.float64)
    fl = np.zeros((size, size, 3), dtype=np.float64)
    boxes = [_draw_cell(cell, size, focus, bf, fl) for cell in cells]
    _draw_debris(rng, config, bf, fl)

    level = BF_LEVEL * style.brightness * float(np.exp(0.03 * rng.standard_normal()))
    bf_signal = level * _illumination(rng, size, 0.3) * np.clip(1.0 + bf, 0.05, None)
    fl_illumination = _illumination(rng, size, 0.12)[:, :, None]
    offsets = FL_OFFSET * np.exp(0.1 * rng.standard_normal(3))
    fl_signal = (offsets + fl) * fl_illumination
    return RenderedImage(
        brightfield=_camera(rng, bf_signal, BF_GAIN, BF_READ_NOISE),
        fluorescence=_camera(rng, fl_signal, FL_GAIN, FL_READ_NOISE),
        boxes=boxes,
    )
