"""Which new images `ctcbench predict` reads, under which id, with which fluorescence partner
(docs/apply.md#naming).

Each `--images` argument is a TIFF file, a folder or a glob pattern of brightfield files. An image's id is its file
name less the extension and a trailing `_bf`. Its fluorescence partner, read only when the bundle's setting needs it:

* in the release's layout, a brightfield file in a folder named `brightfield` has its partner of the same name in the
  `fluorescence` folder beside it (`<root>/brightfield/<id>.tiff`, `<root>/fluorescence/<id>.tiff`);
* anywhere else, the partner of `<id>.tiff` or `<id>_bf.tiff` is `<id>_fl.tiff` in the same folder.

A folder holding a `brightfield` folder, or a release root (`raw_images_for_model/brightfield`), stands for the TIFFs
in it; any other folder for its own TIFFs. Files named `*_fl.tif(f)` and files in a `fluorescence` folder are
partners, never brightfield images. `--pairs` names both files of each image in a CSV instead (columns id,
brightfield, fluorescence; relative paths from the CSV's folder). A path that matches nothing, a partner that is
missing and an id given twice are skipped with the reason, and the batch goes on.
"""

from __future__ import annotations

import csv
import glob
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError

TIFF_SUFFIXES = (".tif", ".tiff")
BRIGHTFIELD_TAG, FLUORESCENCE_TAG = "_bf", "_fl"
BRIGHTFIELD_DIR, FLUORESCENCE_DIR = "brightfield", "fluorescence"
RELEASE_IMAGES = "raw_images_for_model"  # the release's image folder (docs/dataset.md#release-layout)
PAIRS_COLUMNS = ("id", "brightfield", "fluorescence")


@dataclass(frozen=True)
class ImageInput:
    image_id: str
    brightfield: Path
    fluorescence: Path | None  # None when the bundle's setting reads brightfield alone


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str
    image_id: str = ""


@dataclass
class Found:
    images: list[ImageInput] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    by_id: dict[str, ImageInput] = field(default_factory=dict)

    def add(self, image: ImageInput) -> None:
        """An image, unless its id is taken: ids name the output files."""
        taken = self.by_id.get(image.image_id)
        if taken is not None:
            reason = f"image id {image.image_id} is already that of {taken.brightfield}; rename one of them"
            self.skipped.append(Skipped(str(image.brightfield), reason, image.image_id))
        else:
            self.images.append(image)
            self.by_id[image.image_id] = image


def is_tiff(path: Path) -> bool:
    return path.suffix.lower() in TIFF_SUFFIXES


def is_fluorescence(path: Path) -> bool:
    return path.stem.endswith(FLUORESCENCE_TAG) or path.parent.name == FLUORESCENCE_DIR


def image_id(path: Path) -> str:
    return path.stem.removesuffix(BRIGHTFIELD_TAG)


def partner_candidates(brightfield: Path) -> list[Path]:
    """Where the fluorescence file of a brightfield file would be, by the naming rule, in the order tried."""
    suffixes = [brightfield.suffix] + [s for s in TIFF_SUFFIXES if s != brightfield.suffix.lower()]
    if brightfield.parent.name == BRIGHTFIELD_DIR:
        folder = brightfield.parent.parent / FLUORESCENCE_DIR
        return [folder / f"{brightfield.stem}{suffix}" for suffix in suffixes]
    return [brightfield.parent / f"{image_id(brightfield)}{FLUORESCENCE_TAG}{suffix}" for suffix in suffixes]


def folder_images(folder: Path) -> list[Path]:
    """The brightfield TIFFs a folder stands for, sorted by name."""
    for inner in (folder / BRIGHTFIELD_DIR, folder / RELEASE_IMAGES / BRIGHTFIELD_DIR):
        if inner.is_dir():
            folder = inner
            break
    return sorted(p for p in folder.iterdir() if p.is_file() and is_tiff(p) and not is_fluorescence(p))


def expand(argument: str, found: Found) -> list[Path]:
    """The brightfield files of one `--images` argument; what cannot be one is recorded as skipped."""
    path = Path(argument)
    if path.is_dir():
        files = folder_images(path)
        if not files:
            found.skipped.append(Skipped(argument, "a folder without brightfield TIFFs (.tif, .tiff)"))
        return files
    if path.is_file():
        if not is_tiff(path):
            found.skipped.append(Skipped(argument, "not a TIFF (.tif, .tiff)"))
        elif is_fluorescence(path):
            found.skipped.append(Skipped(argument, "a fluorescence file: give its brightfield file instead"))
        else:
            return [path]
        return []
    matches = sorted(Path(p) for p in glob.glob(argument, recursive=True))
    files = [p for p in matches if p.is_file() and is_tiff(p) and not is_fluorescence(p)]
    if not files:
        found.skipped.append(Skipped(argument, "no such file or folder, and no brightfield TIFF matches it"))
    return files


def with_partner(brightfield: Path, needs_fluorescence: bool, found: Found) -> None:
    if not needs_fluorescence:
        found.add(ImageInput(image_id(brightfield), brightfield, None))
        return
    candidates = partner_candidates(brightfield)
    partner = next((p for p in candidates if p.is_file()), None)
    if partner is None:
        reason = f"fluorescence partner missing: expected {candidates[0]}"
        found.skipped.append(Skipped(str(brightfield), reason, image_id(brightfield)))
        return
    found.add(ImageInput(image_id(brightfield), brightfield, partner))


def find_images(arguments: list[str], needs_fluorescence: bool) -> Found:
    """The images of `--images` arguments, in argument order, each argument's files sorted by name."""
    found = Found()
    for argument in arguments:
        for brightfield in expand(argument, found):
            with_partner(brightfield, needs_fluorescence, found)
    return found


def read_pairs(path: Path, needs_fluorescence: bool, found: Found | None = None) -> Found:
    """The images of a `--pairs` CSV (columns id, brightfield, fluorescence), in file order."""
    found = Found() if found is None else found
    if not path.is_file():
        raise ConfigError(f"{path}: pairs file missing; give a CSV with columns {', '.join(PAIRS_COLUMNS)}")
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in PAIRS_COLUMNS[:2] if c not in (reader.fieldnames or [])]
        if missing or (needs_fluorescence and PAIRS_COLUMNS[2] not in (reader.fieldnames or [])):
            raise ConfigError(f"{path}: columns {reader.fieldnames}; expected {', '.join(PAIRS_COLUMNS)}")
        for row in reader:
            pair_row(path.parent, row, needs_fluorescence, found)
    return found


def pair_row(base: Path, row: dict[str, str], needs_fluorescence: bool, found: Found) -> None:
    image, brightfield = (row.get("id") or "").strip(), base / (row.get("brightfield") or "").strip()
    fluorescence_name = (row.get("fluorescence") or "").strip()
    if not image:
        found.skipped.append(Skipped(str(brightfield), "no id in the pairs file"))
    elif not brightfield.is_file():
        found.skipped.append(Skipped(str(brightfield), "brightfield file missing", image))
    elif not needs_fluorescence:
        found.add(ImageInput(image, brightfield, None))
    elif not fluorescence_name or not (base / fluorescence_name).is_file():
        where = base / fluorescence_name if fluorescence_name else "(no fluorescence column value)"
        found.skipped.append(Skipped(str(brightfield), f"fluorescence partner missing: {where}", image))
    else:
        found.add(ImageInput(image, brightfield, base / fluorescence_name))
