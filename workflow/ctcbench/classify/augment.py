"""Training augmentation and the evaluation transform on single crops (docs/protocol.md#classifier-augmentation).

Order and defaults follow the original's albumentations 1.3 pipeline on float32 crops in native units:

1. horizontal flip, p 0.5;
2. vertical flip, p 0.5;
3. rotation by an angle uniform in [-90, 90] degrees about the crop centre, bilinear, BORDER_REFLECT_101, p 0.5;
4. Gaussian blur, p 0.1: kernel 3, 5 or 7 drawn as albumentations draws it, sigma 0 (OpenCV then uses its fixed
   binomial tables), reflect-101 border;
5. brightness, p 0.5, beta uniform in [-0.2, 0.2];
6. bilinear resize to image_size x image_size, ignoring the aspect ratio.

Steps 3, 4 and 6 call the same OpenCV functions with the same arguments as albumentations, so the geometry and
interpolation (OpenCV's fixed-point bilinear weights included) match the original exactly; OpenCV is also several
times faster per small crop than per-crop torch kernels, which matters when the loader feeds a GPU.

Faithful brightness is what albumentations does to a float image: add beta (times the float "max" 1.0) and clip
to [0, 1]. On raw 0-255 crops this turns every pixel >= 1 into 1.0 in half of the training samples (defect 1 of
docs/defects.md); evaluation crops are never clipped. Corrected brightness scales the crop by (1 + beta) in its
native range, so intensity ratios survive, and every crop (train and eval) is then standardised per channel with
the mean/std of the training crops (defect 2).

Random draws come from a numpy Generator the caller seeds per step, so a batch does not depend on which
DataLoader worker builds it or on how often a run was resumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

BLUR_LIMIT = (3, 7)
BRIGHTNESS_LIMIT = 0.2
ROTATE_LIMIT = 90.0
# Probability of each step, in the order the apply flags are drawn (classify.device_augment draws the same).
P_HFLIP, P_VFLIP, P_ROTATE, P_BLUR, P_BRIGHTNESS = 0.5, 0.5, 0.5, 0.1, 0.5


@dataclass(frozen=True)
class Normalisation:
    """Per-channel standardisation (classifier_normalisation: train_statistics); identity when mean/std are None."""

    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def apply(self, image: np.ndarray, in_place: bool = False) -> np.ndarray:
        """H x W x C float32 -> standardised (or unchanged)."""
        if self.mean is None or self.std is None:
            return image
        mean, std = np.asarray(self.mean, np.float32), np.asarray(self.std, np.float32)
        if in_place:
            np.subtract(image, mean, out=image)
            return np.divide(image, std, out=image)
        return (image - mean) / std

    def to_dict(self) -> dict[str, list[float] | None]:
        return {
            "mean": None if self.mean is None else list(self.mean),
            "std": None if self.std is None else list(self.std),
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> Normalisation:
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


def odd_kernels(kernels):
    """Blur kernels as albumentations 1.3 makes them of k drawn uniformly in [3, 7]: an even k becomes k + 1, so
    P(3) = 1/5 and P(5) = P(7) = 2/5. Works on numpy arrays and torch tensors alike."""
    return kernels + (1 - kernels % 2)


def draw_params(rng: np.random.Generator, n: int) -> list[AugmentParams]:
    """The random choices of `n` crops, in the pipeline's order, drawn in a few vectorised calls."""
    apply = rng.random((n, 5))  # hflip, vflip, rotate, blur, brightness: each applied when below its p
    angles = rng.uniform(-ROTATE_LIMIT, ROTATE_LIMIT, n)
    kernels = odd_kernels(rng.integers(BLUR_LIMIT[0], BLUR_LIMIT[1] + 1, n))
    betas = rng.uniform(-BRIGHTNESS_LIMIT, BRIGHTNESS_LIMIT, n)
    return [
        AugmentParams(
            hflip=bool(a[0] < P_HFLIP),
            vflip=bool(a[1] < P_VFLIP),
            angle=float(angle) if a[2] < P_ROTATE else None,
            blur_kernel=int(kernel) if a[3] < P_BLUR else None,
            beta=float(beta) if a[4] < P_BRIGHTNESS else None,
        )
        for a, angle, kernel, beta in zip(apply, angles, kernels, betas)
    ]


