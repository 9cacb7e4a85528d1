"""The variants of the brightfield-only track, one grammar: `<train>-aug<k>` (the value of a `bfo-` training set).

`<train>` names the training images: `bf` brightfield only, `bfnuc` brightfield plus the Hoechst crop of every cell
as an extra image of the same label, `nuc` Hoechst only, `nucbf` Hoechst plus the brightfield partners. The first
channel is the primary one: validation and test use it alone, and augmentation applies to it (the partner images
join as they are). `k` counts the augmentation operations: 0 none, 1 rotations, 2 + flips, 3 + brightness/colour
(classify.bf_only.augment). The study's Table 3 rows are seven of these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import ConfigError

BRIGHTFIELD, NUCLEAR = "bf", "nuc"
TRAIN_SETS = {"bf": (BRIGHTFIELD,), "bfnuc": (BRIGHTFIELD, NUCLEAR), "nuc": (NUCLEAR,), "nucbf": (NUCLEAR, BRIGHTFIELD)}
MAX_LEVEL = 3
UNKNOWN_CHOICES = ("drop", "not_cancer")  # unknown cells (U) left out, or counted as not-cancer (G)
PATTERN = r"(?:bf|bfnuc|nuc|nucbf)-aug[0-3]"
# The study's row names (nuclear for its DAPI: on the CCA data the nuclear stain is Hoechst).
TITLES = {
    "bf-aug1": "AUG1",
    "bf-aug2": "AUG2",
    "bf-aug3": "BF w/o nuclear",
    "bfnuc-aug0": "BF w/ nuclear no AUG",
    "bfnuc-aug3": "BF w/ nuclear",
    "nuc-aug3": "nuclear w/o BF",
    "nucbf-aug3": "nuclear w/ BF",
}
TABLE3 = tuple(TITLES)  # the study's Table 3, in its order
MAIN = "bfnuc-aug3"  # its proposed method: Table 2's backbones train on it
STATS_PAIR = ("bf-aug3", "bfnuc-aug3")  # its Mann-Whitney test: BF w/o nuclear against BF w/ nuclear


@dataclass(frozen=True)
class Variant:
    value: str  # `<train>-aug<k>`
    channels: tuple[str, ...]  # training channels, the primary first
    level: int  # augmentation operations

    @property
    def primary(self) -> str:
        """The channel validation and test use, and augmentation applies to."""
        return self.channels[0]

    @property
    def partner(self) -> str | None:
        """The channel whose crops join training as extra images of the same label, if any."""
        return self.channels[1] if len(self.channels) > 1 else None

    @property
    def title(self) -> str:
        if self.value in TITLES:
            return TITLES[self.value]
        names = {BRIGHTFIELD: "BF", NUCLEAR: "nuclear"}
        extra = f" w/ {names[self.partner]}" if self.partner else ""
        return f"{names[self.primary]}{extra}, AUG{self.level}"


def variant(value: str) -> Variant:
    """The variant of a `<train>-aug<k>` value; the one parser of the grammar."""
    if not re.fullmatch(PATTERN, value):
        raise ConfigError(f"brightfield-only variant {value!r}: expected <bf|bfnuc|nuc|nucbf>-aug<0-3>, e.g. {MAIN}")
    train, level = value.rsplit("-aug", 1)
    return Variant(value, TRAIN_SETS[train], int(level))
