"""The dataset pointer: one small JSON file that every data-stage rule after "obtain" depends on.

Whether the data were downloaded from figshare, staged locally or synthesised, the obtain step writes
`results/{preset}/data/dataset.json` naming the dataset root; downstream steps read the root from it, so nothing
after that step knows or cares where the data came from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DatasetError
from ..io import atomic_write_json, read_json
from ..provenance import file_sha256
from .layout import DatasetLayout

SYNTH = "synth"  # the synthetic twin: its numbers are never compared with the paper's
SOURCES = ("figshare", "local", SYNTH)


@dataclass
class DatasetPointer:
    root: str
    source: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def layout(self) -> DatasetLayout:
        return DatasetLayout(Path(self.root))


def write_pointer(path: Path | str, root: Path | str, source: str, **details: Any) -> DatasetPointer:
    if source not in SOURCES:
        raise ValueError(f"unknown dataset source {source!r}")
    pointer = DatasetPointer(root=str(Path(root).resolve()), source=source, details=details)
    atomic_write_json(path, asdict(pointer))
    return pointer


def read_pointer(path: Path | str) -> DatasetPointer:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: dataset pointer missing; run the data stage (snakemake ... obtain) first")
    data = read_json(path)
    return DatasetPointer(root=data["root"], source=data["source"], details=data.get("details", {}))


def describe_data(pointer: DatasetPointer) -> str:
    """Which data made a result, in one sentence for a table's title: a twin's numbers must never pass as the
    release's, and a release is named by the hash of its file manifest."""
    details = pointer.details
    if pointer.source == SYNTH:
        images = sum(details.get("images_per_patient", {}).values())
        size = details.get("image_size")
        return (
            f"the synthetic twin (generator seed {details.get('seed')}, {images} images of {size} × {size} px), "
            "not the released dataset: not comparable with the paper's numbers"
        )
    if pointer.source == "figshare":
        manifest = Path(details.get("manifest", ""))
        digest = file_sha256(manifest)[:16] if manifest.is_file() else "unknown (manifest missing)"
        release = f"article {details.get('article')} v{details.get('version')}"
        return f"the figshare release ({release}, manifest sha256 {digest})"
    return f"a locally staged copy of the release ({pointer.root}), not verified against a figshare manifest"
