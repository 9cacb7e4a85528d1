"""Where a cell is, pixel by pixel: its outline, nucleus and tight bounding box.

A cell is an ellipse whose radius is modulated by a few angular harmonics (irregular outline). For every pixel of
a window around it we compute the signed distance to the outline, which the renderer turns into interior, rim
and halo, and the same outline defines the annotated box, so boxes are tight by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cells import HARMONICS, Cell

# Pixels of context kept around the outline for the halo and the blur.
HALO_PAD = 8


@dataclass(frozen=True)
class CellWindow:
    """A cell's pixels: the image window it touches and distance maps over that window."""

    y0: int
    x0: int
    y1: int
    x1: int
    dist: np.ndarray  # signed distance to the outline, pixels (negative inside)
    nucleus_dist: np.ndarray  # signed distance to the nucleus outline, pixels

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)


def _outline_distance(
    dx: np.ndarray,
    dy: np.ndarray,
    radius: float,
    axis_ratio: float,
    angle: float,
    harmonics: tuple[tuple[float, float], ...],
) -> np.ndarray:
    cos, sin = np.cos(angle), np.sin(angle)
    u = dx * cos + dy * sin
    v = -dx * sin + dy * cos
    a = radius / np.sqrt(axis_ratio)  # semi-axes keep the area of a circle of `radius`
    b = radius * np.sqrt(axis_ratio)
    q = np.hypot(u / a, v / b)
    phi = np.arctan2(v / b, u / a)
    modulation = np.ones_like(q)
    for k, (amplitude, phase) in zip(HARMONICS, harmonics):
        modulation += amplitude * np.cos(k * phi + phase)
    d = q / modulation  # 1 on the outline
    rho = np.hypot(u, v)
    boundary = np.where(d > 1e-6, rho / np.maximum(d, 1e-6), radius)
    return rho - boundary


def cell_window(cell: Cell, size: int) -> CellWindow:
    reach = int(np.ceil(cell.extent)) + HALO_PAD
    x0, x1 = max(0, int(cell.cx) - reach), min(size, int(cell.cx) + reach + 1)
    y0, y1 = max(0, int(cell.cy) - reach), min(size, int(cell.cy) + reach + 1)
    # Pixel (i, j) covers [j, j+1) x [i, i+1); its centre is at +0.5.
    dx = (np.arange(x0, x1) + 0.5)[None, :] - cell.cx
    dy = (np.arange(y0, y1) + 0.5)[:, None] - cell.cy
    dist = _outline_distance(dx, dy, cell.radius, cell.axis_ratio, cell.angle, cell.harmonics)
    nx = dx - cell.nucleus_dx * cell.radius
    ny = dy - cell.nucleus_dy * cell.radius
    nucleus = _outline_distance(
        nx, ny, cell.nucleus_frac * cell.radius, float(np.sqrt(cell.axis_ratio)), cell.angle, ()
    )
    return CellWindow(y0=y0, x0=x0, y1=y1, x1=x1, dist=dist, nucleus_dist=nucleus)


def tight_box(window: CellWindow) -> tuple[int, int, int, int]:
    """(xmin, ymin, xmax, ymax), end-exclusive: image[ymin:ymax, xmin:xmax] is exactly the cell's pixels' box."""
    inside = window.dist <= 0
    if not inside.any():  # a sub-pixel cell: fall back to the pixel holding the centre
        cy, cx = np.unravel_index(np.argmin(window.dist), window.dist.shape)
        return window.x0 + int(cx), window.y0 + int(cy), window.x0 + int(cx) + 1, window.y0 + int(cy) + 1
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    return (
        window.x0 + int(cols[0]),
        window.y0 + int(rows[0]),
        window.x0 + int(cols[-1]) + 1,
        window.y0 + int(rows[-1]) + 1,
    )
