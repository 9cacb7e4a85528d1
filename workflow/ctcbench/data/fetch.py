"""Assemble the dataset from a figshare article: download, verify, record and extract it.

Layout under the destination directory:

    downloads/<file name>     the article's files, each renamed into place only after its size and md5 match
    manifest.json             what was fetched: article, version, API, retrieval time, name/id/size/md5 per file
    extracted/                the archives' contents (plus the article's loose files, linked into the dataset root)
    .extracted.json           which downloads `extracted/` was built from, so a rerun can skip extraction

Every step is idempotent: a rerun downloads only what is missing or wrong, resumes partial downloads from their
`.part` file, and rebuilds `extracted/` only when the downloads changed. Talking to figshare (retries, resume,
verification of each file) is `figshare.FigshareClient`'s job; this module decides what is fetched, checks it
against the pinned manifest, records it and turns the downloads into a dataset root.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import DatasetError, DiskFullError, DownloadError
from ..io import atomic_write_json, format_bytes, read_json
from .archive import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_RATIO,
    extract_into,
    is_archive,
    replace_dir,
    scratch_dir,
    stale_scratch_dirs,
)
from .figshare import FigshareClient, RemoteFile, RetryPolicy
from .layout import ROOT_MARKERS

log = logging.getLogger(__name__)

ARTICLE_ID = 19960232
ARTICLE_VERSION = 2
MANIFEST_NAME = "manifest.json"
DOWNLOADS_DIR = "downloads"
EXTRACTED_DIR = "extracted"
EXTRACT_STAMP = ".extracted.json"
ROOT_SEARCH_DEPTH = 4
# The article record lists at most this many of its files (figshare API: "up to 10 article files").
METADATA_FILES_CAP = 10


# -- manifest ------------------------------------------------------------------------------------------------------


def manifest_record(api: str, article_id: int, version: int, files: list[RemoteFile]) -> dict[str, Any]:
    return {
        "api": api.rstrip("/"),
        "article_id": article_id,
        "version": version,
        "retrieved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "files": [f.manifest_entry() for f in sorted(files, key=lambda f: f.name)],
    }


def write_manifest(path: Path, record: dict[str, Any]) -> None:
    """Write the manifest, keeping an existing one that says the same (its retrieval time stays true)."""
    if path.is_file():
        try:
            old = read_json(path)
        except ValueError:
            old = None
        same = ("api", "article_id", "version", "files")
        if isinstance(old, dict) and all(old.get(k) == record[k] for k in same):
            return
    atomic_write_json(path, record)


def check_pinned(pinned_path: Path, article_id: int, version: int, files: list[RemoteFile]) -> None:
    """The discovered file list must be exactly the pinned one, or the dataset changed under us."""
    if not pinned_path.is_file():
        raise DatasetError(f"{pinned_path}: pinned manifest not found; fix the path or leave it out")
    try:
        pinned = read_json(pinned_path)
        pinned_files = {entry["name"]: entry for entry in pinned["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{pinned_path}: not a fetch manifest (needs a 'files' list of name/size/md5)") from exc
    where = f"article {article_id} version {version}"
    for key, wanted in (("article_id", article_id), ("version", version)):
        if key in pinned and int(pinned[key]) != wanted:
            raise DatasetError(f"{pinned_path}: pinned {key} is {pinned[key]} but the fetch asks for {where}")
    changed = "the dataset version changed; review the new file list and update the pinned manifest"
    remote = {f.name: f for f in files}
    missing, extra = sorted(pinned_files.keys() - remote.keys()), sorted(remote.keys() - pinned_files.keys())
    if missing:
        raise DownloadError(f"{missing[0]}: in pinned manifest {pinned_path} but not on figshare {where}: {changed}")
    if extra:
        raise DownloadError(f"{extra[0]}: on figshare {where} but not in pinned manifest {pinned_path}: {changed}")
    for name in sorted(remote):
        entry, got = pinned_files[name], remote[name]
        if int(entry.get("size", -1)) != got.size or str(entry.get("md5", "")).lower() != got.md5:
            raise DownloadError(
                f"{name}: figshare {where} lists size {got.size} md5 {got.md5} but pinned manifest {pinned_path} "
                f"has size {entry.get('size')} md5 {entry.get('md5')}: {changed}"
            )


def _check_version_listing(meta: Mapping[str, Any], files: list[RemoteFile], article_id: int, version: int) -> None:
    """The paged file listing must hold exactly the files of the version's metadata.

    The listing is not versioned (figshare serves the newest version's), and a server may end it early; the
    metadata's own file list is the cross-check for both. That list holds at most METADATA_FILES_CAP files: every
    one of them must be listed, and when it is shorter than the cap it is complete and the counts must agree.
    """
    where = f"article {article_id} version {version}"
    entries = [e for e in meta.get("files") or [] if isinstance(e, Mapping) and "id" in e]
    if not entries:
        log.warning("%s: the metadata lists no files; the file listing cannot be cross-checked", where)
        return
    listed = {f.id for f in files}
    counts = f"the listing has {len(files)} files, the metadata {len(entries)}"
    for entry in entries:
        if int(entry["id"]) not in listed:
            raise DownloadError(
                f"{entry.get('name', entry['id'])}: in the metadata of {where} but not in its file listing "
                f"({counts}): the server ended its listing early, or serves the newest version while the dataset "
                "version changed; rerun later, or fetch the newest version (--version) and review the pinned manifest"
            )
    if len(entries) < METADATA_FILES_CAP and len(files) != len(entries):
        in_metadata = {int(e["id"]) for e in entries}
        extra = sorted(f.name for f in files if f.id not in in_metadata)
        raise DownloadError(
            f"{extra[0] if extra else where}: in the file listing but not in the metadata of {where} ({counts}): "
            "the listing serves the newest version and the dataset version changed; fetch the newest version "
            "(--version) and review the pinned manifest"
        )


def _check_room_for_downloads(files: list[RemoteFile], directory: Path) -> None:
    """Refuse up front when what is still to download does not fit, instead of filling the disk hours in."""
    directory.mkdir(parents=True, exist_ok=True)
    missing = 0
    for remote in files:
        final, part = directory / remote.name, directory / f"{remote.name}.part"
        have = final.stat().st_size if final.is_file() else part.stat().st_size if part.is_file() else 0
        missing += max(remote.size - have, 0)
    free = shutil.disk_usage(directory).free
    if missing > free:
        raise DiskFullError(
            f"{directory}: the downloads need {format_bytes(missing)} more but {format_bytes(free)} is free there; "
            "free space or set dataset.figshare.download_dir to a larger disk, then run again"
        )


# -- extraction and the dataset root -------------------------------------------------------------------------------


def find_dataset_root(top: Path) -> Path:
    """The one directory under `top` holding both Annotations/ and raw_images_for_model/."""
    roots: list[Path] = []
    for current, dirs, _ in os.walk(top):
        here = Path(current)
        depth = len(here.relative_to(top).parts)
        if all((here / marker).is_dir() for marker in ROOT_MARKERS):
            roots.append(here)
            dirs.clear()  # a root's own subdirectories are data, not candidate roots
            continue
        # macOS zips carry a __MACOSX/ shadow tree that mirrors the real directories
        dirs[:] = [] if depth >= ROOT_SEARCH_DEPTH else sorted(d for d in dirs if d != "__MACOSX")
    markers = " and ".join(f"{m}/" for m in ROOT_MARKERS)
    if not roots:
        raise DatasetError(
            f"{top}: no directory in the extracted download holds both {markers}; the figshare release layout "
            "changed - stage a copy by hand (ctcbench stage-local-dataset) or use the synthetic twin"
        )
    if len(roots) > 1:
        listed = ", ".join(str(r) for r in roots)
        raise DatasetError(f"{top}: several directories hold {markers} ({listed}); cannot tell which is the dataset")
    return roots[0]


def _read_stamp(path: Path) -> Any:
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


def _place_loose_file(path: Path, root: Path) -> None:
    """A non-archive file of the article (a CSV, say) belongs in the dataset root; link it to save space."""
    dest = root / path.name
    if dest.exists():
        log.warning("%s: already in the extracted data; keeping the archive's copy", dest)
        return
    try:
        os.link(path, dest)
    except OSError:
        shutil.copy2(path, dest)


def extract_downloads(
    paths: list[Path],
    dest: Path,
    stamp: dict[str, Any],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_ratio: float = DEFAULT_MAX_RATIO,
) -> Path:
    """Build `dest/extracted` from the downloaded files and return the dataset root inside it.

    Everything is assembled in a hidden scratch directory and renamed into place at the end; `stamp` (what the
    tree was built from) is written afterwards, so a tree without a matching stamp is rebuilt on the next run.
    """
    target = dest / EXTRACTED_DIR
    stamp_path = dest / EXTRACT_STAMP
    if target.is_dir() and _read_stamp(stamp_path) == stamp:
        log.info("%s: already extracted from these downloads", target)
        return find_dataset_root(target)
    for stale in stale_scratch_dirs(target):
        shutil.rmtree(stale, ignore_errors=True)
    stamp_path.unlink(missing_ok=True)
    scratch = scratch_dir(target)
    try:
        used = 0
        for path in (p for p in paths if is_archive(p)):
            log.info("extracting %s", path.name)
            used += extract_into(path, scratch, max_bytes=max_bytes - used, max_ratio=max_ratio)
        root_rel = find_dataset_root(scratch).relative_to(scratch)
        for path in (p for p in paths if not is_archive(p)):
            _place_loose_file(path, scratch / root_rel)
        replace_dir(scratch, target)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    atomic_write_json(stamp_path, stamp)
    return target / root_rel


# -- the whole fetch -----------------------------------------------------------------------------------------------


def fetch_dataset(
    api: str,
    article_id: int,
    version: int,
    dest: Path | str,
    pinned_manifest: Path | str | None = None,
    *,
    max_attempts: int = 5,
    base_delay: float = 2.0,
    max_extract_bytes: int = DEFAULT_MAX_BYTES,
    max_compression_ratio: float = DEFAULT_MAX_RATIO,
    timeout: float = 60.0,
    page_size: int = 100,
    progress: bool | None = None,
) -> Path:
    """Download, verify and extract a figshare article into `dest`; return the dataset root.

    With `pinned_manifest`, the article's file list must equal the pinned one before anything is downloaded.
    """
    dest = Path(dest)
    client = FigshareClient(
        api, retry=RetryPolicy(max_attempts=max_attempts, base_delay=base_delay), timeout=timeout, progress=progress
    )
    meta = client.article(article_id, version)
    files = client.list_files(article_id, page_size=page_size)
    if not files:
        raise DownloadError(f"{client.api}: article {article_id} lists no files; check --article and --version")
    _check_version_listing(meta, files, article_id, version)
    if pinned_manifest is not None:
        check_pinned(Path(pinned_manifest), article_id, version, files)
    log.info("article %s version %s: %d files, %d bytes", article_id, version, len(files), sum(f.size for f in files))
    _check_room_for_downloads(files, dest / DOWNLOADS_DIR)
    paths = [client.download(remote, dest / DOWNLOADS_DIR) for remote in sorted(files, key=lambda f: f.name)]
    record = manifest_record(client.api, article_id, version, files)
    write_manifest(dest / MANIFEST_NAME, record)
    root = extract_downloads(
        paths, dest, {"files": record["files"]}, max_bytes=max_extract_bytes, max_ratio=max_compression_ratio
    )
    log.info("dataset root: %s", root)
    return root
