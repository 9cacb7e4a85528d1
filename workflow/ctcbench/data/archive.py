"""Safe extraction of downloaded archives (zip, tar, tar.gz/tgz, tar.bz2, tar.xz).

An archive from the network is untrusted input: a member may try to escape the target directory (`../x`,
`/etc/x`), plant a link that later writes elsewhere, create device files, or expand to far more data than the
disk holds. Members are therefore written one by one by this module (never `extractall`), only regular files and
directories are accepted, every path is checked, and the total size is capped. Extraction goes into a scratch
directory that is renamed into place only when complete, so a failure leaves nothing behind.
"""

from __future__ import annotations

import gzip
import lzma
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from ..errors import DatasetError, DiskFullError
from ..io import format_bytes, is_disk_full

# The release is at most ~20 GB unpacked (1207 image pairs of 1080 x 1080 at 16-bit RGB, plus crops and XML).
DEFAULT_MAX_BYTES = 64 * 1024**3
# TIFF microscopy images and XML unpack to a few times their compressed size; a zip bomb to thousands of times.
DEFAULT_MAX_RATIO = 200
# Left free on the disk after extraction (at most a tenth of what is free), so that later steps can still write.
FREE_SPACE_RESERVE = 1024**3
CHUNK = 1 << 20

ZIP_SUFFIXES = (".zip",)
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")

_DRIVE_RE = re.compile(r"^[A-Za-z]:")
# Errors that the archive libraries raise for damaged or truncated input.
_CORRUPT_ERRORS = (zipfile.BadZipFile, tarfile.TarError, gzip.BadGzipFile, lzma.LZMAError, EOFError, zlib.error)


def is_archive(path: Path | str) -> bool:
    name = Path(path).name.lower()
    return name.endswith(ZIP_SUFFIXES + TAR_SUFFIXES)


@dataclass(frozen=True)
class _Limit:
    bytes: int
    reason: str  # what the limit is and what to do about it, completing "takes the uncompressed total past ..."


@dataclass
class _Budget:
    """Running total of bytes written, checked before and while each member is written against the tightest limit:
    the configured cap, the compression ratio and the free disk space."""

    archive: Path
    limit: _Limit
    used: int = 0

    def reserve(self, member: str, size: int) -> None:
        if self.used + size > self.limit.bytes:
            raise DatasetError(
                f"{self.archive}: member {member!r} takes the uncompressed total past {self.limit.reason}"
            )


