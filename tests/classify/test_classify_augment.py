"""Augmentation: geometry against OpenCV (what albumentations runs), the brightness defect and its fix."""

import collections

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from augment_helpers import exact_rotation, smooth_image

from ctcbench.classify.augment import (
    AugmentParams,
    Normalisation,
    augment,
    brightness,
    draw_params,
    eval_transform,
    gaussian_blur,
    resize,
    rotate,
    train_transform,
)


@pytest.mark.parametrize("shape", [(21, 27), (30, 30), (5, 9)])
@pytest.mark.parametrize("angle", [37.0, -80.0, 12.5, 90.0])
def test_rotation_geometry(shape, angle):
    image = smooth_image(*shape)
    # OpenCV interpolates in fixed point (1/32 pixel); on this smooth image that is < 0.35 grey levels.
    assert np.abs(rotate(image, angle) - exact_rotation(image, angle)).max() < 0.35


def test_quarter_turn_of_a_square_is_exact_and_six_channels_equal_two_chunks():
    image = np.random.default_rng(0).uniform(0, 255, (9, 9, 6)).astype(np.float32)
    assert np.array_equal(rotate(image, 90.0), np.rot90(image, k=1, axes=(0, 1)))
    odd = np.random.default_rng(1).uniform(0, 255, (11, 7, 6)).astype(np.float32)
    # albumentations rotates more than 4 channels in chunks; one call must give the same pixels
    chunks = np.concatenate([rotate(odd[..., :3].copy(), 33.0), rotate(odd[..., 3:].copy(), 33.0)], axis=2)
    assert np.array_equal(rotate(odd, 33.0), chunks)


@pytest.mark.parametrize("kernel", [3, 5, 7])
@pytest.mark.parametrize("shape", [(17, 23), (4, 6)])
def test_blur_is_the_sigma_zero_table_with_reflect101(kernel, shape):
    taps = {3: [1, 2, 1], 5: [1, 4, 6, 4, 1], 7: [2, 7, 14, 18, 14, 7, 2]}[kernel]  # OpenCV's small tables
    weights = np.array(taps, np.float64) / sum(taps)
    image = np.random.default_rng(0).uniform(0, 255, (*shape, 6)).astype(np.float32)
    half = kernel // 2
    padded = np.pad(image.astype(np.float64), ((half, half), (half, half), (0, 0)), mode="reflect")  # reflect-101
    rows = sum(w * padded[i : i + shape[0]] for i, w in enumerate(weights))
    expected = sum(w * rows[:, i : i + shape[1]] for i, w in enumerate(weights))
    assert np.allclose(gaussian_blur(image, kernel), expected, atol=1e-3)


@pytest.mark.parametrize("shape", [(17, 23), (40, 12), (3, 3)])
@pytest.mark.parametrize("size", [8, 32, 128])
def test_resize_matches_half_pixel_bilinear(shape, size):
    image = np.random.default_rng(1).uniform(0, 255, (*shape, 6)).astype(np.float32)
    expected = (
        F.interpolate(
            torch.from_numpy(image.transpose(2, 0, 1))[None],
            size=(size, size),
            mode="bilinear",
            align_corners=False,
            antialias=False,
        )[0]
        .numpy()
        .transpose(1, 2, 0)
    )
    assert np.allclose(resize(image, size), expected, atol=1e-3)


def test_clipped_brightness_clips_raw_crops_to_unit_range():
    crop = np.array([[[0.0, 0.5, 1.0, 14.0, 255.0]]], np.float32)
    out = brightness(crop, 0.1, "clipped")
    assert out.flatten().tolist() == pytest.approx([0.1, 0.6, 1.0, 1.0, 1.0])  # every pixel >= 1 becomes 1
    assert brightness(crop, -0.2, "clipped").flatten().tolist() == pytest.approx([0.0, 0.3, 0.8, 1.0, 1.0])


def test_scaled_brightness_scales_the_native_range():
    crop = np.array([[[0.0, 14.0, 255.0, 4000.0]]], np.float32)
    assert brightness(crop, 0.1, "scaled").flatten().tolist() == pytest.approx([0.0, 15.4, 280.5, 4400.0])


def test_flips_then_rotation_then_brightness_order():
    image = np.arange(12, dtype=np.float32).reshape(3, 4, 1) + 2
    out = augment(image, AugmentParams(hflip=True, vflip=True, beta=0.0), "scaled")
    assert np.array_equal(out, image[::-1, ::-1])
    clipped = augment(image, AugmentParams(beta=0.0), "clipped")
    assert np.array_equal(clipped, np.ones_like(image))  # even beta = 0 clips, as albumentations does


def test_random_choices_follow_the_original_probabilities():
    rng = np.random.default_rng(0)
    draws = draw_params(rng, 20000)
    assert np.mean([d.hflip for d in draws]) == pytest.approx(0.5, abs=0.02)
    assert np.mean([d.vflip for d in draws]) == pytest.approx(0.5, abs=0.02)
    angles = [d.angle for d in draws if d.angle is not None]
    assert len(angles) / len(draws) == pytest.approx(0.5, abs=0.02) and -90 <= min(angles) and max(angles) <= 90
    kernels = collections.Counter(d.blur_kernel for d in draws if d.blur_kernel is not None)
    assert sum(kernels.values()) / len(draws) == pytest.approx(0.1, abs=0.01)
    assert set(kernels) == {3, 5, 7} and kernels[3] / sum(kernels.values()) == pytest.approx(0.2, abs=0.03)
    betas = [d.beta for d in draws if d.beta is not None]
    assert len(betas) / len(draws) == pytest.approx(0.5, abs=0.02) and max(map(abs, betas)) <= 0.2


def test_transforms_give_fixed_size_and_normalise():
    crop = np.random.default_rng(2).uniform(0, 255, (13, 29, 6)).astype(np.float32)
    norm = Normalisation(mean=(100.0,) * 6, std=(50.0,) * 6)
    out = eval_transform(crop, 16, norm)
    assert out.shape == (6, 16, 16)
    assert torch.allclose(out, (eval_transform(crop, 16, Normalisation()) - 100) / 50, atol=1e-6)
    augmented = train_transform(crop, np.random.default_rng(3), 16, True, Normalisation())
    assert augmented.shape == (6, 16, 16) and augmented.dtype == torch.float32
    again = train_transform(crop, np.random.default_rng(3), 16, True, Normalisation())
    assert torch.equal(augmented, again)  # a function of the generator's state only


def test_rotation_matrix_is_opencvs_to_the_last_bit():
    import cv2

    from ctcbench.classify.augment import rotation_matrix

    rng = np.random.default_rng(0)
    for angle in [0.0, 90.0, -90.0, *rng.uniform(-90, 90, 2000)]:
        centre = (rng.integers(1, 200) / 2 - 0.5, rng.integers(1, 200) / 2 - 0.5)
        assert np.array_equal(rotation_matrix(centre, angle), cv2.getRotationMatrix2D(centre, angle, 1.0))
