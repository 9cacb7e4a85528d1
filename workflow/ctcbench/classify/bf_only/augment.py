"""The brightfield-only track's augmentation, counted as the study counts it: level 1 rotations, level 2 also flips,
level 3 also brightness and colour (docs/experiments.md#bf-only).

A draw is the random choice for one image, a pure function of the generator it is given: the offline expansion
seeds it with (run seed, crop, copy), the online one with (run seed, epoch, position), so either is repeatable.
Images are H x W x 3 float32 in [0, 1]; rotation and resizing are the main classifier's OpenCV functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..augment import resize, rotate

ROTATE_LIMIT = 180.0  # degrees: any orientation (a cell has none)
BRIGHTNESS_LIMIT = 0.2  # x(1 + beta), beta uniform in [-0.2, 0.2]
COLOUR_LIMIT = 0.1  # each channel x(1 + gamma), gamma uniform in [-0.1, 0.1]
P_FLIP = 0.5
LEVELS = {0: "none", 1: "rotations", 2: "rotations + flips", 3: "rotations + flips + brightness/colour"}


@dataclass(frozen=True)
class Draw:
    """The operations of one augmented image; None where its level leaves an operation out."""

    angle: float | None = None
    hflip: bool = False
    vflip: bool = False
    brightness: float | None = None
    colour: tuple[float, float, float] | None = None


def draw(rng: np.random.Generator, level: int) -> Draw:
    """The choices of one image at `level` (0-3); every value is drawn whatever the level, so the levels share
    their first operations' values for the same generator."""
    angle = float(rng.uniform(-ROTATE_LIMIT, ROTATE_LIMIT))
    hflip, vflip = (bool(u < P_FLIP) for u in rng.random(2))
    beta = float(rng.uniform(-BRIGHTNESS_LIMIT, BRIGHTNESS_LIMIT))
    gamma = tuple(float(g) for g in rng.uniform(-COLOUR_LIMIT, COLOUR_LIMIT, 3))
    return Draw(
        angle=angle if level >= 1 else None,
        hflip=hflip and level >= 2,
        vflip=vflip and level >= 2,
        brightness=1 + beta if level >= 3 else None,
        colour=tuple(1 + g for g in gamma) if level >= 3 else None,  # type: ignore[arg-type]
    )


def apply(image: np.ndarray, choice: Draw) -> np.ndarray:
    """`image` with the drawn operations, in [0, 1]."""
    if choice.hflip:
        image = image[:, ::-1]
    if choice.vflip:
        image = image[::-1]
    image = np.ascontiguousarray(image, np.float32)
    if choice.angle is not None:
        image = rotate(image, choice.angle)
    if choice.brightness is not None:
        image = image * np.float32(choice.brightness)
    if choice.colour is not None:
        image = image * np.asarray(choice.colour, np.float32)
    return np.clip(image, 0.0, 1.0) if choice.brightness is not None or choice.colour is not None else image


def prepared(image: np.ndarray, choice: Draw | None, size: int, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """An image ready for the network: augmented (when `choice` is given), resized to size x size, standardised
    with the pretrained networks' ImageNet statistics; C x H x W."""
    if choice is not None:
        image = apply(image, choice)
    image = (resize(np.ascontiguousarray(image, np.float32), size) - mean) / std
    return np.ascontiguousarray(image.transpose(2, 0, 1), np.float32)
