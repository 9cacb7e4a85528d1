"""The original's torchvision networks (protocol switch classifier_networks: torchvision): the paper's builders give
the embeddings and stems of docs/protocol.md#classifier-backbones, staged torchvision weights load exactly through
the run's own path, and the stem rules (fresh, adapted) act on them as on timm's networks.

The paper's builders are built on the meta device (shapes without the cost of initialising 200 M parameters); small
builders of the same families (resnet18, convnext_tiny, efficientnet_b0, densenet121, swin_t) go through the same
code with real tensors."""

import csv

import pytest
import torch
from classify_helpers import ROOT
from torch import nn
from torchvision import models
from torchvision.ops import StochasticDepth

from ctcbench.classify.checkpoint import ModelSpec, load_model, save_model
from ctcbench.classify.models import count_parameters, embed, logits_and_embedding
from ctcbench.classify.network import TORCHVISION, Network, require_weights
from ctcbench.classify.torchvision_models import TorchvisionClassifier, build_torchvision_model
from ctcbench.classify.weights import stage_weights
from ctcbench.cli import main
from ctcbench.config import load
from ctcbench.errors import ConfigError

# The original's networks (docs/protocol.md#classifier-backbones): embedding size and the stem replaced for C != 3
# as (module, out channels, kernel, stride, padding, bias).
CONVNEXT, SWIN = ("features.0.0", 4, 4, 0, True), ("features.0.0", 4, 4, 0, True)
EFFICIENTNET, RESNET = ("features.0.0", 3, 2, 1, False), ("conv1", 7, 2, 3, False)
DENSENET = ("features.conv0", 7, 2, 3, False)
ORIGINAL = {
    "convnext_small": (768, 96, CONVNEXT),
    "convnext_base": (1024, 128, CONVNEXT),
    "convnext_large": (1536, 192, CONVNEXT),
    "swin_s": (768, 96, SWIN),
    "swin_b": (1024, 128, SWIN),
    "efficientnet_b1": (1280, 32, EFFICIENTNET),
    "efficientnet_b4": (1792, 48, EFFICIENTNET),
    "efficientnet_b7": (2560, 64, EFFICIENTNET),
    "densenet121": (1024, 64, DENSENET),
    "densenet169": (1664, 64, DENSENET),
    "densenet201": (1920, 64, DENSENET),
    "resnet50": (2048, 64, RESNET),
    "resnet101": (2048, 64, RESNET),
    "resnet152": (2048, 64, RESNET),
}
# Small builders of each family with torchvision's own stochastic depth.
SMALL = {"resnet18": 0.0, "convnext_tiny": 0.1, "efficientnet_b0": 0.2, "densenet121": 0.0, "swin_t": 0.2}
STEM = {"resnet18": RESNET, "convnext_tiny": CONVNEXT, "efficientnet_b0": EFFICIENTNET, "densenet121": DENSENET,
        "swin_t": SWIN}  # fmt: skip
HEAD = {"resnet18": "fc.", "convnext_tiny": "classifier.2.", "efficientnet_b0": "classifier.",
        "densenet121": "classifier.", "swin_t": "head."}  # fmt: skip


def paper_backbones():
    catalogue = load(ROOT / "config.yaml")["classify"]["backbones"]
    return {key: entry for key, entry in catalogue.items() if entry.get("torchvision") in ORIGINAL}


def model_spec(builder, in_chans, protocol="faithful", drop_path=None, timm_name="test_resnet"):
    """A trained run's record of a backbone with the torchvision builder `builder` (its timm name unused)."""
    drop_path = SMALL.get(builder, 0.0) if drop_path is None else drop_path
    return ModelSpec("net", timm_name, in_chans, 3, ("R", "G", "U"), 64, "bf_fluo", protocol, drop_path=drop_path,
                     torchvision_name=builder)  # fmt: skip


def test_the_catalogue_names_every_paper_backbones_builder():
    assert sorted(entry["torchvision"] for entry in paper_backbones().values()) == sorted(ORIGINAL)


