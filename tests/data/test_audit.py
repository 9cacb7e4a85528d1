"""`ctcbench audit-dataset`: the facts of docs/dataset.md#facts-to-verify checked on a tiny synthetic twin with
released crops."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ctcbench.cli import main
from ctcbench.data.audit import CONSISTENT, NOT_CHECKABLE, NOT_CONSISTENT, audit_dataset, check_patients
from ctcbench.data.imageio import read_native, write_tiff
from ctcbench.data.layout import DatasetLayout, parse_crop_name
from ctcbench.data.pointer import write_pointer

PAPER_TABLE1 = Path(__file__).resolve().parents[2] / "resources" / "paper" / "table1_dataset.csv"


@pytest.fixture
def twin(crop_twin) -> DatasetLayout:
    return crop_twin


def audit(layout: DatasetLayout, **kwargs):
    report = audit_dataset(layout, crops_per_split=kwargs.pop("crops", 0), progress=False, **kwargs)
    return report, {c.key: c for c in report.checks}


def crop_files(layout: DatasetLayout, split: str, modality: str, label: str) -> list[Path]:
    return sorted((layout.cells_dir / split / modality / label).glob("*.tiff"))


def rel(layout: DatasetLayout, path: Path) -> str:
    return str(path.relative_to(layout.root))


def example_files(check, kind: str) -> list[str]:
    return [e["file"] for e in check.data["examples"].get(kind, [])]


def run_cli(pointer: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "audit-dataset",
            "--dataset",
            str(pointer),
            "--json",
            str(out / "audit.json"),
            "--md",
            str(out / "audit.md"),
            *extra,
        ]
    )


# --------------------------------------------------------------------------------------------------------------
# 1. Released crops


def test_twin_crops_are_all_exact(twin):
    report, checks = audit(twin)
    crops = checks["crops"]
    assert crops.verdict == CONSISTENT
    for split in ("train", "val"):
        stats = crops.data["splits"][split]
        assert stats["available"] == stats["sampled"] == stats["exact"] > 0
        assert stats["shape_mismatch"] == stats["pixel_mismatch"] == stats["missing_raw"] == 0
        assert stats["label_mismatch"] == stats["box_mismatch"] == stats["label_unchecked"] == 0
    inventory = crops.data["inventory"]
    assert inventory["unexpected_folders"] == [] and inventory["test_crop_files"] == 0
    # every annotated train/val object has one crop per modality
    for split in ("train", "val"):
        for modality in ("brightfield", "fluorescence"):
            assert inventory["files"][split][modality] == inventory["xml_objects"][split]
    assert crops.data["examples"] == {}


def test_sample_is_seeded_and_capped(twin):
    _, first = audit(twin, crops=5, seed=3)
    _, again = audit(twin, crops=5, seed=3)
    assert first["crops"].data["splits"]["train"]["sampled"] == 5
    assert first["crops"].data == again["crops"].data


def test_tampered_pixel_and_size_are_detected(twin):
    pixel_file = crop_files(twin, "train", "brightfield", "R")[0]
    native = read_native(pixel_file)[..., 0]  # 16-bit gray
    native[0, 0] ^= 0x8000  # the high byte changes by 128: what OpenCV keeps
    write_tiff(pixel_file, native)
    size_file = crop_files(twin, "val", "fluorescence", "G")[0]
    write_tiff(size_file, read_native(size_file)[:-1])  # one row short

    _, checks = audit(twin)
    crops = checks["crops"]
    assert crops.verdict == NOT_CONSISTENT
    train, val = crops.data["splits"]["train"], crops.data["splits"]["val"]
    assert (train["pixel_mismatch"], train["shape_mismatch"], train["exact"]) == (1, 0, train["sampled"] - 1)
    assert train["max_abs_diff"] == 128
    assert (val["pixel_mismatch"], val["shape_mismatch"], val["exact"]) == (0, 1, val["sampled"] - 1)
    assert example_files(crops, "pixel_mismatch") == [rel(twin, pixel_file)]
    assert example_files(crops, "shape_mismatch") == [rel(twin, size_file)]
    detail = crops.data["examples"]["shape_mismatch"][0]["detail"]
    _, _, (xmin, ymin, xmax, ymax) = parse_crop_name(size_file.name.split(".")[0])
    assert f"{ymax - ymin - 1}x{xmax - xmin}" in detail and f"gives {ymax - ymin}x{xmax - xmin}" in detail


def test_crop_cut_one_pixel_off_is_recognised(twin):
    """A crop cut at VOC 1-based corners (one pixel up and left) is found as a shifted slice."""
    candidates = crop_files(twin, "train", "brightfield", "G")
    path = next(p for p in candidates if min(parse_crop_name(p.stem)[2][:2]) >= 1)
    image_id, _, (xmin, ymin, xmax, ymax) = parse_crop_name(path.stem)
    raw = read_native(twin.brightfield(image_id))[..., 0]
    write_tiff(path, raw[ymin - 1 : ymax - 1, xmin - 1 : xmax - 1])
    _, checks = audit(twin)
    train = checks["crops"].data["splits"]["train"]
    assert train["pixel_mismatch"] == 1 and train["shifted_matches"] == {"dx=-1,dy=-1": 1}
    assert "dx=-1, dy=-1" in checks["crops"].data["examples"]["pixel_mismatch"][0]["detail"]


def test_crop_in_the_wrong_class_folder(twin):
    path = crop_files(twin, "train", "brightfield", "R")[0]
    moved = twin.cells_dir / "train" / "brightfield" / "U" / path.name
    path.rename(moved)
    _, checks = audit(twin)
    crops = checks["crops"]
    assert crops.verdict == NOT_CONSISTENT
    assert crops.data["splits"]["train"]["label_mismatch"] == 1
    assert crops.data["splits"]["train"]["exact"] == crops.data["splits"]["train"]["sampled"]  # pixels still agree
    assert example_files(crops, "label_mismatch") == [rel(twin, moved)]
    assert crops.data["inventory"]["unpaired"]["train"]["brightfield_only"] == 1


def test_unparsable_name_and_missing_raw(twin):
    first, second = crop_files(twin, "val", "brightfield", "U")[:2]
    first.rename(first.with_name("cell_7.tiff"))
    image_id = parse_crop_name(second.stem)[0]
    twin.brightfield(image_id).unlink()
    _, checks = audit(twin)
    val = checks["crops"].data["splits"]["val"]
    assert val["unparsable_name"] == 1
    assert val["missing_raw"] >= 1  # every sampled crop of that image
    assert "raw_cell_images/val/brightfield/U/cell_7.tiff" in example_files(checks["crops"], "unparsable_name")


def test_crops_in_another_nesting_are_not_checkable(twin):
    """The paper's own description: raw_cell_images/{R,G,U}/ without split or modality folders."""
    for label in ("R", "G", "U"):
        target = twin.cells_dir / label
        target.mkdir()
        for path in crop_files(twin, "train", "brightfield", label):
            path.rename(target / path.name)
    for split in ("train", "val"):
        shutil.rmtree(twin.cells_dir / split)
    _, checks = audit(twin)
    crops = checks["crops"]
    assert crops.verdict == NOT_CHECKABLE
    assert crops.data["inventory"]["unexpected_folders"] == ["G", "R", "U"]
    assert "outside the expected" in "\n".join(crops.findings)


