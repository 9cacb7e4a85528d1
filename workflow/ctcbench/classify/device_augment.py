"""The training augmentation of `augment` on a whole batch on the training device (classify.augment_on: device).

The loader then only resizes the crops (`data.TrainBatches` with augment=False), and each step's batch is augmented
here, on the GPU when there is one, so that a machine with few CPU cores per GPU is not bound by its loaders.
The steps, probabilities, ranges and order are those of `augment` (docs/protocol.md#classifier-augmentation):

1. horizontal flip, 2. vertical flip: exact;
3. rotation about ((W-1)/2, (H-1)/2), bilinear, reflect-101 border: `grid_sample` with reflection padding and
   align_corners=True reflects about the edge pixels' centres, which is reflect-101 for bilinear taps, and it
   interpolates in float32 where OpenCV snaps source positions to 1/32 pixel, so the two differ by at most about
   1/64 pixel times the local gradient (a test bounds it);
4. Gaussian blur with OpenCV's fixed sigma-0 kernels and a reflect-101 border, to float rounding;
5. brightness in either protocol mode (docs/defects.md#defect-1), exactly;
then the run's normalisation, exactly.

What differs from the loader path is where it happens: on the crop already resized to image_size x image_size,
not on the native crop before the resize. Flips and scaled brightness commute with the resize; rotation and blur
then act at the training resolution (for a crop smaller than image_size the blur is a little weaker relative to
the cell, and a non-square crop is stretched before it is turned rather than after); clipped brightness clips the
interpolated values instead of interpolating clipped ones. The choices come from a torch Generator on the device,
seeded from the run's seed, whose state travels in last.pt: a run repeats itself and resumes exactly on one
device, but its batches (the same crops) are augmented otherwise than the loader path's (another generator), and
otherwise on CPU and CUDA. Each step works on the crops it changes only, which costs a small device-to-host copy of
its mask (`on_chosen_`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError
from .augment import (
    BLUR_LIMIT,
    BRIGHTNESS_LIMIT,
    P_BLUR,
    P_BRIGHTNESS,
    P_HFLIP,
    P_ROTATE,
    P_VFLIP,
    ROTATE_LIMIT,
    AugmentParams,
    Normalisation,
    odd_kernels,
)

# OpenCV's Gaussian kernels for sigma 0 and k <= 7 (getGaussianKernel's fixed tables, the binomial ones of 3 and 5).
GAUSSIAN_TAPS = {
    3: (0.25, 0.5, 0.25),
    5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
    7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
}
MIN_IMAGE_SIZE = BLUR_LIMIT[1] // 2 + 1  # the reflect-101 padding of the largest kernel needs more pixels than it pads
AUGMENT_STREAM = 0x6175676D  # mixed with the run seed, so the draws are not those of torch's global generator


@dataclass(frozen=True)
class BatchParams:
    """The random choices of a batch, one entry per crop, on the device (`AugmentParams` of many crops at once)."""

    hflip: torch.Tensor  # bool
    vflip: torch.Tensor  # bool
    rotate: torch.Tensor  # bool
    angle: torch.Tensor  # float64 degrees, used where `rotate`
    blur_kernel: torch.Tensor  # int64: 3, 5 or 7, 0 for no blur
    brighten: torch.Tensor  # bool
    beta: torch.Tensor  # float64, used where `brighten`

    @classmethod
    def draw(cls, generator: torch.Generator, n: int) -> BatchParams:
        """Draw as `augment.draw_params` does: a uniform per step against its probability, then the values."""
        device = generator.device

        def uniform(low: float, high: float) -> torch.Tensor:
            return low + (high - low) * torch.rand(n, generator=generator, device=device, dtype=torch.float64)

        apply = torch.rand((n, 5), generator=generator, device=device, dtype=torch.float64)
        angle = uniform(-ROTATE_LIMIT, ROTATE_LIMIT)
        kernel = odd_kernels(torch.randint(BLUR_LIMIT[0], BLUR_LIMIT[1] + 1, (n,), generator=generator, device=device))
        beta = uniform(-BRIGHTNESS_LIMIT, BRIGHTNESS_LIMIT)
        blurred = apply[:, 3] < P_BLUR
        return cls(
            hflip=apply[:, 0] < P_HFLIP,
            vflip=apply[:, 1] < P_VFLIP,
            rotate=apply[:, 2] < P_ROTATE,
            angle=angle,
            blur_kernel=torch.where(blurred, kernel, torch.zeros_like(kernel)),
            brighten=apply[:, 4] < P_BRIGHTNESS,
            beta=beta,
        )

    @classmethod
    def of(cls, params: Sequence[AugmentParams], device: torch.device | str = "cpu") -> BatchParams:
        """Given per-crop choices as a batch (to apply the loader path's choices here, as the tests do)."""

        def tensor(values: list, dtype: torch.dtype) -> torch.Tensor:
            return torch.tensor(values, dtype=dtype, device=device)

        return cls(
            hflip=tensor([p.hflip for p in params], torch.bool),
            vflip=tensor([p.vflip for p in params], torch.bool),
            rotate=tensor([p.angle is not None for p in params], torch.bool),
            angle=tensor([p.angle or 0.0 for p in params], torch.float64),
            blur_kernel=tensor([p.blur_kernel or 0 for p in params], torch.int64),
            brighten=tensor([p.beta is not None for p in params], torch.bool),
            beta=tensor([p.beta or 0.0 for p in params], torch.float64),
        )


def _per_crop(values: torch.Tensor) -> torch.Tensor:
    """N values -> N x 1 x 1 x 1, to broadcast over each crop of an N x C x H x W batch."""
    return values.view(-1, 1, 1, 1)


def on_chosen_(
    images: torch.Tensor, chosen: torch.Tensor, step: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
) -> torch.Tensor:
    """In place: the crops marked in `chosen` replaced by `step(crops, index)` (`index` their positions in the
    batch); the others are not touched. Working on the chosen crops only (half the batch for a flip, a tenth for
    the blur) costs one small device-to-host copy of the mask, in a training step that waits for its loss anyway."""
    index = chosen.nonzero().squeeze(1)
    if index.numel() > 0:
        images[index] = step(images[index], index)
    return images


def flip_(images: torch.Tensor, hflip: torch.Tensor, vflip: torch.Tensor) -> torch.Tensor:
    on_chosen_(images, hflip, lambda crops, _: crops.flip(-1))
    return on_chosen_(images, vflip, lambda crops, _: crops.flip(-2))


def rotation_grid(angle: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """N x H x W x 2 source positions (grid_sample's [-1, 1], align_corners=True) of a turn by `angle` degrees,
    counter-clockwise on screen, about ((W-1)/2, (H-1)/2): OpenCV's inverse map of `augment.rotation_matrix`."""
    radians = torch.deg2rad(angle)
    cos, sin = (t.to(torch.float32).view(-1, 1, 1) for t in (torch.cos(radians), torch.sin(radians)))
    device = angle.device
    dx = (torch.arange(width, device=device, dtype=torch.float32) - (width - 1) / 2).view(1, 1, width)
    dy = (torch.arange(height, device=device, dtype=torch.float32) - (height - 1) / 2).view(1, height, 1)
    # Pixel offsets from the centre to [-1, 1]; a side of one pixel has a single position, 0.
    scale_x, scale_y = (2 / (size - 1) if size > 1 else 0.0 for size in (width, height))
    return torch.stack(((cos * dx - sin * dy) * scale_x, (sin * dx + cos * dy) * scale_y), dim=-1)


def turn(crops: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Every crop turned by its `angle` (degrees), bilinear with a reflect-101 border."""
    grid = rotation_grid(angle, crops.shape[-2], crops.shape[-1])
    return F.grid_sample(crops, grid, mode="bilinear", padding_mode="reflection", align_corners=True)


def rotate_(images: torch.Tensor, angle: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    return on_chosen_(images, where, lambda crops, index: turn(crops, angle[index]))


def blur(crops: torch.Tensor, size: int) -> torch.Tensor:
    """Every crop blurred with OpenCV's sigma-0 kernel of `size`, separably, with a reflect-101 border ("reflect"
    in torch). Sums of shifted copies rather than a convolution: no TF32 on CUDA, whatever --fast-cuda allows."""
    height, width = crops.shape[-2:]
    if min(height, width) < MIN_IMAGE_SIZE:
        raise ValueError(f"a {height} x {width} crop is too small for the blur's reflect padding")
    taps, reach = GAUSSIAN_TAPS[size], size // 2
    padded = F.pad(crops, (reach,) * 4, mode="reflect")
    rows = sum(tap * padded[..., k : k + height, :] for k, tap in enumerate(taps))
    return sum(tap * rows[..., k : k + width] for k, tap in enumerate(taps))


def gaussian_blur_(images: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """In place: each crop blurred with its kernel size (0: not blurred)."""
    for size in GAUSSIAN_TAPS:
        on_chosen_(images, kernel == size, lambda crops, _, size=size: blur(crops, size))
    return images


def brightness_(images: torch.Tensor, beta: torch.Tensor, where: torch.Tensor, mode: str) -> torch.Tensor:
    """In place, `augment.brightness` per crop: clipped adds beta and clips to [0, 1], scaled multiplies by
    (1 + beta)."""

    def change(crops: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        if mode == "clipped":
            return torch.clamp(crops + _per_crop(beta[index].to(torch.float32)), 0.0, 1.0)
        return crops * _per_crop((1.0 + beta[index]).to(torch.float32))

    return on_chosen_(images, where, change)


def augment_batch(images: torch.Tensor, params: BatchParams, brightness_mode: str) -> torch.Tensor:
    """Steps 1-5 of `augment` on an N x C x H x W float32 batch in native units, into a copy: the batch given is
    never written to (it may be a view of the loader's shared ring)."""
    images = images.clone()
    flip_(images, params.hflip, params.vflip)
    rotate_(images, params.angle, params.rotate)
    gaussian_blur_(images, params.blur_kernel)
    return brightness_(images, params.beta, params.brighten, brightness_mode)


def augment_seed(seed: int) -> int:
    """The seed of a run's augmentation generator: derived from the run's seed, distinct from torch's global one."""
    return int(np.random.SeedSequence([int(seed), AUGMENT_STREAM]).generate_state(1, np.uint64)[0])


class DeviceAugmentation:
    """Augments and normalises each training batch on `device`, drawing from its own generator."""

    def __init__(
        self, device: torch.device, seed: int, brightness_mode: str, norm: Normalisation, image_size: int
    ) -> None:
        if image_size < MIN_IMAGE_SIZE:
            raise ConfigError(
                f"classify.image_size {image_size}: augment_on: device needs at least {MIN_IMAGE_SIZE} pixels (the "
                "blur's reflect border); raise the image size or augment in the loader (augment_on: loader)"
            )
        self.generator = torch.Generator(device=device).manual_seed(augment_seed(seed))
        self.brightness_mode = brightness_mode
        self.mean, self.std = (
            None if values is None else torch.tensor(values, dtype=torch.float32, device=device).view(1, -1, 1, 1)
            for values in (norm.mean, norm.std)
        )

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """A resized N x C x S x S float32 batch on the device -> augmented and normalised, as the loader's."""
        return self.apply(images, BatchParams.draw(self.generator, len(images)))

    def apply(self, images: torch.Tensor, params: BatchParams) -> torch.Tensor:
        """The batch augmented with the given choices, then normalised (`augment.train_image` after the resize)."""
        with torch.no_grad():
            images = augment_batch(images, params, self.brightness_mode)
            if self.mean is None or self.std is None:
                return images
            return (images - self.mean) / self.std
