"""The training-set registry: every crop-level training set a classifier can train on, declared once.

A training set's name follows one grammar, parsed here and nowhere else: a kind's fixed name (`all`, `u-drop`,
`u-candidates`, `u-pseudo-all`) or a kind's prefix and a value (`patient-r06`, `frac-0.1`, `u-pseudo-0.8`). Each kind
says how its list is produced (by the `trainsets` step from the train crops, or by `pseudo_labels` from the drop-U
models), which classes it holds, the head its classifier gets, whether it is drawn once per seed, which detector
training set its pipeline pairs with, and its title in the tables (docs/protocol.md#classifier-ablations,
docs/protocol.md#unknown-cells).

Main, per-patient and fraction sets are 3-class R/G/U (docs/protocol.md#classifier-classes). The unknown-cell sets of
Table 5 train on R and G only, and validate on the val crops without U (the original's `val_noU`). Their head, by the
protocol's `stale_drop_u_head` (docs/defects.md#defect-5): on, `u-drop` keeps 3 outputs, as the original's stale
NUM_CLASSES=3 (the U logit is never a target but still takes softmax mass, and label smoothing spreads 0.1/3 onto it),
while the pseudo-label sets get 2, as the original's ablation configs; off, every 2-class set gets a 2-output head, so
P(R) is a plain two-way softmax.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..classify.bf_only import variants as bf_only
from ..data.layout import CLASSES
from ..data.splits import image_list_name
from ..errors import ConfigError
from ..protocol import Protocol

THREE_CLASSES = CLASSES  # R, G, U in label order
TWO_CLASSES = THREE_CLASSES[:2]

TRAINSETS_STEP, PSEUDO_STEP = "trainsets", "pseudo_labels"
# What the pseudo-labels are made from (docs/protocol.md#unknown-cells): the R + G set and the U crops to relabel.
PSEUDO_BASE, PSEUDO_CANDIDATES = "u-drop", "u-candidates"
PSEUDO_INPUTS = (PSEUDO_BASE, PSEUDO_CANDIDATES)
PSEUDO_ALL, PSEUDO_CONFIDENT = "u-pseudo-all", "u-pseudo"  # the two kinds the pass writes


@dataclass(frozen=True)
class Kind:
    """One kind of training set: a fixed name, or a prefix followed by a value matching `value_pattern`."""

    kind: str
    producer: str  # the step that writes its list: trainsets | pseudo_labels
    classes: tuple[str, ...]
    title: Callable[[str | None], str]
    prefix: str | None = None  # names are f"{prefix}{value}"; None: the kind's own name is its only name
    value_pattern: str = ""
    per_seed: bool = False  # drawn once per seed (its list is <name>/seed<S>.tsv)
    trains: bool = True  # u-candidates is an input of the pseudo-labels, never a training set
    own_detector: bool = False  # pairs with the detector trained on the same images (patients); else `all`
    stale_head: bool = False  # the original's drop-U config kept NUM_CLASSES=3 (docs/defects.md#defect-5)
    value_type: Callable[[str], object] = str
    trainer: str = "classify_train"  # the rule that trains it (the brightfield-only track has its own)
    list_of: str | None = None  # reads the list of this fixed-name set instead of one of its own

    @property
    def trains_in_grid(self) -> bool:
        """Whether rule classify_train trains it (a classifier's training set of the main trainer)."""
        return self.trains and self.trainer == "classify_train"

    @property
    def name_pattern(self) -> str:
        return re.escape(self.kind) if self.prefix is None else re.escape(self.prefix) + self.value_pattern


@dataclass(frozen=True)
class TrainingSet:
    """One training set of the grid: its name, kind and value (the patient, the fraction, the threshold)."""

    name: str
    kind: Kind = field(repr=False)
    value: str | None = None

    @property
    def classes(self) -> tuple[str, ...]:
        return self.kind.classes

    def head_outputs(self, protocol: Protocol) -> int:
        """Outputs of its classifier's head: one per class, but 3 for drop-U with the stale head switch on."""
        if self.kind.stale_head and protocol.stale_drop_u_head:
            return len(THREE_CLASSES)
        return len(self.classes)

    @property
    def detector_trainset(self) -> str:
        """The detector training set its pipeline pairs with: the same patient's, else `all`."""
        return self.name if self.kind.own_detector else "all"

    @property
    def image_list(self) -> str:
        """Stem of the image list a detector of this training set trains on (splits/images/<stem>.txt)."""
        if not self.trains_detectors:
            raise ConfigError(
                f"training set {self.name!r}: no detector trains on it; detectors train on all or patient-rXX"
            )
        return image_list_name("train", self.value)

    @property
    def trains_detectors(self) -> bool:
        """Whether detectors train on its images: all of them, or one patient's."""
        return self.name == "all" or self.kind.own_detector

    @property
    def title(self) -> str:
        return self.kind.title(self.value)

    @property
    def number(self) -> object:
        """The value as its type: the fraction or threshold as a float, the patient as text."""
        return None if self.value is None else self.kind.value_type(self.value)

    @property
    def listed_as(self) -> TrainingSet:
        """The training set whose list it reads: itself, or the set its kind shares a list with."""
        return self if self.kind.list_of is None else trainset(self.kind.list_of)

    def list_file(self, seed: int | str | None = None) -> str:
        """Its list relative to splits/trainsets/: <name>.tsv, or <name>/seed<S>.tsv when drawn per seed."""
        if self.kind.per_seed:
            if seed is None:
                raise ConfigError(f"training set {self.name!r} is drawn per seed; give the seed")
            return f"{self.name}/seed{seed}.tsv"
        return f"{self.name}.tsv"


KINDS: tuple[Kind, ...] = (
    Kind("all", TRAINSETS_STEP, THREE_CLASSES, lambda _: "All training crops (U as its own class)"),
    Kind(
        "patient",
        TRAINSETS_STEP,
        THREE_CLASSES,
        lambda value: f"Patient {value}",
        prefix="patient-",
        value_pattern=r"r\d{2}",
        own_detector=True,
    ),
    Kind(
        "fraction",
        TRAINSETS_STEP,
        THREE_CLASSES,
        lambda value: f"{float(value):.0%} of the training crops",
        prefix="frac-",
        value_pattern=r"(?:0?\.\d+|\d(?:\.\d+)?e-\d+)",
        per_seed=True,
        value_type=float,
    ),
    Kind("u-drop", TRAINSETS_STEP, TWO_CLASSES, lambda _: "Not including unknown cells", stale_head=True),
    Kind("u-candidates", TRAINSETS_STEP, (THREE_CLASSES[2],), lambda _: "The unknown cells", trains=False),
    Kind("u-pseudo-all", PSEUDO_STEP, TWO_CLASSES, lambda _: "Assign pseudo labels to all unknown cells"),
    Kind(
        "u-pseudo",
        PSEUDO_STEP,
        TWO_CLASSES,
        lambda value: f"Assign pseudo labels to only unknown cells with >{float(value):g} confidence of being cancer",
        prefix="u-pseudo-",
        value_pattern=r"0?\.\d+",  # the schema's grammar: a threshold in (0, 1)
        value_type=float,
    ),
    # The brightfield-only track (classify.bf_only): cancer (R) against not-cancer (G), trained by its own rule on
    # the crops of `all` (U dropped, or made G, by its config block) with the variant's images and augmentation.
    Kind(
        "bf_only",
        TRAINSETS_STEP,
        TWO_CLASSES,
        lambda value: f"Brightfield-only track: {bf_only.variant(value).title}",
        prefix="bfo-",
        value_pattern=bf_only.PATTERN,
        trainer="classify_bf_only",
        list_of="all",
    ),
)
BY_KIND = {kind.kind: kind for kind in KINDS}


def trainset(name: str) -> TrainingSet:
    """The training set a name denotes; the one parser of training-set names."""
    for kind in KINDS:
        if kind.prefix is None and name == kind.kind:
            return TrainingSet(name, kind)
    for kind in KINDS:
        if kind.prefix is not None and re.fullmatch(kind.name_pattern, name):
            return TrainingSet(name, kind, name.removeprefix(kind.prefix))
    raise ConfigError(f"training set {name!r}: expected one of {', '.join(example_names())}")


def named(kind: str, value: object | None = None) -> TrainingSet:
    """The training set of `kind` with `value` (a patient id, a fraction, a threshold), by the kind's grammar."""
    entry = BY_KIND[kind]
    if entry.prefix is None:
        return TrainingSet(entry.kind, entry)
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return trainset(f"{entry.prefix}{text}")


def is_trainset(name: str) -> bool:
    try:
        trainset(name)
    except ConfigError:
        return False
    return True


def example_names() -> list[str]:
    return [kind.kind if kind.prefix is None else f"{kind.prefix}<{kind.kind}>" for kind in KINDS]


def detector_pattern() -> str:
    """The regex of the training sets a detector trains on: all images, or one patient's."""
    return "|".join([BY_KIND["all"].name_pattern] + [k.name_pattern for k in KINDS if k.own_detector])


def wildcard_pattern(*, trainable: bool = True, producer: str | None = None, trainer: str | None = None) -> str:
    """The regex of every training-set name (of those rule classify_train trains, those that `producer` writes, or
    those rule `trainer` trains)."""
    kinds = [
        k
        for k in KINDS
        if (not trainable or k.trains_in_grid or trainer is not None)
        and (producer is None or k.producer == producer)
        and (trainer is None or k.trainer == trainer)
    ]
    return "|".join(kind.name_pattern for kind in kinds)
