"""The plan: the training-set registry's one grammar, run records that round-trip, and `plan(config)` giving the
paper's grid (180 classifier and 36 detector trainings, 45 pairings evaluated 72 times) and the demo's, with what
each run feeds."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from ctcbench.config import load, read_config_file, resolve
from ctcbench.errors import ConfigError
from ctcbench.plan import Bundle, ClassifierRun, DetectorRun, Pairing, named, plan, trainset, wildcard_pattern
from ctcbench.plan.arms import ABLATIONS, Arm
from ctcbench.plan.specs import classifier_spec, detector_spec
from ctcbench.plan.trainsets import KINDS, detector_pattern
from ctcbench.protocol import CORRECTED, FAITHFUL

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def paper():
    return load(ROOT / "config.yaml")


@pytest.fixture(scope="module")
def demo():
    return load(ROOT / "config.yaml", {"preset": "demo"})


def test_the_paper_grid(paper):
    grid = plan(paper)
    assert len(grid.classifiers) == 180 + 50 and len(grid.detectors) == 36  # 50: the brightfield-only track's
    # 18 evaluations: the annotator ablation's own; 9 pairings and 18 evaluations: the brightfield-only track's
    assert len(grid.pairings) == 45 + 9 and len(grid.evaluations) == 72 + 18 + 18
    kinds = collections.Counter(trainset(run.trainset).kind.kind for run in grid.classifiers)
    assert kinds == {"all": 126, "patient": 9, "fraction": 36, "u-drop": 3, "u-pseudo-all": 3, "u-pseudo": 3,
                     "bf_only": 50}  # fmt: skip
    assert {r.backbone for r in grid.classifiers if r.trainset != "all" and not r.trainset.startswith("bfo-")} == {
        "convnext_b"
    }
    assert collections.Counter(run.trainset for run in grid.detectors) == {
        "all": 27, "patient-r06": 3, "patient-r07": 3, "patient-r08": 3,
    }  # fmt: skip
    omegas = collections.Counter(e.omega for e in grid.evaluations if e.default_annotator)
    assert omegas == {1.0: 27 + 9, 0.7: 27 + 9 + 9 + 9}  # Table 4 at both omegas; Tables 5 and 6 at the ablation omega
    # What feeds what: Table 2 is the main backbone's, Table 3 every grid backbone's, Table 6 the patients'.
    table2 = grid.feeding("table2")["classifiers"]
    assert len(table2) == 9 and {r.backbone for r in table2} == {"convnext_b"}
    assert len(grid.feeding("table3")["classifiers"]) == 126
    table6 = grid.feeding("table6")
    assert {p.trainset for p in table6["pairings"]} == {"all", "patient-r06", "patient-r07", "patient-r08"}
    assert {p.detector_run.trainset for p in table6["pairings"]} == {"all", "patient-r06", "patient-r07", "patient-r08"}
    assert {r.trainset for r in grid.feeding("fig11")["classifiers"]} == {
        "all", "frac-0.05", "frac-0.1", "frac-0.2", "frac-0.5",
    }  # fmt: skip


def test_the_demo_grid(demo):
    grid = plan(demo)
    assert (len(grid.classifiers), len(grid.detectors), len(grid.pairings), len(grid.evaluations)) == (
        29,
        12,
        15 + 3,
        30 + 6,
    )
    assert sum(run.trainset.startswith("bfo-") for run in grid.classifiers) == 14  # the brightfield-only track
    assert grid.image_lists() == ["train", "val", "test", "train-r06", "train-r07", "train-r08"]
    assert [entry["file"] for entry in grid.trainsets_spec("t")] == [
        "t/all.tsv", "t/patient-r06.tsv", "t/patient-r07.tsv", "t/patient-r08.tsv", "t/frac-0.1/seed0.tsv",
        "t/frac-0.5/seed0.tsv", "t/u-drop.tsv", "t/u-candidates.tsv",
    ]  # fmt: skip
    all_set, confident = grid.pseudo_labelled()
    assert (all_set.name, confident.name, confident.number) == ("u-pseudo-all", "u-pseudo-0.8", 0.8)


def test_a_grid_without_ablations_plans_only_the_main_runs(demo):
    grid = plan({**demo, "ablations": {}})
    assert len(grid.classifiers) == 3 and len(grid.pairings) == 9 and grid.pseudo_labelled() is None
    assert len(grid.evaluations) == 9 * 2 and grid.feeding("annotators")["evaluations"] == []
    assert grid.image_lists() == ["train", "val", "test"]
    assert [e["name"] for e in grid.trainsets_spec("t")] == ["all"]


def test_extra_backbones_join_the_grid_and_one_pairing_has_one_classifier(demo, monkeypatch):
    raw = read_config_file(ROOT / "config.yaml")
    config = resolve(raw, overrides={"preset": "demo", "classify": {"grid": ["resnet_tiny", "resnet18"]}})
    assert len(plan(config).classifiers) == 18 + 14 and len(plan(config).pairings) == 15 + 3
    # An ablation whose pairing names another table's pairing but scores it with another backbone is refused.
    rival = Arm("u-drop", "resnet18", ("bf_hoechst",), frozenset({"rival"}), "faster_rcnn", (0.7,))
    monkeypatch.setitem(ABLATIONS, "rival", lambda config, block: iter([rival]))
    with pytest.raises(ConfigError, match="scored by resnet_tiny in one table and by resnet18 in another"):
        plan({**demo, "ablations": {**demo["ablations"], "rival": {}}})


def test_unknown_ablation_blocks_are_refused(demo):
    with pytest.raises(ConfigError, match="ablations.colours: no ablation of that name"):
        plan({**demo, "ablations": {"colours": {}}})
    assert set(ABLATIONS) >= {"patients", "fractions", "unknown"}


@pytest.mark.parametrize(
    "name, kind, value, classes",
    [
        ("all", "all", None, "RGU"),
        ("patient-r07", "patient", "r07", "RGU"),
        ("frac-0.05", "fraction", 0.05, "RGU"),
        ("u-drop", "u-drop", None, "RG"),
        ("u-candidates", "u-candidates", None, "U"),
        ("u-pseudo-all", "u-pseudo-all", None, "RG"),
        ("u-pseudo-0.8", "u-pseudo", 0.8, "RG"),
        ("u-pseudo-.95", "u-pseudo", 0.95, "RG"),
    ],
)
def test_every_name_parses_to_its_kind(name, kind, value, classes):
    parsed = trainset(name)
    assert (parsed.kind.kind, parsed.number, "".join(parsed.classes)) == (kind, value, classes)
    if value is not None:
        assert named(kind, value).kind == parsed.kind


@pytest.mark.parametrize("name", ["u-pseudo-high", "frac-2", "patient-7", "everything", "frac-0.1/seed0"])
def test_names_outside_the_grammar_are_refused(name):
    with pytest.raises(ConfigError, match="expected one of all, patient-<patient>"):
        trainset(name)


def test_heads_lists_and_detector_pairing():
    assert trainset("u-drop").head_outputs(FAITHFUL) == 3 and trainset("u-drop").head_outputs(CORRECTED) == 2
    assert trainset("u-pseudo-0.8").head_outputs(FAITHFUL) == 2 and trainset("all").head_outputs(CORRECTED) == 3
    assert trainset("frac-0.05").list_file(2) == "frac-0.05/seed2.tsv"
    assert trainset("u-pseudo-0.8").list_file(2) == "u-pseudo-0.8.tsv"
    assert trainset("patient-r06").detector_trainset == "patient-r06" and trainset("u-drop").detector_trainset == "all"
    assert trainset("all").image_list == "train" and trainset("patient-r07").image_list == "train-r07"
    assert not trainset("frac-0.1").trains_detectors
    with pytest.raises(ConfigError, match="no detector trains on it"):
        assert DetectorRun("fcos", "bf", "frac-0.1", 0).image_list


def test_wildcard_patterns_match_exactly_the_registered_names():
    import re

    pattern = re.compile(wildcard_pattern())
    for name in ("all", "patient-r06", "frac-0.1", "frac-1e-05", "u-drop", "u-pseudo-all", "u-pseudo-0.8"):
        assert pattern.fullmatch(name), name
    for name in ("u-candidates", "frac-0.1/seed0", "patient-", "u-pseudo-", "allx"):
        assert not pattern.fullmatch(name), name
    assert re.fullmatch(detector_pattern(), "patient-r08") and not re.fullmatch(detector_pattern(), "u-drop")
    assert not pattern.fullmatch("bfo-bfnuc-aug3")  # trained by rule classify_bf_only, not classify_train
    assert re.fullmatch(wildcard_pattern(trainer="classify_bf_only"), "bfo-nucbf-aug0")
    assert len(KINDS) == 8


@pytest.mark.parametrize(
    "record", [ClassifierRun("convnext_b", "bf", "frac-0.1", 2), DetectorRun("fcos", "bf_fluo", "patient-r06", 0)]
)
def test_run_records_round_trip(record):
    assert type(record).parse(record.name) == record
    assert record.path("results/demo") == f"results/demo/{record.STAGE}/{record.name}"
    assert record.template("R").format(**{f: getattr(record, f) for f in record.FIELDS}) == record.path("R")
    with pytest.raises(ConfigError, match="seed<N>"):
        type(record).parse("convnext_b/bf/all")


def test_pairings_know_both_of_their_runs():
    pairing = Pairing("faster_rcnn", "bf_hoechst", "patient-r07", 1, "convnext_b")
    assert pairing.classifier == ClassifierRun("convnext_b", "bf_hoechst", "patient-r07", 1)
    assert pairing.detector_run == DetectorRun("faster_rcnn", "bf_hoechst", "patient-r07", 1)
    assert Pairing.parse_key(pairing.name) == pairing.key


def test_specs_carry_the_training_sets_classes_and_head(paper):
    spec = classifier_spec(paper, ClassifierRun("efficientnet_b4", "bf_fluo", "u-drop", 1))
    assert (spec.classes, spec.head_outputs, spec.schedule.lr) == (("R", "G"), 3, 1e-3)
    corrected = {**paper, "protocol": "corrected"}
    spec = classifier_spec(corrected, ClassifierRun("efficientnet_b4", "bf_fluo", "u-drop", 1))
    assert (spec.head_outputs, spec.schedule.lr) == (2, 1e-4)
    assert detector_spec(paper, DetectorRun("fcos", "bf", "patient-r06", 0)).trainset == "patient-r06"
    with pytest.raises(ConfigError, match="no detector trains on u-drop"):
        detector_spec(paper, DetectorRun("fcos", "bf", "u-drop", 0))


def test_the_protocol_picks_the_network_and_the_weights_file_a_run_starts_from(paper, demo):
    """classifier_networks: torchvision's network where the backbone has a builder and the protocol asks for it,
    else timm's; the workflow stages and expects that network's file."""
    from ctcbench.classify.network import TIMM, TORCHVISION, Network
    from ctcbench.plan.weights import classifier_weights_inputs, needed_classifier_weights

    run = ClassifierRun("convnext_b", "bf", "all", 0)
    corrected = {**paper, "protocol": "corrected"}
    assert classifier_spec(paper, run).network == Network(TORCHVISION, "convnext_base")
    assert classifier_spec(corrected, run).network == Network(TIMM, "convnext_base.fb_in1k")
    put_back = {**paper, "protocol": "corrected,classifier_networks=torchvision"}
    assert classifier_spec(put_back, run).network == Network(TORCHVISION, "convnext_base")
    assert classifier_weights_inputs(paper, "convnext_b") == ["resources/weights/convnext_base.pth"]
    assert classifier_weights_inputs(corrected, "convnext_b") == ["resources/weights/convnext_base.fb_in1k.safetensors"]
    files = needed_classifier_weights(paper)  # the grid's 14, the k-fold track's vgg16, vgg19, resnet18, alexnet
    torchvision = {path: network for path, network in files.items() if network.library == TORCHVISION}
    assert len(torchvision) == 14 + 4 + 1
    # + the main backbone's timm network: the defect effects' corrected end builds it (plan.defects)
    assert set(files) - set(torchvision) == {"resources/weights/convnext_base.fb_in1k.safetensors"}
    assert files["resources/weights/resnet34.pth"] == Network(TORCHVISION, "resnet34")  # the brightfield-only track
    assert files["resources/weights/swin_b.pth"] == Network(TORCHVISION, "swin_b")
    # The demo's tiny ResNet has no torchvision builder: timm's under both protocols, and untrained weights.
    tiny = ClassifierRun("resnet_tiny", "bf", "all", 0)
    for protocol in ("faithful", "corrected"):
        assert classifier_spec({**demo, "protocol": protocol}, tiny).network == Network(TIMM, "test_resnet")
    assert classifier_weights_inputs(demo, "resnet_tiny") == [] and needed_classifier_weights(demo) == {}


def test_the_annotator_ablation_scores_table4s_main_pipeline_against_each_expert(paper, demo):
    """One config block (ablations.annotators) adds evaluations of existing pairings, no training."""
    grid = plan(paper)
    fed = grid.feeding("annotators")
    assert len(fed["pairings"]) == 9  # Faster R-CNN x 3 settings x 3 seeds, with Table 4's classifiers
    assert {(run.backbone, run.trainset) for run in fed["classifiers"]} == {("convnext_b", "all")}
    by_annotator = collections.Counter(e.annotator for e in fed["evaluations"])
    assert by_annotator == {"Expert1": 9, "Expert2": 9, "Unioned": 9}
    assert {e.omega for e in fed["evaluations"]} == {0.7}
    # The Unioned ones are Table 4's own evaluations (the configured annotator): the same files.
    unioned = {e.path("R") for e in fed["evaluations"] if e.annotator == "Unioned"}
    assert unioned <= {e.path("R") for e in grid.feeding("table4")["evaluations"]}
    assert {e.path("R").rsplit("/", 1)[1] for e in fed["evaluations"]} == {
        "metrics.json", "metrics-Expert1.json", "metrics-Expert2.json",
    }  # fmt: skip
    assert len(grid.evaluations) == 72 + 18 + 18 and len(grid.classifiers) == 180 + 50 and len(grid.pairings) == 54
    without = {k: v for k, v in paper["ablations"].items() if k not in ("annotators", "bf_only")}
    assert len(plan({**paper, "ablations": without}).evaluations) == 72


def test_the_bundle_of_the_main_pairing_and_its_val_scores(paper, demo):
    """export.pairings defaults to Table 4's first detector with the main classifier, Brightfield, seed 0, at 0.7; a
    bundle chooses its threshold on val, so val becomes a split that may be scored even under faithful."""
    for config, backbone in ((paper, "convnext_b"), (demo, "resnet_tiny")):
        grid = plan(config)
        (bundle,) = grid.bundles
        assert bundle.pairing == Pairing("faster_rcnn", "bf", "all", 0, backbone)
        assert (bundle.evaluation.omega, bundle.evaluation.default_annotator) == (0.7, True)
        assert bundle.path("results/x") == "results/x/bundles/faster_rcnn/bf/all/seed0/omega0.7"
        assert Bundle.template("r") == "r/bundles/{detector}/{setting}/{trainset}/seed{seed}/omega{omega}"
        assert grid.bundle("faster_rcnn", "bf", "all", "0", "0.7") == bundle
        assert grid.predicted_splits == ["test"] and grid.scored_splits == ["test", "val"]
    # Without bundles val is scored only where a defect variant chooses its image threshold there (plan.defects).
    no_bundle = {**demo, "export": {"pairings": [], "omega": 0.7}}
    assert plan(no_bundle).scored_splits == ["test", "val"]
    no_defects = {**no_bundle, "report": {**demo["report"], "defect_effects": {**demo["report"]["defect_effects"],
                                                                             "enabled": False}}}  # fmt: skip
    assert plan(no_defects).scored_splits == ["test"]


@pytest.mark.parametrize(
    ("export", "message"),
    [
        ({"pairings": ["faster_rcnn/bf/all/seed3"], "omega": 0.7},
         "export.pairings: faster_rcnn/bf/all/seed3 is not a pipeline run of the configured grid; did you mean "
         "faster_rcnn/bf/all/seed0?"),
        ({"pairings": ["faster_rcnn/bf_hoechst/u-drop/seed0"], "omega": 1.0},
         "export.omega = 1: pipeline run faster_rcnn/bf_hoechst/u-drop/seed0 is evaluated at omega 0.7 only"),
    ],
)  # fmt: skip
def test_a_bundle_outside_the_evaluated_grid_is_refused(demo, export, message):
    with pytest.raises(ConfigError) as error:
        plan({**demo, "export": export})
    assert str(error.value) == message


def test_the_nucleus_detector_is_one_untrained_run_of_its_own_table(paper, demo):
    """detect.nucleus.enabled plans one classical run (whatever the settings and seeds) feeding its table; off, the
    plan is the same without it."""
    from ctcbench.plan import ClassicalRun

    for config in (paper, demo):
        grid = plan(config)
        assert grid.classical == {ClassicalRun("nucleus"): {"nucleus_detector", "controls"}}
        assert grid.feeding("nucleus_detector")["classical"] == [ClassicalRun("nucleus")]
        assert not any(grid.feeding("nucleus_detector")[kind] for kind in ("classifiers", "detectors", "pairings"))
        off = plan(
            {**config, "detect": {**config["detect"], "nucleus": {**config["detect"]["nucleus"], "enabled": False}}}
        )
        assert off.classical == {} and off.feeding("nucleus_detector")["classical"] == []
        for kind in ("classifiers", "detectors", "pairings", "evaluations"):
            assert getattr(off, kind) == getattr(grid, kind), kind


def test_a_classical_run_has_a_name_no_trained_run_can_have():
    from ctcbench.plan import ClassicalRun

    run = ClassicalRun("nucleus")
    assert (run.name, run.path("results/demo")) == ("classical/nucleus", "results/demo/detect/classical/nucleus")
    assert ClassicalRun.parse(run.name) == run and ClassicalRun.is_name(run.name)
    assert not ClassicalRun.is_name("faster_rcnn/bf/all/seed0") and not ClassicalRun.is_name(None)
    with pytest.raises(ConfigError, match="seed<N>"):
        DetectorRun.parse(run.name)
    with pytest.raises(ConfigError, match="classical/<detector>"):
        ClassicalRun.parse("faster_rcnn/bf/all/seed0")


def test_the_bf_only_block_plans_its_runs_and_tables(paper, demo):
    """ablations.bf_only: the backbones on the main variant (its Table 2), every variant with the main backbone (its
    Table 3), over the block's own seeds, Brightfield only, each run once; its lists are the main `all` list."""
    grid = plan(paper)
    backbones = grid.feeding("bf_only_backbones")["classifiers"]
    ablation = grid.feeding("bf_only_ablation")["classifiers"]
    stats = grid.feeding("bf_only_stats")["classifiers"]
    assert {(r.backbone, r.trainset) for r in backbones} == {
        (b, "bfo-bfnuc-aug3") for b in ("resnet50", "resnet34", "efficientnet_b4", "densenet121")
    }
    assert {r.seed for r in backbones + ablation} == {0, 1, 2, 3, 4} and {r.setting for r in ablation} == {"bf"}
    assert len(ablation) == 7 * 5 and {r.backbone for r in ablation} == {"resnet50"}
    assert {r.trainset for r in stats} == {"bfo-bf-aug3", "bfo-bfnuc-aug3"} and len(stats) == 10
    assert len([r for r in grid.classifiers if r.trainset.startswith("bfo-")]) == 4 * 5 + 6 * 5
    assert all(run.training_set.listed_as.name == "all" for run in ablation)
    assert [e["name"] for e in plan({**demo, "ablations": {"bf_only": demo["ablations"]["bf_only"]}})
            .trainsets_spec("t")] == ["all"]  # fmt: skip
    small = plan(demo)
    assert {r.seed for r in small.feeding("bf_only_ablation")["classifiers"]} == {0, 1}


