"""Dataset validation and the `ctcbench validate-dataset` command (Table 1 itself: test_table1.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tifffile

from ctcbench.cli import main
from ctcbench.data.pointer import write_pointer
from ctcbench.data.validate import ValidationReport, read_tiff_header, validate_dataset
from ctcbench.data.voc import Box

PAPER_TABLE1 = Path(__file__).resolve().parents[2] / "resources" / "paper" / "table1_dataset.csv"
TRAIN_ID = "r06c04f01p01"
VAL_ID = "r07c04f03p01"
TEST_ID = "r08c04f03p01"


def only_error(report: ValidationReport) -> tuple[Path, str]:
    assert len(report.errors) == 1, report.format()
    problem = report.errors[0]
    return problem.path, problem.message


def gray(size: int = 32) -> np.ndarray:
    return np.zeros((size, size), np.uint8)


def rgb(size: int = 32) -> np.ndarray:
    return np.zeros((size, size, 3), np.uint8)


# --------------------------------------------------------------------------------------------------------------
# The valid dataset


def test_tiny_dataset_is_clean(tiny_dataset):
    report = validate_dataset(tiny_dataset.layout, expected_size=32)
    assert report.ok, report.format()
    assert report.warnings == []
    assert report.images_checked == 11


@pytest.mark.parametrize("annotator", ["Expert1", "Expert2", "Unioned"])
def test_every_test_annotator_is_clean(tiny_dataset, annotator):
    assert validate_dataset(tiny_dataset.layout, test_annotator=annotator).ok


def test_header_is_read_without_pixels(tiny_dataset):
    header = read_tiff_header(tiny_dataset.layout.fluorescence(TRAIN_ID))
    assert (header.height, header.width, header.samples) == (32, 32, 3)


# --------------------------------------------------------------------------------------------------------------
# One malformed file -> exactly one error naming it


def break_missing_split(ds):
    ds.layout.split_file("val").unlink()
    return ds.layout.split_file("val"), "split file missing"


def break_empty_split(ds):
    ds.layout.split_file("test").write_text("\n\n")
    return ds.layout.split_file("test"), "empty"


def break_missing_brightfield(ds):
    ds.layout.brightfield(TRAIN_ID).unlink()
    return ds.layout.brightfield(TRAIN_ID), "brightfield image missing"


def break_missing_fluorescence(ds):
    ds.layout.fluorescence(TEST_ID).unlink()
    return ds.layout.fluorescence(TEST_ID), "fluorescence image missing"


def break_missing_xml(ds):
    ds.xml("val", VAL_ID).unlink()
    return ds.xml("val", VAL_ID), "annotation XML missing"


def break_missing_test_xml(ds):
    ds.xml("test", TEST_ID).unlink()
    return ds.xml("test", TEST_ID), "annotation XML missing"


def break_malformed_xml(ds):
    ds.xml("train", TRAIN_ID).write_text("<annotation><object><name>R</name>")
    return ds.xml("train", TRAIN_ID), "not well-formed XML"


def break_box_outside(ds):
    ds.add_object("train", TRAIN_ID, Box("R", xmin=20, ymin=20, xmax=40, ymax=30))
    return ds.xml("train", TRAIN_ID), "outside the 32x32 image"


def break_negative_coordinate(ds):
    ds.add_object("val", VAL_ID, Box("G", xmin=-3, ymin=2, xmax=5, ymax=8))
    return ds.xml("val", VAL_ID), "outside the 32x32 image"


def break_zero_area(ds):
    ds.add_object("train", TRAIN_ID, Box("U", xmin=10, ymin=10, xmax=10, ymax=20))
    return ds.xml("train", TRAIN_ID), "zero or negative area"


def break_unknown_class(ds):
    ds.add_object("train", TRAIN_ID, Box("X", xmin=1, ymin=25, xmax=7, ymax=31))
    return ds.xml("train", TRAIN_ID), "unknown class 'X'"


def break_green_in_test(ds):
    ds.add_object("test", TEST_ID, Box("G", xmin=25, ymin=25, xmax=31, ymax=31))
    return ds.xml("test", TEST_ID), "class 'G' in a test annotation"


def break_duplicate_in_split(ds):
    ds.append_split_line("train", TRAIN_ID)
    return ds.layout.split_file("train"), f"{TRAIN_ID} is listed 2 times"


def break_id_in_two_splits(ds):
    ds.append_split_line("val", TRAIN_ID)
    return ds.layout.split_file("val"), "also in Annotations/train.txt"


def break_bad_id(ds):
    ds.append_split_line("test", "raw_images_for_model/brightfield/r06c04f09p01.tiff")
    return ds.layout.split_file("test"), "is not an image id"


def break_bom_in_split(ds):
    path = ds.layout.split_file("val")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return path, "starts with a UTF-8 byte-order mark (BOM)"


def break_directory_for_image(ds):
    path = ds.layout.brightfield(TRAIN_ID)
    path.unlink()
    path.mkdir()
    return path, "a directory where the brightfield image should be"


def break_one_channel_fluorescence(ds):
    ds.write_images(TRAIN_ID, fl=gray())
    return ds.layout.fluorescence(TRAIN_ID), "fluorescence image has 1 channel"


def break_four_channel_brightfield(ds):
    tifffile.imwrite(ds.layout.brightfield(VAL_ID), np.zeros((32, 32, 4), np.uint8), photometric="rgb")  # RGBA
    return ds.layout.brightfield(VAL_ID), "brightfield image has 4 channel"


def break_float_pixels(ds):
    ds.write_images(TEST_ID, bf=np.zeros((32, 32), np.float32))
    return ds.layout.brightfield(TEST_ID), "pixel type float32"


def break_unreadable_tiff(ds):
    ds.layout.brightfield(TRAIN_ID).write_bytes(b"not a tiff at all")
    return ds.layout.brightfield(TRAIN_ID), "not a readable TIFF"


def break_size_mismatch(ds):
    ds.write_images(VAL_ID, fl=rgb(40))
    return ds.layout.fluorescence(VAL_ID), "fluorescence image is 40x40 but its brightfield image is 32x32"


def break_xml_size(ds):
    annotation = ds.annotation("train", TRAIN_ID)
    annotation.width = annotation.height = 64
    ds.write_annotation("train", TRAIN_ID, annotation)
    return ds.xml("train", TRAIN_ID), "<size> says 64x64 but the image is 32x32"


def break_wrong_size(ds):
    # A consistent 48x48 image (both TIFFs and XML agree) in a dataset expected to be 32x32.
    ds.write_images(TRAIN_ID, bf=gray(48), fl=rgb(48))
    annotation = ds.annotation("train", TRAIN_ID)
    annotation.width = annotation.height = 48
    ds.write_annotation("train", TRAIN_ID, annotation)
    return ds.layout.brightfield(TRAIN_ID), "image is 48x48, expected 32x32"


def break_missing_annotator_dir(ds):
    folder = ds.xml("test", TEST_ID).parent
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    return folder, "directory missing"


MALFORMED: list[Callable] = [
    break_missing_split,
    break_empty_split,
    break_missing_brightfield,
    break_missing_fluorescence,
    break_missing_xml,
    break_missing_test_xml,
    break_malformed_xml,
    break_box_outside,
    break_negative_coordinate,
    break_zero_area,
    break_unknown_class,
    break_green_in_test,
    break_duplicate_in_split,
    break_id_in_two_splits,
    break_bad_id,
    break_bom_in_split,
    break_directory_for_image,
    break_one_channel_fluorescence,
    break_four_channel_brightfield,
    break_float_pixels,
    break_unreadable_tiff,
    break_size_mismatch,
    break_xml_size,
    break_wrong_size,
    break_missing_annotator_dir,
]


@pytest.mark.parametrize("breaker", MALFORMED, ids=lambda f: f.__name__.removeprefix("break_"))
def test_one_malformed_file_gives_one_error_naming_it(tiny_dataset, breaker):
    expected_path, expected_text = breaker(tiny_dataset)
    report = validate_dataset(tiny_dataset.layout, expected_size=32)
    path, message = only_error(report)
    assert path == expected_path
    assert expected_text in message
    formatted = report.format()
    assert str(expected_path.relative_to(tiny_dataset.root)) in formatted
    assert message in formatted


def test_wrong_expected_size_is_reported_per_image(tiny_dataset):
    report = validate_dataset(tiny_dataset.layout, expected_size=1080)
    assert len(report.errors) == 11
    assert all(p.path.parent.name == "brightfield" and "expected 1080x1080" in p.message for p in report.errors)


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1000])  # pixel data follows the header: the header stays readable


def test_truncated_pixels_are_found_by_decoding(tiny_dataset):
    path = tiny_dataset.layout.fluorescence(VAL_ID)
    truncate(path)
    assert validate_dataset(tiny_dataset.layout, check_pixels=False).ok
    found, message = only_error(validate_dataset(tiny_dataset.layout))
    assert found == path and "not a readable TIFF" in message


def test_thread_count_does_not_change_the_report(tiny_dataset):
    truncate(tiny_dataset.layout.fluorescence(VAL_ID))
    truncate(tiny_dataset.layout.brightfield(TRAIN_ID))
    one, four = (validate_dataset(tiny_dataset.layout, threads=n).to_dict() for n in (1, 4))
    assert one == four and len(one["errors"]) == 2


@pytest.mark.parametrize(
    ("bf_rgb", "sixteen_bit"),
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["gray8", "rgb8", "gray16", "rgb16"],
)
def test_each_uniform_format_is_clean(tiny_dataset_in_format, bf_rgb, sixteen_bit):
    ds = tiny_dataset_in_format(bf_rgb=bf_rgb, sixteen_bit=sixteen_bit)
    report = validate_dataset(ds.layout, expected_size=32)
    assert report.ok, report.format()


def test_one_8bit_image_among_16bit_ones_is_named(tiny_dataset_in_format):
    ds = tiny_dataset_in_format(sixteen_bit=True)
    ds.write_images(VAL_ID, bf=gray())
    path, message = only_error(validate_dataset(ds.layout))
    assert path == ds.layout.brightfield(VAL_ID)
    assert "brightfield image is 8-bit but 10 other brightfield images are 16-bit" in message


def test_gray_and_rgb_brightfield_mix_names_the_minority(tiny_dataset):
    ds = tiny_dataset
    ds.write_images(VAL_ID, bf=rgb())
    ds.write_images(TEST_ID, bf=rgb())
    report = validate_dataset(ds.layout)
    assert sorted(p.path for p in report.errors) == sorted(
        [ds.layout.brightfield(VAL_ID), ds.layout.brightfield(TEST_ID)]
    )
    assert all("is 3-channel but 9 other brightfield images are 1-channel" in p.message for p in report.errors)


def test_all_problems_are_reported_at_once(tiny_dataset):
    break_missing_brightfield(tiny_dataset)
    break_green_in_test(tiny_dataset)
    report = validate_dataset(tiny_dataset.layout)
    assert sorted(p.path.name for p in report.errors) == sorted([f"{TRAIN_ID}.tiff", f"{TEST_ID}.xml"])
    formatted = report.format()
    assert "2 errors" in formatted
    assert "brightfield image missing" in formatted and "class 'G' in a test annotation" in formatted


def test_several_bad_boxes_in_one_file_are_grouped(tiny_dataset):
    break_zero_area(tiny_dataset)
    break_unknown_class(tiny_dataset)
    report = validate_dataset(tiny_dataset.layout)
    assert len(report.errors) == 2
    xml_name = str(tiny_dataset.xml("train", TRAIN_ID).relative_to(tiny_dataset.root))
    assert report.format().count(xml_name) == 1  # one heading, two problems under it


def test_orphan_files_are_warnings(tiny_dataset):
    orphan = "r07c04f09p01"
    tiny_dataset.write_images(orphan, bf=gray(), fl=rgb())
    report = validate_dataset(tiny_dataset.layout)
    assert report.ok
    assert sorted(p.path.parent.name for p in report.warnings) == ["brightfield", "fluorescence"]
    assert all(p.path.stem == orphan and "no split file" in p.message for p in report.warnings)
    assert "warning:" in report.format()


def test_missing_root_is_one_error(tmp_path):
    from ctcbench.data.layout import DatasetLayout

    path, message = only_error(validate_dataset(DatasetLayout(tmp_path / "nowhere")))
    assert path == tmp_path / "nowhere" and "not a directory" in message


# --------------------------------------------------------------------------------------------------------------
# Command line


def cli_args(tmp_path: Path, root: Path) -> tuple[list[str], list[Path]]:
    pointer = tmp_path / "dataset.json"
    write_pointer(pointer, root, "synth")
    outputs = [tmp_path / "out" / name for name in ("report.json", "table1.csv", "table1.md")]
    args = [
        "validate-dataset",
        "--dataset",
        str(pointer),
        "--expected-size",
        "32",
        "--report",
        str(outputs[0]),
        "--table1-csv",
        str(outputs[1]),
        "--table1-md",
        str(outputs[2]),
        "--paper-table1",
        str(PAPER_TABLE1),
    ]
    return args, outputs


def test_cli_writes_report_and_tables(tiny_dataset, tmp_path):
    args, outputs = cli_args(tmp_path, tiny_dataset.root)
    assert main(args) == 0
    assert all(path.is_file() for path in outputs)
    report = json.loads(outputs[0].read_text())
    assert report["ok"] is True and report["errors"] == [] and report["warnings"] == []
    test_all = next(r for r in report["counts"] if r["split"] == "test" and r["patient"] == "all")
    assert test_all == {"split": "test", "patient": "all", "images": 3, "R": 6, "G": None, "U": None}


def test_cli_fails_with_the_list_and_writes_nothing(tiny_dataset, tmp_path, capsys):
    break_missing_fluorescence(tiny_dataset)
    break_unknown_class(tiny_dataset)
    args, outputs = cli_args(tmp_path, tiny_dataset.root)
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"raw_images_for_model/fluorescence/{TEST_ID}.tiff" in err
    assert f"Annotations/trainval/{TRAIN_ID}.xml" in err
    assert f"2 problems found in {tiny_dataset.root}; see the list above" in err
    assert not any(path.exists() for path in outputs)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_decodes_every_image_by_default(tiny_dataset, tmp_path, capsys):
    truncate(tiny_dataset.layout.brightfield(TEST_ID))
    args, outputs = cli_args(tmp_path, tiny_dataset.root)
    assert main([*args, "--threads", "2"]) == 1
    assert f"raw_images_for_model/brightfield/{TEST_ID}.tiff" in capsys.readouterr().err
    assert not any(path.exists() for path in outputs)
    assert main([*args, "--headers-only"]) == 0


def test_a_format_mix_can_be_allowed_as_warnings(tiny_dataset):
    tiny_dataset.write_images(VAL_ID, bf=rgb())
    report = validate_dataset(tiny_dataset.layout, allow_mixed_formats=True)
    assert report.ok and [p.path for p in report.warnings] == [tiny_dataset.layout.brightfield(VAL_ID)]


def test_a_truncated_compressed_tiff_is_named_not_a_traceback(tiny_dataset):
    path = tiny_dataset.layout.fluorescence(VAL_ID)
    tifffile.imwrite(path, np.random.default_rng(0).integers(0, 255, (32, 32, 3), np.uint8), compression="zlib")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert validate_dataset(tiny_dataset.layout, check_pixels=False).ok  # the header is intact
    found, message = only_error(validate_dataset(tiny_dataset.layout))
    assert found == path and "not a readable TIFF" in message
