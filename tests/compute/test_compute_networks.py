"""Counting the real networks: a classifier on the meta device counts what a real training step on CPU counts; a
detector's step is its batch times one image, and another channel count changes only its first convolution."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ctcbench.compute import classifiers
from ctcbench.compute.networks import ClassifierNetwork, detector_network
from ctcbench.plan import DetectorRun

TINY = ClassifierNetwork("resnet_tiny", "test_resnet", 6, 3, 32, 8, 0.0)


def test_a_classifier_counts_the_same_on_the_meta_device_as_on_cpu():
    meta = classifiers.classifier_flops(TINY)
    torch.manual_seed(0)
    model = classifiers.build_model(TINY.timm_name, TINY.channels, TINY.head_outputs, image_size=TINY.image_size)
    images = torch.randn(TINY.batch_size, TINY.channels, TINY.image_size, TINY.image_size)
    assert meta.train == classifiers.train_step_flops(model, images)
    assert meta.infer == classifiers.forward_flops(model, images[:1])
    # A step is the batch's forward (8 crops) and a backward of about two forwards (no gradient for the crops).
    assert 2 * TINY.batch_size * meta.infer < meta.train < 3 * TINY.batch_size * meta.infer


def test_a_classifier_step_grows_with_the_input_channels_only_in_its_stem():
    three = classifiers.classifier_flops(dataclasses.replace(TINY, channels=3))
    six = classifiers.classifier_flops(TINY)
    stem = classifiers.build(TINY).conv1[0]  # test_resnet's deep stem: its first conv sees the input
    extra = 3 * stem.out_channels * stem.kernel_size[0] * stem.kernel_size[1] * 2 * (TINY.image_size // 2) ** 2
    assert six.infer - three.infer == extra
    assert six.train - three.train == 2 * extra * TINY.batch_size  # forward and weight gradient


@pytest.fixture(scope="module")
def detector_counts(demo_config):
    """Tiny demo detectors at 160 px (FCOS's coarsest map stays above 1 x 1), 6 channels."""
    pytest.importorskip("mmdet")
    from ctcbench.compute import detectors

    def network(name):
        run = DetectorRun(name, "bf_fluo", "all", 0)
        return dataclasses.replace(detector_network(demo_config, run, 4), image_size=160)

    return detectors, network


@pytest.mark.parametrize("name", ["fcos", "dino"])
def test_a_detector_counted_with_three_channels_and_its_stem_swapped_is_exact(detector_counts, name):
    detectors, network = detector_counts
    six = network(name)
    assert six.channels == 6
    model = detectors.build(six)
    counted, analytic, _ = detectors.training_step(model, six, 1)
    infer, infer_analytic = detectors.prediction(model, six)
    projected = detectors.detector_flops(six)
    assert projected.train == six.batch_size * (counted + analytic)
    assert projected.infer == infer + infer_analytic
    if name == "dino":
        assert analytic > 0 and projected.infer_analytic == infer_analytic  # deformable attention, estimated


@pytest.mark.parametrize("name", ["faster_rcnn", "fcos", "dino"])
def test_a_detector_step_is_its_batch_times_one_image(detector_counts, name):
    detectors, network = detector_counts
    net = network(name)
    model = detectors.build(net)
    one, _, _ = detectors.training_step(model, net, 1)
    two, _, _ = detectors.training_step(model, net, 2)
    assert two == 2 * one


def test_a_pretrained_detector_takes_no_backward_through_its_frozen_stem(detector_counts, paper_config):
    """The paper's detectors start pretrained: stem and first stage frozen, as training builds them (only built here;
    no weights are read)."""
    detectors, network = detector_counts
    pretrained = detector_network(paper_config, DetectorRun("fcos", "bf_fluo", "all", 0), 4)
    frozen = detectors.build(pretrained).backbone.conv1
    assert not frozen.weight.requires_grad and detectors.build(network("fcos")).backbone.conv1.weight.requires_grad
    size = (1080, 1080)
    forward = 2 * 6 * frozen.out_channels * 7 * 7 * 540 * 540
    assert detectors.stem_flops(frozen, 6, size, train=False) == forward
    assert detectors.stem_flops(frozen, 6, size, train=True) == forward  # no weight gradient, no image gradient
