"""The protocol: one named switch per behaviour of the original code that changes numbers (docs/defects.md).

A `Protocol` is a frozen record with one field per switch. Two presets exist: `faithful` reproduces the original
code wherever it changes numbers, `corrected` fixes each defect that has a fix. Config accepts a preset name or a
preset with overrides (`protocol: {base: faithful, fusion_gate: null}`), so each correction can be applied, or each
defect put back, on its own. Code never asks "is this faithful?": it reads the field of the behaviour it implements.

A protocol has one text form, its `name`: the preset alone (`faithful`) or the preset followed by its overrides in
field order (`faithful,fusion_gate=null,box_shift=0`). `parse` reads every form (a name, a mapping, a Protocol),
and `parse(p.name) == p`, so the name is what commands take on their command line and what records store.

Kept free of torch and of every other stage: all of them, and the workflow while planning, import it.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import ConfigError

BASE_KEY = "base"


# The runs of the main pipeline that read a switch (`reads`): a change of the switch retrains a classifier or a
# detector, or only re-scores and re-evaluates a pairing (the image level). A switch no run of the main pipeline reads
# (an ablation's or a track's own) has none. The defect-effects table (plan.defects) reruns only what reads it.
CLASSIFIER, DETECTOR, IMAGE = "classifier", "detector", "image"
READERS = (CLASSIFIER, DETECTOR, IMAGE)


def _switch(defect: int, choices: tuple[Any, ...], doc: str, reads: tuple[str, ...] = ()) -> Any:
    """A protocol field: the defect it reproduces or fixes, its allowed values, what it does, and the runs of the main
    pipeline that read it."""
    return field(metadata={"defect": defect, "choices": choices, "doc": doc, "reads": reads})


@dataclass(frozen=True)
class Protocol:
    """Every behaviour of the original that moves a number, as one named switch each (defect numbers: docs/defects.md).

    Fields are declared in the order of the stages that read them: data, classifier, detectors, image level.
    """

    base: str = field(metadata={"choices": ("faithful", "corrected")})
    image_read: str = _switch(
        20,
        ("opencv", "native"),
        "opencv: every TIFF as OpenCV's default imread returns it (8-bit, 3-channel BGR); native: full bit depth, "
        "brightfield as one channel",
        reads=(CLASSIFIER, DETECTOR, IMAGE),
    )
    crop_source: str = _switch(
        7,
        ("released", "cut"),
        "classifier crops of train and val: the release's own crop files (released, what the original trained on) "
        "or cut from the raw images by the documented rule (cut)",
        reads=(CLASSIFIER,),
    )
    detector_scaling: str = _switch(
        20,
        ("uint8", "float"),
        "the detectors' per-image min-max to 0-255: uint8 truncates it to 8 bit (OpenCV NORM_MINMAX itself); float "
        "keeps the exact values",
        reads=(DETECTOR,),
    )
    hoechst_channels: int = _switch(
        3,
        (3, 4),
        "Brightfield + Hoechst input: 3 (Hoechst overwrites the third brightfield channel) or 4 (Hoechst appended)",
        reads=(CLASSIFIER, DETECTOR),
    )
    stratified_fractions: bool = _switch(
        11,
        (False, True),
        "training fractions (Fig. 11) drawn stratified by class and patient (true) or uniformly over crops (false)",
    )
    kfold_folds: str = _switch(
        32,
        ("stratified", "grouped"),
        "the k-fold track's 80/20 split and folds: stratified by class over crops, as the study (stratified), or "
        "also grouped by image, so no image has crops on both sides (grouped)",
    )
    classifier_normalisation: str = _switch(
        2,
        ("none", "train_statistics"),
        "classifier input: raw values (none) or standardised per channel with the training crops' mean and std",
        reads=(CLASSIFIER,),
    )
    brightness_augmentation: str = _switch(
        1,
        ("clipped", "scaled"),
        "clipped: albumentations' brightness shift clipped to [0, 1] on 0-255 input; scaled: x(1 + beta) in range",
        reads=(CLASSIFIER,),
    )
    classifier_networks: str = _switch(
        31,
        ("torchvision", "timm"),
        "the classifier networks: torchvision's builders and ImageNet-1k V1 weights, as the original (torchvision), "
        "or timm's with the weight tag of classify.backbones.*.timm (timm); a backbone without a torchvision builder "
        "is timm's under either",
        reads=(CLASSIFIER,),
    )
    classifier_stem: str = _switch(
        9,
        ("fresh", "adapted"),
        "first conv of a 4- or 6-channel classifier: freshly initialised (fresh) or the pretrained RGB filters "
        "adapted to the channels (adapted)",
        reads=(CLASSIFIER,),
    )
    stale_drop_u_head: bool = _switch(
        5,
        (True, False),
        "the drop-U classifier keeps the 3-output head of the original's stale NUM_CLASSES=3 (true) or has 2 (false)",
    )
    backbone_lr_overrides: bool = _switch(
        14,
        (True, False),
        "apply a backbone's own learning rate (classify.backbones.*.faithful_lr, EfficientNet-B4 at 1e-3) or not",
        reads=(CLASSIFIER,),
    )
    classifier_checkpoint: str = _switch(
        8,
        ("oracle", "cross_fitted"),
        "checkpoint behind the cell-level numbers: the best val accuracy, reported on the same val crops (oracle), "
        "or chosen on one half of the val images and reported on the other (cross_fitted; the pipeline keeps the "
        "best on all val images, the oracle numbers are kept beside it)",
        reads=(CLASSIFIER,),
    )
    cell_threshold: str = _switch(
        8,
        ("oracle", "cross_fitted"),
        "cell-level F1 threshold: chosen on val and reported on val (oracle), or chosen on one half of the val "
        "images and applied to the other (cross_fitted; the oracle is kept beside it)",
        reads=(CLASSIFIER,),
    )
    bf_only_expansion: str = _switch(
        33,
        ("offline", "online"),
        "brightfield-only track: the training set expanded once, before training, to ablations.bf_only.expansion "
        "times its crops with seeded augmented copies, as the study (offline), or every image augmented afresh "
        "each time it is drawn (online)",
    )
    bf_only_lr: str = _switch(
        34,
        ("printed", "tuned"),
        "brightfield-only track: AdamW at the learning rate the study printed, 1e-7 (printed: ablations.bf_only."
        "printed_lr), or at ablations.bf_only.lr (tuned)",
    )
    detector_standardise: str = _switch(
        12,
        ("original", "imagenet"),
        "detector input standardisation: the original's per detector, or the statistics each pretrained backbone "
        "expects",
        reads=(DETECTOR,),
    )
    detector_stem: str = _switch(
        9,
        ("random", "inflate"),
        "first conv of a 4- or 6-channel detector: random (the pretrained conv1 skipped, and frozen with "
        "frozen_stages) or inflate (the pretrained conv1 tiled over the channels)",
        reads=(DETECTOR,),
    )
    box_shift: int = _switch(
        18,
        (-1, 0),
        "added to the VOC box corners the detectors train on (the original's loader subtracted 1)",
        reads=(DETECTOR,),
    )
    detector_test_padding: str = _switch(
        12,
        ("original", "as_train"),
        "test-time padding of the detector input: original (Faster R-CNN pads to a multiple of 32 in training only) "
        "or as_train (every detector pads its test images as its training images)",
        reads=(DETECTOR,),
    )
    detector_schedule_scaling: str = _switch(
        4,
        ("fixed", "scaled"),
        "detector warm-up: fixed (detect.warmup_iters iterations in every run, however short) or scaled (at most "
        "detect.warmup_fraction of the run's iterations, so the short per-patient runs leave it)",
        reads=(DETECTOR,),
    )
    detector_checkpoint: str = _switch(
        22,
        ("final", "best_val"),
        "the detector a run keeps: the final epoch (final) or the epoch of the best image-level AP50 on the val "
        "images, checked every detect.checkpoint_interval epochs (best_val)",
        reads=(DETECTOR,),
    )
    iou_plus_one: bool = _switch(
        18,
        (True, False),
        "image-level IoU with the VOC +1 pixel convention (true: x2, y2 inclusive, as the original's evaluator) or "
        "exact (false: x2, y2 exclusive, as the crops and the detectors' boxes are)",
        reads=(IMAGE,),
    )
    image_threshold: str = _switch(
        8,
        ("oracle", "heldout"),
        "image-level F1: the best F1 over the test PR curve (oracle), or also the F1 at the score threshold chosen "
        "on the val images (heldout; the detectors then predict val too)",
        reads=(IMAGE,),
    )
    fusion_gate: float | None = _switch(
        15,
        (0.1, None),
        "a box whose detector score is below this keeps it and skips the classifier; null fuses every box",
        reads=(IMAGE,),
    )
    nms_before_classification: bool = _switch(
        16,
        (True, False),
        "class-agnostic NMS on the detector score before classification, as well as on the fused score",
        reads=(IMAGE,),
    )
    drop_undetected_ground_truth: bool = _switch(
        17,
        (True, False),
        "the ground truth of a test image without any predicted box is dropped from the evaluation",
        reads=(IMAGE,),
    )

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            check_value(item.name, getattr(self, item.name))

    @property
    def name(self) -> str:
        """`faithful`, or the preset and its overrides in field order: `faithful,fusion_gate=null`."""
        return ",".join([self.base] + [f"{key}={format_value(value)}" for key, value in self.overrides().items()])

    @property
    def threshold_on_val(self) -> bool:
        """Whether the image-level F1 is also reported at a score threshold chosen on the val images
        (image_threshold: heldout), so that the detectors predict val too."""
        return self.image_threshold == "heldout"

    def overrides(self) -> dict[str, Any]:
        """The switches that differ from the base preset, in field order."""
        preset = PRESETS[self.base]
        return {key: getattr(self, key) for key in SWITCHES if getattr(self, key) != getattr(preset, key)}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> Protocol:
        return dataclasses.replace(self, **changes)

    def __str__(self) -> str:
        return self.name


def check_value(key: str, value: Any, where: str = "protocol") -> None:
    """ConfigError unless `value` is one of the switch's choices (bools and numbers compared by type too)."""
    choices = FIELDS[key].metadata["choices"]
    if not any(value == choice and type(value) is type(choice) for choice in choices) and not (
        isinstance(value, float) and any(isinstance(c, float) for c in choices) and 0 < value < 1
    ):
        allowed = ", ".join(format_value(c) for c in choices)
        raise ConfigError(f"{where}.{key} = {format_value(value)}: expected one of {allowed}")


