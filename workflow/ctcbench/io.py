"""Atomic file writes: a result either exists complete or not at all, even if the process is killed."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import DatasetError


def _file_mode() -> int:
    """The mode a plain open() would give a new file under the process umask (read once; umask has no getter)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


FILE_MODE = _file_mode()


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    mkstemp creates the file 0600; it gets the umask's usual mode before the rename, so results on a shared
    cluster filesystem are as readable as any other file the user writes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, FILE_MODE)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: Path | str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_json(path: Path | str, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def atomic_torch_save(path: Path | str, payload: Any) -> None:
    """torch.save, atomically and through a file handle: given a path, torch names the archive's records after the
    (random) temporary name, and two identical runs would write different bytes."""
    import torch

    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        torch.save(payload, handle)


def read_json(path: Path | str) -> Any:
    return json.loads(Path(path).read_text())


def read_json_input(path: Path | str, what: str, remedy: str) -> Any:
    """A JSON file a step needs; a missing one is a DatasetError saying what it is (`what`) and how to make it."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: {what} missing; {remedy}")
    return read_json(path)


def read_versioned_json(path: Path | str, expected_format: str, what: str, remedy: str) -> dict[str, Any]:
    """A JSON file whose "format" field names its layout; a missing or other-format file is a DatasetError
    saying what it is (`what`) and how to make it (`remedy`)."""
    data = read_json_input(path, what, remedy)
    if data.get("format") != expected_format:
        raise DatasetError(f"{path}: format {data.get('format')!r}, expected {expected_format}; {remedy}")
    return data
