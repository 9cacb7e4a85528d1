"""The defect variants (plan.defects): which exist, what protocol each runs, which runs each retrains and where."""

from pathlib import Path

import pytest
import yaml

from ctcbench.config import resolve
from ctcbench.errors import ConfigError
from ctcbench.plan import plan
from ctcbench.plan.defects import (
    Variant,
    defect_runs,
    effect_switches,
    flippable,
    variant_pattern,
    variant_root,
    variants,
)
from ctcbench.protocol import CLASSIFIER, CORRECTED, DETECTOR, FAITHFUL, FIELDS, IMAGE, READERS, SWITCHES, agrees, parse

ROOT = Path(__file__).resolve().parents[1]


def config_of(**overrides):
    return resolve(yaml.safe_load((ROOT / "config.yaml").read_text()), "config.yaml", overrides=overrides)


def test_every_switch_names_readers_of_the_main_pipeline_only():
    for switch in SWITCHES:
        assert set(FIELDS[switch].metadata["reads"]) <= set(READERS), switch


def test_flippable_switches_differ_between_the_ends_and_are_read_by_the_main_pipeline():
    switches = flippable(FAITHFUL)
    assert "hoechst_channels" not in switches  # both presets keep 3 channels
    assert not {"kfold_folds", "bf_only_lr", "stale_drop_u_head", "stratified_fractions"} & set(switches)
    assert {"fusion_gate", "box_shift", "classifier_normalisation"} <= set(switches)
    assert len(switches) == 21
    # With hoechst_channels overridden both ends keep it: it is no switch between them.
    assert flippable(parse("corrected,hoechst_channels=4")) == switches


def test_a_variant_flips_one_switch_from_its_end_and_keeps_the_configured_overrides():
    assert Variant("faithful", "fusion_gate").protocol(FAITHFUL) == FAITHFUL.replace(fusion_gate=None)
    assert Variant("corrected", "fusion_gate").protocol(FAITHFUL) == CORRECTED.replace(fusion_gate=0.1)
    assert Variant("corrected").protocol(FAITHFUL) == CORRECTED
    configured = parse("corrected,hoechst_channels=4")
    assert Variant("faithful").protocol(configured) == FAITHFUL.replace(hoechst_channels=4)
    assert Variant("corrected").protocol(configured) == configured
    assert Variant.parse("corrected-box_shift") == Variant("corrected", "box_shift")
    for bad in ("strict", "faithful-no_such_switch"):
        with pytest.raises(ConfigError, match="defect variant"):
            Variant.parse(bad)


def test_a_variant_reruns_only_the_runs_that_read_its_switch():
    image, classifier, detector = (Variant("corrected", s) for s in ("fusion_gate", "cell_threshold", "box_shift"))
    assert image.holder(CLASSIFIER) == image.holder(DETECTOR) == Variant("corrected")
    assert image.holder(IMAGE) == image
    assert classifier.holder(CLASSIFIER) == classifier and classifier.holder(DETECTOR) == Variant("corrected")
    assert detector.holder(DETECTOR) == detector and detector.holder(CLASSIFIER) == Variant("corrected")
    # The configured end's runs are the grid's own; every other variant has a folder of its own.
    assert variant_root("results/demo", Variant("faithful"), FAITHFUL) == "results/demo"
    assert variant_root("results/demo", image, FAITHFUL) == "results/demo/defects/corrected-fusion_gate"


def test_the_demo_plans_its_switches_in_brightfield_from_both_ends():
    config = config_of(preset="demo")
    chosen = effect_switches(config)
    assert len(chosen) == 7 and "box_shift" in chosen
    names = [variant.name for variant in variants(config)]
    assert names[0] == "corrected" and len(names) == 1 + 2 * 7
    runs = defect_runs(config)
    assert {run.pairing.setting for run in runs} == {"bf"} and {run.pairing.seed for run in runs} == {0}
    assert all(run.pairing.detector == "faster_rcnn" and run.omega == 0.7 for run in runs)
    assert plan(config).defects == runs
    # A cross-fitted classifier keeps two more checkpoints: its variants are another rule's.
    cross = variant_pattern(config, CLASSIFIER, lambda p: p.classifier_checkpoint == "cross_fitted").split("|")
    assert cross == ["corrected", "corrected\\-classifier_normalisation"]
    assert variant_pattern(config, DETECTOR, lambda p: False) == "(?!)"


def test_a_switch_outside_the_flippable_ones_is_refused_with_the_reason():
    for switch, reason in (("kfold_folds", "no run of the main pipeline"), ("fusion_gte", "no such switch")):
        config = config_of(preset="demo", report={"defect_effects": {"switches": [switch]}})
        with pytest.raises(ConfigError, match=reason):
            effect_switches(config)
    # A switch the configured protocol overrides is set alike at both ends: skipped, not refused.
    both = config_of(preset="demo", report={"defect_effects": {"switches": ["hoechst_channels", "fusion_gate"]}})
    assert effect_switches(both) == ["fusion_gate"]
    overridden = config_of(preset="demo", protocol="faithful,classifier_normalisation=train_statistics")
    assert "classifier_normalisation" not in effect_switches(overridden) and len(effect_switches(overridden)) == 6
    config = config_of(preset="demo", report={"defect_effects": {"settings": ["bf_nope"]}})
    with pytest.raises(ConfigError, match="settings"):
        defect_runs(config)
    assert defect_runs(config_of(preset="demo", report={"defect_effects": {"enabled": False}})) == []


def test_a_run_serves_a_protocol_that_differs_only_where_the_run_does_not_look():
    assert agrees("faithful", FAITHFUL.replace(fusion_gate=None), CLASSIFIER)
    assert agrees("faithful", FAITHFUL.replace(classifier_normalisation="train_statistics"), DETECTOR)
    assert not agrees("faithful", FAITHFUL.replace(classifier_normalisation="train_statistics"), CLASSIFIER)
    assert not agrees("faithful", FAITHFUL.replace(image_read="native"), DETECTOR)
    assert not agrees(None, FAITHFUL, CLASSIFIER) and not agrees("strict", FAITHFUL, CLASSIFIER)
