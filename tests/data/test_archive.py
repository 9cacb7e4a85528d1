"""Safe extraction: good archives come out whole, hostile ones are refused with nothing left behind."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from ctcbench.data.archive import extract_archive, extract_into, is_archive, member_path
from ctcbench.errors import DatasetError

FILES = {"data/a.txt": b"alpha\n", "data/sub/b.bin": bytes(range(256)) * 4, "top.txt": b"top\n"}


def make_zip(path: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            zf.writestr(info, data)
    return path


def make_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    mode = "w:gz" if path.name.endswith(("gz", ".tgz")) else "w"
    with tarfile.open(path, mode) as tf:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def tar_member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o644
    return info


def good_archive(folder: Path, suffix: str) -> Path:
    path = folder / f"good{suffix}"
    if suffix == ".zip":
        return make_zip(path, list(FILES.items()))
    return make_tar(path, [(tar_member(name), data) for name, data in FILES.items()])


def assert_extracted(target: Path) -> None:
    for name, data in FILES.items():
        assert (target / name).read_bytes() == data
    leftovers = [p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}.")]
    assert leftovers == []


@pytest.mark.parametrize("suffix", [".zip", ".tar", ".tar.gz", ".tgz"])
def test_extracts_supported_formats(tmp_path: Path, suffix: str) -> None:
    archive = good_archive(tmp_path, suffix)
    target = tmp_path / "out" / "target"
    written = extract_archive(archive, target)
    assert written == sum(len(d) for d in FILES.values())
    assert_extracted(target)


def test_replaces_existing_target(tmp_path: Path) -> None:
    archive = good_archive(tmp_path, ".zip")
    target = tmp_path / "target"
    (target / "stale").mkdir(parents=True)
    extract_archive(archive, target)
    assert not (target / "stale").exists()
    assert_extracted(target)


def test_is_archive() -> None:
    assert all(is_archive(n) for n in ("a.zip", "a.TAR", "a.tar.gz", "a.tgz", "a.tar.xz", "a.tar.bz2"))
    assert not any(is_archive(n) for n in ("a.csv", "a.gz", "a.tiff"))


def test_member_path_normalises_and_refuses(tmp_path: Path) -> None:
    assert member_path(tmp_path, "./a/./b/") == PurePosixPath("a/b")
    assert member_path(tmp_path, "a\\b.txt") == PurePosixPath("a/b.txt")
    assert member_path(tmp_path, "./") is None
    for bad in ("../x", "a/../../x", "/etc/passwd", "C:/x", "..\\x", "a\x00b"):
        with pytest.raises(DatasetError):
            member_path(tmp_path, bad)


def _zip_symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # unix: the mode bits below are meaningful
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def hostile_archives(folder: Path, outside: Path) -> dict[str, tuple[Path, str]]:
    """name -> (archive, offending member); each holds a harmless member before the hostile one."""
    first = ("ok/first.txt", b"harmless\n")
    evil_abs = str(outside / "evil.txt")
    tar_first = (tar_member(first[0]), first[1])
    return {
        "zip-dotdot": (make_zip(folder / "dotdot.zip", [first, ("../evil.txt", b"x")]), "../evil.txt"),
        "zip-absolute": (make_zip(folder / "abs.zip", [first, (evil_abs, b"x")]), evil_abs),
        "zip-symlink": (make_zip(folder / "link.zip", [first, _zip_symlink("ok/link", "/etc/passwd")]), "ok/link"),
        "tar-dotdot": (
            make_tar(folder / "dotdot.tar", [tar_first, (tar_member("a/../../evil.txt"), b"x")]),
            "a/../../evil.txt",
        ),
        "tgz-absolute": (make_tar(folder / "abs.tgz", [tar_first, (tar_member(evil_abs), b"x")]), evil_abs),
        "tar-symlink": (
            make_tar(folder / "sym.tar", [tar_first, (tar_member("ok/ln", tarfile.SYMTYPE, "/etc"), b"")]),
            "ok/ln",
        ),
        "tar-hardlink": (
            make_tar(folder / "hard.tar", [tar_first, (tar_member("ok/hl", tarfile.LNKTYPE, "/etc/passwd"), b"")]),
            "ok/hl",
        ),
        "tar-device": (
            make_tar(folder / "dev.tar", [tar_first, (tar_member("ok/dev", tarfile.CHRTYPE), b"")]),
            "ok/dev",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "zip-dotdot",
        "zip-absolute",
        "zip-symlink",
        "tar-dotdot",
        "tgz-absolute",
        "tar-symlink",
        "tar-hardlink",
        "tar-device",
    ],
)
def test_hostile_member_is_refused_and_nothing_is_left(tmp_path: Path, case: str) -> None:
    archives, work, outside = tmp_path / "archives", tmp_path / "work", tmp_path / "outside"
    for d in (archives, work, outside):
        d.mkdir()
    archive, member = hostile_archives(archives, outside)[case]
    target = work / "target"
    with pytest.raises(DatasetError) as err:
        extract_archive(archive, target)
    message = str(err.value)
    assert str(archive) in message and repr(member) in message and "\n" not in message
    assert list(work.iterdir()) == []  # no target, no scratch directory, no escaped file
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz"])
def test_size_cap_refuses_oversized_archive(tmp_path: Path, suffix: str) -> None:
    archive = good_archive(tmp_path, suffix)
    work = tmp_path / "work"
    with pytest.raises(DatasetError, match="cap of 100 bytes") as err:
        extract_archive(archive, work / "target", max_bytes=100)
    assert "data/sub/b.bin" in str(err.value)
    assert list(work.iterdir()) == []


def test_zip_cap_is_checked_before_anything_is_written(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", [("small.txt", b"x"), ("huge.bin", bytes(1 << 20))])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(DatasetError, match="zip bomb"):
        extract_into(archive, scratch, max_bytes=1000)
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz"])
def test_compression_ratio_refuses_a_bomb(tmp_path: Path, suffix: str) -> None:
    zeros = bytes(4 << 20)  # 4 MiB of zeros deflate to a few KiB: a ratio near 1000
    path = tmp_path / f"bomb{suffix}"
    if suffix == ".zip":
        archive = make_zip(path, [("zeros.bin", zeros)])
    else:
        archive = make_tar(path, [(tar_member("zeros.bin"), zeros)])
    work = tmp_path / "work"
    with pytest.raises(DatasetError, match=r"past 200 times the archive's .* \(a zip bomb or a corrupt archive\)"):
        extract_archive(archive, work / "target")
    assert list(work.iterdir()) == []
    assert extract_archive(archive, work / "target", max_ratio=5000) == len(zeros)


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz"])
def test_free_space_caps_extraction_before_the_disk_fills(
    tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ctcbench.data import archive as archive_module

    real = archive_module.shutil.disk_usage

    def little_free(path: object) -> object:
        usage = real(path)
        return type(usage)(usage.total, usage.used, 1000)  # a tenth (100 B) is kept for the workflow

    monkeypatch.setattr(archive_module.shutil, "disk_usage", little_free)
    archive = good_archive(tmp_path, suffix)
    work = tmp_path / "work"
    with pytest.raises(DatasetError, match=r"past the 900 B free in .* \(keeping 100 B for the workflow\)") as err:
        extract_archive(archive, work / "target")
    assert "data/sub/b.bin" in str(err.value) and "download_dir" in str(err.value)
    assert list(work.iterdir()) == []


def test_a_full_disk_during_extraction_is_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from ctcbench.data import archive as archive_module
    from ctcbench.errors import DiskFullError

    class FullDisk(io.FileIO):
        def write(self, data: object) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(archive_module, "open", lambda path, mode: FullDisk(path, mode.replace("b", "")), raising=False)
    archive = good_archive(tmp_path, ".tar")
    work = tmp_path / "work"
    expected = r"good.tar: no space left on the disk of .*/work after 0 B unpacked"
    with pytest.raises(DiskFullError, match=expected) as err:
        extract_archive(archive, work / "target")
    assert "\n" not in str(err.value) and "partial extraction is removed" in str(err.value)
    assert list(work.iterdir()) == []


def test_corrupt_archive_names_the_file_and_the_fix(tmp_path: Path) -> None:
    archive = good_archive(tmp_path, ".zip")
    archive.write_bytes(archive.read_bytes()[:40])
    with pytest.raises(DatasetError, match="corrupt or incomplete") as err:
        extract_archive(archive, tmp_path / "target")
    assert str(archive) in str(err.value)
    assert not (tmp_path / "target").exists()


def test_duplicate_member_is_refused(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "dup.tar", [(tar_member("a.txt"), b"1"), (tar_member("a.txt"), b"2")])
    with pytest.raises(DatasetError, match="already present"):
        extract_archive(archive, tmp_path / "target")
    assert not (tmp_path / "target").exists()