def _budget(archive: Path, directory: Path, max_bytes: int, max_ratio: float) -> _Budget:
    compressed = archive.stat().st_size
    free = shutil.disk_usage(directory).free
    reserve = min(FREE_SPACE_RESERVE, free // 10)
    free -= reserve
    limits = [
        _Limit(
            max_bytes,
            f"the cap of {max_bytes} bytes (what dataset.figshare.max_extract_gb, --max-extract-bytes, leaves for "
            "this archive; a corrupt archive or a zip bomb); raise it only if the archive is trusted",
        ),
        _Limit(
            int(compressed * max_ratio),
            f"{max_ratio:g} times the archive's {format_bytes(compressed)} (a zip bomb or a corrupt archive); raise "
            "dataset.figshare.max_compression_ratio (--max-compression-ratio) only if the archive is trusted",
        ),
        _Limit(
            max(free, 0),
            f"the {format_bytes(max(free, 0))} free in {directory} (keeping {format_bytes(reserve)} for the "
            "workflow); free space there or set dataset.figshare.download_dir to a larger disk",
        ),
    ]
    return _Budget(archive, min(limits, key=lambda limit: limit.bytes))


def member_path(archive: Path, name: str) -> PurePosixPath | None:
    """The member's path relative to the target, or None for a name that is only the target itself (`./`).

    Backslashes count as separators because some Windows tools write them into zip names.
    """
    if "\x00" in name:
        raise DatasetError(f"{archive}: member {name!r} has a NUL byte in its name; the archive is not trustworthy")
    posix = name.replace("\\", "/")
    if posix.startswith("/") or _DRIVE_RE.match(posix):
        raise DatasetError(f"{archive}: member {name!r} has an absolute path; refusing to extract this archive")
    parts = [part for part in posix.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise DatasetError(f"{archive}: member {name!r} escapes the target with '..'; refusing to extract this archive")
    return PurePosixPath(*parts) if parts else None


def _resolve_inside(archive: Path, directory: Path, rel: PurePosixPath, name: str) -> Path:
    """Absolute destination of a member, double-checked to lie inside `directory`."""
    dest = directory / rel
    if not dest.resolve().is_relative_to(directory.resolve()):
        raise DatasetError(f"{archive}: member {name!r} resolves outside the target; refusing to extract this archive")
    return dest


def _make_dir(archive: Path, dest: Path, name: str) -> None:
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise DatasetError(f"{archive}: directory member {name!r} clashes with a file of the same name") from exc


def _write_file(archive: Path, src: IO[bytes], dest: Path, name: str, budget: _Budget) -> None:
    """Copy one member, counting real bytes: a header may understate what the stream holds."""
    _make_dir(archive, dest.parent, name)
    try:
        out = open(dest, "xb")  # "x": never overwrite what another member (or archive) wrote
    except FileExistsError as exc:
        raise DatasetError(
            f"{archive}: member {name!r} is already present (a duplicate member, or a file of another archive)"
        ) from exc
    with out:
        while chunk := src.read(CHUNK):
            budget.reserve(name, len(chunk))
            out.write(chunk)
            budget.used += len(chunk)


def _zip_kind(info: zipfile.ZipInfo) -> str:
    """'file', 'dir' or a description of why the member is refused."""
    mode = info.external_attr >> 16
    if info.flag_bits & 0x1:
        return "an encrypted member"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if info.is_dir():
        return "dir"
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        return "a device or special file"
    return "file"


def _extract_zip(archive: Path, directory: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        # The central directory lists every member up front: check them all before writing a byte.
        planned, declared = [], 0
        for info in infos:
            kind = _zip_kind(info)
            if kind not in ("file", "dir"):
                raise DatasetError(f"{archive}: member {info.filename!r} is {kind}; refusing to extract this archive")
            rel = member_path(archive, info.filename)
            if rel is None:
                continue
            declared += info.file_size if kind == "file" else 0
            budget.reserve(info.filename, declared)
            planned.append((info, kind, _resolve_inside(archive, directory, rel, info.filename)))
        for info, kind, dest in planned:
            if kind == "dir":
                _make_dir(archive, dest, info.filename)
            else:
                with zf.open(info) as src:
                    _write_file(archive, src, dest, info.filename, budget)


def _tar_kind(member: tarfile.TarInfo) -> str:
    if member.isdir():
        return "dir"
    if member.isreg():
        return "file"
    if member.issym():
        return "a symbolic link"
    if member.islnk():
        return "a hard link"
    return "a device or special file"


def _extract_tar(archive: Path, directory: Path, budget: _Budget) -> None:
    # Members are checked as they stream past: listing them first would decompress a .tar.gz twice.
    with tarfile.open(archive, "r:*") as tf:
        for member in tf:
            kind = _tar_kind(member)
            if kind not in ("file", "dir"):
                raise DatasetError(f"{archive}: member {member.name!r} is {kind}; refusing to extract this archive")
            rel = member_path(archive, member.name)
            if rel is None:
                continue
            dest = _resolve_inside(archive, directory, rel, member.name)
            if kind == "dir":
                _make_dir(archive, dest, member.name)
                continue
            budget.reserve(member.name, member.size)
            src = tf.extractfile(member)
            if src is None:
                raise DatasetError(f"{archive}: member {member.name!r} has no data; the archive is corrupt")
            with src:
                _write_file(archive, src, dest, member.name, budget)


def extract_into(
    archive: Path | str,
    directory: Path | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_ratio: float = DEFAULT_MAX_RATIO,
) -> int:
    """Extract `archive` into the existing scratch `directory`; return the bytes written.

    The uncompressed total may not pass `max_bytes`, `max_ratio` times the archive's size, or the free space of
    `directory` less a reserve; a zip's declared sizes are checked before anything is written.

    On error, files already written stay in `directory`: the caller owns it and must discard it
    (`extract_archive` and the figshare fetch both do).
    """
    archive, directory = Path(archive), Path(directory)
    if not archive.is_file():
        raise DatasetError(f"{archive}: archive missing; fetch it again")
    budget = _budget(archive, directory, max_bytes, max_ratio)
    name = archive.name.lower()
    try:
        if name.endswith(ZIP_SUFFIXES):
            _extract_zip(archive, directory, budget)
        elif name.endswith(TAR_SUFFIXES):
            _extract_tar(archive, directory, budget)
        else:
            raise DatasetError(f"{archive}: not a supported archive (zip, tar, tar.gz/tgz, tar.bz2, tar.xz)")
    except DatasetError:
        raise
    except _CORRUPT_ERRORS as exc:
        raise DatasetError(
            f"{archive}: cannot extract ({exc}); the file is corrupt or incomplete - delete it and fetch again"
        ) from exc
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFullError(
                f"{archive}: no space left on the disk of {directory.parent} after {format_bytes(budget.used)} "
                f"unpacked ({format_bytes(shutil.disk_usage(directory).free)} free); free space there or set "
                "dataset.figshare.download_dir to a larger disk, then run again (the partial extraction is removed)"
            ) from None
        raise DatasetError(
            f"{archive}: extracting into {directory} failed ({exc}); check permissions, "
            "or delete the archive and fetch again if it is corrupt"
        ) from exc
    return budget.used


def scratch_dir(beside: Path) -> Path:
    """A fresh hidden directory next to `beside`, on the same file system so that a rename is atomic."""
    beside.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{beside.name}.", suffix=".tmp", dir=beside.parent))


def stale_scratch_dirs(beside: Path) -> Iterator[Path]:
    """Scratch directories that a killed run left next to `beside`."""
    if beside.parent.is_dir():
        yield from beside.parent.glob(f".{beside.name}.*.tmp")


def replace_dir(src: Path, dst: Path) -> None:
    """Move the complete directory `src` onto `dst`, replacing what was there, never leaving `dst` half-built."""
    old = None
    if dst.exists():
        old = dst.with_name(f".{dst.name}.{os.getpid()}.old.tmp")
        os.replace(dst, old)
    os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def extract_archive(
    archive: Path | str,
    target: Path | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_ratio: float = DEFAULT_MAX_RATIO,
) -> int:
    """Safely extract `archive` so that `target` holds its contents; return the bytes written.

    The work happens in a hidden sibling of `target`, renamed onto it only when every member is written.
    """
    archive, target = Path(archive), Path(target)
    for stale in stale_scratch_dirs(target):
        shutil.rmtree(stale, ignore_errors=True)
    scratch = scratch_dir(target)
    try:
        written = extract_into(archive, scratch, max_bytes=max_bytes, max_ratio=max_ratio)
        replace_dir(scratch, target)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return written
