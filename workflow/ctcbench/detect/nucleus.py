"""The classical nucleus detector: boxes around the Hoechst-stained nuclei of one image, without any training.

A non-deep baseline of the detection stage (docs/metrics.md#nucleus-detector). It follows the OpenCV recipe a related
CTC study used to find nuclei on its nuclear-stain channel (Guo et al., Front. Oncol. 12:843879, 2022): Gaussian blur,
an image gradient that keeps high horizontal and low vertical change (Scharr x minus Scharr y), Gaussian blur again,
binarisation, a morphological closing, then erosions and as many dilations ("four morphological corrosion and
expansion"), the external contours and each contour's bounding rectangle. The study gives no parameter values; each
is a `detect.nucleus` key of the config, with its default and why in docs/metrics.md#nucleus-detector.

Four steps are this benchmark's own. Two make the recipe robust: the closed regions are filled before the erosions
(`fill_holes`; else a nucleus wider than the closing kernel stays a ring, which the erosions remove), and a region
must be brighter than the image's background (`min_contrast`; else the binarisation of an image without nuclei, which
splits its noise, yields regions). Two are needed because the benchmark scores cell boxes: the rectangle is grown
about its centre by `box_scale` (a cell's box is larger than its nucleus'), and each box gets a score, the mean
Hoechst intensity inside its contour as a fraction of the pixel type's full scale, so that AP is defined.

Importing this module does not import OpenCV: the plan reads its name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from numbers import Real
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError
from ..spec_json import JsonSpec

NAME = "nucleus"  # the detector column of its results (report.results) and its folder (plan.runs.ClassicalRun)
TITLE = "Nucleus detector (Hoechst, OpenCV)"
OTSU = "otsu"
GRADIENTS = ("x_minus_y", "magnitude")  # the study's directional gradient, or the isotropic one
BRIGHT_PERCENTILE = 99.9  # the image's bright end in `contrast`
SWITCH = "enabled"  # the config key that plans it (plan.grid); not a parameter of the detection


@dataclass(frozen=True)
class NucleusParams(JsonSpec):
    """The recipe's parameters, in pixels of the original image (docs/metrics.md#nucleus-detector); their JSON is
    what `ctcbench nucleus-predict --params` takes, and its digest identifies the predictions they make, as a
    trained detector's model checksum does."""

    KIND: ClassVar[str] = "nucleus detector parameters"

    blur: int  # side of both Gaussian kernels (odd)
    gradient: str  # x_minus_y: |Scharr x - Scharr y|, as the study; magnitude: sqrt(x^2 + y^2)
    threshold: str | float  # otsu, or a level 0-255 of the blurred gradient scaled to its maximum
    close_kernel: tuple[int, int]  # width and height of the closing rectangle
    fill_holes: bool  # fill each closed region before the erosions (false: the study's recipe as written)
    iterations: int  # erosions, then as many dilations (3 x 3)
    min_area: float  # smallest contour area kept, pixels
    min_contrast: float  # smallest `contrast` of a region kept (0 keeps every region)
    box_scale: float  # the bounding rectangle grown about its centre by this factor (1: the contour's own)

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "detect.nucleus") -> NucleusParams:
        """The parameters of a config block (`enabled` ignored), or a ConfigError naming every bad key."""
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: {values!r}: expected an object of the detector's parameters")
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(names) - {SWITCH})
        missing = [name for name in names if name not in values]
        if unknown or missing:
            raise ConfigError(
                f"{where}: " + "; ".join([*(f"unknown key {k!r}" for k in unknown), *(f"no {k}" for k in missing)])
                + f"; expected {', '.join(names)}"
            )  # fmt: skip
        kernel = values["close_kernel"]
        chosen = {name: values[name] for name in names}
        chosen["close_kernel"] = tuple(kernel) if isinstance(kernel, (list, tuple)) else kernel
        params = cls(**chosen)
        params.check(where)
        return params

    def check(self, where: str) -> None:
        problems = [f"{where}.{key} = {getattr(self, key)!r}: {need}" for key, need in _problems(self)]
        if problems:
            raise ConfigError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "close_kernel": list(self.close_kernel)}


def _whole(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value)


def _problems(params: NucleusParams) -> list[tuple[str, str]]:
    kernel = params.close_kernel
    checks = (
        ("blur", _whole(params.blur, 1) and params.blur % 2 == 1, "an odd kernel side >= 1 (a Gaussian kernel has a "
                                                                  "centre pixel)"),
        ("gradient", params.gradient in GRADIENTS, f"one of {', '.join(GRADIENTS)}"),
        ("threshold", params.threshold == OTSU or (_number(params.threshold) and 0 <= params.threshold <= 255),
         f"{OTSU} or a level from 0 to 255"),
        ("close_kernel", isinstance(kernel, tuple) and len(kernel) == 2 and all(_whole(k, 1) for k in kernel),
         "[width, height], two whole numbers >= 1"),
        ("fill_holes", isinstance(params.fill_holes, bool), "true or false"),
        ("iterations", _whole(params.iterations, 0), "a whole number >= 0"),
        ("min_area", _number(params.min_area) and params.min_area >= 0, "a number of pixels >= 0"),
        ("min_contrast", _number(params.min_contrast) and 0 <= params.min_contrast <= 1, "a fraction from 0 to 1"),
        ("box_scale", _number(params.box_scale) and params.box_scale > 0, "a factor > 0"),
    )  # fmt: skip
    return [(key, need) for key, ok, need in checks if not ok]