def test_crop_whose_cell_index_is_past_the_xml(twin):
    path = crop_files(twin, "val", "fluorescence", "R")[0]
    image_id, cell, box = parse_crop_name(path.stem)
    renamed = path.with_name(f"{image_id}_{cell + 500}_{'_'.join(map(str, box))}.tiff")
    path.rename(renamed)
    _, checks = audit(twin)
    crops = checks["crops"]
    assert crops.verdict == NOT_CONSISTENT
    assert crops.data["splits"]["val"]["box_mismatch"] == 1
    assert example_files(crops, "box_mismatch") == [rel(twin, renamed)]
    assert "objects" in crops.data["examples"]["label_mismatch"][0]["detail"]


def test_without_raw_cell_images_is_not_checkable_and_exits_0(twin, tmp_path):
    shutil.rmtree(twin.cells_dir)
    pointer = write_pointer(tmp_path / "dataset.json", twin.root, "synth")
    assert pointer.root == str(twin.root.resolve())
    out = tmp_path / "out"
    assert run_cli(tmp_path / "dataset.json", out) == 0
    data = json.loads((out / "audit.json").read_text())
    assert data["verdicts"]["crops"] == NOT_CHECKABLE
    assert data["verdicts"]["split_lines"] == CONSISTENT
    md = (out / "audit.md").read_text()
    assert "No `raw_cell_images/` folder" in md
    assert "**Verdict: not checkable here.**" in md