def format_value(value: Any) -> str:
    """A switch value as the protocol's name writes it (YAML scalars: null, true, false, 0.1, opencv)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


FIELDS = {item.name: item for item in dataclasses.fields(Protocol)}
SWITCHES: tuple[str, ...] = tuple(name for name in FIELDS if name != BASE_KEY)

PRESETS: dict[str, Protocol] = {
    "faithful": Protocol(
        base="faithful",
        image_read="opencv",
        crop_source="released",
        detector_scaling="uint8",
        hoechst_channels=3,
        stratified_fractions=False,
        kfold_folds="stratified",
        classifier_normalisation="none",
        brightness_augmentation="clipped",
        classifier_networks="torchvision",
        classifier_stem="fresh",
        stale_drop_u_head=True,
        backbone_lr_overrides=True,
        classifier_checkpoint="oracle",
        cell_threshold="oracle",
        bf_only_expansion="offline",
        bf_only_lr="printed",
        detector_standardise="original",
        detector_stem="random",
        box_shift=-1,
        detector_test_padding="original",
        detector_schedule_scaling="fixed",
        detector_checkpoint="final",
        iou_plus_one=True,
        image_threshold="oracle",
        fusion_gate=0.1,
        nms_before_classification=True,
        drop_undetected_ground_truth=True,
    ),
    # Keeps 3 Brightfield + Hoechst channels, so its models keep their pretrained stems; hoechst_channels: 4 fixes it.
    "corrected": Protocol(
        base="corrected",
        image_read="native",
        crop_source="cut",
        detector_scaling="float",
        hoechst_channels=3,
        stratified_fractions=True,
        kfold_folds="grouped",
        classifier_normalisation="train_statistics",
        brightness_augmentation="scaled",
        classifier_networks="timm",
        classifier_stem="adapted",
        stale_drop_u_head=False,
        backbone_lr_overrides=False,
        classifier_checkpoint="cross_fitted",
        cell_threshold="cross_fitted",
        bf_only_expansion="online",
        bf_only_lr="tuned",
        detector_standardise="imagenet",
        detector_stem="inflate",
        box_shift=0,
        detector_test_padding="as_train",
        detector_schedule_scaling="scaled",
        detector_checkpoint="best_val",
        iou_plus_one=False,
        image_threshold="heldout",
        fusion_gate=None,
        nms_before_classification=False,
        drop_undetected_ground_truth=False,
    ),
}
FAITHFUL, CORRECTED = PRESETS["faithful"], PRESETS["corrected"]


def _preset(name: Any, where: str) -> Protocol:
    if name not in PRESETS:
        close = difflib.get_close_matches(str(name), PRESETS, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"{where} = {name!r}: expected a preset, one of {', '.join(PRESETS)}{hint}")
    return PRESETS[name]


def _from_mapping(value: Mapping[str, Any], where: str) -> Protocol:
    if BASE_KEY not in value:
        raise ConfigError(f"{where}: a mapping needs `base: faithful` or `base: corrected`, then the overrides")
    preset = _preset(value[BASE_KEY], f"{where}.{BASE_KEY}")
    overrides = {key: item for key, item in value.items() if key != BASE_KEY}
    for key in overrides:
        if key not in SWITCHES:
            close = difflib.get_close_matches(str(key), SWITCHES, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"{where}: unknown switch '{key}'; {hint}switches: {', '.join(SWITCHES)}")
        check_value(key, overrides[key], where)
    return preset.replace(**overrides)


def _from_name(text: str, where: str) -> Protocol:
    base, *items = text.split(",")
    if not items:
        return _preset(base.strip(), where)
    overrides: dict[str, Any] = {BASE_KEY: base.strip()}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"{where} = {text!r}: expected PRESET[,switch=value...], e.g. faithful,fusion_gate=null")
        overrides[key.strip()] = yaml.safe_load(value)
    return _from_mapping(overrides, where)


def parse(value: Protocol | str | Mapping[str, Any], where: str = "protocol") -> Protocol:
    """A protocol from a preset name, a name with overrides, or a mapping `{base: ..., switch: value}`."""
    if isinstance(value, Protocol):
        return value
    if isinstance(value, str):
        return _from_name(value, where)
    if isinstance(value, Mapping):
        return _from_mapping(value, where)
    raise ConfigError(f"{where} = {value!r}: expected a preset name or a mapping with `base` and overrides")


def same_protocol(found: Any, expected: Protocol) -> bool:
    """Whether a recorded protocol (a name, as records store it) is `expected`; False if missing or unreadable."""
    try:
        return found is not None and parse(found) == expected
    except ConfigError:
        return False


def agrees(found: Any, expected: Protocol, reader: str) -> bool:
    """Whether a recorded protocol (a name) sets every switch a run of `reader` (CLASSIFIER, DETECTOR, IMAGE) reads as
    `expected` does: such a run serves `expected` unchanged (a defect variant reuses its endpoint's runs so);
    False if missing or unreadable."""
    try:
        recorded = parse(found) if found is not None else None
    except ConfigError:
        return False
    return recorded is not None and all(
        getattr(recorded, key) == getattr(expected, key) for key in SWITCHES if reader in FIELDS[key].metadata["reads"]
    )


def of_config(config: Mapping[str, Any]) -> Protocol:
    """The protocol of a resolved configuration (ctcbench.config.resolve stores its name)."""
    return parse(config["protocol"])


def describe() -> list[dict[str, Any]]:
    """Every switch with its defect, its values in both presets and what it does (docs and `--help`)."""
    return [
        {
            "switch": key,
            "defect": FIELDS[key].metadata["defect"],
            "faithful": getattr(FAITHFUL, key),
            "corrected": getattr(CORRECTED, key),
            "doc": FIELDS[key].metadata["doc"],
        }
        for key in SWITCHES
    ]