def test_the_bf_only_image_level_pairs_the_track_with_table4s_brightfield_detectors(paper, demo):
    """ablations.bf_only.detectors: the track's main model on bfnuc-aug3 scores each Brightfield detector run of the
    seeds both have (no new detector), at every omega, beside Table 4's own Brightfield pairings."""
    grid = plan(paper)
    fed = grid.feeding("bf_only_image_level")
    track = {p for p in fed["pairings"] if p.trainset == "bfo-bfnuc-aug3"}
    assert {(p.detector, p.setting, p.seed, p.backbone) for p in track} == {
        (d, "bf", s, "resnet50") for d in ("faster_rcnn", "fcos", "dino") for s in (0, 1, 2)
    }
    assert {p.trainset for p in set(fed["pairings"]) - track} == {"all"} and len(fed["pairings"]) == 18
    assert set(fed["detectors"]) <= set(grid.feeding("table4")["detectors"]) and len(grid.detectors) == 36
    assert {e.omega for e in fed["evaluations"]} == {1.0, 0.7}
    off = {**paper, "ablations": {**paper["ablations"], "bf_only": {**paper["ablations"]["bf_only"], "detectors": []}}}
    assert plan(off).feeding("bf_only_image_level")["pairings"] == []
    assert {p.seed for p in plan(demo).feeding("bf_only_image_level")["pairings"]} == {0}  # the demo's detectors'


