"""The protocol's switches: names round-trip, presets and overrides parse, and each switch, overridden alone, changes
exactly the behaviour it names.

Every switch has a probe: the code that implements its behaviour, run on a small fixed input under a protocol. For
each switch and each preset, the preset with only that switch flipped must change the switch's own probe and leave
every probe that does not read that switch as it is.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
from classify.classify_helpers import TinyCrops, build_tiny_crops, tiny_spec
from report.report_helpers import TINY_IDS, write_tiny_pipeline_run

from ctcbench import protocol as protocols
from ctcbench.config import load
from ctcbench.errors import ConfigError
from ctcbench.protocol import CORRECTED, FAITHFUL, PRESETS, SWITCHES, Protocol, parse

ROOT = Path(__file__).resolve().parents[1]


def test_names_round_trip_and_every_form_parses():
    for preset in PRESETS.values():
        assert parse(preset.name) == preset and preset.overrides() == {}
    mixed = FAITHFUL.replace(fusion_gate=None, hoechst_channels=4)
    assert mixed.name == "faithful,hoechst_channels=4,fusion_gate=null"  # switches in field order
    assert parse(mixed.name) == mixed == parse({"base": "faithful", "fusion_gate": None, "hoechst_channels": 4})
    assert parse("corrected,box_shift=-1").box_shift == -1 and parse("faithful,fusion_gate=0.2").fusion_gate == 0.2
    # A switch set to its preset's own value is no override: the name stays the preset's.
    assert parse({"base": "corrected", "box_shift": 0}).name == "corrected"


def test_every_switch_names_its_defect_and_both_presets_set_it():
    documented = {row["switch"]: row for row in protocols.describe()}
    assert list(documented) == list(SWITCHES)
    defects = (ROOT / "docs" / "defects.md").read_text()
    switches_page = (ROOT / "docs" / "protocol.md").read_text()
    for switch, row in documented.items():
        assert f'<a id="defect-{row["defect"]}"></a>' in defects
        faithful, corrected = protocols.format_value(row["faithful"]), protocols.format_value(row["corrected"])
        assert (
            f"| `{switch}` | [{row['defect']}](defects.md#defect-{row['defect']}) | `{faithful}` | `{corrected}` |"
            in (switches_page)
        ), f"docs/protocol.md#switches lacks the row of {switch}"


@pytest.mark.parametrize(
    "value, message",
    [
        ("faithfull", "expected a preset, one of faithful, corrected; did you mean 'faithful'?"),
        ({"base": "faithful", "fusion_gat": None}, "unknown switch 'fusion_gat'; did you mean 'fusion_gate'?"),
        ({"fusion_gate": None}, "a mapping needs `base: faithful` or `base: corrected`"),
        ("faithful,fusion_gate", "expected PRESET[,switch=value...]"),
        ("corrected,image_read=tiff", "protocol.image_read = tiff: expected one of opencv, native"),
        ("corrected,stale_drop_u_head=1", "protocol.stale_drop_u_head = 1: expected one of true, false"),
        (3, "expected a preset name or a mapping"),
    ],
)
def test_bad_protocols_are_one_line_errors(value, message):
    with pytest.raises(ConfigError) as info:
        parse(value)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_config_keeps_the_protocol_as_its_name():
    config = load(ROOT / "config.yaml", {"protocol": {"base": "corrected", "hoechst_channels": 4}})
    assert config["protocol"] == "corrected,hoechst_channels=4"
    assert load(ROOT / "config.yaml", {"protocol": "faithful"})["protocol"] == "faithful"


# -- Probes: one per switch, each the code of that behaviour on a fixed input. ------------------------------------


def digest(*arrays) -> str:
    """A value that differs when any array's bytes, shape or type differ."""
    h = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(np.asarray(array))
        h.update(f"{array.shape}{array.dtype}".encode())
        h.update(array.tobytes())
    return h.hexdigest()


@dataclasses.dataclass
class Inputs:
    crops: TinyCrops
    run_root: Path  # the hand-made three-image test set of the report tests (dataset, scores)
    weights: Path  # a 3-channel ResNet-50 stem checkpoint (detector stem)
    classifier_weights: Path  # timm's test_resnet, saved as staged weights (classifier stem)
    work: Path
    twin: Path  # a tiny synthetic twin with released crops, one of them not the slice of its raw image


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Inputs:
    import torch
    from safetensors.torch import save_file

    base = tmp_path_factory.mktemp("protocol")
    crops = build_tiny_crops(base / "tiny")
    run_root = base / "run"
    write_tiny_pipeline_run(run_root)
    torch.manual_seed(0)
    weights = base / "resnet50.pth"
    torch.save({"state_dict": {"conv1.weight": torch.randn(64, 3, 7, 7)}}, weights)
    import timm

    classifier_weights = base / "test_resnet.safetensors"
    save_file(timm.create_model("test_resnet", pretrained=False).state_dict(), classifier_weights)
    return Inputs(crops, run_root, weights, classifier_weights, base / "work", tampered_twin(base / "twin"))


