"""Config: the default file is valid, the demo preset merges, every mistake is one line naming the key."""

from pathlib import Path

import pytest
import yaml
from pointer_helpers import staged_dataset_root

from ctcbench.config import deep_merge, load, resolve
from ctcbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
RAW = yaml.safe_load((ROOT / "config.yaml").read_text())
RAW_LINES = (ROOT / "config.yaml").read_text().splitlines()


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


def test_smoke_preset_is_the_papers_grid_at_real_size_for_a_few_steps():
    """Every real-size configuration of the main grid, a few steps each, on a CPU machine without downloads."""
    paper, smoke = load(ROOT / "config.yaml"), load(ROOT / "config.yaml", {"preset": "smoke"})
    assert smoke["dataset"]["synth"]["preset"] == "paper" and smoke["dataset"]["expected_image_size"] == 1080
    assert smoke["classify"]["grid"] == paper["classify"]["grid"] and len(smoke["classify"]["grid"]) == 14
    assert smoke["settings"] == paper["settings"] and smoke["seeds"] == [0]
    for key in ("image_size", "backbones"):
        assert smoke["classify"][key] == paper["classify"][key]
    assert smoke["classify"]["schedule"]["batch_size"] == 64
    assert {s["iterations"] for s in [smoke["classify"]["schedule"], *smoke["classify"]["schedules"].values()]} == {4}
    detect = smoke["detect"]
    assert detect["detectors"] == paper["detect"]["detectors"] and detect["image_scale"] is None
    for key in ("backbone_depth", "backbone_width", "faster_rcnn", "fcos", "dino"):
        assert detect[key] == paper["detect"][key], key
    assert detect["batch_size"] == 1 and detect["epochs"] > detect["checkpoint_interval"]
    assert not smoke["classify"]["pretrained"] and not detect["pretrained"]
    assert smoke["classify"]["resources"]["gpu"] == detect["resources"]["gpu"] == 0


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
        ({"protocol": "fathful"}, "protocol = 'fathful': expected a preset, one of faithful, corrected; did you mean"),
        (
            {"protocol": {"base": "faithful", "fusion_gat": None}},
            "unknown switch 'fusion_gat'; did you mean 'fusion_gate'",
        ),
        ({"protocol": {"fusion_gate": None}}, "a mapping needs `base: faithful` or `base: corrected`"),
        ({"protocol": {"base": "corrected", "box_shift": 2}}, "protocol.box_shift = 2: expected one of -1, 0"),
        ({"protocol": "corrected,image_read=tiff"}, "protocol.image_read = tiff: expected one of opencv, native"),
        ({"classify": {"schedule": {"lr": "fast"}}}, "classify.schedule.lr = 'fast': expected number"),
        ({"seeds": [0, 0]}, "seeds = [0, 0]: expected no repeated items"),
        ({"settings": ["bf", "fluo"]}, "settings.1 = 'fluo': expected one of bf, bf_hoechst, bf_fluo"),
        (
            {"dataset": {"figshare": {"versoin": 3}}},
            "unknown key 'versoin' in dataset.figshare; did you mean 'version'?",
        ),
        ({"preset": "huge"}, "preset = 'huge': expected paper or one of demo, smoke"),
        (
            {"dataset": {"synth": {"images_per_patient": {"r09": 3}}}},
            "unknown key 'r09' in dataset.synth.images_per_patient",
        ),
        ({"ablations": {"fractions": {"values": [1.5]}}}, "ablations.fractions.values.0 = 1.5: expected less than 1"),
        (
            {"classify": {"main_backbone": "vit_b"}},
            "classify.main_backbone = 'vit_b': expected a key of classify.backbones",
        ),
        ({"classify": {"grid": ["resnet50", "resnet5O"]}}, "classify.grid.1 = 'resnet5O'"),
        (
            {"hoechst_channels": 4},
            "hoechst_channels is now a switch of the protocol: write `protocol: {base: faithful, hoechst_channels: 4}`",
        ),
        ({"detect": {"stem": "inflate"}}, "detect.stem is now a switch of the protocol"),
        ({"pipeline": {"fusion_gate": 0.2}}, "`protocol: {base: faithful, fusion_gate: 0.2}`"),
        ({"detect": {"milestones": [24, 16]}}, "detect.milestones = [24, 16]: expected strictly increasing"),
        ({"dataset": {"source": "local"}}, "dataset.local.root is empty"),
        (
            {"detect": {"milestones": [16, 40]}},
            "detect.milestones = [16, 40]: 40 is not before the end of training (32)",
        ),
        (
            {"classify": {"schedule": {"milestones": [9000, 18000]}}},
            "classify.schedule.milestones = [9000, 18000]: 18000 is not before the end of training (18000)",
        ),
        (
            {"classify": {"schedules": {"long": {"iterations": 100}}}},
            "classify.schedules.long.milestones = [10000, 14000]: 10000 is not before the end of training (100)",
        ),
    ],
)
def test_mistakes_give_one_line(override, message):
    with pytest.raises(ConfigError) as info:
        resolve(deep_merge(RAW, override))
    text = str(info.value)
    assert message in text
    assert "\n" not in text and text.startswith("config.yaml: ")


