"""Augmentation on the device (classify.augment_on: device) against the loader's numpy/OpenCV path: every step
gives the loader's values for the same choices, and the random choices follow the loader's distributions."""

import collections
import math

import numpy as np
import pytest
import torch
from augment_helpers import exact_rotation, smooth_image

from ctcbench.classify import augment as loader
from ctcbench.classify import device_augment as device
from ctcbench.classify.augment import AugmentParams, Normalisation, draw_params, train_image
from ctcbench.classify.device_augment import BatchParams, DeviceAugmentation
from ctcbench.errors import ConfigError

MODES = ("clipped", "scaled")


def batch(*images):
    """H x W x C numpy crops -> N x C x H x W tensor."""
    return torch.from_numpy(np.stack([image.transpose(2, 0, 1) for image in images]).copy())


def unbatch(images):
    """N x C x H x W tensor -> N x H x W x C numpy."""
    return images.numpy().transpose(0, 2, 3, 1)


def on_device(image, params, mode="scaled"):
    return unbatch(device.augment_batch(batch(image), BatchParams.of([params]), mode))[0]


def noise(shape, seed=0, high=255.0):
    return np.random.default_rng(seed).uniform(0, high, shape).astype(np.float32)


def opencv_rotation_bound(image):
    """How far OpenCV may be from exact bilinear: it snaps each source position to 1/32 pixel, i.e. moves it by at
    most 1/64 pixel along each axis, which changes a bilinear value by at most 1/64 of the steepest step between
    neighbouring pixels along that axis."""
    step_x = np.abs(np.diff(image, axis=1)).max()
    step_y = np.abs(np.diff(image, axis=0)).max()
    return (step_x + step_y) / 64 + 1e-3


# float32 source positions are off by a few ulps of the image size (~1e-5 pixel); times steps of up to 255 per
# pixel that is < 5e-3 grey levels.
FLOAT_POSITION_TOLERANCE = 5e-3


@pytest.mark.parametrize("hflip", [False, True])
@pytest.mark.parametrize("vflip", [False, True])
def test_flips_are_the_loaders_exactly(hflip, vflip):
    image = noise((7, 11, 6))
    params = AugmentParams(hflip=hflip, vflip=vflip)
    assert np.array_equal(on_device(image, params), loader.augment(image, params, "scaled"))


@pytest.mark.parametrize("shape", [(32, 32), (21, 27), (5, 9)])
@pytest.mark.parametrize("angle", [37.0, -80.0, 12.5, 90.0, -0.3])
@pytest.mark.parametrize("smooth", [True, False])
def test_rotation_is_exact_bilinear_and_opencvs_within_its_fixed_point_error(shape, angle, smooth):
    image = smooth_image(*shape, 6) if smooth else noise((*shape, 6))
    turned = on_device(image, AugmentParams(angle=angle))
    assert np.abs(turned - exact_rotation(image, angle)).max() < FLOAT_POSITION_TOLERANCE
    assert np.abs(turned - loader.rotate(image, angle)).max() <= opencv_rotation_bound(image)


def test_a_quarter_turn_of_a_square_is_numpys_to_float_rounding():
    image = noise((9, 9, 6))
    assert np.allclose(on_device(image, AugmentParams(angle=90.0)), np.rot90(image, k=1, axes=(0, 1)), atol=1e-3)


@pytest.mark.parametrize("kernel", [3, 5, 7])
@pytest.mark.parametrize("shape", [(17, 23), (32, 32), (4, 6)])
def test_blur_is_opencvs_sigma_zero_blur_to_float_rounding(kernel, shape):
    image = noise((*shape, 6))
    # float32 sums of seven products of values up to 255: a few ulps of 255 apart (~1e-4)
    assert (
        np.abs(on_device(image, AugmentParams(blur_kernel=kernel)) - loader.gaussian_blur(image, kernel)).max() < 1e-3
    )


def test_blur_kernels_are_opencvs_tables():
    import cv2

    for size, taps in device.GAUSSIAN_TAPS.items():
        assert np.array_equal(np.float32(taps), cv2.getGaussianKernel(size, 0, cv2.CV_32F).ravel())


def test_a_crop_smaller_than_the_blur_reach_is_refused():
    with pytest.raises(ValueError, match="too small"):
        device.gaussian_blur_(torch.zeros(1, 1, 3, 8), torch.tensor([3]))
    with pytest.raises(ConfigError, match="augment_on: device needs at least 4 pixels"):
        DeviceAugmentation(torch.device("cpu"), 0, "scaled", Normalisation(), image_size=3)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("beta", [0.0, 0.1, -0.2, 0.1999, -0.05])
def test_brightness_is_the_loaders_exactly(mode, beta):
    image = np.concatenate([noise((6, 5, 3), high=2.0), noise((6, 5, 3), seed=1, high=4000.0)], axis=2)
    params = AugmentParams(beta=beta)
    assert np.array_equal(on_device(image, params, mode), loader.augment(image, params, mode))


@pytest.mark.parametrize("mode", MODES)
def test_untouched_crops_pass_unchanged_and_the_batch_is_crop_by_crop(mode):
    """A batch with every step present: the crops without a step are passed through bit for bit, and each crop
    gets the loader's result for its own choices (to float rounding where rotation or blur acted)."""
    crops = [noise((16, 16, 6), seed=s) for s in range(40)]
    choices = draw_params(np.random.default_rng(7), len(crops))
    out = unbatch(device.augment_batch(batch(*crops), BatchParams.of(choices), mode))
    kinds = collections.Counter()
    for crop, params, result in zip(crops, choices, out):
        expected = loader.augment(crop, params, mode)
        if params.angle is None and params.blur_kernel is None:
            assert np.array_equal(result, expected)
            kinds["exact"] += 1
        elif params.angle is None:
            assert np.abs(result - expected).max() < 1e-3
            kinds["blur"] += 1
        else:
            # the rotation's fixed-point difference, no larger after a blur (an average) or brightness (x <= 1.2)
            assert np.abs(result - expected).max() <= 1.2 * opencv_rotation_bound(crop)
            kinds["rotated"] += 1
    assert set(kinds) == {"exact", "blur", "rotated"}


