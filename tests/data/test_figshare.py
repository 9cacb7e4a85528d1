"""The figshare fetch against a loopback fake: download, resume, verification, extraction, manifest and CLIs."""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.figshare_server import FakeFigshare, FakeFile

from ctcbench.cli import main
from ctcbench.data.fetch import fetch_dataset
from ctcbench.errors import DatasetError, DownloadError

DATASET = {
    "CCA/Annotations/train.txt": b"r06c04f01p01\n",
    "CCA/Annotations/trainval/r06c04f01p01.xml": b"<annotation><object><name>R</name></object></annotation>\n",
    "CCA/raw_images_for_model/brightfield/r06c04f01p01.tiff": b"II*\x00" + bytes(range(256)) * 40,
    "CCA/raw_images_for_model/fluorescence/r06c04f01p01.tiff": b"II*\x00" + random.Random(0).randbytes(300_000),
}
CSV = b"image_id,expert\nr06c04f01p01,Expert1\n"


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:  # stored: the truncation point is raw data
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def dataset_files(**faults: Any) -> list[FakeFile]:
    return [FakeFile("dataset.zip", zip_bytes(DATASET), **faults), FakeFile("expert_annotation_id.csv", CSV)]


@pytest.fixture
def figshare() -> Iterator[FakeFigshare]:
    with FakeFigshare(lifetime_s=60) as server:
        yield server


def fetch(server: FakeFigshare, dest: Path, **kwargs: Any) -> Path:
    options: dict[str, Any] = {"base_delay": 0.001, "max_attempts": 4, "timeout": 5, "progress": False}
    options.update(kwargs)
    return fetch_dataset(server.api, server.article_id, server.version, dest, **options)


def assert_nothing_kept(dest: Path, name: str = "dataset.zip") -> None:
    """A failed fetch leaves no final file, no part file, no manifest and no (half-)extracted data."""
    downloads = dest / "downloads"
    assert not (downloads / name).exists()
    assert not (downloads / f"{name}.part").exists()
    assert not (dest / "manifest.json").exists()
    assert not (dest / "extracted").exists()
    assert not [p for p in dest.glob(".extracted*")]


