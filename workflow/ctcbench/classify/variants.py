"""What a training-set variant means to the classifier: its classes, its head size, its validation crops.

Main, per-patient and fraction sets are 3-class R/G/U (docs/protocol.md#classifier-classes). The unknown-cell variants
of Table 5 (docs/protocol.md#unknown-cells) train on R and G only, and validate on the val crops without U (the
original's `val_noU`). Their head, by the protocol's `stale_drop_u_head` (docs/defects.md#defect-5):

* true: `u-drop` keeps 3 outputs, as the original's stale NUM_CLASSES=3 (the U logit is never a target but
  still takes softmax mass, and label smoothing spreads 0.1/3 onto it); the pseudo-label sets get 2 outputs, as
  the original's ablation configs;
* false: every 2-class set gets a 2-output head, so P(R) is a plain two-way softmax.
"""

from __future__ import annotations

import re

from ..data.layout import CLASSES
from ..protocol import Protocol

TWO_CLASS_PREFIXES = ("u-drop", "u-pseudo")
PSEUDO_CONFIDENT_RE = re.compile(r"^u-pseudo-(0?\.\d+)$")  # the schema's grammar: a threshold in (0, 1)


def pseudo_threshold(variant: str) -> float | None:
    """The confidence threshold a pseudo-label set's name carries (`u-pseudo-0.8` -> 0.8); None for any other set.

    The threshold is part of the name, so that its file, its runs and its Table 5 title cannot disagree with it.
    """
    match = PSEUDO_CONFIDENT_RE.match(variant)
    return float(match[1]) if match else None


def trainset_classes(variant: str) -> tuple[str, ...]:
    """Classes present in a training-set variant, in label order (R=0, G=1, U=2)."""
    if variant.startswith(TWO_CLASS_PREFIXES):
        return CLASSES[:2]
    return CLASSES


def head_outputs(variant: str, protocol: Protocol) -> int:
    if protocol.stale_drop_u_head and variant == "u-drop":
        return len(CLASSES)
    return len(trainset_classes(variant))
