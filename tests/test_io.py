"""Atomic writes: complete or absent, and readable like any other file of the user's."""

import os
import stat
from pathlib import Path

import pytest

from ctcbench.io import DIR_MODE, atomic_directory, atomic_path, atomic_write_json, read_json


def test_atomic_files_get_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        import importlib

        import ctcbench.io as io_module

        importlib.reload(io_module)  # FILE_MODE is read at import
        io_module.atomic_write_text(tmp_path / "a.txt", "x")
        assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    finally:
        os.umask(old)
        importlib.reload(io_module)


def test_a_failed_block_leaves_nothing(tmp_path):
    target = tmp_path / "out" / "result.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists() and list(target.parent.iterdir()) == []
    atomic_write_json(target, {"a": 1})
    assert read_json(target) == {"a": 1} and [p.name for p in target.parent.iterdir()] == ["result.json"]


def test_a_full_disk_names_the_file_and_leaves_nothing_behind(tmp_path, monkeypatch):
    import errno

    from ctcbench.errors import DiskFullError
    from ctcbench.io import atomic_torch_save

    def fill_the_disk(self, data):
        with open(self, "wb") as handle:
            handle.write(b"x" * 2048)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", fill_the_disk)
    target = tmp_path / "runs" / "model.pth"
    with pytest.raises(DiskFullError) as info:
        atomic_torch_save(target, {"weights": [1.0, 2.0]})
    message = str(info.value)
    assert message.startswith(f"{target}: no space left on the device (2.0 KiB written before it filled, ")
    assert f"free in {target.parent}); free some space" in message and "\n" not in message
    assert list(target.parent.iterdir()) == []  # neither the result nor its temporary file


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path):
    target = tmp_path / "bundle"
    with atomic_directory(target) as folder:
        (folder / "a.txt").write_text("first")
    with pytest.raises(RuntimeError), atomic_directory(target) as folder:
        (folder / "a.txt").write_text("second")
        raise RuntimeError("killed while writing")
    assert (target / "a.txt").read_text() == "first" and [p.name for p in tmp_path.iterdir()] == ["bundle"]
    with atomic_directory(target) as folder:
        (folder / "b.txt").write_text("third")
    assert [p.name for p in target.iterdir()] == ["b.txt"] and [p.name for p in tmp_path.iterdir()] == ["bundle"]
    assert target.stat().st_mode & 0o777 == DIR_MODE