def test_the_error_decomposition_adds_two_stand_ins_to_each_main_pairing_and_no_run(paper, demo):
    """report.error_decomposition (on by default): Table 4's main pairings, every detector, each with an oracle
    classifier and perfect localisation, and their evaluations at omega 1 and the ablation omega (Table 4's own); off,
    the plan is the same without them. Omega 1 is evaluated for it when pipeline.omegas lacks it."""
    from ctcbench.plan import Decomposition

    for config, pairings in ((paper, 27), (demo, 9)):
        grid = plan(config)
        fed = grid.feeding("error_decomposition")
        assert len(fed["pairings"]) == pairings and {p.trainset for p in fed["pairings"]} == {"all"}
        assert set(fed["pairings"]) == set(grid.feeding("table4")["pairings"])
        assert {e.omega for e in fed["evaluations"]} == {1.0, 0.7}
        assert set(fed["classifiers"]) == set(grid.feeding("table2")["classifiers"])  # Table 4's classifiers
        assert set(fed["evaluations"]) <= set(grid.feeding("table4")["evaluations"])
        assert len(grid.decompositions) == 2 * pairings == len(fed["decompositions"])
        pairing = Pairing("faster_rcnn", "bf", "all", 0, config["classify"]["main_backbone"])
        assert {d.path("R") for d in grid.decompositions if d.pairing == pairing} == {
            "R/pipeline/faster_rcnn/bf/all/seed0/oracle_classifier/metrics.json",
            "R/pipeline/faster_rcnn/bf/all/seed0/perfect_localisation/metrics.json",
        }
        assert set(Decomposition.KINDS) == {"oracle_classifier", "perfect_localisation"}
        off = plan({**config, "report": {**config["report"], "error_decomposition": False}})
        assert off.decompositions == {} and not any(off.feeding("error_decomposition").values())
        for kind in ("classifiers", "detectors", "pairings", "evaluations", "bundles"):
            assert list(getattr(off, kind)) == list(getattr(grid, kind)), kind
    fused_only = plan({**demo, "pipeline": {**demo["pipeline"], "omegas": [0.7]}})
    fed = fused_only.feeding("error_decomposition")["evaluations"]
    assert {e.omega for e in fed} == {1.0, 0.7} and {e.omega for e in fused_only.feeding("table4")["evaluations"]} == {
        0.7
    }


