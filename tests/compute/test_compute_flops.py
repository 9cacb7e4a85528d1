"""The FLOP counter's convention on a network small enough to count by hand: 2 FLOPs per multiply-add, a
convolution 2 * Cin/groups * Cout * k * k * Ho * Wo, a linear layer 2 * in * out per row, biases and elementwise work
not counted; a training step is the forward plus the backward's input and weight gradients."""

from __future__ import annotations

import torch
from torch import nn

from ctcbench.compute.flops import count

CONV = 2 * 3 * 8 * 3 * 3 * 10 * 10  # Conv2d(3, 8, 3, padding=1) on a 10 x 10 image: 43,200
LINEAR = 2 * 800 * 5  # Linear(8 * 10 * 10, 5) on one row: 8,000


def small_network() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(800, 5))


def test_a_forward_counts_two_flops_per_multiply_add():
    image = torch.randn(1, 3, 10, 10)
    with torch.no_grad():
        assert count(lambda: small_network()(image)) == CONV + LINEAR


def test_the_count_is_per_image_times_the_batch():
    images = torch.randn(4, 3, 10, 10)
    with torch.no_grad():
        assert count(lambda: small_network()(images)) == 4 * (CONV + LINEAR)


def test_a_training_step_adds_the_gradients_autograd_computes():
    network, image = small_network(), torch.randn(1, 3, 10, 10)
    # The image needs no gradient: the convolution computes its weight gradient only; the linear layer both.
    step = count(lambda: network(image).sum().backward())
    assert step == (CONV + LINEAR) + CONV + 2 * LINEAR
    image.requires_grad_(True)
    assert count(lambda: network(image).sum().backward()) == step + CONV


def test_a_depthwise_convolution_counts_its_weight_gradient_once():
    """torch's own formula counts a grouped convolution's weight gradient `groups` times over; ours does not."""
    depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8)
    image = torch.randn(2, 8, 10, 10, requires_grad=True)
    forward = 2 * 2 * (8 // 8) * 8 * 3 * 3 * 10 * 10
    with torch.no_grad():
        assert count(lambda: depthwise(image)) == forward
    assert count(lambda: depthwise(image).sum().backward()) == 3 * forward