def tampered_twin(root: Path) -> Path:
    from ctcbench.data.imageio import read_image, write_tiff
    from ctcbench.data.layout import DatasetLayout
    from ctcbench.data.synth import TwinConfig, generate_twin

    sizes = {"r06": 3, "r07": 2, "r08": 2}
    generate_twin(
        root,
        TwinConfig.demo(image_size=96, images_per_patient=sizes, test_per_patient=1, cell_radius=9.0),
        progress=False,
    )
    crop = sorted((DatasetLayout(root).cells_dir / "train" / "brightfield" / "R").glob("*.tiff"))[0]
    write_tiff(crop, read_image(crop, "native")[..., 0] // 2)
    return root


def demo_config(protocol: Protocol) -> dict:
    return load(ROOT / "config.yaml", {"preset": "demo", "protocol": protocol.name})


def probe_image_read(protocol: Protocol, inputs: Inputs) -> str:
    from ctcbench.data.channels import read_pair
    from ctcbench.data.layout import DatasetLayout

    return digest(*read_pair(DatasetLayout(inputs.run_root / "dataset"), TINY_IDS[0], protocol.image_read))


def probe_crop_source(protocol: Protocol, inputs: Inputs) -> str:
    from ctcbench.data.crop_cache_cli import build_cache
    from ctcbench.data.layout import DatasetLayout

    return digest(build_cache(DatasetLayout(inputs.twin), "train", "native", protocol.crop_source).pixels)


def probe_detector_scaling(protocol: Protocol, inputs: Inputs) -> str:
    from ctcbench.data.channels import detector_input

    rng = np.random.default_rng(0)
    bf, fl = rng.integers(0, 4000, (8, 8, 1)).astype(np.uint16), rng.integers(0, 4000, (8, 8, 3)).astype(np.uint16)
    return digest(detector_input(bf, fl, "bf_fluo", protocol))


def probe_hoechst_channels(protocol: Protocol, inputs: Inputs) -> int:
    from ctcbench.detect.spec import run_spec

    return run_spec(demo_config(protocol), "faster_rcnn", "bf_hoechst", "all", 0).in_channels


def probe_stratified_fractions(protocol: Protocol, inputs: Inputs) -> str:
    from ctcbench.data.crops import CropCache
    from ctcbench.data.splits import records_from_cache, select_trainset

    cache = CropCache.load(inputs.crops.cache("train"))
    records = records_from_cache(cache.keys, cache.labels, cache.image_ids)
    chosen = select_trainset(records, "fraction", 0.3, seed=0, stratified=protocol.stratified_fractions)
    return ",".join(sorted(r.key for r in chosen))


def probe_kfold_folds(protocol: Protocol, inputs: Inputs) -> str:
    # The k-fold track's first planned run (the protocol's scheme) split on the tiny crops.
    from ctcbench.classify.kfold import labelled_pool
    from ctcbench.data.crops import CropCache
    from ctcbench.data.kfold_splits import split_parts
    from ctcbench.plan import plan
    from ctcbench.plan.kfold import kfold_spec

    config = demo_config(protocol)
    spec = kfold_spec(config, next(iter(plan(config).kfold)))
    pool = labelled_pool(*(CropCache.load(inputs.crops.cache(s)) for s in ("train", "val")), spec.unknown)
    return digest(split_parts(pool.labels, pool.image_ids, spec.scheme, folds=3, seed=spec.seed))


def prepared(protocol: Protocol, inputs: Inputs, trainset: str = "all"):
    from ctcbench.classify.train import TrainConfig, prepare_data

    config = TrainConfig(
        spec=tiny_spec(protocol=protocol.name, trainset=trainset, setting="bf_fluo"),
        train_cache=inputs.crops.cache("train"),
        val_cache=inputs.crops.cache("val"),
        trainset_file=inputs.crops.trainset(trainset),
        out_dir=inputs.work,
    )
    return prepare_data(config)


def probe_classifier_normalisation(protocol: Protocol, inputs: Inputs) -> str:
    return repr(prepared(protocol, inputs).spec.norm)


def probe_brightness_augmentation(protocol: Protocol, inputs: Inputs) -> str:
    # The training batches see the augmentation and, after it, the normalisation.
    images, labels = prepared(protocol, inputs).batches[0]
    return digest(images.numpy(), labels.numpy())


def probe_classifier_networks(protocol: Protocol, inputs: Inputs) -> str:
    import torch

    from ctcbench.classify.checkpoint import ModelSpec
    from ctcbench.plan import ClassifierRun
    from ctcbench.plan.specs import classifier_spec

    # A backbone with a torchvision builder, planned and built as a run would be (on the meta device: no weights).
    run = classifier_spec(demo_config(protocol), ClassifierRun("resnet18", "bf", "all", 0))
    spec = ModelSpec(run.backbone, run.timm_name, 3, 3, run.classes, 32, run.setting, run.protocol,
                     torchvision_name=run.torchvision_name)  # fmt: skip
    with torch.device("meta"):
        model = spec.build()
    return f"{run.network} {type(model).__module__}"


def probe_classifier_stem(protocol: Protocol, inputs: Inputs) -> str:
    import torch

    from ctcbench.classify.checkpoint import ModelSpec

    spec = ModelSpec("tiny", "test_resnet", 6, 3, ("R", "G", "U"), 32, "bf_fluo", protocol.name)
    torch.manual_seed(0)
    model = spec.build(inputs.classifier_weights)
    return digest(model.conv1[0].weight.detach().numpy())


def probe_stale_drop_u_head(protocol: Protocol, inputs: Inputs) -> int:
    return prepared(protocol, inputs, "u-drop").spec.num_outputs


def probe_backbone_lr_overrides(protocol: Protocol, inputs: Inputs) -> float:
    from ctcbench.plan import ClassifierRun
    from ctcbench.plan.specs import classifier_spec

    return classifier_spec(demo_config(protocol), ClassifierRun("efficientnet_b4", "bf", "all", 0)).schedule.lr


def probe_classifier_checkpoint(protocol: Protocol, inputs: Inputs) -> str:
    # The planned spec asks the training for a checkpoint per val half; evaluation scores each half with the other's.
    from ctcbench.classify.evaluate import cell_metrics
    from ctcbench.classify.predict import Predictions
    from ctcbench.plan import ClassifierRun
    from ctcbench.plan.specs import classifier_spec

    spec = classifier_spec(demo_config(protocol), ClassifierRun("resnet_tiny", "bf", "all", 0))
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 60)
    best, half0, half1 = (Predictions(rng.dirichlet(np.ones(3), 60), None) for _ in range(3))
    ids = np.array([f"r0{6 + i % 3}c0{i % 5}f01p01" for i in range(60)])
    halves = (half0, half1) if spec.val_halves_seed is not None else None
    metrics = cell_metrics(labels, best, "oracle", ids, np.array([i[:3] for i in ids]), 0, halves)
    return repr((spec.val_halves_seed, {k: metrics[k] for k in ("f1", "auroc", "accuracy")}))


