"""Training augmentation and the evaluation transform on single crops (reference-spec §4.3), in torch.

Order and defaults follow the original's albumentations 1.3 pipeline on float32 crops in native units:

1. horizontal flip, p 0.5;
2. vertical flip, p 0.5;
3. rotation by an angle uniform in [-90, 90] degrees about the crop centre, bilinear, BORDER_REFLECT_101, p 0.5;
4. Gaussian blur, p 0.1: kernel 3, 5 or 7 drawn as albumentations draws it, sigma 0, i.e. OpenCV's fixed
   binomial tables, reflect-101 border;
5. brightness, p 0.5, beta uniform in [-0.2, 0.2];
6. bilinear resize to image_size x image_size, ignoring the aspect ratio (OpenCV INTER_LINEAR geometry).

Faithful brightness is what albumentations does to a float image: add beta (times the float "max" 1.0) and clip
to [0, 1]. On raw 0-255 crops this turns every pixel >= 1 into 1.0 in half of the training samples (defect 1 of
reference-spec §8); evaluation crops are never clipped. Corrected brightness scales the crop by (1 + beta) in its
native range, so intensity ratios survive, and every crop (train and eval) is then standardised per channel with
the mean/std of the training crops (defect 2).

Random draws come from a numpy Generator the caller seeds per step, so a batch does not depend on which
DataLoader worker builds it or on how often a run was resumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError

# OpenCV's getGaussianKernel tables for odd sizes <= 7 when sigma <= 0 (albumentations passes sigma 0).
_SMALL_GAUSSIAN = {
    3: (0.25, 0.5, 0.25),
    5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
    7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
}
BLUR_LIMIT = (3, 7)
BRIGHTNESS_LIMIT = 0.2
ROTATE_LIMIT = 90.0


@dataclass(frozen=True)
class Normalisation:
    """Per-channel standardisation (corrected protocol); identity when mean/std are None (faithful)."""

    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def apply(self, image: torch.Tensor) -> torch.Tensor:
        if self.mean is None or self.std is None:
            return image
        mean = torch.tensor(self.mean, dtype=image.dtype).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=image.dtype).view(-1, 1, 1)
        return (image - mean) / std

    def to_dict(self) -> dict[str, list[float] | None]:
        return {"mean": None if self.mean is None else list(self.mean), "std": None if self.std is None else list(self.std)}

    @classmethod
    def from_dict(cls, data: dict | None) -> "Normalisation":
        data = data or {}
        mean, std = data.get("mean"), data.get("std")
        return cls(None if mean is None else tuple(mean), None if std is None else tuple(std))


@dataclass(frozen=True)
class AugmentParams:
    """The random choices for one crop; drawn first so tests can pin them."""

    hflip: bool = False
    vflip: bool = False
    angle: float | None = None
    blur_kernel: int | None = None
    beta: float | None = None


def draw_params(rng: np.random.Generator) -> AugmentParams:
    """One crop's random choices, in the pipeline's order."""
    hflip = rng.random() < 0.5
    vflip = rng.random() < 0.5
    angle = float(rng.uniform(-ROTATE_LIMIT, ROTATE_LIMIT)) if rng.random() < 0.5 else None
    blur = None
    if rng.random() < 0.1:
        # albumentations 1.3 draws k in [3, 7] and bumps an even k to k + 1: P(3) = 1/5, P(5) = P(7) = 2/5.
        k = int(rng.integers(BLUR_LIMIT[0], BLUR_LIMIT[1] + 1))
        blur = k if k % 2 else (k + 1) % (BLUR_LIMIT[1] + 1)
    beta = float(rng.uniform(-BRIGHTNESS_LIMIT, BRIGHTNESS_LIMIT)) if rng.random() < 0.5 else None
    return AugmentParams(hflip, vflip, angle, blur, beta)


def reflect101_index(index: torch.Tensor, size: int) -> torch.Tensor:
    """Map integer positions outside [0, size) back inside as OpenCV's BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba)."""
    if size == 1:
        return torch.zeros_like(index)
    period = 2 * (size - 1)
    index = torch.remainder(index, period)
    return torch.where(index >= size, period - index, index)


