"""Config: the default file is valid, the demo preset merges, every mistake is one line naming the key."""

from pathlib import Path

import pytest
import yaml

from ctcbench.config import deep_merge, load, resolve
from ctcbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
RAW = yaml.safe_load((ROOT / "config.yaml").read_text())


def test_default_config_describes_the_paper_grid():
    config = load(ROOT / "config.yaml")
    assert config["dataset"]["source"] == "figshare"
    assert config["settings"] == ["bf", "bf_hoechst", "bf_fluo"]
    assert config["seeds"] == [0, 1, 2]
    assert len(config["classify"]["grid"]) == 14
    assert config["detect"]["detectors"] == ["faster_rcnn", "fcos", "dino"]
    assert config["ablations"]["fractions"]["values"] == [0.05, 0.1, 0.2, 0.5]
    assert config["classify"]["schedule"]["iterations"] == 18000
    assert config["threads"]["crops"] >= 1


def test_demo_preset_is_one_switch():
    config = load(ROOT / "config.yaml", {"preset": "demo"})
    assert config["dataset"]["source"] == "synth"
    assert config["classify"]["grid"] == [config["classify"]["main_backbone"]]
    assert config["classify"]["schedule"]["lr"] == 1e-4  # untouched keys keep the paper's value


def test_defaults_are_filled():
    raw = deep_merge(RAW, {})
    del raw["dataset"]["test_annotator"]
    del raw["threads"]
    config = resolve(raw)
    assert config["dataset"]["test_annotator"] == "Unioned"
    assert config["threads"]["crops"] == 4


@pytest.mark.parametrize(
    "override, message",
    [
        ({"seedz": [1]}, "unknown key 'seedz' in (top level); did you mean 'seeds'?"),
        ({"protocol": "fathful"}, "protocol = 'fathful': expected one of faithful, corrected"),
        ({"classify": {"schedule": {"lr": "fast"}}}, "classify.schedule.lr = 'fast': expected number"),
        ({"seeds": [0, 0]}, "seeds = [0, 0]: expected no repeated items"),
        ({"settings": ["bf", "fluo"]}, "settings.1 = 'fluo': expected one of bf, bf_hoechst, bf_fluo"),
        (
            {"dataset": {"figshare": {"versoin": 3}}},
            "unknown key 'versoin' in dataset.figshare; did you mean 'version'?",
        ),
        ({"preset": "huge"}, "preset = 'huge': expected paper or one of demo"),
        ({"ablations": {"fractions": {"values": [1.5]}}}, "ablations.fractions.values.0 = 1.5: expected less than 1"),
        (
            {"classify": {"main_backbone": "vit_b"}},
            "classify.main_backbone = 'vit_b': expected a key of classify.backbones",
        ),
        ({"classify": {"grid": ["resnet50", "resnet5O"]}}, "classify.grid.1 = 'resnet5O'"),
        ({"hoechst_channels": 4}, "hoechst_channels = 4: needs protocol: corrected"),
        ({"detect": {"milestones": [24, 16]}}, "detect.milestones = [24, 16]: expected strictly increasing"),
        ({"dataset": {"source": "local"}}, "dataset.local.root is empty"),
    ],
)
def test_mistakes_give_one_line(override, message):
    with pytest.raises(ConfigError) as info:
        resolve(deep_merge(RAW, override))
    text = str(info.value)
    assert message in text
    assert "\n" not in text and text.startswith("config.yaml: ")


def test_invalid_yaml(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("preset: [demo\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(bad)
