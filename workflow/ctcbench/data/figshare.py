"""HTTP client for the public figshare API v2: list an article's files and download them, verified.

`FigshareClient` makes the few API calls a fetch needs (article metadata, the paginated file list, file
downloads) and owns everything about talking to the server: retries with growing delays, resuming a download
from its `.part` file, retrying when an HTML page is served in place of a file, and checking each file's size and
md5 before it is renamed into place. A file already present and verified is not downloaded again.

It knows nothing of the dataset: which article to fetch, the manifest, pinning and extraction are `fetch`'s job.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from tqdm import tqdm

from .. import __version__
from ..errors import DiskFullError, DownloadError
from ..io import disk_full_message, is_disk_full

log = logging.getLogger(__name__)

DEFAULT_API = "https://api.figshare.com/v2"
CHUNK = 1 << 20
# Small enough that an interrupted transfer loses little: a read cut short discards its whole unfinished chunk.
STREAM_CHUNK = 1 << 16
# 403 and 429 are what the storage behind the download redirect answers while throttling or re-signing links;
# 202 (Accepted, usually with an empty body) is what some CDNs send while they still prepare a file.
RETRY_STATUS = frozenset({202, 403, 408, 429, 500, 502, 503, 504})
# Paging ends at the first empty page; this bounds it for a server that never sends one.
MAX_PAGES = 1000
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
        """Every file of the article, page by page until an empty page.

        A short page does not end the listing: a server may cap its page size below the one asked for, and
        stopping there would silently drop the rest of the files.
        """
        url = f"{self.api}/articles/{article_id}/files"
        files: list[RemoteFile] = []
        seen: set[int] = set()
        for page in range(1, MAX_PAGES + 1):
            entries = self.get_json(f"articles/{article_id}/files", {"page": page, "page_size": page_size})
            if not isinstance(entries, list):
                raise DownloadError(f"{url}: expected a list of files")
            if not entries:
                break
            batch = [RemoteFile.from_api(entry) for entry in entries]
            if {f.id for f in batch} <= seen:
                raise DownloadError(
                    f"{url}: page {page} repeats files of earlier pages; the server ignores the page parameter - "
                    "check --api"
                )
            files.extend(batch)
            seen.update(f.id for f in batch)
        else:
            raise DownloadError(f"{url}: no empty page after {MAX_PAGES} pages; the server never ends its listing")
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
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            final = part.with_name(remote.name)
            kept = f"{part.name} is kept and the next run resumes it"
            remedy = "free some space there or set dataset.figshare.download_dir to a larger disk"
            raise DiskFullError(disk_full_message(final, part, remedy=remedy, needed=remote.size, kept=kept)) from None

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
