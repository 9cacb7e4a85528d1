"""Which files `ctcbench predict` reads (docs/apply.md#naming): brightfield files and their fluorescence partners from
files, folders, globs and a pairs CSV; what cannot be used is skipped with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctcbench.apply.images import find_images, read_pairs
from ctcbench.errors import ConfigError


def touch(*paths: Path) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def found_pairs(found) -> list[tuple[str, str, str | None]]:
    return [(i.image_id, i.brightfield.name, i.fluorescence and i.fluorescence.name) for i in found.images]


def test_the_release_layout_pairs_files_of_one_name(tmp_path):
    root = tmp_path / "release"
    touch(root / "raw_images_for_model" / "brightfield" / "r06c04f01p01.tiff",
          root / "raw_images_for_model" / "fluorescence" / "r06c04f01p01.tiff",
          root / "raw_images_for_model" / "brightfield" / "r06c04f02p01.tiff")  # fmt: skip
    images = root / "raw_images_for_model"
    for argument in (root, images, images / "brightfield"):  # a release root, its image folder, its brightfield folder
        found = find_images([str(argument)], needs_fluorescence=True)
        assert found_pairs(found) == [("r06c04f01p01", "r06c04f01p01.tiff", "r06c04f01p01.tiff")]
        assert found.images[0].fluorescence.parent.name == "fluorescence"
        assert [(s.image_id, s.reason) for s in found.skipped] == [
            ("r06c04f02p01", f"fluorescence partner missing: expected {images / 'fluorescence' / 'r06c04f02p01.tiff'}")
        ]


def test_a_flat_folder_pairs_bf_and_fl_suffixes(tmp_path):
    touch(tmp_path / "a_bf.tiff", tmp_path / "a_fl.tiff", tmp_path / "b.tif", tmp_path / "b_fl.tiff",
          tmp_path / "notes.txt", tmp_path / "c_fl.tif")  # fmt: skip
    found = find_images([str(tmp_path)], needs_fluorescence=True)
    assert found_pairs(found) == [("a", "a_bf.tiff", "a_fl.tiff"), ("b", "b.tif", "b_fl.tiff")]
    assert found.skipped == []


def test_a_brightfield_bundle_reads_no_partner(tmp_path):
    touch(tmp_path / "a_bf.tiff", tmp_path / "b.TIFF")
    found = find_images([str(tmp_path / "*")], needs_fluorescence=False)
    assert found_pairs(found) == [("a", "a_bf.tiff", None), ("b", "b.TIFF", None)]


def test_files_globs_and_what_cannot_be_used(tmp_path):
    touch(tmp_path / "x" / "a_bf.tiff", tmp_path / "y" / "a_bf.tiff", tmp_path / "x" / "a_fl.tiff",
          tmp_path / "x" / "image.png")  # fmt: skip
    arguments = [str(tmp_path / "*" / "a_bf.tiff"), str(tmp_path / "x" / "a_fl.tiff"),
                 str(tmp_path / "x" / "image.png"), str(tmp_path / "nowhere" / "*.tiff"),
                 str(tmp_path / "empty")]  # fmt: skip
    (tmp_path / "empty").mkdir()
    found = find_images(arguments, needs_fluorescence=False)
    assert found_pairs(found) == [("a", "a_bf.tiff", None)] and found.images[0].brightfield.parent.name == "x"
    reasons = {Path(s.path).name: s.reason for s in found.skipped}
    assert reasons == {
        "a_bf.tiff": f"image id a is already that of {tmp_path / 'x' / 'a_bf.tiff'}; rename one of them",
        "a_fl.tiff": "a fluorescence file: give its brightfield file instead",
        "image.png": "not a TIFF (.tif, .tiff)",
        "*.tiff": "no such file or folder, and no brightfield TIFF matches it",
        "empty": "a folder without brightfield TIFFs (.tif, .tiff)",
    }


def test_a_pairs_file_names_both_files(tmp_path):
    touch(tmp_path / "data" / "one.tiff", tmp_path / "data" / "one-fl.tiff", tmp_path / "data" / "two.tiff")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "id,brightfield,fluorescence\n"
        "first,data/one.tiff,data/one-fl.tiff\n"
        "second,data/two.tiff,\n"
        "third,data/three.tiff,data/one-fl.tiff\n"
    )
    found = read_pairs(pairs, needs_fluorescence=True)
    assert found_pairs(found) == [("first", "one.tiff", "one-fl.tiff")]
    assert [(s.image_id, s.reason.split(":")[0]) for s in found.skipped] == [
        ("second", "fluorescence partner missing"),
        ("third", "brightfield file missing"),
    ]
    assert [i.image_id for i in read_pairs(pairs, needs_fluorescence=False).images] == ["first", "second"]


def test_a_pairs_file_without_its_columns_is_an_error(tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("name,file\nfirst,one.tiff\n")
    with pytest.raises(ConfigError, match=r"pairs.csv: columns \['name', 'file'\]; expected id, brightfield"):
        read_pairs(pairs, needs_fluorescence=False)