def probe_cell_threshold(protocol: Protocol, inputs: Inputs) -> str:
    from ctcbench.classify.evaluate import cell_metrics
    from ctcbench.classify.predict import Predictions

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 60)
    probs = rng.dirichlet(np.ones(3), 60)
    ids = np.array([f"r0{6 + i % 3}c0{i % 5}f01p01" for i in range(60)])
    patients = np.array([i[:3] for i in ids])
    metrics = cell_metrics(labels, Predictions(probs, None), protocol.cell_threshold, ids, patients, split_seed=0)
    return repr({k: metrics[k] for k in ("f1", "precision", "recall", "threshold")})


def probe_bf_only_expansion(protocol: Protocol, inputs: Inputs) -> str:
    # The draws of one crop's image and its first copy in the first two epochs, as the track's trainer asks.
    from ctcbench.classify.bf_only.samples import Sample, sample_draw
    from ctcbench.classify.bf_only.variants import variant

    main = variant("bfnuc-aug3")
    draws = [sample_draw(Sample(0, "bf", 0, copy), main, protocol.bf_only_expansion, 0, epoch, copy)
             for copy in (0, 1) for epoch in (0, 1)]  # fmt: skip
    return repr(draws)


def probe_bf_only_lr(protocol: Protocol, inputs: Inputs) -> float:
    from ctcbench.classify.bf_only.spec import bf_only_spec

    return bf_only_spec(demo_config(protocol), "resnet_tiny", "bfo-bfnuc-aug3", 0).lr


