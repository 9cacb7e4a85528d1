"""The random stem of a 6-channel detector on pretrained weights (detector_stem: random, docs/defects.md#defect-9),
as the original had it: the pretrained conv1 [64, 3, 7, 7] does not fit [64, 6, 7, 7] and is skipped, so conv1
starts training as PyTorch built it (nn.Conv2d's default, kaiming_uniform with a = sqrt(5)), untouched by any
initialiser of mmdet or mmengine, and stays frozen (frozen_stages: 1). DINO loads its COCO checkpoint over the whole
model; Faster R-CNN and FCOS load ImageNet weights into the backbone. Small stand-in checkpoints: a conv1 that does
not fit and a bn1 that does, whose values show that the file was loaded."""

from __future__ import annotations

import math

import pytest
import torch

pytest.importorskip("mmdet")

from detect_helpers import image_list, tiny_config  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.registry import HOOKS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from ctcbench.data.pointer import read_pointer  # noqa: E402
from ctcbench.detect import registry  # noqa: E402
from ctcbench.detect.configs import runner_config  # noqa: E402
from ctcbench.detect.recipes import DETECTORS  # noqa: E402
from ctcbench.detect.spec import run_spec  # noqa: E402
from ctcbench.detect.train import TrainPaths, pretrained_file  # noqa: E402
from ctcbench.detect.weights import trusted_torch_load  # noqa: E402

registry.ensure_registered()
BN1_WEIGHT = 0.5  # the stand-in's bn1 weight: a value no initialiser draws


@HOOKS.register_module(force=True)
class StemProbeHook(Hook):
    """Copies conv1 and bn1 when training starts (after initialisation and loading) and when it ends."""

    def before_train(self, runner) -> None:
        backbone = runner.model.backbone
        self.start = backbone.conv1.weight.detach().clone()
        self.trainable = backbone.conv1.weight.requires_grad
        self.bn1 = backbone.bn1.weight.detach().clone()

    def after_train(self, runner) -> None:
        self.end = runner.model.backbone.conv1.weight.detach().clone()


def stand_in_checkpoint(path, whole_model: bool):
    prefix = "backbone." if whole_model else ""
    generator = torch.Generator().manual_seed(1)
    state = {
        f"{prefix}conv1.weight": torch.randn(64, 3, 7, 7, generator=generator),
        f"{prefix}bn1.weight": torch.full((64,), BN1_WEIGHT),
    }
    torch.save({"state_dict": state}, path)
    return path


def stem_during_training(twin, demo_config, tmp_path, detector: str) -> StemProbeHook:
    config = tiny_config(demo_config, pretrained=True, backbone_depth=50, backbone_width=64)
    config["protocol"] = "faithful"
    spec = run_spec(config, detector, "bf_fluo", "all", 0)
    assert spec.switches.detector_stem == "random" and spec.in_channels == 6
    layout = read_pointer(twin).layout
    train_list = image_list(tmp_path / "train.txt", layout.read_split("train")[:2])
    weights = stand_in_checkpoint(tmp_path / "pretrained.pth", whole_model=detector == "dino")
    paths = TrainPaths(twin, train_list, tmp_path / "model.pth", tmp_path / "run.json", weights=weights)
    paths.work_dir.mkdir(parents=True)
    start_from, record = pretrained_file(spec, paths)
    assert start_from == weights and record["stem"] == "random"
    cfg = runner_config(spec, layout.root, train_list, paths.work_dir, 2, weights=start_from)
    cfg.custom_hooks.append(dict(type="StemProbeHook"))
    runner = Runner.from_cfg(cfg)
    with trusted_torch_load():
        runner.train()
    return next(hook for hook in runner.hooks if isinstance(hook, StemProbeHook))


@pytest.mark.parametrize("detector", DETECTORS)
def test_a_six_channel_stem_on_pretrained_weights_keeps_pytorchs_default_init_and_stays_frozen(
    twin, demo_config, tmp_path, detector
):
    probe = stem_during_training(twin, demo_config, tmp_path, detector)
    assert torch.all(probe.bn1 == BN1_WEIGHT), "the stand-in checkpoint was not loaded"
    weight = probe.start
    assert weight.shape == (64, 6, 7, 7)
    # nn.Conv2d's default: uniform on [-b, b] with b = 1 / sqrt(fan_in), fan_in = 6 x 7 x 7, hence std b / sqrt(3).
    # mmengine's Kaiming initialiser (normal, fan_out, as mmdet's ResNet draws it without init_cfg) has std
    # sqrt(2 / (64 x 49)) = 0.75 of that and exceeds b in about 2 % of the 18,816 weights.
    bound = 1 / math.sqrt(6 * 7 * 7)
    assert float(weight.abs().max()) <= bound
    assert float(weight.std()) == pytest.approx(bound / math.sqrt(3), rel=0.03)
    assert float(weight.mean()) == pytest.approx(0.0, abs=0.02 * bound)
    assert not probe.trainable and torch.equal(probe.end, probe.start), "frozen_stages: 1 freezes conv1"
