"""Atomic file writes: a result either exists complete or not at all, even if the process is killed."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import DatasetError, DiskFullError


def is_disk_full(exc: OSError) -> bool:
    """No space left, or the user's disk quota used up (what a cluster file system usually says)."""
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _umask() -> int:
    """The process umask (read once; umask has no getter)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


FILE_MODE = 0o666 & ~_umask()  # the mode a plain open() gives a new file
DIR_MODE = 0o777 & ~_umask()  # and mkdir a new folder


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
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        raise DiskFullError(disk_full_message(path, tmp_path)) from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def atomic_directory(path: Path | str) -> Iterator[Path]:
    """Yield a temporary folder beside `path`; only if the block succeeds does it take the place of `path` (a folder
    already there is replaced), so `path` is never a half-written folder. The swap of an existing folder is two
    renames: between them `path` is briefly absent, never incomplete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, DIR_MODE)  # mkdtemp's 0700 -> what mkdir would give
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        written = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file()) if tmp.exists() else 0
        free = shutil.disk_usage(path.parent).free
        raise DiskFullError(
            f"{path}: no space left on the device ({format_bytes(written)} written before it filled, "
            f"{format_bytes(free)} free in {path.parent}); free some space, then run again (nothing partial was kept)"
        ) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def format_bytes(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if nbytes < 1024 or unit == "GiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


def disk_full_message(
    path: Path,
    partial: Path,
    needed: int | None = None,
    kept: str = "nothing partial was kept",
    remedy: str = "free some space or move the results to a larger disk",
) -> str:
    """Which file, how much of it was written (of how much, when known), how much is free where it goes, and what
    to do."""
    written = partial.stat().st_size if partial.exists() else 0
    free = shutil.disk_usage(path.parent).free
    of = f" of {format_bytes(needed)}" if needed is not None else ""
    return (
        f"{path}: no space left on the device ({format_bytes(written)}{of} written before it filled, "
        f"{format_bytes(free)} free in {path.parent}); {remedy}, then run again ({kept})"
    )


def atomic_write_text(path: Path | str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_json(path: Path | str, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def atomic_torch_save(path: Path | str, payload: Any) -> None:
    """torch.save, atomically and through a file handle: given a path, torch names the archive's records after the
    (random) temporary name, and two identical runs would write different bytes."""
    import io

    import torch

    # Serialised in memory first: a full disk then fails in a plain write (ENOSPC, reported by atomic_path)
    # instead of deep inside torch's zip writer with a message that names neither the file nor the cause.
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())


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