def rotate(image: torch.Tensor, angle: float) -> torch.Tensor:
    """Rotate C x H x W by `angle` degrees (counter-clockwise on screen, as cv2.getRotationMatrix2D) about the
    pixel-grid centre ((W-1)/2, (H-1)/2), bilinear, reflect-101 border, same output size.

    grid_sample's reflection padding with align_corners=True mirrors about the centres of the edge pixels, which is
    exactly reflect-101 for bilinear sampling.
    """
    _, height, width = image.shape
    theta = np.deg2rad(angle)
    cos, sin = float(np.cos(theta)), float(np.sin(theta))
    cx, cy = (width - 1) / 2, (height - 1) / 2
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij"
    )
    dx, dy = xs - cx, ys - cy
    src_x = cos * dx - sin * dy + cx
    src_y = sin * dx + cos * dy + cy
    grid = torch.stack([2 * src_x / max(width - 1, 1) - 1, 2 * src_y / max(height - 1, 1) - 1], dim=-1)
    out = F.grid_sample(image[None], grid[None], mode="bilinear", padding_mode="reflection", align_corners=True)
    return out[0]


def gaussian_blur(image: torch.Tensor, kernel: int) -> torch.Tensor:
    """Separable blur with OpenCV's sigma-0 table for `kernel`, reflect-101 border (any crop size)."""
    if kernel not in _SMALL_GAUSSIAN:
        raise ConfigError(f"blur kernel {kernel}: expected one of {sorted(_SMALL_GAUSSIAN)}")
    weights = torch.tensor(_SMALL_GAUSSIAN[kernel], dtype=image.dtype)
    half = kernel // 2
    channels, height, width = image.shape
    offsets = torch.arange(-half, half + 1)
    rows = reflect101_index(torch.arange(height)[:, None] + offsets, height)  # H x k
    cols = reflect101_index(torch.arange(width)[:, None] + offsets, width)  # W x k
    image = (image[:, rows, :] * weights.view(1, 1, -1, 1)).sum(dim=2)  # blur along H
    return (image[:, :, cols] * weights).sum(dim=-1)  # blur along W


def brightness(image: torch.Tensor, beta: float, faithful: bool) -> torch.Tensor:
    if faithful:
        return torch.clamp(image + beta, 0.0, 1.0)
    return image * (1.0 + beta)


def resize(image: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear to size x size with half-pixel centres and no antialiasing (cv2.INTER_LINEAR's geometry)."""
    if image.shape[1:] == (size, size):
        return image
    return F.interpolate(image[None], size=(size, size), mode="bilinear", align_corners=False, antialias=False)[0]


def augment(image: torch.Tensor, params: AugmentParams, faithful: bool) -> torch.Tensor:
    """Steps 1-5 on a native-size C x H x W float32 crop."""
    if params.hflip:
        image = image.flip(-1)
    if params.vflip:
        image = image.flip(-2)
    if params.angle is not None:
        image = rotate(image, params.angle)
    if params.blur_kernel is not None:
        image = gaussian_blur(image, params.blur_kernel)
    if params.beta is not None:
        image = brightness(image, params.beta, faithful)
    return image


def train_transform(
    crop: np.ndarray, rng: np.random.Generator, image_size: int, faithful: bool, norm: Normalisation
) -> torch.Tensor:
    """H x W x C float32 crop -> augmented, resized (and in corrected mode standardised) C x S x S tensor."""
    image = torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))
    image = augment(image, draw_params(rng), faithful)
    return norm.apply(resize(image, image_size))


def eval_transform(crop: np.ndarray, image_size: int, norm: Normalisation) -> torch.Tensor:
    """Evaluation: resize only, plus the training normalisation in the corrected protocol."""
    image = torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))
    return norm.apply(resize(image, image_size))