def probe_detector_standardise(protocol: Protocol, inputs: Inputs) -> str:
    pytest.importorskip("mmdet")
    from ctcbench.detect.configs import data_preprocessor
    from ctcbench.detect.spec import run_spec

    preprocessor = data_preprocessor(run_spec(demo_config(protocol), "faster_rcnn", "bf", "all", 0))
    return repr((preprocessor["mean"], preprocessor["std"]))


def probe_detector_stem(protocol: Protocol, inputs: Inputs) -> str:
    pytest.importorskip("mmdet")
    from ctcbench.detect.spec import run_spec
    from ctcbench.detect.train import TrainPaths, pretrained_file

    config = demo_config(protocol)
    config["detect"].update(pretrained=True, backbone_depth=50, backbone_width=64)
    spec = run_spec(config, "faster_rcnn", "bf_fluo", "all", 0)
    work = inputs.work / protocol.name
    paths = TrainPaths(dataset=Path("-"), train_list=Path("-"), model=work / "model.pth", run_json=work / "run.json",
                       weights=inputs.weights)  # fmt: skip
    paths.work_dir.mkdir(parents=True, exist_ok=True)
    path, record = pretrained_file(spec, paths)
    return f"{Path(path).name} {record['stem']}"


def probe_box_shift(protocol: Protocol, inputs: Inputs) -> int:
    from ctcbench.detect.spec import run_spec

    return run_spec(demo_config(protocol), "fcos", "bf", "all", 0).box_shift


def probe_detector_test_padding(protocol: Protocol, inputs: Inputs) -> str:
    pytest.importorskip("mmdet")
    import torch
    from mmdet.registry import MODELS

    from ctcbench.detect import registry
    from ctcbench.detect.configs import data_preprocessor
    from ctcbench.detect.spec import run_spec

    registry.ensure_registered()
    module = MODELS.build(data_preprocessor(run_spec(demo_config(protocol), "faster_rcnn", "bf", "all", 0)))
    batch = module(dict(inputs=[torch.zeros(3, 100, 100)], data_samples=None), training=False)
    return repr(tuple(batch["inputs"].shape))


def probe_detector_schedule_scaling(protocol: Protocol, inputs: Inputs) -> str:
    from ctcbench.detect.configs import param_schedulers
    from ctcbench.detect.spec import run_spec

    # The paper's schedule on the third patient's 91 training images.
    config = load(ROOT / "config.yaml", {"protocol": protocol.name})
    return repr(param_schedulers(run_spec(config, "faster_rcnn", "bf_hoechst", "patient-r08", 0), 91))


def probe_detector_checkpoint(protocol: Protocol, inputs: Inputs) -> str:
    from ctcbench.detect.configs import validation_hooks
    from ctcbench.detect.spec import run_spec

    spec = run_spec(demo_config(protocol), "faster_rcnn", "bf", "all", 0)
    try:
        hooks = validation_hooks(spec, inputs.run_root / "dataset", inputs.work / "val.txt", inputs.work)
    except ConfigError:
        return "refused"
    return repr([(hook["type"], hook["nms_iou"], hook["interval"]) for hook in hooks])


def probe_iou_plus_one(protocol: Protocol, inputs: Inputs) -> str:
    from ctcbench.detect.evaluate import score_images

    # Against [0, 0, 9, 9], the box [0, 0, 9, 4] has IoU 50/100 with the +1 convention (a match at 0.5) and 36/81
    # exactly (none).
    detections = {"a": (np.array([[0, 0, 9, 4]], float), np.array([0.8]))}
    result = score_images(detections, {"a": np.array([[0, 0, 9, 9]], float)}, protocol)
    return repr((result["ap50"], result["best_f1"]))


def probe_image_threshold(protocol: Protocol, inputs: Inputs) -> str:
    from ctcbench.data.layout import DatasetLayout
    from ctcbench.data.voc import Box, VocAnnotation, write_voc
    from ctcbench.detect.evaluate import val_threshold

    layout = DatasetLayout(inputs.run_root / "dataset")
    write_voc(layout.annotation_xml("val", "r06c05f01p01"), VocAnnotation("v.tiff", 64, 64, 3, [Box("R", 0, 0, 9, 9)]))
    detections = {"r06c05f01p01": (np.array([[0, 0, 9, 9], [30, 30, 39, 39]], float), np.array([0.6, 0.9]))}
    try:
        return repr(val_threshold(detections, layout, ["r06c05f01p01"], protocol)[0])
    except ConfigError:
        return "refused"