def test_the_kfold_block_plans_its_runs_its_table_and_figure(paper, demo):
    """ablations.kfold: every network from scratch and ImageNet in every listed setting under the protocol's fold
    scheme (and the other one with both_schemes), each run feeding tables/kfold_cv and figures/kfold_roc; the
    ImageNet runs' torchvision weights are staged like every classifier's; no classifier run of the grid moves."""
    from ctcbench.plan import KFoldRun
    from ctcbench.plan.kfold import kfold_spec
    from ctcbench.plan.weights import needed_classifier_weights

    grid = plan(paper)
    assert len(grid.kfold) == 5 * 2 and {run.scheme for run in grid.kfold} == {"stratified"}
    assert {run.init for run in grid.kfold} == {"scratch", "imagenet"}
    assert all(feeds == {"kfold_cv", "kfold_roc"} for feeds in grid.kfold.values())
    assert grid.feeding("kfold_cv")["kfold"] == list(grid.kfold)
    assert not any(grid.feeding("kfold_cv")[kind] for kind in ("classifiers", "detectors", "pairings"))
    staged = needed_classifier_weights(paper)
    assert {"resources/weights/vgg16.pth", "resources/weights/alexnet.pth"} <= set(staged)
    corrected = plan({**paper, "protocol": "corrected"})
    assert {run.scheme for run in corrected.kfold} == {"grouped"}  # the protocol's kfold_folds
    spec = kfold_spec(paper, KFoldRun("alexnet", "imagenet", "bf_fluo", "stratified", 0))
    assert (spec.library, spec.network, spec.paper, spec.pretrained) == ("torchvision", "alexnet", "AlexNet", True)
    assert spec.schedule.iterations == 3000 and spec.schedule.lr == paper["classify"]["schedule"]["lr"]

    small = plan(demo)
    assert sorted(run.name for run in small.kfold) == [
        "resnet_tiny/scratch/bf/grouped/seed0", "resnet_tiny/scratch/bf/stratified/seed0",
    ]  # fmt: skip
    without = {**demo, "ablations": {k: v for k, v in demo["ablations"].items() if k != "kfold"}}
    unplanned = plan(without)
    assert unplanned.kfold == {} and unplanned.classifiers == small.classifiers


