"""The images of the brightfield-only track, built from the crop caches (docs/experiments.md#bf-only).

The cache holds every cell's brightfield and its fluorescence [Hoechst, green, red] side by side
(`data.crops.CropCache`), so a cell's Hoechst crop is its partner for free: the training set of a variant with a
partner channel lists each crop twice, as its primary image and as its partner image, with the same label.
Validation uses the primary channel alone. An image is 3 channels in [0, 1]: the brightfield as the reader gave it
(one channel repeated), the Hoechst channel repeated, each divided by the largest value of the cache's pixel type.

Labels: cancer (R) 0, not-cancer (G) 1; unknown cells (U) are dropped or made G (`ablations.bf_only.unknown`).

The offline expansion (protocol `bf_only_expansion: offline`, docs/defects.md#defect-33) adds, per primary image,
as many augmented copies as bring the set to `expansion` times its crops (the study's 782 -> 3,910: every
brightfield image, its nuclear image and three augmented copies), each copy's draw seeded with (seed, crop, copy).
The online one keeps the same slots but draws every primary image afresh each epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...data.channels import HOECHST
from ...data.crops import CropCache
from ...data.layout import CLASSES
from ...data.splits import CropRecord
from ...errors import ConfigError, DatasetError
from .augment import Draw, draw
from .variants import BRIGHTFIELD, UNKNOWN_CHOICES, Variant

CANCER, NOT_CANCER = 0, 1
OFFLINE, ONLINE = "offline", "online"


@dataclass(frozen=True)
class Sample:
    """One training or validation image: a crop of the cache seen through one channel, its label, and its copy
    (0: the image itself; k >= 1: the k-th augmented copy of the offline expansion)."""

    index: int
    channel: str
    label: int
    copy: int = 0


def binary_label(label: str, unknown: str) -> int | None:
    """R -> 0, G -> 1, U -> 1 or None (dropped) by the `unknown` choice."""
    if unknown not in UNKNOWN_CHOICES:
        raise ConfigError(f"ablations.bf_only.unknown = {unknown!r}: expected one of {', '.join(UNKNOWN_CHOICES)}")
    if label == CLASSES[0]:
        return CANCER
    if label == CLASSES[1]:
        return NOT_CANCER
    return NOT_CANCER if unknown == "not_cancer" else None


def copies_per_image(variant: Variant, expansion: int) -> int:
    """Augmented copies per primary image: none without augmentation, else enough for `expansion` x the crops."""
    return 0 if variant.level == 0 else max(expansion - len(variant.channels), 0)


def training_samples(
    cache: CropCache, records: list[CropRecord], variant: Variant, unknown: str, expansion: int, source: str = "list"
) -> list[Sample]:
    """Every training image of a variant: per crop of the list (labels from the list), its primary image, its
    partner image (same label) when the variant has one, and its augmented copies."""
    position = {str(key): i for i, key in enumerate(cache.keys)}
    copies = copies_per_image(variant, expansion)
    samples = []
    for record in records:
        index = position.get(record.key)
        if index is None:
            raise DatasetError(f"{source}: crop {record.key} is not in the {cache.split} crop cache; rebuild the list")
        label = binary_label(record.label, unknown)
        if label is None:
            continue
        samples.append(Sample(index, variant.primary, label))
        if variant.partner is not None:
            samples.append(Sample(index, variant.partner, label))
        samples += [Sample(index, variant.primary, label, copy) for copy in range(1, copies + 1)]
    if not samples:
        raise DatasetError(f"{source}: no R or G crops to train on")
    return samples


def validation_samples(cache: CropCache, variant: Variant, unknown: str) -> list[Sample]:
    """The val crops through the primary channel alone (labels from the cache)."""
    samples = []
    for index, label in enumerate(cache.labels.tolist()):
        binary = binary_label(CLASSES[label], unknown)
        if binary is not None:
            samples.append(Sample(index, variant.primary, binary))
    if not samples:
        raise DatasetError(f"{cache.split} crop cache: no R or G crops to validate on")
    return samples


def pixel_scale(cache: CropCache) -> float:
    """The largest value of the cache's pixel type (255 for 8-bit crops): what maps its crops to [0, 1]."""
    dtype = cache.pixels.dtype
    return float(np.iinfo(dtype).max) if np.issubdtype(dtype, np.integer) else 1.0


def image(cache: CropCache, sample: Sample) -> np.ndarray:
    """The sample's crop through its channel: H x W x 3 float32 in [0, 1]."""
    crop = cache.crop(sample.index)
    bf_channels = cache.bf_channels
    channel = crop[..., :bf_channels] if sample.channel == BRIGHTFIELD else crop[..., bf_channels + HOECHST, None]
    channel = channel.astype(np.float32) / np.float32(pixel_scale(cache))
    return channel if channel.shape[2] == 3 else np.repeat(channel, 3, axis=2)


def sample_draw(sample: Sample, variant: Variant, mode: str, seed: int, epoch: int, position: int) -> Draw | None:
    """The augmentation of a training image in an epoch: none for a partner image or a variant without
    augmentation; offline, none for the image itself and a fixed draw per copy; online, a fresh draw for every
    primary image each epoch."""
    if sample.channel != variant.primary or variant.level == 0:
        return None
    if mode == OFFLINE:
        if sample.copy == 0:
            return None
        return draw(np.random.default_rng([seed, sample.index, sample.copy]), variant.level)
    if mode != ONLINE:
        raise ConfigError(f"bf_only_expansion {mode!r}: expected {OFFLINE} or {ONLINE}")
    return draw(np.random.default_rng([seed, 1 + epoch, position]), variant.level)