@pytest.mark.parametrize("backbone", sorted(paper_backbones()))
def test_paper_backbones_are_the_originals_networks(backbone):
    entry = paper_backbones()[backbone]
    builder = entry["torchvision"]
    feat_dim, width, (stem_path, kernel, stride, padding, bias) = ORIGINAL[builder]
    with open(ROOT / "resources/paper/table3_backbones.csv", newline="") as handle:
        paper = {row["backbone"]: float(row["params_m"]) for row in csv.DictReader(handle)}
    for in_chans in (3, 4, 6):
        spec = model_spec(builder, in_chans, drop_path=entry.get("drop_path", 0.0))
        with torch.device("meta"):
            model = spec.build()
            logits, features = logits_and_embedding(model.eval(), torch.zeros(2, in_chans, 128, 128))
        assert isinstance(model, TorchvisionClassifier) and spec.network == Network(TORCHVISION, builder)
        assert features.shape == (2, feat_dim) and logits.shape == (2, 3)
        assert model.get_classifier().in_features == feat_dim and model.get_classifier().out_features == 3
        conv = model.backbone.get_submodule(stem_path)
        assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (in_chans, width, (kernel, kernel))
        assert (conv.stride, conv.padding, conv.bias is not None) == ((stride, stride), (padding, padding), bias)
        # Table 3's #Params count the backbone without the head (a 6-channel stem adds a few thousand).
        assert count_parameters(model) / 1e6 == pytest.approx(paper[entry["paper"]], abs=0.15)
    if builder.startswith("efficientnet"):
        # The classifier's dropout went with its Linear: nothing drops features between embedding and head.
        assert not any(isinstance(module, nn.Dropout) for module in model.modules())
        with torch.device("meta"):
            assert any(isinstance(module, nn.Dropout) for module in models.get_model(builder, weights=None).modules())


def test_a_network_keeps_its_builders_stochastic_depth():
    with torch.device("meta"):
        build_torchvision_model("convnext_base", 3, drop_path=0.5)  # torchvision's own rate
        with pytest.raises(ConfigError, match="keeps its builder's stochastic depth 0.5"):
            build_torchvision_model("convnext_base", 3, drop_path=0.3)
        with pytest.raises(ConfigError, match="stochastic depth 0;"):
            build_torchvision_model("resnet50", 3, drop_path=0.1)


@pytest.mark.parametrize("builder", ["vit_b_16", "convnext_bas", "resnext50_32x4d"])
def test_builders_ctcbench_cannot_adapt_are_named(builder):
    with pytest.raises(ConfigError, match=f"torchvision builder '{builder}': not "):
        build_torchvision_model(builder, 3)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """Random ImageNet weights of each small builder, staged from a local file as `ctcbench stage-weights` does."""
    downloads, folder = tmp_path_factory.mktemp("downloads"), tmp_path_factory.mktemp("weights")
    torch.manual_seed(7)
    for builder in SMALL:
        torch.save(models.get_model(builder, weights=None).state_dict(), downloads / f"{builder}.pth")
        stage_weights(builder, folder / f"{builder}.pth", downloads / f"{builder}.pth", library=TORCHVISION)
    return folder


def staged_state(folder, builder):
    return torch.load(folder / f"{builder}.pth", map_location="cpu", weights_only=True)


def built(folder, builder, in_chans, protocol="faithful"):
    """The network of a pretrained run, built as training builds it (its weights found by the run's own rule)."""
    spec = model_spec(builder, in_chans, protocol)
    return spec.build(require_weights(folder, spec.network))


@pytest.mark.parametrize("builder", sorted(SMALL))
def test_staged_weights_reload_exactly_with_a_new_head(staged, builder):
    model = built(staged, builder, 3)
    source, loaded = staged_state(staged, builder), model.backbone.state_dict()
    assert set(loaded) == {key for key in source if not key.startswith(HEAD[builder])}  # the head is an identity
    assert all(torch.equal(loaded[key], source[key]) for key in loaded)
    assert isinstance(model.get_classifier(), nn.Linear) and model.get_classifier().out_features == 3
    assert (staged / f"{builder}.pth.sha256").read_text().split()[1] == f"{builder}.pth"


@pytest.mark.parametrize("in_chans", [4, 6])
@pytest.mark.parametrize("builder", sorted(SMALL))
def test_adapted_stem_repeats_the_pretrained_filters(staged, builder, in_chans):
    model = built(staged, builder, in_chans, "faithful,classifier_stem=adapted")
    stem_path = STEM[builder][0]
    source = staged_state(staged, builder)
    rgb = source[f"{stem_path}.weight"]
    adapted = model.backbone.get_submodule(stem_path).weight.detach()
    repeated = torch.cat([rgb, rgb], dim=1)[:, :in_chans] * 3 / in_chans
    assert adapted.shape[1] == in_chans and torch.allclose(adapted, repeated)
    rest = {key: value for key, value in model.backbone.state_dict().items() if not key.startswith(f"{stem_path}.")}
    assert all(torch.equal(value, source[key]) for key, value in rest.items())