# --------------------------------------------------------------------------------------------------------------
# 2. Patients


def test_patient_counts_equal_a_hand_count(twin):
    _, checks = audit(twin, crops=1)
    counts = checks["patients"].data["counts"]
    hand: dict[str, dict[str, int]] = {}
    for split in ("train", "val", "test"):
        lines = [line.strip() for line in (twin.annotations_dir / f"{split}.txt").read_text().splitlines()]
        hand[split] = {p: sum(line[:3] == p for line in lines) for p in ("r06", "r07", "r08")}
    hand["train+val"] = {p: hand["train"][p] + hand["val"][p] for p in hand["train"]}
    assert counts == hand
    assert checks["patients"].verdict == NOT_CONSISTENT  # a tiny twin is not the release
    assert checks["patients"].data["matches"] == {"train": "no", "train+val": "no"}


def _ids(per_patient: dict[str, int], offset: int = 0) -> list[str]:
    return [f"{p}c04f{offset + i:04d}p01" for p, n in per_patient.items() for i in range(n)]


def test_table6_counts_matched_in_train_plus_val():
    ids = {"train": _ids({"r06": 440, "r07": 450, "r08": 77}), "val": _ids({"r06": 53, "r07": 53, "r08": 14}, 1000)}
    check = check_patients(ids)
    assert check.verdict == CONSISTENT
    assert check.data["matches"] == {"train": "no", "train+val": "assumed order"}
    assert "train+val" in check.meaning


def test_table6_counts_in_another_patient_order():
    ids = {"train": _ids({"r06": 503, "r07": 493, "r08": 91}), "val": []}
    check = check_patients(ids)
    assert check.verdict == NOT_CONSISTENT
    assert check.data["other_order"]["train"] == {"1st": "r07", "2nd": "r06", "3rd": "r08"}


# --------------------------------------------------------------------------------------------------------------
# 3-5. Test ids, image format, split lines


def test_test_ids_and_annotator_coverage(twin):
    _, checks = audit(twin, crops=1)
    test = checks["test_ids"]
    assert test.verdict == CONSISTENT
    assert test.data["in_trainval"] == 0
    assert all(v["missing"] == 0 for v in test.data["annotators"].values())

    test_ids = (twin.annotations_dir / "test.txt").read_text().split()
    shutil.copy(twin.test_xml(test_ids[0], "Unioned"), twin.trainval_xml(test_ids[0]))  # a hand copy: same boxes
    twin.test_xml(test_ids[1], "Expert2").unlink()
    _, checks = audit(twin, crops=1)
    test = checks["test_ids"]
    assert test.data["in_trainval"] == 1 and test.data["trainval_vs_unioned"]["same_R_boxes"] == 1
    assert test.data["annotators"]["Expert2"]["missing"] == 1
    assert test.data["annotators"]["Expert2"]["missing_examples"] == [test_ids[1]]
    assert test.verdict == NOT_CONSISTENT and "Expert2" in test.meaning