def test_a_kfold_network_outside_its_catalogue_stops_the_plan(demo):
    block = {**demo["ablations"]["kfold"], "models": ["vgg11"]}
    config = {**demo, "ablations": {**demo["ablations"], "kfold": block}}
    with pytest.raises(ConfigError, match="'vgg11' is not a key of ablations.kfold.networks"):
        plan(config)
    both = {**block, "models": ["vgg16"], "networks": {"vgg16": {"torchvision": "vgg16", "timm": "vgg16.tv_in1k"}}}
    with pytest.raises(ConfigError, match="give exactly one of torchvision"):
        plan({**demo, "ablations": {**demo["ablations"], "kfold": both}})


def test_the_controls_are_planned_when_enabled_and_absent_when_disabled(paper, demo):
    """report.controls plans one random-box run per draw seed (no setting: it reads no image) and a feature-classifier
    run per setting while the nucleus detector is planned; its table also reads the nucleus detector alone and the
    main pipeline of its detector at the ablation omega, which Table 4 evaluates anyway. Off, none of it, and the
    plan's runs are the same."""
    from ctcbench.plan import ControlRun
    from ctcbench.plan.controls import control_classifier

    for config in (paper, demo):
        grid = plan(config)
        random = [ControlRun("random_boxes", "any", seed) for seed in (0, 1, 2)]
        features = [ControlRun("nucleus_features", setting, 0) for setting in ("bf", "bf_hoechst", "bf_fluo")]
        trained = [ControlRun("nucleus_classifier", s, seed) for s in ("bf", "bf_hoechst", "bf_fluo")
                   for seed in config["seeds"]]  # fmt: skip
        assert list(grid.controls) == random + features + trained
        fed = grid.feeding("controls")
        assert fed["controls"] == random + features + trained and [r.detector for r in fed["classical"]] == ["nucleus"]
        # The nucleus detector as the pipeline's proposal source: scored by Table 4's classifier of its setting and
        # seed, which the grid trains anyway.
        main = config["classify"]["main_backbone"]
        assert (
            {control_classifier(config, run) for run in trained}
            == {
                ClassifierRun(main, s, "all", seed) for s in ("bf", "bf_hoechst", "bf_fluo") for seed in config["seeds"]
            }
            <= set(grid.classifiers)
        )
        assert {(e.pairing.detector, e.pairing.setting, e.pairing.trainset, e.omega) for e in fed["evaluations"]} == {
            ("faster_rcnn", setting, "all", 0.7) for setting in ("bf", "bf_hoechst", "bf_fluo")
        }
        assert all(e.default_annotator for e in fed["evaluations"]) and len(fed["evaluations"]) == 3 * len(
            config["seeds"]
        )
        report = {**config["report"], "controls": {**config["report"]["controls"], "enabled": False}}
        off = plan({**config, "report": report})
        assert off.controls == {} and not any(off.feeding("controls").values())
        for kind in ("classifiers", "detectors", "pairings", "evaluations", "classical"):
            assert getattr(off, kind).keys() == getattr(grid, kind).keys(), kind
        no_nucleus = {
            **config,
            "detect": {**config["detect"], "nucleus": {**config["detect"]["nucleus"], "enabled": False}},
        }
        assert list(plan(no_nucleus).controls) == random  # both classifiers re-score the nucleus detector's boxes
        fewer = {
            **config,
            "report": {**config["report"], "controls": {**config["report"]["controls"], "random_seeds": [5]}},
        }
        assert [r for r in plan(fewer).controls if r.control == "random_boxes"] == [
            ControlRun("random_boxes", "any", 5)
        ]