def test_invalid_yaml_names_the_file_and_line(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("protocol: faithful\nseeds: [0, 1\npreset: demo\n")
    with pytest.raises(ConfigError) as info:
        load(bad)
    assert str(info.value).startswith(f"{bad}: line 3, column ") and "not valid YAML" in str(info.value)


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path):
    twice = tmp_path / "config.yaml"
    twice.write_text((ROOT / "config.yaml").read_text() + "\nseeds: [5]\n")
    line = len((ROOT / "config.yaml").read_text().splitlines()) + 2
    first = next(i for i, text in enumerate(RAW_LINES, 1) if text.startswith("seeds:"))
    with pytest.raises(ConfigError) as info:
        load(twice)
    expected = f"{twice}: line {line}: key 'seeds' given twice in one mapping (first on line {first}); keep one"
    assert str(info.value) == expected


def test_a_wrong_local_root_is_refused_when_the_config_is_read(tmp_path):
    for root, expected in (
        (tmp_path / "absent", "dataset root does not exist"),
        (tmp_path, "not a dataset root, missing Annotations/, raw_images_for_model/"),
    ):
        with pytest.raises(ConfigError) as info:
            resolve(deep_merge(RAW, {"dataset": {"source": "local", "local": {"root": str(root)}}}))
        assert str(info.value).startswith(f"config.yaml: dataset.local.root = {root}: {expected}")
    staged = staged_dataset_root(tmp_path / "copy")
    assert resolve(deep_merge(RAW, {"dataset": {"source": "local", "local": {"root": str(staged)}}}))


def test_the_command_line_wins_over_the_preset_and_the_preset_over_the_file(tmp_path):
    config = load(ROOT / "config.yaml", {"preset": "demo", "seeds": [4], "classify": {"image_size": 48}})
    assert config["seeds"] == [4]  # the demo preset sets [0]
    assert config["classify"]["image_size"] == 48  # the preset sets 32
    assert config["classify"]["main_backbone"] == "resnet_tiny"  # from the preset, not the file
    assert config["classify"]["schedule"]["lr"] == RAW["classify"]["schedule"]["lr"]  # the file, untouched by both
    root = str(staged_dataset_root(tmp_path / "data"))
    local = load(ROOT / "config.yaml", {"preset": "demo", "dataset": {"source": "local", "local": {"root": root}}})
    assert local["dataset"]["source"] == "local" and local["dataset"]["local"]["root"] == root


def test_numbers_inside_command_line_lists_and_mappings_are_numbers():
    """Snakemake hands `seeds=[0,1]` and `pipeline={omegas: [0.5]}` over with every leaf a string."""
    config = load(
        ROOT / "config.yaml",
        {"preset": "demo", "seeds": ["0", "1"], "pipeline": {"omegas": ["0.5"], "nms_iou": "0.4"}, "cpu_isa": "null"},
    )
    assert config["seeds"] == [0, 1] and config["pipeline"]["omegas"] == [0.5] and config["pipeline"]["nms_iou"] == 0.4
    assert config["cpu_isa"] is None and config["protocol"] == "faithful"


def test_the_schema_names_exactly_the_registered_detectors():
    from ctcbench.detect.recipes import RECIPES

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    detect = schema["properties"]["detect"]["properties"]
    assert detect["detectors"]["items"]["enum"] == list(RECIPES)
    assert all(name in detect for name in RECIPES), "every detector has its own detect.<name> block"
    ablations = schema["properties"]["ablations"]["properties"]
    for ablation in ("patients", "unknown"):
        assert ablations[ablation]["properties"]["detector"]["enum"] == list(RECIPES), ablation


def test_the_pseudo_label_threshold_is_part_of_the_strategy_name():
    from ctcbench.plan import trainset

    assert [trainset(n).number for n in ("u-pseudo-0.8", "u-pseudo-.95", "u-pseudo-all", "u-drop", "all")] == [
        0.8, 0.95, None, None, None,
    ]  # fmt: skip
    assert resolve(deep_merge(RAW, {"ablations": {"unknown": {"strategies": ["u-drop", "u-pseudo-0.9"]}}}))
    for strategies, message in (
        (["u-pseudo-0.8", "u-pseudo-0.9"], "one u-pseudo-<threshold> set at most"),
        (["u-pseudo-high"], "ablations.unknown.strategies.0 = 'u-pseudo-high'"),
    ):
        with pytest.raises(ConfigError, match=message):
            resolve(deep_merge(RAW, {"ablations": {"unknown": {"strategies": strategies}}}))