def detect_nuclei(hoechst: np.ndarray, params: NucleusParams) -> tuple[np.ndarray, np.ndarray]:
    """Boxes around the nuclei of one Hoechst image (H x W, integer pixels as the image reader returns them): N x 4
    x1 y1 x2 y2 in its pixels (x2, y2 end-exclusive), and their scores in [0, 1], in descending score order."""
    import cv2

    height, width = hoechst.shape
    contours, _ = cv2.findContours(nucleus_mask(hoechst, params), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    background, bright = np.percentile(hoechst, (50, BRIGHT_PERCENTILE))
    boxes, scores = [], []
    for contour in contours:
        if cv2.contourArea(contour) < params.min_area:
            continue
        rect = cv2.boundingRect(contour)
        mean = mean_inside(hoechst, contour, rect)
        if params.min_contrast > 0 and contrast(mean, background, bright) < params.min_contrast:
            continue
        boxes.append(grown_box(rect, params.box_scale, width, height))
        scores.append(mean / np.iinfo(hoechst.dtype).max)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)[order], np.asarray(scores, dtype=np.float64)[order]


def nucleus_mask(hoechst: np.ndarray, params: NucleusParams) -> np.ndarray:
    """The recipe's binary mask (uint8, 0 or 255): blur, gradient, blur, binarise, close, fill, erode, dilate."""
    import cv2

    kernel = (params.blur, params.blur)
    image = cv2.GaussianBlur(hoechst.astype(np.float32), kernel, 0)
    edges = cv2.GaussianBlur(gradient(image, params.gradient), kernel, 0)
    binary = binarise(edges, params.threshold)
    closing = cv2.getStructuringElement(cv2.MORPH_RECT, params.close_kernel)
    binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, closing)
    if params.fill_holes:
        outlines, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        binary = cv2.drawContours(np.zeros_like(binary), outlines, -1, 255, thickness=cv2.FILLED)
    if params.iterations:  # OpenCV applies a 3 x 3 kernel `iterations` times (its default kernel)
        binary = cv2.dilate(cv2.erode(binary, None, iterations=params.iterations), None, iterations=params.iterations)
    return binary


def gradient(image: np.ndarray, kind: str) -> np.ndarray:
    """Edge strength: |Scharr x - Scharr y| (the study's high-horizontal, low-vertical gradient) or the magnitude."""
    import cv2

    along_x = cv2.Scharr(image, cv2.CV_32F, 1, 0)
    along_y = cv2.Scharr(image, cv2.CV_32F, 0, 1)
    if kind == "x_minus_y":
        return np.abs(along_x - along_y)
    return cv2.magnitude(along_x, along_y)


def binarise(edges: np.ndarray, threshold: str | float) -> np.ndarray:
    """0/255 mask of the edge image scaled to 0-255 by its maximum (so one threshold suits 8- and 16-bit images),
    above Otsu's level or the given one; an image without any edge is all 0."""
    import cv2

    peak = float(edges.max())
    scaled = (edges * (255.0 / peak) if peak > 0 else np.zeros_like(edges)).astype(np.uint8)
    if threshold == OTSU:
        if peak <= 0:
            return scaled  # Otsu's level of a constant image is that constant: nothing is above it
        return cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]
    return cv2.threshold(scaled, float(threshold), 255, cv2.THRESH_BINARY)[1]


def grown_box(rect: tuple[int, int, int, int], scale: float, width: int, height: int) -> tuple[float, ...]:
    """OpenCV's bounding rectangle (x, y, w, h) as x1 y1 x2 y2, grown about its centre by `scale`, clipped to the
    image."""
    x, y, w, h = rect
    centre_x, centre_y, half_w, half_h = x + w / 2, y + h / 2, w * scale / 2, h * scale / 2
    return (max(0.0, centre_x - half_w), max(0.0, centre_y - half_h), min(float(width), centre_x + half_w),
            min(float(height), centre_y + half_h))  # fmt: skip


def contrast(mean: float, background: float, bright: float) -> float:
    """How much brighter a region is than the image's background (its median), as a fraction of the image's bright
    end (its 99.9th percentile, which a few hot pixels do not move) above the background; 0 for a flat image."""
    return (mean - background) / (bright - background) if bright > background else 0.0


def mean_inside(hoechst: np.ndarray, contour: np.ndarray, rect: tuple[int, int, int, int]) -> float:
    """Mean Hoechst intensity of the pixels inside a contour (its filled region), in the image's units."""
    import cv2

    x, y, w, h = rect
    inside = np.zeros((h, w), np.uint8)
    cv2.drawContours(inside, [contour], -1, 1, thickness=cv2.FILLED, offset=(-x, -y))
    return float(hoechst[y : y + h, x : x + w][inside > 0].mean())
