"""The bundle: one trained pipeline in one folder (docs/apply.md#bundle).

    <bundle>/
      bundle.json        what `ctcbench predict` reads: format, pairing, protocol, setting, ω, NMS IoU, the score
                         threshold, how inputs are read and scaled, the training image size, package versions
      model.yaml         the model card (`model_card`)
      detector.pth       the detector run's model.pth, copied
      classifier.pt      the classifier run's best.pt, copied
      metrics.json       the pipeline's evaluation at ω on the test images, copied
      checksums.sha256   SHA-256 of every other file, in `sha256sum` format (`sha256sum -c checksums.sha256`)

Loading a bundle refuses another format (one line naming both), checks every checksum (one line naming the file
that differs) and compares the versions of the libraries that compute its numbers with those installed: another
minor version is a warning, because the models still load but their outputs may differ from the recorded ones.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from ..io import atomic_directory, read_versioned_json
from ..protocol import Protocol, parse
from ..provenance import file_sha256, versions

log = logging.getLogger(__name__)

FORMAT = "ctcbench.bundle/1"
MANIFEST = "bundle.json"
CARD = "model.yaml"
DETECTOR = "detector.pth"
CLASSIFIER = "classifier.pt"
METRICS = "metrics.json"
CHECKSUMS = "checksums.sha256"
FILES = (MANIFEST, CARD, DETECTOR, CLASSIFIER, METRICS)
# The libraries whose version can change what a bundle's models compute.
CHECKED_PACKAGES = ("torch", "torchvision", "timm", "mmdet", "mmcv", "mmengine")
REMEDY = "export the bundle again (`ctcbench export`, rule export)"


@dataclass(frozen=True)
class Bundle:
    """A bundle folder that passed its checks; `warnings` are the version differences found when it was loaded."""

    root: Path
    manifest: dict[str, Any]
    warnings: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def detector(self) -> Path:
        return self.root / DETECTOR

    @property
    def classifier(self) -> Path:
        return self.root / CLASSIFIER

    @property
    def protocol(self) -> Protocol:
        return parse(self.manifest["protocol"])

    @property
    def setting(self) -> str:
        return self.manifest["setting"]

    @property
    def omega(self) -> float:
        return float(self.manifest["omega"])

    @property
    def nms_iou(self) -> float:
        return float(self.manifest["nms_iou"])

    @property
    def threshold(self) -> float:
        """The fused-score threshold of a cancer call; inf (nothing called) when val left nothing to choose."""
        value = self.manifest["threshold"]["value"]
        return math.inf if value is None else float(value)

    @property
    def training_size(self) -> tuple[int, int]:
        """(width, height) of the images the detector was trained and evaluated on."""
        size = self.manifest["input"]["training_image"]
        return int(size["width"]), int(size["height"])

    @property
    def needs_fluorescence(self) -> bool:
        return "fluorescence" in self.manifest["input"]["files"]


def write_bundle(out: Path | str, manifest: dict[str, Any], card: str, copies: dict[str, Path]) -> Bundle:
    """The bundle folder `out`, written whole or not at all: `copies` maps a bundle file name to its source."""
    with atomic_directory(out) as folder:
        for name, source in copies.items():
            shutil.copyfile(source, folder / name)
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        (folder / CARD).write_text(card)
        names = sorted(path.name for path in folder.iterdir() if path.is_file())
        (folder / CHECKSUMS).write_text("".join(f"{file_sha256(folder / name)}  {name}\n" for name in names))
    return Bundle(Path(out), manifest)


def read_checksums(root: Path) -> dict[str, str]:
    path = root / CHECKSUMS
    if not path.is_file():
        raise DatasetError(f"{path}: checksum list missing, so the bundle cannot be verified; {REMEDY}")
    listed = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        digest, _, name = line.partition("  ")
        if not re.fullmatch(r"[0-9a-f]{64}", digest) or not name:
            raise DatasetError(f"{path}: line {number} is not `<sha256>  <file>`; {REMEDY}")
        listed[name] = digest
    return listed


def verify_checksums(root: Path) -> None:
    """Every bundle file is listed and has its listed SHA-256; the first that does not is named."""
    listed = read_checksums(root)
    for name in FILES:
        if name not in listed:
            raise DatasetError(f"{root / CHECKSUMS}: {name} is not listed; {REMEDY}")
    for name, digest in listed.items():
        path = root / name
        if not path.is_file():
            raise DatasetError(f"{path}: missing from the bundle (listed in {CHECKSUMS}); {REMEDY}")
        found = file_sha256(path)
        if found != digest:
            raise DatasetError(
                f"{path}: SHA-256 {found[:16]}... differs from {digest[:16]}... in {CHECKSUMS}: the file was changed "
                f"or damaged since export; copy the bundle again from its source, or {REMEDY}"
            )


def minor_version(version: str) -> tuple[int, ...] | None:
    """(major, minor) of a version string such as 2.14.1+cu130; None when it does not start with two numbers."""
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2])) if match else None


def version_warnings(recorded: dict[str, str | None], installed: dict[str, str | None]) -> list[str]:
    """One line per checked library whose installed minor version differs from the bundle's (or is missing)."""
    found = []
    for package in CHECKED_PACKAGES:
        was, now = recorded.get(package), installed.get(package)
        if was is None or (now is not None and minor_version(now) == minor_version(was)):
            continue
        here = "is not installed" if now is None else f"{now} is installed"
        found.append(
            f"{package} {here}, the bundle was exported with {was}: its outputs may differ from the test metrics "
            "it records"
        )
    return found


def load_bundle(root: Path | str) -> Bundle:
    """A bundle folder after its format, checksum and version checks (docs/apply.md#bundle)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such bundle folder; {REMEDY}")
    manifest = read_versioned_json(root / MANIFEST, FORMAT, "bundle manifest", REMEDY)
    verify_checksums(root)
    warnings = tuple(version_warnings(manifest.get("versions", {}), versions()))
    for warning in warnings:
        log.warning("%s: %s", root, warning)
    return Bundle(root, manifest, warnings)