@pytest.mark.parametrize("in_chans", [4, 6])
@pytest.mark.parametrize("builder", sorted(SMALL))
def test_fresh_stem_is_a_new_conv_of_the_same_geometry(staged, builder, in_chans):
    torch.manual_seed(0)
    model = built(staged, builder, in_chans).eval()
    stem_path, kernel, stride, padding, bias = STEM[builder]
    conv = model.backbone.get_submodule(stem_path)
    rgb = staged_state(staged, builder)[f"{stem_path}.weight"]
    assert type(conv) is nn.Conv2d and conv.in_channels == in_chans and conv.weight.requires_grad
    assert (conv.out_channels, conv.kernel_size, conv.stride, conv.padding) == (
        rgb.shape[0], (kernel, kernel), (stride, stride), (padding, padding))  # fmt: skip
    assert (conv.bias is not None) == bias
    assert not torch.allclose(conv.weight[:, :3], rgb)  # thrown away, as the original did
    # PyTorch's default Conv2d init: kaiming_uniform(a=sqrt(5)) -> |w| <= 1/sqrt(fan_in)
    assert conv.weight.abs().max() <= 1 / conv.weight[0].numel() ** 0.5 + 1e-6
    images = torch.rand(2, in_chans, 32, 32)
    with torch.no_grad():
        logits, features = logits_and_embedding(model, images)
        assert torch.allclose(logits, model(images), atol=1e-5) and torch.equal(features, embed(model, images))
    assert features.shape == (2, model.num_features) and logits.shape == (2, 3)


def test_efficientnet_embedding_is_deterministic_in_training_mode_but_for_stochastic_depth(staged):
    """With the classifier's dropout gone, only stochastic depth makes a training-mode embedding random."""
    model = built(staged, "efficientnet_b0", 3).train()
    for module in model.modules():
        if isinstance(module, StochasticDepth):
            module.p = 0.0
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(images), model(images))


def test_a_trained_torchvision_run_reloads_from_its_checkpoint(staged, tmp_path):
    spec = model_spec("resnet18", 6)
    model = spec.build(require_weights(staged, spec.network)).eval()
    save_model(tmp_path / "best.pt", model, spec, {"step": 0})
    loaded, loaded_spec, _ = load_model(tmp_path / "best.pt")
    images = torch.rand(2, 6, 32, 32)
    with torch.no_grad():
        assert loaded_spec == spec and torch.equal(loaded.eval()(images), model(images))


def test_missing_torchvision_weights_name_the_file_and_the_fix(tmp_path):
    (tmp_path / "convnext_base.safetensors").write_bytes(b"")  # a timm file of the same name is not it
    with pytest.raises(ConfigError) as info:
        require_weights(tmp_path, Network(TORCHVISION, "convnext_base"))
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'convnext_base.pth'}: pretrained torchvision weights missing")
    assert f"ctcbench stage-weights --model convnext_base --library torchvision --out {tmp_path}" in message
    assert "\n" not in message


def test_weights_of_another_network_are_refused(staged, tmp_path):
    (tmp_path / "convnext_tiny.pth").write_bytes((staged / "resnet18.pth").read_bytes())
    with pytest.raises(ConfigError, match="not the torchvision state dict of convnext_tiny"):
        built(tmp_path, "convnext_tiny", 3)


def test_stage_weights_command_stages_torchvision_weights_from_a_local_file(staged, tmp_path, capsys):
    download = tmp_path / "download.pth"
    torch.save({"state_dict": staged_state(staged, "resnet18")}, download)
    out = tmp_path / "weights" / "resnet18.pth"
    command = ["stage-weights", "--model", "resnet18", "--library", "torchvision", "--from-file", str(download)]
    assert main([*command, "--out", str(out)]) == 0
    assert all(torch.equal(value, staged_state(staged, "resnet18")[key]) for key, value in staged_state(out.parent,
               "resnet18").items())  # fmt: skip
    capsys.readouterr()
    assert main([*command, "--out", str(tmp_path / "resnet18.safetensors")]) == 1  # torchvision weights are .pth
    assert "torchvision weights are staged as .pth files; name it resnet18.pth" in capsys.readouterr().err
    wrong = ["stage-weights", "--model", "resnet34", "--library", "torchvision", "--from-file", str(download)]
    assert main([*wrong, "--out", str(tmp_path / "resnet34.pth")]) == 1
    assert "does not fit resnet34" in capsys.readouterr().err
