"""Backbones: staged weights load into 3- and 6-channel models with each stem rule (fresh, adapted)."""

import pytest
import timm
import torch
from safetensors.torch import save_file

from ctcbench.classify.models import (
    build_model,
    count_parameters,
    embed,
    logits_and_embedding,
    stem_path,
)
from ctcbench.classify.network import TIMM, Network, require_weights, weights_file
from ctcbench.errors import ConfigError

TINY = ("test_resnet", "test_convnext", "test_efficientnet")


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """ImageNet-shaped weights of each tiny model (random, 1000 classes), saved as a staged file."""
    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(123)
    sources = {}
    for name in TINY:
        model = timm.create_model(name, pretrained=False)
        save_file(
            {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()},
            str(folder / f"{name}.safetensors"),
        )
        sources[name] = model.state_dict()
    return folder, sources


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("stem", ["fresh", "adapted"])
def test_three_channels_load_every_pretrained_weight(staged, name, stem):
    folder, sources = staged
    model = build_model(name, 3, 3, image_size=32, weights=weights_file(folder, Network(TIMM, name)), stem=stem)
    state = model.state_dict()
    head = model.pretrained_cfg["classifier"]
    for key, value in sources[name].items():
        if key.startswith(head + "."):
            assert state[key].shape[0] == 3  # a new 3-class head
        else:
            assert torch.equal(state[key], value), key


@pytest.mark.parametrize("name", TINY)
def test_adapted_six_channel_stem_keeps_the_pretrained_filters(staged, name):
    folder, sources = staged
    model = build_model(name, 6, 3, image_size=32, weights=folder / f"{name}.safetensors", stem="adapted")
    stem = stem_path(model)
    rgb = sources[name][f"{stem}.weight"]
    adapted = model.get_submodule(stem).weight.detach()
    # RGB filters repeated over the 6 channels and scaled by 3/6 ...
    assert adapted.shape[1] == 6
    assert torch.allclose(adapted, torch.cat([rgb, rgb], dim=1) * 0.5)
    # ... so a 6-channel image of two copies of an RGB image gives the stem response of that RGB image.
    image = torch.rand(1, 3, 16, 16)
    conv3 = model.get_submodule(stem).__class__(3, adapted.shape[0], adapted.shape[2:], bias=False)
    conv3.weight.data = rgb.clone()
    stride, padding = model.get_submodule(stem).stride, model.get_submodule(stem).padding
    out6 = torch.nn.functional.conv2d(torch.cat([image, image], 1), adapted, stride=stride, padding=padding)
    out3 = torch.nn.functional.conv2d(image, rgb, stride=stride, padding=padding)
    assert torch.allclose(out6, out3, atol=1e-5)
    # The rest of the network is the pretrained one.
    assert all(
        torch.equal(model.state_dict()[k], v)
        for k, v in sources[name].items()
        if not k.startswith((stem, model.pretrained_cfg["classifier"] + "."))
    )


@pytest.mark.parametrize("name", TINY)
def test_fresh_six_channel_stem_has_the_same_geometry(staged, name):
    folder, sources = staged
    torch.manual_seed(0)
    model = build_model(name, 6, 3, image_size=32, weights=folder / f"{name}.safetensors", stem="fresh")
    stem = stem_path(model)
    conv = model.get_submodule(stem)
    reference = timm.create_model(name, pretrained=False).get_submodule(stem)
    assert conv.in_channels == 6 and conv.weight.requires_grad
    for attribute in ("out_channels", "kernel_size", "stride", "padding", "dilation", "groups"):
        assert getattr(conv, attribute) == getattr(reference, attribute)
    assert (conv.bias is None) == (reference.bias is None)
    rgb = sources[name][f"{stem}.weight"]
    assert not torch.allclose(conv.weight[:, :3], rgb)  # thrown away, as the original did
    # PyTorch's default Conv2d init: kaiming_uniform(a=sqrt(5)) -> |w| <= 1/sqrt(fan_in)
    fan_in = conv.weight[0].numel()
    assert conv.weight.abs().max() <= 1 / fan_in**0.5 + 1e-6
    assert model(torch.rand(2, 6, 32, 32)).shape == (2, 3)


def test_missing_weights_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(ConfigError) as info:
        require_weights(tmp_path, Network(TIMM, "convnext_base.fb_in1k"))
    message = str(info.value)
    assert str(tmp_path / "convnext_base.fb_in1k.safetensors") in message
    assert "ctcbench stage-weights --model convnext_base.fb_in1k" in message and "\n" not in message
    (tmp_path / "convnext_base.fb_in1k.pth").write_bytes(b"")
    assert require_weights(tmp_path, Network(TIMM, "convnext_base.fb_in1k")).suffix == ".pth"


def test_pth_weights_load_too(staged, tmp_path):
    _, sources = staged
    torch.save(sources["test_resnet"], tmp_path / "test_resnet.pth")
    model = build_model("test_resnet", 3, 3, weights=tmp_path / "test_resnet.pth")
    assert torch.equal(model.state_dict()["conv1.0.weight"], sources["test_resnet"]["conv1.0.weight"])