def test_test_xml_in_trainval_that_differs_from_unioned(twin):
    test_ids = (twin.annotations_dir / "test.txt").read_text().split()
    train_id = (twin.annotations_dir / "train.txt").read_text().split()[0]
    shutil.copy(twin.trainval_xml(train_id), twin.trainval_xml(test_ids[0]))  # other boxes, with G and U
    _, checks = audit(twin, crops=1, paper=None)
    test = checks["test_ids"]
    assert test.verdict == NOT_CONSISTENT
    assert test.data["trainval_vs_unioned"]["different_examples"] == [test_ids[0]]


def test_image_format_is_read_from_headers(twin):
    _, checks = audit(twin, crops=1, headers_per_split=2)
    check = checks["image_format"]
    assert check.verdict == CONSISTENT
    groups = check.data["groups"]
    assert groups["image brightfield"]["formats"] == [
        {"dtype": "uint16", "samples": 1, "files": 6, "opencv": groups["image brightfield"]["formats"][0]["opencv"]}
    ]
    assert groups["image fluorescence"]["formats"][0]["samples"] == 3
    assert groups["crop brightfield"]["formats"][0]["files"] == 4  # 2 per crop split
    assert "16-bit" in check.meaning


def test_split_lines_with_extension_are_reported(twin):
    _, checks = audit(twin, crops=1)
    lines = checks["split_lines"]
    assert lines.verdict == CONSISTENT
    assert lines.data["files"]["train"]["field_digits"] == {2: lines.data["files"]["train"]["lines"]}
    val = twin.annotations_dir / "val.txt"
    val.write_text(val.read_text() + "r06c04f99p01.tiff\n")
    _, checks = audit(twin, crops=1)
    lines = checks["split_lines"]
    assert lines.verdict == NOT_CONSISTENT
    assert lines.data["files"]["val"]["extension"] == 1
    number = len(val.read_text().splitlines())
    assert lines.data["examples"]["extension"] == [
        {"file": f"Annotations/val.txt:{number}", "detail": "'r06c04f99p01.tiff'"}
    ]


# --------------------------------------------------------------------------------------------------------------
# CLI


def test_cli_writes_both_files_atomically(twin, tmp_path):
    write_pointer(tmp_path / "dataset.json", twin.root, "synth")
    out = tmp_path / "out"
    out.mkdir()
    (out / "audit.md").write_text("stale\n")
    assert run_cli(tmp_path / "dataset.json", out, "--crops", "10", "--paper-table1", str(PAPER_TABLE1)) == 0
    assert sorted(p.name for p in out.iterdir()) == ["audit.json", "audit.md"]  # no temporary files left
    data = json.loads((out / "audit.json").read_text())
    assert data["format"] == "ctcbench-audit/1" and data["source"] == "synth"
    assert set(data["verdicts"]) == {"crops", "patients", "test_ids", "image_format", "split_lines"}
    assert data["checks"]["crops"]["splits"]["train"]["sampled"] == 10
    assert data["checks"]["crops"]["inventory"]["paper"]["train"] == {"R": 22800, "G": 24862, "U": 24575}
    md = (out / "audit.md").read_text()
    assert md.startswith("# Dataset audit") and "stale" not in md
    assert md.count("**Verdict: ") == 5


@pytest.mark.parametrize(
    "pointer_text", [None, "{not json", '{"source": "synth"}', '{"root": "/nonexistent/ctc", "source": "local"}']
)
def test_unusable_pointer_is_one_line_and_exit_1(tmp_path, capsys, pointer_text):
    pointer = tmp_path / "dataset.json"
    if pointer_text is not None:
        pointer.write_text(pointer_text)
    out = tmp_path / "out"
    assert run_cli(pointer, out) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ctcbench audit-dataset: error: ") and "\n" not in err
    assert not out.exists()


def test_root_without_dataset_folders_is_unusable(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    write_pointer(tmp_path / "dataset.json", tmp_path / "empty", "local")
    assert run_cli(tmp_path / "dataset.json", tmp_path / "out") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no Annotations/" in err[0]