@pytest.mark.parametrize("mode", MODES)
def test_the_device_pipeline_is_train_image_on_a_crop_of_the_training_size(mode):
    """Augmentation then normalisation, as the loader's train_image, when the crop needs no resize."""
    crops = [noise((12, 12, 6), seed=s) for s in range(8)]
    choices = [
        AugmentParams(hflip=True, beta=0.15),
        AugmentParams(vflip=True),
        AugmentParams(beta=-0.1),
        AugmentParams(),
    ]
    choices = (choices * 2)[: len(crops)]
    norm = Normalisation(mean=(100.0,) * 3 + (2.0,) * 3, std=(50.0,) * 3 + (0.5,) * 3)
    augmentation = DeviceAugmentation(torch.device("cpu"), 0, mode, norm, image_size=12)
    out = unbatch(augmentation.apply(batch(*crops), BatchParams.of(choices)))
    for crop, params, result in zip(crops, choices, out):
        assert np.array_equal(result, train_image(crop, params, 12, mode, norm))


def binomial_sigma(p, n_a, n_b):
    """Standard deviation of the difference of two frequency estimates of one probability p."""
    return math.sqrt(p * (1 - p) * (1 / n_a + 1 / n_b))


def uniform_moments_sigma(half_width, n_a, n_b):
    """Standard deviations of the difference of two sample means and of two sample variances of a uniform on
    [-half_width, half_width] (variance a^2/3, fourth central moment a^4/5)."""
    variance, fourth = half_width**2 / 3, half_width**4 / 5
    mean_sigma = math.sqrt(variance * (1 / n_a + 1 / n_b))
    variance_sigma = math.sqrt((fourth - variance**2) * (1 / n_a + 1 / n_b))
    return mean_sigma, variance_sigma


def test_device_draws_follow_the_loaders_distributions_within_five_sigma():
    """20,000 choices of each path, seeds fixed: every frequency and moment agrees within 5 standard deviations of
    the difference of the two estimates (a correct implementation fails this about once in 1.7 million seeds per
    comparison; a wrong probability, range or kernel rule moves it by far more)."""
    n = 20000
    cpu = draw_params(np.random.default_rng(11), n)
    torch_draws = BatchParams.draw(torch.Generator().manual_seed(11), n)

    def check_frequency(p, cpu_hits, device_hits, n_cpu, n_device):
        difference = cpu_hits / n_cpu - device_hits / n_device
        assert abs(difference) < 5 * binomial_sigma(p, n_cpu, n_device)

    check_frequency(0.5, sum(c.hflip for c in cpu), int(torch_draws.hflip.sum()), n, n)
    check_frequency(0.5, sum(c.vflip for c in cpu), int(torch_draws.vflip.sum()), n, n)
    check_frequency(0.5, sum(c.angle is not None for c in cpu), int(torch_draws.rotate.sum()), n, n)
    check_frequency(0.1, sum(c.blur_kernel is not None for c in cpu), int((torch_draws.blur_kernel > 0).sum()), n, n)
    check_frequency(0.5, sum(c.beta is not None for c in cpu), int(torch_draws.brighten.sum()), n, n)

    cpu_kernels = collections.Counter(c.blur_kernel for c in cpu if c.blur_kernel is not None)
    device_kernels = collections.Counter(torch_draws.blur_kernel[torch_draws.blur_kernel > 0].tolist())
    assert set(cpu_kernels) == set(device_kernels) == {3, 5, 7}
    n_cpu, n_device = sum(cpu_kernels.values()), sum(device_kernels.values())
    for kernel, p in ((3, 0.2), (5, 0.4), (7, 0.4)):
        check_frequency(p, cpu_kernels[kernel], device_kernels[kernel], n_cpu, n_device)

    angles_cpu = np.array([c.angle for c in cpu if c.angle is not None])
    betas_cpu = np.array([c.beta for c in cpu if c.beta is not None])
    angles_device = torch_draws.angle[torch_draws.rotate].numpy()
    betas_device = torch_draws.beta[torch_draws.brighten].numpy()
    for limit, a, b in ((90.0, angles_cpu, angles_device), (0.2, betas_cpu, betas_device)):
        assert -limit <= b.min() and b.max() <= limit
        mean_sigma, variance_sigma = uniform_moments_sigma(limit, len(a), len(b))
        assert abs(a.mean() - b.mean()) < 5 * mean_sigma
        assert abs(a.var() - b.var()) < 5 * variance_sigma


def test_draws_are_a_function_of_the_generator_state():
    augmentation = DeviceAugmentation(torch.device("cpu"), 3, "clipped", Normalisation(), image_size=16)
    images = batch(*[noise((16, 16, 3), seed=s, high=1.5) for s in range(6)])
    state = augmentation.generator.get_state()
    first, second = augmentation(images), augmentation(images)
    assert not torch.equal(first, second)  # the generator moves on
    augmentation.generator.set_state(state)
    assert torch.equal(augmentation(images), first)
    again = DeviceAugmentation(torch.device("cpu"), 3, "clipped", Normalisation(), image_size=16)
    assert torch.equal(again(images), first)  # seeded from the run seed alone
    # not the stream of torch's global generator seeded with the run seed (drop path draws from that one)
    assert augmentation.generator.initial_seed() != torch.Generator().manual_seed(3).initial_seed()