def test_a_control_run_names_its_folder_and_reads_back():
    from ctcbench.plan import ControlRun

    run = ControlRun("nucleus_features", "bf", 0)
    assert (run.name, run.path("results/demo")) == (
        "nucleus_features/bf/seed0",
        "results/demo/controls/nucleus_features/bf/seed0",
    )
    assert ControlRun.parse(run.name) == run
    assert ControlRun.template("results/demo") == "results/demo/controls/{control}/{setting}/seed{seed}"
    with pytest.raises(ConfigError, match="control run 'random_boxes/seed0'"):
        ControlRun.parse("random_boxes/seed0")


def test_the_controls_and_the_brightfield_only_track_pair_with_table_4s_detectors_only(demo):
    """With fewer detectors than the default, the controls' pipeline rows use the first of them (null) and the
    brightfield-only track pairs with those it lists; a named controls detector outside them is refused; the default
    bundle stays Table 4's."""
    fcos = {**demo, "detect": {**demo["detect"], "detectors": ["fcos"]}}
    grid = plan(fcos)
    assert {p.detector for p in grid.feeding("controls")["pairings"]} == {"fcos"}
    assert {p.detector for p in grid.feeding("bf_only_image_level")["pairings"]} == {"fcos"}
    # (the ablation blocks name their own detector: the demo's Tables 5 and 6 train Faster R-CNN runs of their own)
    assert grid.bundles[0].pairing.detector == "fcos"
    named = {**fcos, "report": {**fcos["report"], "controls": {**fcos["report"]["controls"], "detector": "dino"}}}
    with pytest.raises(ConfigError, match=r"^report.controls.detector: dino is not among detect.detectors \(fcos\)"):
        plan(named)
