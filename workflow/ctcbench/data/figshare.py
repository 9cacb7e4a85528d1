"""Download the dataset from the public figshare API v2, verify it and extract it.

Layout under the destination directory:

    downloads/<file name>     the article's files, each renamed into place only after its size and md5 match
    manifest.json             what was fetched: article, version, API, retrieval time, name/id/size/md5 per file
    extracted/                the archives' contents (plus the article's loose files, linked into the dataset root)
    .extracted.json           which downloads `extracted/` was built from, so a rerun can skip extraction

Every step is idempotent: a rerun downloads only what is missing or wrong, resumes partial downloads from their
`.part` file, and rebuilds `extracted/` only when the downloads changed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import requests
from tqdm import tqdm

from .. import __version__
from ..errors import DatasetError, DownloadError
from ..io import atomic_write_json, read_json
from .archive import DEFAULT_MAX_BYTES, extract_into, is_archive, replace_dir, scratch_dir, stale_scratch_dirs

log = logging.getLogger(__name__)

DEFAULT_API = "https://api.figshare.com/v2"
ARTICLE_ID = 19960232
ARTICLE_VERSION = 2
MANIFEST_NAME = "manifest.json"
DOWNLOADS_DIR = "downloads"
EXTRACTED_DIR = "extracted"
EXTRACT_STAMP = ".extracted.json"
ROOT_MARKERS = ("Annotations", "raw_images_for_model")
ROOT_SEARCH_DEPTH = 4
CHUNK = 1 << 20
# Small enough that an interrupted transfer loses little: a read cut short discards its whole unfinished chunk.
STREAM_CHUNK = 1 << 16
# 403 and 429 are what the storage behind the download redirect answers while throttling or re-signing links.
RETRY_STATUS = frozenset({403, 408, 429, 500, 502, 503, 504})
_HTML_NAMES = (".html", ".htm")


@dataclass(frozen=True)
class RemoteFile:
    """One file of a figshare article, as listed by the API."""

    id: int
    name: str
    size: int
    computed_md5: str
    supplied_md5: str = ""
    download_url: str = ""
    is_link_only: bool = False

    @classmethod
    def from_api(cls, entry: Mapping[str, Any]) -> RemoteFile:
        try:
            remote = cls(
                id=int(entry["id"]),
                name=str(entry["name"]),
                size=int(entry["size"]),
                computed_md5=str(entry.get("computed_md5") or "").lower(),
                supplied_md5=str(entry.get("supplied_md5") or "").lower(),
                download_url=str(entry.get("download_url") or ""),
                is_link_only=bool(entry.get("is_link_only", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DownloadError(f"figshare file entry {dict(entry)!r} lacks a valid id/name/size ({exc})") from exc
        _check_file_name(remote.name)
        return remote

    @property
    def md5(self) -> str:
        """The checksum to verify against: figshare's own, else the uploader's."""
        return self.computed_md5 or self.supplied_md5

    def manifest_entry(self) -> dict[str, Any]:
        return {"name": self.name, "id": self.id, "size": self.size, "md5": self.md5}


def _check_file_name(name: str) -> None:
    """A remote name becomes a local path: it must be one plain file name."""
    if not name or name in (".", "..") or any(c in name for c in "/\\\x00"):
        raise DownloadError(f"figshare lists a file named {name!r}, not a plain file name; refusing to write it")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is retried: delays grow as base_delay * 2**n, capped at max_delay."""

    max_attempts: int = 5
    base_delay: float = 2.0
    max_delay: float = 60.0

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        delay = self.base_delay * 2 ** max(failures - 1, 0)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.max_delay)