def probe_fusion_gate(protocol: Protocol, inputs: Inputs) -> str:
    from ctcbench.data.layout import DatasetLayout
    from ctcbench.pipeline.evaluate import pipeline_metrics
    from ctcbench.pipeline.scores import ScoredImage, Scores

    def image(boxes, s_det, s_cls):
        return ScoredImage(64, 64, np.array(boxes, np.int64), np.array(s_det), np.array(s_cls))

    # The cell of the first image is found by a box the detector scores 0.05 and the classifier 0.95: gated, it
    # keeps 0.05 and ranks below a false positive; fused, it ranks first. Every image has a box, so dropping
    # undetected ground truth changes nothing here.
    images = {
        TINY_IDS[0]: image([[4, 4, 13, 13], [40, 40, 49, 49]], [0.05, 0.3], [0.95, 0.1]),
        TINY_IDS[1]: image([[11, 11, 20, 20]], [0.5], [0.2]),
        TINY_IDS[2]: image([[5, 5, 14, 14]], [0.6], [0.1]),
    }
    scores = Scores({"protocol": protocol.name}, images)
    metrics = pipeline_metrics(scores, DatasetLayout(inputs.run_root / "dataset"), list(TINY_IDS), omega=0.7,
                               protocol=protocol)  # fmt: skip
    return repr((metrics["ap50"], metrics["best_f1"]))


def probe_nms_before_classification(protocol: Protocol, inputs: Inputs) -> str:
    from ctcbench.detect.predictions import ImageDetections, Predictions
    from ctcbench.pipeline.proposals import propose

    boxes = np.array([[0.0, 0.0, 50.0, 60.0], [0.0, 1.0, 50.0, 60.0], [70.0, 10.0, 90.0, 30.0]])
    predictions = Predictions({}, {"a": ImageDetections(100, 80, boxes, np.array([0.9, 0.8, 0.7]))})
    proposal = propose(predictions, ["a"], protocol, 0.5)["a"]
    return digest(proposal.boxes, proposal.s_det)


def probe_drop_undetected_ground_truth(protocol: Protocol, inputs: Inputs) -> str:
    from ctcbench.detect.evaluate import score_images

    detections = {"a": (np.array([[0, 0, 9, 9]], float), np.array([0.8])), "b": (np.zeros((0, 4)), np.zeros(0))}
    truth = {"a": np.array([[0, 0, 9, 9]], float), "b": np.array([[20, 20, 29, 29]], float)}
    result = score_images(detections, truth, protocol)
    return repr((result["ap50"], result["best_f1"], result["n_ground_truth"]))


PROBES = {name.removeprefix("probe_"): function for name, function in globals().items() if name.startswith("probe_")}
# A probe that also runs code later in its behaviour's path reads other switches too, by design: the training batches
# are normalised after they are augmented.
ALSO_READS = {"brightness_augmentation": {"classifier_normalisation"}}


def test_every_switch_has_a_probe():
    assert set(PROBES) == set(SWITCHES)


def flipped(protocol: Protocol, switch: str) -> Protocol:
    """`protocol` with `switch` alone set to another of its values (the other preset's, else the first other)."""
    current = getattr(protocol, switch)
    others = [value for value in (getattr(p, switch) for p in PRESETS.values()) if value != current]
    if not others:
        others = [c for c in protocols.FIELDS[switch].metadata["choices"] if c != current]
    return protocol.replace(**{switch: others[0]})


@pytest.mark.parametrize("base", [FAITHFUL, CORRECTED], ids=["faithful", "corrected"])
@pytest.mark.parametrize("switch", SWITCHES)
def test_overriding_one_switch_changes_exactly_its_behaviour(inputs, base, switch):
    override = flipped(base, switch)
    assert override.overrides() == {switch: getattr(override, switch)}
    before = {name: probe(base, inputs) for name, probe in PROBES.items()}
    after = {name: probe(override, inputs) for name, probe in PROBES.items()}
    assert before[switch] != after[switch], f"{switch}: overriding it alone changed nothing"
    changed = {name for name in PROBES if before[name] != after[name]}
    reads = {name for name in PROBES if switch == name or switch in ALSO_READS.get(name, set())}
    assert changed <= reads, f"overriding {switch} also changed {sorted(changed - reads)}"