@pytest.mark.parametrize("name", TINY)
def test_embedding_is_the_head_input(name):
    model = build_model(name, 6, 3, image_size=32).eval()
    images = torch.rand(3, 6, 32, 32)
    with torch.no_grad():
        logits, features = logits_and_embedding(model, images)
        assert torch.allclose(logits, model(images), atol=1e-5)
        assert torch.equal(features, embed(model, images))
    assert features.shape == (3, model.num_features)
    assert count_parameters(model) + sum(p.numel() for p in model.get_classifier().parameters()) == count_parameters(
        model, backbone_only=False
    )


def test_fixed_size_backbones_are_built_for_the_crop_size():
    # Swin's attention tables depend on the input size: built at 64 px, it must accept 64 px crops.
    model = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False, num_classes=3, img_size=64)
    ours = build_model("swin_tiny_patch4_window7_224", 6, 3, image_size=64)
    assert ours(torch.rand(1, 6, 64, 64)).shape == (1, 3)
    assert sum(p.numel() for p in ours.parameters()) > sum(p.numel() for p in model.parameters())  # 6-ch stem


def test_stage_weights_from_a_local_checkpoint(staged, tmp_path):
    from ctcbench.cli import main

    _, sources = staged
    torch.save({"state_dict": sources["test_resnet"]}, tmp_path / "download.pth")
    out = tmp_path / "weights" / "test_resnet.safetensors"
    assert (
        main(
            [
                "stage-weights",
                "--model",
                "test_resnet",
                "--out",
                str(out),
                "--from-file",
                str(tmp_path / "download.pth"),
            ]
        )
        == 0
    )
    assert (
        out.is_file() and (tmp_path / "weights" / "test_resnet.safetensors.sha256").read_text().split()[1] == out.name
    )
    model = build_model(
        "test_resnet", 6, 3, weights=require_weights(tmp_path / "weights", Network(TIMM, "test_resnet")), stem="adapted"
    )
    assert torch.equal(model.state_dict()["bn1.weight"], sources["test_resnet"]["bn1.weight"])
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, wrong)
    assert (
        main(
            [
                "stage-weights",
                "--model",
                "test_resnet",
                "--out",
                str(tmp_path / "x.safetensors"),
                "--from-file",
                str(wrong),
            ]
        )
        == 1
    )


# Embedding sizes of the original's backbones (docs/protocol.md#classifier-backbones).
PAPER_FEATURES = {
    "swin_b": 1024,
    "swin_s": 768,
    "convnext_l": 1536,
    "convnext_b": 1024,
    "convnext_s": 768,
    "efficientnet_b7": 2560,
    "efficientnet_b4": 1792,
    "efficientnet_b1": 1280,
    "densenet201": 1920,
    "densenet169": 1664,
    "densenet121": 1024,
    "resnet152": 2048,
    "resnet101": 2048,
    "resnet50": 2048,
}


@pytest.mark.slow
@pytest.mark.parametrize("backbone", sorted(PAPER_FEATURES))
def test_every_paper_backbone_builds_for_128_px_crops(backbone):
    import csv

    from classify_helpers import ROOT

    from ctcbench.config import load

    spec = load(ROOT / "config.yaml")["classify"]["backbones"][backbone]
    model = build_model(spec["timm"], 6, 3, image_size=128, drop_path=spec.get("drop_path", 0)).eval()
    with torch.no_grad():
        logits, features = logits_and_embedding(model, torch.rand(2, 6, 128, 128))
    assert logits.shape == (2, 3) and features.shape == (2, PAPER_FEATURES[backbone])
    # Table 3's #Params count the backbone without the head (the 6-channel stem adds a few thousand).
    with open(ROOT / "resources/paper/table3_backbones.csv", newline="") as handle:
        paper = {row["backbone"]: float(row["params_m"]) for row in csv.DictReader(handle)}
    assert count_parameters(model) / 1e6 == pytest.approx(paper[spec["paper"]], abs=0.15)


def test_a_same_padded_stem_keeps_its_padding_when_replaced(tmp_path):
    """The TensorFlow-ported EfficientNets' stem is timm's Conv2dSame: a fresh 6-channel stem must pad the same way,
    so 128 px crops still give 64 x 64 features (a plain Conv2d with padding 0 gave 63 x 63)."""
    from safetensors.torch import save_file
    from timm.layers import Conv2dSame

    name = "tf_efficientnet_b0"
    save_file(timm.create_model(name, pretrained=False).state_dict(), tmp_path / f"{name}.safetensors")
    rgb = timm.create_model(name, pretrained=False)
    six = build_model(name, 6, 3, image_size=128, weights=tmp_path / f"{name}.safetensors", stem="fresh")
    stem = six.get_submodule(stem_path(six))
    assert type(stem) is Conv2dSame and stem.in_channels == 6
    with torch.no_grad():
        assert (
            stem(torch.rand(1, 6, 128, 128)).shape == rgb.conv_stem(torch.rand(1, 3, 128, 128)).shape == (1, 32, 64, 64)
        )
        assert six(torch.rand(2, 6, 128, 128)).shape == (2, 3)