def test_fetch_end_to_end(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files():
        figshare.add(f)
    dest = tmp_path / "figshare"
    root = fetch(figshare, dest)
    assert root == dest / "extracted" / "CCA"
    for name, data in DATASET.items():
        assert (dest / "extracted" / name).read_bytes() == data
    assert (root / "expert_annotation_id.csv").read_bytes() == CSV  # a loose file joins the dataset root
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["article_id"] == figshare.article_id and manifest["version"] == figshare.version
    assert manifest["api"] == figshare.api and manifest["retrieved_at"]
    assert manifest["files"] == [
        {"name": f.name, "id": f.id, "size": len(f.content), "md5": f.md5}
        for f in sorted(figshare.files, key=lambda f: f.name)
    ]
    # the download went through the API endpoint and its redirect to storage
    assert [s.path for s in figshare.requests_to("/v2/file/download/")] == [
        f"/v2/file/download/{f.id}" for f in sorted(figshare.files, key=lambda f: f.name)
    ]
    assert len(figshare.requests_to("/storage/")) == 2
    assert not list((dest / "downloads").glob("*.part"))


@pytest.mark.parametrize("count", [7, 6])  # a short last page, and an exact multiple
def test_file_list_is_paginated(figshare: FakeFigshare, tmp_path: Path, count: int) -> None:
    for f in dataset_files():
        figshare.add(f)
    for i in range(count - 2):
        figshare.add(FakeFile(f"extra_{i}.txt", f"extra {i}\n".encode()))
    fetch(figshare, tmp_path, page_size=3)
    pages = [(s.query["page"], s.query["page_size"]) for s in figshare.requests_to("/v2/articles/19960232/files")]
    full_or_short_pages = -(-count // 3)
    assert pages == [(str(n), "3") for n in range(1, full_or_short_pages + 2)]  # the listing ends on an empty page
    assert sorted(p.name for p in (tmp_path / "downloads").iterdir()) == sorted(f.name for f in figshare.files)


def test_a_server_capping_its_page_size_still_yields_every_file(tmp_path: Path) -> None:
    with FakeFigshare(dataset_files(), max_page_size=2) as server:
        for i in range(5):
            server.add(FakeFile(f"extra_{i}.txt", f"extra {i}\n".encode()))
        fetch(server, tmp_path, page_size=3)  # every page is shorter than asked: only the empty page ends it
        pages = [s.query["page"] for s in server.requests_to("/v2/articles/19960232/files")]
    assert pages == ["1", "2", "3", "4", "5"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert len(manifest["files"]) == 7


def test_an_article_with_more_files_than_its_record_lists_is_fetched(tmp_path: Path) -> None:
    """figshare's article record names at most 10 files; the paged listing has them all."""
    with FakeFigshare(dataset_files()) as server:
        for i in range(11):
            server.add(FakeFile(f"extra_{i:02d}.txt", f"extra {i}\n".encode()))
        fetch(server, tmp_path, page_size=5)
    assert len(json.loads((tmp_path / "manifest.json").read_text())["files"]) == 13


def test_a_listing_that_ends_early_is_refused_with_both_counts(tmp_path: Path) -> None:
    with FakeFigshare(dataset_files(), listing_drops_last=1) as server:
        with pytest.raises(DownloadError, match="the listing has 1 files, the metadata 2") as err:
            fetch(server, tmp_path)
        assert server.download_requests() == []
    assert "expert_annotation_id.csv: in the metadata" in str(err.value)


def test_a_listing_with_files_the_metadata_lacks_is_refused(tmp_path: Path) -> None:
    files = [*dataset_files(), FakeFile("newer.zip", b"x", only_in_listing=True)]
    with FakeFigshare(files) as server, pytest.raises(DownloadError, match="newer.zip: in the file listing but not"):
        fetch(server, tmp_path)


def test_a_server_ignoring_the_page_parameter_is_refused(tmp_path: Path) -> None:
    with FakeFigshare(dataset_files(), ignore_page=True) as server:
        with pytest.raises(DownloadError, match="page 2 repeats files of earlier pages"):
            fetch(server, tmp_path, page_size=1)


def test_accepted_with_an_empty_body_is_retried(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files(accepted_first=2):
        figshare.add(f)
    root = fetch(figshare, tmp_path)
    assert (root / "raw_images_for_model" / "brightfield" / "r06c04f01p01.tiff").is_file()
    assert len(figshare.requests_to(f"/storage/{figshare.file('dataset.zip').id}/")) == 3


def test_downloads_that_cannot_fit_are_refused_before_any_transfer(
    figshare: FakeFigshare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ctcbench.data import fetch as fetch_module
    from ctcbench.errors import DiskFullError

    real = fetch_module.shutil.disk_usage
    monkeypatch.setattr(fetch_module.shutil, "disk_usage", lambda p: real(p)._replace(free=1000))
    for f in dataset_files():
        figshare.add(f)
    with pytest.raises(DiskFullError, match=r"downloads: the downloads need .* KiB more but 1000 B is free there"):
        fetch(figshare, tmp_path)
    assert figshare.download_requests() == []


def test_a_full_disk_during_download_names_the_file_and_keeps_the_part(
    figshare: FakeFigshare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins
    import errno

    from ctcbench.data import figshare as figshare_module
    from ctcbench.errors import DiskFullError

    class FullDisk(io.FileIO):
        def write(self, data: Any) -> int:
            room = 4096 - self.tell()
            if len(data) > room:
                super().write(bytes(data[:room]))  # what fits is written, then the device is full
                raise OSError(errno.ENOSPC, "No space left on device")
            return super().write(data)

    def full_disk_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        return FullDisk(file, mode.replace("b", "")) if "a" in mode or "w" in mode else builtins.open(file, mode)

    monkeypatch.setattr(figshare_module, "open", full_disk_open, raising=False)
    for f in dataset_files():
        figshare.add(f)
    with pytest.raises(DiskFullError) as err:
        fetch(figshare, tmp_path)
    message = str(err.value)
    size = len(figshare.file("dataset.zip").content)
    assert message.startswith(f"{tmp_path / 'downloads' / 'dataset.zip'}: no space left on the device (4.0 KiB of ")
    assert f"{size / 1024:.1f} KiB written" in message and "dataset.zip.part is kept" in message
    assert (tmp_path / "downloads" / "dataset.zip.part").stat().st_size == 4096
    assert not (tmp_path / "manifest.json").exists()


def test_truncated_transfer_resumes_with_range(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files(truncate_first=1):
        figshare.add(f)
    fetch(figshare, tmp_path)
    archive = figshare.file("dataset.zip")
    ranges = [s.range for s in figshare.requests_to(f"/storage/{archive.id}/")]
    assert len(ranges) == 2 and ranges[0] is None
    resumed_at = re.fullmatch(r"bytes=(\d+)-", ranges[1] or "")
    assert resumed_at and 0 < int(resumed_at[1]) <= len(archive.content) // 2  # the first half was kept
    data = (tmp_path / "downloads" / "dataset.zip").read_bytes()
    assert hashlib.md5(data).hexdigest() == archive.md5


def test_failed_transfer_keeps_its_part_for_the_next_run(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files(truncate_first=100):
        figshare.add(f)
    with pytest.raises(DownloadError, match="dataset.zip.*transfer interrupted"):
        fetch(figshare, tmp_path)
    part = tmp_path / "downloads" / "dataset.zip.part"
    kept = part.stat().st_size
    assert kept > 0 and not (tmp_path / "downloads" / "dataset.zip").exists()
    archive = figshare.file("dataset.zip")
    archive.truncate_first, served = 0, len(figshare.requests_to(f"/storage/{archive.id}/"))
    fetch(figshare, tmp_path)
    assert [s.range for s in figshare.requests_to(f"/storage/{archive.id}/")][served:] == [f"bytes={kept}-"]
    assert (tmp_path / "downloads" / "dataset.zip").read_bytes() == archive.content


def test_server_ignoring_range_restarts_from_zero(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files(truncate_first=1, ignore_range=True):
        figshare.add(f)
    fetch(figshare, tmp_path)
    archive = figshare.file("dataset.zip")
    assert (tmp_path / "downloads" / "dataset.zip").read_bytes() == archive.content
    assert [s.range for s in figshare.requests_to(f"/storage/{archive.id}/")][1].startswith("bytes=")


def test_existing_part_file_is_resumed(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files():
        figshare.add(f)
    archive = figshare.file("dataset.zip")
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "dataset.zip.part").write_bytes(archive.content[:100])
    fetch(figshare, tmp_path)
    assert [s.range for s in figshare.requests_to(f"/storage/{archive.id}/")] == ["bytes=100-"]
    assert (tmp_path / "downloads" / "dataset.zip").read_bytes() == archive.content


def test_wrong_md5_fails_and_keeps_nothing(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files(wrong_md5=True):
        figshare.add(f)
    with pytest.raises(DownloadError) as err:
        fetch(figshare, tmp_path)
    message = str(err.value)
    archive = figshare.file("dataset.zip")
    assert "dataset.zip" in message and "md5 mismatch" in message
    assert archive.listed_md5 in message and archive.md5 in message
    assert len(figshare.requests_to(f"/storage/{archive.id}/")) == 4  # retried up to max_attempts
    assert_nothing_kept(tmp_path)


def test_forbidden_then_success(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files(forbid_first=2):
        figshare.add(f)
    fetch(figshare, tmp_path)
    archive = figshare.file("dataset.zip")
    assert len(figshare.requests_to(f"/storage/{archive.id}/")) == 3
    assert (tmp_path / "downloads" / "dataset.zip").read_bytes() == archive.content


def test_forbidden_beyond_retries_fails(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files(forbid_first=10):
        figshare.add(f)
    with pytest.raises(DownloadError, match="HTTP 403; gave up after 4 attempts"):
        fetch(figshare, tmp_path)
    assert_nothing_kept(tmp_path)


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/octet-stream"])
def test_html_instead_of_file_is_rejected(figshare: FakeFigshare, tmp_path: Path, content_type: str) -> None:
    for f in dataset_files(html=True, html_content_type=content_type):
        figshare.add(f)
    with pytest.raises(DownloadError, match="HTML page instead of the file") as err:
        fetch(figshare, tmp_path)
    assert "dataset.zip" in str(err.value)
    assert_nothing_kept(tmp_path)


def test_empty_body_is_rejected(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files(empty=True):
        figshare.add(f)
    with pytest.raises(DownloadError, match="dataset.zip.*empty response body"):
        fetch(figshare, tmp_path)
    assert_nothing_kept(tmp_path)


def test_missing_file_is_fatal_without_retries(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files(missing=True):
        figshare.add(f)
    with pytest.raises(DownloadError, match="dataset.zip.*404"):
        fetch(figshare, tmp_path)
    assert len(figshare.requests_to("/v2/file/download/")) == 1
    assert_nothing_kept(tmp_path)


def test_unknown_article_is_a_clear_error(figshare: FakeFigshare, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="404 Not Found; check the article id and version"):
        fetch_dataset(figshare.api, figshare.article_id, 99, tmp_path, base_delay=0.001, progress=False)


def test_rerun_is_idempotent(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files():
        figshare.add(f)
    root = fetch(figshare, tmp_path)
    manifest = (tmp_path / "manifest.json").read_text()
    (root / "sentinel").write_text("kept unless extracted/ is rebuilt")
    before = len(figshare.download_requests())
    assert fetch(figshare, tmp_path) == root
    assert len(figshare.download_requests()) == before  # nothing downloaded again
    assert (root / "sentinel").exists()  # nor extracted again
    assert (tmp_path / "manifest.json").read_text() == manifest


def test_corrupted_local_file_is_downloaded_again(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files():
        figshare.add(f)
    fetch(figshare, tmp_path)
    local = tmp_path / "downloads" / "expert_annotation_id.csv"
    local.write_bytes(b"tampered\n")
    fetch(figshare, tmp_path)
    assert local.read_bytes() == CSV
    csv = figshare.file("expert_annotation_id.csv")
    assert len(figshare.requests_to(f"/storage/{csv.id}/")) == 2


def write_pinned(path: Path, server: FakeFigshare, **changes: Any) -> Path:
    files = [{"name": f.name, "id": f.id, "size": len(f.content), "md5": f.md5} for f in server.files]
    files[0].update(changes)
    path.write_text(json.dumps({"article_id": server.article_id, "version": server.version, "files": files}))
    return path


def test_pinned_manifest_match_passes(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files():
        figshare.add(f)
    pinned = write_pinned(tmp_path / "pinned.json", figshare)
    fetch(figshare, tmp_path / "dest", pinned_manifest=pinned)


@pytest.mark.parametrize(
    "changes, expected",
    [({"md5": "f" * 32}, "dataset.zip: figshare article"), ({"name": "old.zip"}, "old.zip: in pinned manifest")],
)
def test_pinned_manifest_mismatch_fails(
    figshare: FakeFigshare, tmp_path: Path, changes: dict[str, Any], expected: str
) -> None:
    for f in dataset_files():
        figshare.add(f)
    pinned = write_pinned(tmp_path / "pinned.json", figshare, **changes)
    with pytest.raises(DownloadError, match="dataset version changed") as err:
        fetch(figshare, tmp_path / "dest", pinned_manifest=pinned)
    assert str(err.value).startswith(expected)
    assert figshare.download_requests() == []  # checked before downloading anything


def test_listing_of_another_version_is_refused(tmp_path: Path) -> None:
    stale = {"id": 1, "name": "old_dataset.zip", "size": 3, "computed_md5": "0" * 32}
    with FakeFigshare(dataset_files(), extra_version_files=[stale]) as server:
        with pytest.raises(DownloadError, match="old_dataset.zip: in the metadata of article"):
            fetch(server, tmp_path)


def test_hostile_archive_is_not_extracted(figshare: FakeFigshare, tmp_path: Path) -> None:
    members = dict(DATASET)
    members["../../escaped.txt"] = b"x"
    figshare.add(FakeFile("dataset.zip", zip_bytes(members)))
    dest = tmp_path / "dest"
    with pytest.raises(DatasetError, match="escapes the target"):
        fetch(figshare, dest)
    assert not (dest / "extracted").exists() and not list(dest.glob(".extracted*"))
    assert not list(tmp_path.rglob("escaped.txt"))


def test_extraction_cap_applies_to_the_fetch(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files():
        figshare.add(f)
    with pytest.raises(DatasetError, match="cap of 1000 bytes"):
        fetch(figshare, tmp_path, max_extract_bytes=1000)
    assert not (tmp_path / "extracted").exists()


@pytest.mark.parametrize(
    "members, expected",
    [
        ({"CCA/Annotations/x.txt": b"x"}, "no directory in the extracted download"),
        ({f"{d}/{m}/x": b"x" for d in ("A", "B") for m in ("Annotations", "raw_images_for_model")}, "several"),
    ],
)
def test_dataset_root_must_be_unique(
    figshare: FakeFigshare, tmp_path: Path, members: dict[str, bytes], expected: str
) -> None:
    figshare.add(FakeFile("dataset.zip", zip_bytes(members)))
    with pytest.raises(DatasetError, match=expected):
        fetch(figshare, tmp_path)
    assert not (tmp_path / "extracted").exists()


def test_macos_shadow_tree_is_not_a_second_root(figshare: FakeFigshare, tmp_path: Path) -> None:
    members = dict(DATASET)
    members.update({f"__MACOSX/CCA/{m}/._x": b"x" for m in ("Annotations", "raw_images_for_model")})
    figshare.add(FakeFile("dataset.zip", zip_bytes(members)))
    assert fetch(figshare, tmp_path) == tmp_path / "extracted" / "CCA"


# -- command line --------------------------------------------------------------------------------------------------


def one_error_line(stderr: str, command: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"ctcbench {command}: error: ") and "Traceback" not in stderr
    return lines[0]


def test_fetch_dataset_cli_writes_pointer(figshare: FakeFigshare, tmp_path: Path) -> None:
    for f in dataset_files():
        figshare.add(f)
    dest, pointer = tmp_path / "dest", tmp_path / "dataset.json"
    argv = [
        "fetch-dataset",
        "--api",
        figshare.api,
        "--dest",
        str(dest),
        "--pointer",
        str(pointer),
        "--retry-delay",
        "0.001",
        "--pinned-manifest",
        str(tmp_path / "not-committed-yet.json"),
        "--max-extract-bytes",
        "1M",
    ]
    assert main(argv) == 0
    data = json.loads(pointer.read_text())
    assert data["root"] == str((dest / "extracted" / "CCA").resolve()) and data["source"] == "figshare"
    assert data["details"] == {
        "article": figshare.article_id,
        "version": figshare.version,
        "manifest": str((dest / "manifest.json").resolve()),
    }


def test_fetch_dataset_cli_failure_is_one_line(
    figshare: FakeFigshare, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for f in dataset_files(wrong_md5=True):
        figshare.add(f)
    pointer = tmp_path / "dataset.json"
    argv = [
        "fetch-dataset",
        "--api",
        figshare.api,
        "--dest",
        str(tmp_path / "dest"),
        "--pointer",
        str(pointer),
        "--retries",
        "1",
        "--retry-delay",
        "0.001",
    ]
    assert main(argv) == 1
    line = one_error_line(capsys.readouterr().err, "fetch-dataset")
    assert "dataset.zip" in line and "md5 mismatch" in line
    assert not pointer.exists()


def make_root(path: Path, *dirs: str) -> Path:
    for d in dirs:
        (path / d).mkdir(parents=True)
    return path


def test_stage_local_writes_pointer(tmp_path: Path) -> None:
    root = make_root(tmp_path / "copy", "Annotations", "raw_images_for_model")
    pointer = tmp_path / "dataset.json"
    assert main(["stage-local-dataset", "--root", str(root), "--pointer", str(pointer)]) == 0
    data = json.loads(pointer.read_text())
    assert data == {"root": str(root.resolve()), "source": "local", "details": {}}


@pytest.mark.parametrize(
    "dirs, expected",
    [
        (None, "dataset root does not exist"),
        (("Annotations",), "missing raw_images_for_model/"),
        ((), "missing Annotations/, raw_images_for_model/"),
    ],
)
def test_stage_local_rejects_bad_roots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dirs: tuple[str, ...] | None, expected: str
) -> None:
    root = tmp_path / "copy"
    if dirs is not None:
        make_root(root, *dirs)
        root.mkdir(exist_ok=True)
    pointer = tmp_path / "dataset.json"
    assert main(["stage-local-dataset", "--root", str(root), "--pointer", str(pointer)]) == 1
    line = one_error_line(capsys.readouterr().err, "stage-local-dataset")
    assert expected in line and str(root) in line and "dataset.source: synth" in line
    assert not pointer.exists()