class _Retry(Exception):
    """A transient failure of one request: worth trying again."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _BadFile(_Retry):
    """The transfer finished but the file is wrong (size or md5); the partial file was deleted."""


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def md5sum(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip()[:15].lower()
    return start.startswith(b"<!doctype") or start.startswith(b"<html")


def _is_complete(path: Path, remote: RemoteFile) -> bool:
    if not path.is_file() or path.stat().st_size != remote.size:
        return False
    return not remote.md5 or md5sum(path) == remote.md5


class FigshareClient:
    """The few public figshare API v2 calls the fetch needs, with retries, resume and verification."""

    def __init__(
        self,
        api: str = DEFAULT_API,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        progress: bool | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.api = api.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.progress = progress  # None: bars only on a terminal
        self.session = session or requests.Session()
        # identity: byte counts and Range offsets must refer to the file itself, not a compressed transfer
        self.session.headers.update({"User-Agent": f"ctcbench/{__version__}", "Accept-Encoding": "identity"})

    # -- metadata ------------------------------------------------------------------------------------------------

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        url = f"{self.api}/{path.lstrip('/')}"
        failures = 0
        while True:
            try:
                return self._get_json_once(url, params)
            except _Retry as exc:
                failures += 1
                if failures >= self.retry.max_attempts:
                    raise DownloadError(
                        f"{url}: {exc.reason}; gave up after {failures} attempts - check the network and --api, "
                        "or rerun later"
                    ) from exc
                self._wait(url, exc, failures)

    def _get_json_once(self, url: str, params: Mapping[str, Any] | None) -> Any:
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise _Retry(f"connection failed ({type(exc).__name__})") from exc
        with response:
            if response.status_code in RETRY_STATUS:
                raise _Retry(f"HTTP {response.status_code}", _retry_after(response))
            if response.status_code == 404:
                raise DownloadError(f"{url}: 404 Not Found; check the article id and version (--article, --version)")
            if response.status_code != 200:
                raise DownloadError(f"{url}: unexpected HTTP {response.status_code}; check --api")
            try:
                return response.json()
            except ValueError as exc:
                # a captive portal or proxy answers API calls with a web page
                raise _Retry("the answer is not JSON (a proxy or login page?)") from exc

    def article(self, article_id: int, version: int) -> dict[str, Any]:
        meta = self.get_json(f"articles/{article_id}/versions/{version}")
        if not isinstance(meta, dict):
            raise DownloadError(f"{self.api}/articles/{article_id}/versions/{version}: not an article record")
        if "version" in meta and int(meta["version"]) != version:
            raise DownloadError(
                f"{self.api}: asked for version {version} of article {article_id} but got version {meta['version']}"
            )
        return meta

    def list_files(self, article_id: int, page_size: int = 100) -> list[RemoteFile]:
        """Every file of the article, page by page until a short or empty page."""
        files: list[RemoteFile] = []
        page = 1
        while True:
            entries = self.get_json(f"articles/{article_id}/files", {"page": page, "page_size": page_size})
            if not isinstance(entries, list):
                raise DownloadError(f"{self.api}/articles/{article_id}/files: expected a list of files")
            files.extend(RemoteFile.from_api(entry) for entry in entries)
            if len(entries) < page_size:
                break
            page += 1
        names = [f.name for f in files]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise DownloadError(f"figshare article {article_id} lists {duplicates[0]!r} twice; cannot store both")
        return files

    # -- downloads -----------------------------------------------------------------------------------------------

    def file_url(self, remote: RemoteFile) -> str:
        return f"{self.api}/file/download/{remote.id}"

    def download(self, remote: RemoteFile, directory: Path) -> Path:
        """Download `remote` into `directory` (resuming a `.part` file) and return its verified final path."""
        final = directory / remote.name
        if _is_complete(final, remote):
            log.info("%s: already downloaded and verified", final)
            return final
        if final.exists():
            log.warning("%s: differs from figshare's size/md5; downloading it again", final)
            final.unlink()
        if remote.is_link_only:
            raise DownloadError(
                f"{remote.name}: figshare only links to it ({remote.download_url}); fetch it into {directory} by hand"
            )
        directory.mkdir(parents=True, exist_ok=True)
        part = final.with_name(final.name + ".part")
        self._fill_part(remote, part)
        os.replace(part, final)
        return final

    def _fill_part(self, remote: RemoteFile, part: Path) -> None:
        """Retry transfers until `part` holds the verified file.

        A transfer that added bytes before failing does not count against the attempts (the next one resumes
        after them), so a flaky connection still finishes a large file; verification failures always count.
        """
        url = self.file_url(remote)
        failures = bad_files = 0  # failed attempts in a row without progress; verification failures in all
        while True:
            before = _size(part)
            try:
                if not part.exists() or before != remote.size:
                    self._transfer(remote, url, part)
                self._verify(remote, part)
                return
            except _BadFile as exc:
                failures, bad_files = failures + 1, bad_files + 1
                error = exc
            except _Retry as exc:
                failures = 1 if _size(part) > before else failures + 1
                error = exc
            if max(failures, bad_files) >= self.retry.max_attempts:
                # a verified-bad part is already gone; a partial good one stays for the next run to resume
                raise DownloadError(
                    f"{remote.name} ({url}): {error.reason}; gave up after {self.retry.max_attempts} attempts"
                    " - rerun later, or check the network"
                ) from error
            self._wait(remote.name, error, failures)

    def _transfer(self, remote: RemoteFile, url: str, part: Path) -> None:
        """One request: append to `part` from its current size, or restart it if the server ignores Range."""
        offset = _size(part)
        if offset > remote.size:
            _unlink(part)
            offset = 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            response = self.session.get(url, headers=headers, stream=True, timeout=self.timeout)
        except requests.RequestException as exc:
            raise _Retry(f"connection failed ({type(exc).__name__})") from exc
        with response:
            offset = self._check_response(remote, url, response, part, offset)
            self._stream(remote, response, part, offset)
        if _size(part) < remote.size:
            raise _Retry(f"transfer ended at {_size(part)} of {remote.size} bytes")

    def _check_response(
        self, remote: RemoteFile, url: str, response: requests.Response, part: Path, offset: int
    ) -> int:
        """Classify the answer; return the offset the body starts at (0 when the server sent the whole file)."""
        status = response.status_code
        if status == 404:
            raise DownloadError(
                f"{remote.name} ({url}): 404 Not Found; the file is gone from figshare - the dataset version may "
                "have changed (check --article/--version)"
            )
        if status in RETRY_STATUS:
            raise _Retry(f"HTTP {status}", _retry_after(response))
        if status == 416:
            _unlink(part)  # our partial file does not fit the server's copy: start over
            raise _Retry("HTTP 416 (range not satisfiable)")
        if status not in (200, 206):
            raise DownloadError(f"{remote.name} ({url}): unexpected HTTP {status}")
        content_type = response.headers.get("Content-Type", "").lower()
        if content_type.startswith("text/html") and not remote.name.lower().endswith(_HTML_NAMES):
            raise _Retry(_html_reason(response))
        if status == 206:
            start = _content_range_start(response.headers.get("Content-Range", ""))
            if start != offset:
                _unlink(part)
                raise _Retry(f"server resumed at byte {start} instead of {offset}")
            return offset
        if offset:
            log.info("%s: server ignored the Range request; restarting from zero", remote.name)
        return 0

    def _stream(self, remote: RemoteFile, response: requests.Response, part: Path, offset: int) -> None:
        body = response.iter_content(STREAM_CHUNK)
        try:
            first = next(body, b"")
            if not first and remote.size > offset:
                raise _Retry("empty response body")
            if offset == 0 and _looks_like_html(first) and not remote.name.lower().endswith(_HTML_NAMES):
                raise _Retry(_html_reason(response))
            with open(part, "ab" if offset else "wb") as out, self._bar(remote, offset) as bar:
                for chunk in _chain(first, body):
                    if offset + len(chunk) > remote.size:
                        out.close()
                        _unlink(part)
                        raise _BadFile(f"size mismatch: the server sent more than the listed {remote.size} bytes")
                    out.write(chunk)
                    offset += len(chunk)
                    bar.update(len(chunk))
        except requests.RequestException as exc:
            raise _Retry(f"transfer interrupted ({type(exc).__name__})") from exc

    def _bar(self, remote: RemoteFile, offset: int) -> tqdm:
        return tqdm(
            total=remote.size,
            initial=offset,
            desc=remote.name,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            disable=None if self.progress is None else not self.progress,
            leave=False,
        )

    def _verify(self, remote: RemoteFile, part: Path) -> None:
        """Size and md5 must match the listing; a bad file is deleted so the next attempt starts clean."""
        size = _size(part)
        if size != remote.size:
            _unlink(part)
            raise _BadFile(f"size mismatch: expected {remote.size} bytes, got {size}")
        if not remote.md5:
            log.warning("%s: figshare lists no md5; only the size was checked", remote.name)
            return
        actual = md5sum(part)
        if actual != remote.md5:
            _unlink(part)
            raise _BadFile(f"md5 mismatch: expected {remote.md5}, got {actual}")

    def _wait(self, what: str, exc: _Retry, failures: int) -> None:
        delay = self.retry.delay(failures, exc.retry_after)
        log.warning("%s: %s; retrying in %.2f s", what, exc.reason, delay)
        time.sleep(delay)


def _html_reason(response: requests.Response) -> str:
    return (
        f"the server sent an HTML page instead of the file (from {response.url}: an expired download link, "
        "or a proxy/captive-portal login page?)"
    )


def _content_range_start(header: str) -> int | None:
    match = re.match(r"^\s*bytes\s+(\d+)-\d+/(?:\d+|\*)\s*$", header)
    return int(match[1]) if match else None


def _chain(first: bytes, rest: Any) -> Any:
    if first:
        yield first
    yield from rest


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


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
    """The file listing is not versioned: make sure it is the requested version's (the metadata's own list)."""
    listed = {f.id for f in files}
    for entry in meta.get("files") or []:
        if isinstance(entry, Mapping) and "id" in entry and int(entry["id"]) not in listed:
            raise DownloadError(
                f"{entry.get('name', entry['id'])}: in the metadata of article {article_id} version {version} but not "
                "in its file listing, which figshare serves for the newest version: the dataset version changed; "
                "fetch the newest version (--version) and review the pinned manifest"
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
            "changed - stage a copy by hand (ctcbench stage-local) or use the synthetic twin"
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
    paths: list[Path], dest: Path, stamp: dict[str, Any], *, max_bytes: int = DEFAULT_MAX_BYTES
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
            used += extract_into(path, scratch, max_bytes=max_bytes - used)
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
    paths = [client.download(remote, dest / DOWNLOADS_DIR) for remote in sorted(files, key=lambda f: f.name)]
    record = manifest_record(client.api, article_id, version, files)
    write_manifest(dest / MANIFEST_NAME, record)
    root = extract_downloads(paths, dest, {"files": record["files"]}, max_bytes=max_extract_bytes)
    log.info("dataset root: %s", root)
    return root
