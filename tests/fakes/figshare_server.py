"""A loopback fake of the public figshare API v2: just enough to exercise `ctcbench fetch-dataset` without a network.

Endpoints (under `/v2`, like the real API):

    GET /v2/articles/{id}/versions/{version}     article metadata with its file list
    GET /v2/articles/{id}/files?page=&page_size= the paginated file list
    GET /v2/file/download/{file_id}              302 to /storage/{file_id}/{name}, like the real redirect to S3

The storage path honours `Range: bytes=N-` and can misbehave per file (see `FakeFile`). Every request is recorded
so that tests can assert what the client asked for. The server binds 127.0.0.1 on a free port, serves from a daemon
thread and shuts itself down after `lifetime_s` even if a test forgets to stop it.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HTML_PAGE = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Please log in</body></html>\n"


@dataclass
class FakeFile:
    """A file of the fake article, with optional faults.

    Faults on the storage path count storage requests for this file: the first `forbid_first` get 403, the next
    `accepted_first` get 202 with an empty body, the next `truncate_first` announce the full Content-Length but
    close after half of it.
    """

    name: str
    content: bytes
    id: int = 0
    wrong_md5: bool = False  # the metadata advertises a checksum the content does not have
    forbid_first: int = 0
    truncate_first: int = 0
    html: bool = False  # a web page instead of the file, every time
    html_content_type: str = "text/html; charset=utf-8"
    empty: bool = False  # 200 with an empty body, every time
    accepted_first: int = 0  # the first storage requests get 202 with an empty body (a CDN still preparing it)
    only_in_listing: bool = False  # absent from the version metadata: a listing that serves a newer version
    missing: bool = False  # the download endpoint answers 404
    ignore_range: bool = False  # answer 200 with the whole file even when a Range is asked
    served: int = field(default=0, init=False)

    @property
    def md5(self) -> str:
        return hashlib.md5(self.content).hexdigest()

    @property
    def listed_md5(self) -> str:
        return "0" * 32 if self.wrong_md5 else self.md5


@dataclass(frozen=True)
class Seen:
    """One request as the server saw it."""

    path: str
    query: dict[str, str]
    range: str | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeFigshare


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # a stuck client cannot hold a handler thread for long

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self.server.fake.handle(self)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


class FakeFigshare:
    """The fake service; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        files: Iterable[FakeFile] = (),
        *,
        article_id: int = 19960232,
        version: int = 2,
        lifetime_s: float = 60.0,
        extra_version_files: Iterable[dict[str, Any]] = (),
        max_page_size: int = 1000,
        ignore_page: bool = False,
        listing_drops_last: int = 0,
        metadata_files_cap: int = 10,
    ) -> None:
        self.article_id = article_id
        self.version = version
        self.lifetime_s = lifetime_s
        self.files: list[FakeFile] = []
        # entries only in the version metadata: mimics a file listing that serves a newer version
        self.extra_version_files = list(extra_version_files)
        self.max_page_size = max_page_size  # pages are cut to this size whatever page_size asks
        self.ignore_page = ignore_page  # every page is the first
        self.listing_drops_last = listing_drops_last  # the listing ends early, before this many files
        self.metadata_files_cap = metadata_files_cap  # the real article record lists "up to 10 article files"
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._timer: threading.Timer | None = None
        for f in files:
            self.add(f)

    # -- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> FakeFigshare:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self._timer = threading.Timer(self.lifetime_s, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        with self._lock:
            httpd, self._httpd = self._httpd, None
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.cancel()
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()

    def __enter__(self) -> FakeFigshare:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- configuration and inspection ----------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api(self) -> str:
        return f"{self.origin}/v2"

    def add(self, f: FakeFile) -> FakeFile:
        if not f.id:
            f.id = 5000 + len(self.files)
        self.files.append(f)
        return f

    def file(self, name: str) -> FakeFile:
        return next(f for f in self.files if f.name == name)

    def entry(self, f: FakeFile) -> dict[str, Any]:
        return {
            "id": f.id,
            "name": f.name,
            "size": len(f.content),
            "computed_md5": f.listed_md5,
            "supplied_md5": f.listed_md5,
            "download_url": f"{self.api}/file/download/{f.id}",
            "is_link_only": False,
            "mimetype": "application/octet-stream",
        }

    def requests_to(self, prefix: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path.startswith(prefix)]

    def download_requests(self) -> list[Seen]:
        return self.requests_to("/v2/file/download/") + self.requests_to("/storage/")

    # -- request handling ----------------------------------------------------------------------------------------

    def handle(self, h: _Handler) -> None:
        url = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with self._lock:
            self.seen.append(Seen(url.path, query, h.headers.get("Range")))
        routes = (
            (rf"^/v2/articles/{self.article_id}/versions/{self.version}$", lambda m: self._article(h)),
            (rf"^/v2/articles/{self.article_id}/files$", lambda m: self._file_list(h, query)),
            (r"^/v2/file/download/(\d+)$", lambda m: self._redirect(h, int(m[1]))),
            (r"^/storage/(\d+)/[^/]+$", lambda m: self._storage(h, int(m[1]))),
        )
        for pattern, action in routes:
            match = re.match(pattern, url.path)
            if match:
                action(match)
                return
        _send_json(h, 404, {"message": "Entity not found", "code": "EntityNotFound"})

    def _article(self, h: _Handler) -> None:
        record = {
            "id": self.article_id,
            "version": self.version,
            "title": "Fake CCA organoid dataset",
            "files": ([self.entry(f) for f in self.files if not f.only_in_listing] + self.extra_version_files)[
                : self.metadata_files_cap
            ],
        }
        _send_json(h, 200, record)

    def _file_list(self, h: _Handler, query: dict[str, str]) -> None:
        try:
            page, size = int(query.get("page", 1)), int(query.get("page_size", 10))
        except ValueError:
            _send_json(h, 400, {"message": "page and page_size must be integers"})
            return
        if page < 1 or not 1 <= size <= 1000:
            _send_json(h, 400, {"message": "page >= 1 and 1 <= page_size <= 1000"})
            return
        size = min(size, self.max_page_size)
        page = 1 if self.ignore_page else page
        listed = self.files[: len(self.files) - self.listing_drops_last]
        chunk = listed[(page - 1) * size : page * size]
        _send_json(h, 200, [self.entry(f) for f in chunk])

    def _redirect(self, h: _Handler, file_id: int) -> None:
        f = next((f for f in self.files if f.id == file_id), None)
        if f is None or f.missing:
            _send_json(h, 404, {"message": "Entity not found: file"})
            return
        h.send_response(302)
        h.send_header("Location", f"{self.origin}/storage/{f.id}/{f.name}?signature=fake")
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _storage(self, h: _Handler, file_id: int) -> None:
        f = next((f for f in self.files if f.id == file_id), None)
        if f is None:
            _send_bytes(h, 404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
            return
        with self._lock:
            f.served += 1
            count = f.served
        if count <= f.forbid_first:
            _send_bytes(h, 403, b"<Error><Code>AccessDenied</Code></Error>", "application/xml")
        elif count <= f.forbid_first + f.accepted_first:
            _send_bytes(h, 202, b"", "application/octet-stream")
        elif f.html:
            _send_bytes(h, 200, HTML_PAGE, f.html_content_type)
        elif f.empty:
            _send_bytes(h, 200, b"", "application/octet-stream")
        else:
            self._send_content(h, f, truncate=count <= f.forbid_first + f.accepted_first + f.truncate_first)

    def _send_content(self, h: _Handler, f: FakeFile, *, truncate: bool) -> None:
        total = len(f.content)
        asked = _parse_range(h.headers.get("Range"), total) if not f.ignore_range else None
        if asked is not None and asked[0] >= total:
            h.send_response(416)
            h.send_header("Content-Range", f"bytes */{total}")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        start, end = asked or (0, total - 1)
        body = f.content[start : end + 1]
        h.send_response(206 if asked is not None else 200)
        if asked is not None:
            h.send_header("Content-Range", f"bytes {start}-{end}/{total}")
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Accept-Ranges", "bytes")
        h.end_headers()
        if truncate:
            h.wfile.write(body[: max(len(body) // 2, 1)])
            h.close_connection = True  # the client sees fewer bytes than Content-Length announced
            return
        h.wfile.write(body)


def _parse_range(header: str | None, total: int) -> tuple[int, int] | None:
    """(first, last) byte of a single `bytes=N-` or `bytes=N-M` range; None when absent or not understood."""
    match = re.fullmatch(r"bytes=(\d+)-(\d*)", header or "")
    if match is None:
        return None
    last = min(int(match[2]), total - 1) if match[2] else total - 1
    return int(match[1]), last


def _send_bytes(h: _Handler, status: int, body: bytes, content_type: str) -> None:
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def _send_json(h: _Handler, status: int, data: Any) -> None:
    _send_bytes(h, status, json.dumps(data).encode(), "application/json")