def _channels_last(result: np.ndarray, like: np.ndarray) -> np.ndarray:
    """OpenCV drops a single channel axis; put it back."""
    return result.reshape(*result.shape[:2], like.shape[2])


def rotation_matrix(centre: tuple[float, float], angle: float) -> np.ndarray:
    """cv2.getRotationMatrix2D(centre, angle, 1) with the same double arithmetic, minus the binding's overhead."""
    radians = angle * (math.pi / 180)
    alpha, beta = math.cos(radians), math.sin(radians)
    cx, cy = centre
    return np.array([[alpha, beta, (1 - alpha) * cx - beta * cy], [-beta, alpha, beta * cx + (1 - alpha) * cy]])


def rotate(image: np.ndarray, angle: float) -> np.ndarray:
    """Rotate H x W x C by `angle` degrees (counter-clockwise on screen) about ((W-1)/2, (H-1)/2), same size.

    albumentations 1.3 shifts OpenCV's centre by half a pixel so that a 90-degree turn of a square is exact.
    """
    height, width = image.shape[:2]
    matrix = rotation_matrix((width / 2 - 0.5, height / 2 - 0.5), angle)
    out = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return _channels_last(out, image)


def gaussian_blur(image: np.ndarray, kernel: int) -> np.ndarray:
    return _channels_last(cv2.GaussianBlur(image, (kernel, kernel), 0), image)


def brightness(image: np.ndarray, beta: float, mode: str) -> np.ndarray:
    """The brightness step by the protocol's `brightness_augmentation` (docs/defects.md#defect-1)."""
    if mode == "clipped":
        return np.clip(image + np.float32(beta), 0.0, 1.0)
    return image * np.float32(1.0 + beta)


def resize(image: np.ndarray, size: int, out: np.ndarray | None = None) -> np.ndarray:
    """Bilinear to size x size (cv2.INTER_LINEAR: half-pixel centres, no antialiasing), aspect ratio ignored.

    With `out` (contiguous float32, size x size x C) the result is written there instead of a new array.
    """
    if image.shape[:2] == (size, size):
        if out is None:
            return image
        out[...] = image
        return out
    if out is None:
        return _channels_last(cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR), image)
    cv2.resize(image, (size, size), dst=out, interpolation=cv2.INTER_LINEAR)
    return out


def augment(image: np.ndarray, params: AugmentParams, brightness_mode: str) -> np.ndarray:
    """Steps 1-5 on a native-size H x W x C float32 crop."""
    if params.hflip:
        image = image[:, ::-1]
    if params.vflip:
        image = image[::-1]
    image = np.ascontiguousarray(image)
    if params.angle is not None:
        image = rotate(image, params.angle)
    if params.blur_kernel is not None:
        image = gaussian_blur(image, params.blur_kernel)
    if params.beta is not None:
        image = brightness(image, params.beta, brightness_mode)
    return image


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """H x W x C -> C x H x W float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32))


def train_image(
    crop: np.ndarray,
    params: AugmentParams,
    image_size: int,
    brightness_mode: str,
    norm: Normalisation,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """H x W x C float32 crop -> augmented, resized (and standardised, when the run normalises) S x S x C array,
    written into `out` when given (a row of a channels-last batch)."""
    image = resize(augment(crop, params, brightness_mode), image_size, out)
    return norm.apply(image, in_place=out is not None)


def eval_image(crop: np.ndarray, image_size: int, norm: Normalisation, out: np.ndarray | None = None) -> np.ndarray:
    """Evaluation: resize only, plus the training normalisation when the run has one."""
    return norm.apply(resize(crop, image_size, out), in_place=out is not None)


def train_transform(
    crop: np.ndarray, rng: np.random.Generator, image_size: int, brightness_mode: str, norm: Normalisation
) -> torch.Tensor:
    """One crop on its own (the batch path draws a whole batch's choices at once)."""
    return to_tensor(train_image(crop, draw_params(rng, 1)[0], image_size, brightness_mode, norm))


def eval_transform(crop: np.ndarray, image_size: int, norm: Normalisation) -> torch.Tensor:
    return to_tensor(eval_image(crop, image_size, norm))
