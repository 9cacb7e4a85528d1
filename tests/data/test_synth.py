"""The synthetic twin: release layout, determinism, counts, crops, test annotations, intensities, class signal."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import tifffile

from ctcbench.cli import main
from ctcbench.data.imageio import read_native, read_opencv
from ctcbench.data.layout import (
    CLASSES,
    CROP_NAME_RE,
    IMAGE_ID_RE,
    MODALITIES,
    DatasetLayout,
    crop_name,
    parse_crop_name,
)
from ctcbench.data.pointer import read_pointer
from ctcbench.data.synth import SUMMARY_NAME, TwinConfig, generate_twin
from ctcbench.data.synth.annotate import expert_boxes, priority_nms
from ctcbench.data.synth.cells import sample_appearance
from ctcbench.data.synth.style import patient_style
from ctcbench.data.synth_dataset_cli import parse_images
from ctcbench.data.voc import read_voc
from ctcbench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

SPLITS = ("train", "val", "test")


def tiny_config(**overrides) -> TwinConfig:
    values = dict(
        image_size=128,
        images_per_patient={"r06": 4, "r07": 4, "r08": 3},
        test_per_patient=1,
        cells_per_image=6.0,
        cell_radius=9.0,
    )
    values.update(overrides)
    return TwinConfig.demo(**values)


@pytest.fixture(scope="module")
def demo_twin(tmp_path_factory):
    root = tmp_path_factory.mktemp("twin") / "CTC"
    config = TwinConfig.demo()
    summary = generate_twin(root, config, progress=False)
    return DatasetLayout(root), config, summary


def box_iou(a, b) -> float:
    """Independent IoU of (xmin, ymin, xmax, ymax) boxes, for checking the union."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def all_ids(layout: DatasetLayout) -> dict[str, list[str]]:
    return {split: layout.read_split(split) for split in SPLITS}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): digest(p) for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- layout


def test_every_split_id_has_images_and_annotations(demo_twin):
    layout, _, _ = demo_twin
    for split, ids in all_ids(layout).items():
        assert ids, split
        for image_id in ids:
            assert layout.brightfield(image_id).is_file()
            assert layout.fluorescence(image_id).is_file()
            if split == "test":
                assert not layout.trainval_xml(image_id).exists(), "test ground truth lives under Annotations/test"
                for annotator in ("Expert1", "Expert2", "Unioned"):
                    assert layout.test_xml(image_id, annotator).is_file()
            else:
                assert layout.trainval_xml(image_id).is_file()
    assert layout.expert_csv.is_file()
    assert (layout.root / SUMMARY_NAME).is_file()


def test_file_names_follow_the_release(demo_twin):
    layout, _, _ = demo_twin
    ids = [i for split in all_ids(layout).values() for i in split]
    assert all(IMAGE_ID_RE.match(i) for i in ids)
    assert {p.stem for p in (layout.images_dir / "brightfield").iterdir()} == set(ids)
    assert {p.stem for p in (layout.images_dir / "fluorescence").iterdir()} == set(ids)
    assert all(p.suffix == ".tiff" for p in layout.images_dir.rglob("*") if p.is_file())
    crops = list(layout.cells_dir.rglob("*.tiff"))
    assert crops and all(CROP_NAME_RE.match(p.stem) for p in crops)
    assert {p.relative_to(layout.cells_dir).parts[:3] for p in crops} <= {
        (s, m, c) for s in ("train", "val") for m in MODALITIES for c in CLASSES
    }


def test_image_formats(demo_twin):
    layout, config, _ = demo_twin
    image_id = layout.read_split("train")[0]
    with tifffile.TiffFile(layout.brightfield(image_id)) as tif:
        page = tif.pages[0]
        assert page.dtype == np.uint16 and page.shape == (config.image_size,) * 2
        assert page.photometric == tifffile.PHOTOMETRIC.MINISBLACK
    with tifffile.TiffFile(layout.fluorescence(image_id)) as tif:
        page = tif.pages[0]
        assert page.dtype == np.uint16 and page.shape == (config.image_size, config.image_size, 3)
        assert page.photometric == tifffile.PHOTOMETRIC.RGB


def test_boxes_are_tight_integers_inside_the_image(demo_twin):
    layout, config, _ = demo_twin
    xmls = list((layout.annotations_dir).rglob("*.xml"))
    assert xmls
    for path in xmls:
        annotation = read_voc(path)
        assert (annotation.width, annotation.height) == (config.image_size, config.image_size)
        for box in annotation.objects:
            coords = (box.xmin, box.ymin, box.xmax, box.ymax)
            assert all(float(v).is_integer() for v in coords)
            assert 0 <= box.xmin < box.xmax <= config.image_size
            assert 0 <= box.ymin < box.ymax <= config.image_size


# ---------------------------------------------------------------- counts


def test_counts_per_patient_and_split(demo_twin):
    layout, config, summary = demo_twin
    ids = all_ids(layout)
    flat = [i for split in ids.values() for i in split]
    assert len(flat) == len(set(flat)) == sum(config.images_per_patient.values())
    for patient, total in config.images_per_patient.items():
        per_split = {s: sum(i.startswith(patient) for i in ids[s]) for s in SPLITS}
        assert sum(per_split.values()) == total
        assert per_split["test"] == config.test_per_patient
        assert per_split["val"] == round(config.val_fraction * (total - config.test_per_patient))
        assert summary["images_per_patient"][patient] == per_split
    assert summary["images"] == {**{s: len(ids[s]) for s in SPLITS}, "total": len(flat)}


def test_summary_counts_match_annotations(demo_twin):
    layout, _, summary = demo_twin
    for split in ("train", "val"):
        names = [o.name for i in layout.read_split(split) for o in read_voc(layout.trainval_xml(i)).objects]
        assert {c: names.count(c) for c in CLASSES} == summary["cells"][split]
        assert summary["crops"][split] == len(names)
        assert all(summary["cells"][split][c] > 0 for c in CLASSES)
    for annotator, count in summary["test_boxes"].items():
        boxes = sum(len(read_voc(layout.test_xml(i, annotator)).objects) for i in layout.read_split("test"))
        assert boxes == count


def test_expert_csv(demo_twin):
    layout, _, _ = demo_twin
    with layout.expert_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["image_id", "split", "annotators"]
    splits = {i: s for s, ids in all_ids(layout).items() for i in ids}
    assert {r["image_id"]: r["split"] for r in rows} == splits
    for row in rows:
        names = row["annotators"].split(";")
        assert set(names) <= {"A1", "A2", "A3"}
        assert len(names) == (2 if row["split"] == "test" else 1)
        if row["split"] == "test":
            assert names[0] == "A1"


def test_hidden_class_of_unknown_cells_is_recorded(demo_twin):
    layout, _, summary = demo_twin
    for split in ("train", "val"):
        expected = {
            crop_name(i, index, obj.int_coords())
            for i in layout.read_split(split)
            for index, obj in enumerate(read_voc(layout.trainval_xml(i)).objects)
            if obj.name == "U"
        }
        truth = summary["unknown_truth"][split]
        assert set(truth) == expected
        assert set(truth.values()) == {"R", "G"}
        assert {c: list(truth.values()).count(c) for c in ("R", "G")} == summary["unknown_hidden"][split]


# ---------------------------------------------------------------- crops


def test_crops_are_exact_slices_of_the_raw_images(demo_twin):
    layout, _, _ = demo_twin
    crops = 0
    for split in ("train", "val"):
        for image_id in layout.read_split(split):
            objects = read_voc(layout.trainval_xml(image_id)).objects
            images = {m: read_native(layout.image(m, image_id)) for m in MODALITIES}
            for index, obj in enumerate(objects):
                box = obj.int_coords()
                name = crop_name(image_id, index, box)
                assert parse_crop_name(name) == (image_id, index, box)
                xmin, ymin, xmax, ymax = box
                for modality in MODALITIES:
                    crop = read_native(layout.cell_crop(split, modality, obj.name, name))
                    assert crop.dtype == np.uint16
                    np.testing.assert_array_equal(crop, images[modality][ymin:ymax, xmin:xmax])
                crops += 1
    assert crops == len(list(layout.cells_dir.rglob("*.tiff"))) // 2


def test_crops_are_optional(tmp_path):
    summary = generate_twin(tmp_path / "twin", tiny_config(write_crops=False), progress=False)
    assert not (tmp_path / "twin" / "raw_cell_images").exists()
    assert summary["crops"] == {"train": 0, "val": 0}


# ---------------------------------------------------------------- test annotations


def test_union_is_the_priority_nms_of_the_experts(demo_twin):
    layout, _, summary = demo_twin
    for image_id in layout.read_split("test"):
        boxes = {
            a: [o.int_coords() for o in read_voc(layout.test_xml(image_id, a)).objects]
            for a in ("Expert1", "Expert2", "Unioned")
        }
        names = {o.name for a in boxes for o in read_voc(layout.test_xml(image_id, a)).objects}
        assert names <= {"R"}
        e1, e2, union = boxes["Expert1"], boxes["Expert2"], boxes["Unioned"]
        assert len(union) >= max(len(e1), len(e2))
        assert set(e1) <= set(union), "the experienced annotator's boxes always survive"
        for box in e2:
            assert box in union or any(box_iou(box, b) > 0.5 for b in e1)
        for i, a in enumerate(union):
            assert all(box_iou(a, b) <= 0.5 for b in union[i + 1 :])
    assert summary["test_boxes"]["Unioned"] <= summary["cells"]["test"]["R"]


def test_the_experienced_expert_misses_fewer_cells():
    config = TwinConfig.demo()
    rng = np.random.default_rng(0)
    style = patient_style(0, 6)
    cells = [replace(sample_appearance(rng, "R", True, config, style), cx=30.0, cy=30.0) for _ in range(2000)]
    boxes = [(20, 20, 40, 40)] * len(cells)
    drawn = [
        expert_boxes(rng, cells, boxes, config.expert_miss_rates[i], config.expert_jitter_px[i], 64) for i in (0, 1)
    ]
    assert len(cells) > len(drawn[0]) > len(drawn[1])
    for expert in drawn:
        assert all(0 <= b[0] < b[2] <= 64 and 0 <= b[1] < b[3] <= 64 for b in expert)
        assert max(abs(v - 20) for b in expert for v in b[:2]) <= 10


def test_priority_nms_hand_case():
    first = [(0, 0, 10, 10), (50, 50, 60, 60)]
    second = [(1, 1, 11, 11), (30, 30, 40, 40), (0, 0, 10, 30)]
    # (1,1,11,11) overlaps (0,0,10,10) with IoU 81/119 > 0.5 -> dropped; (0,0,10,30) has IoU 1/3 -> kept.
    assert priority_nms([first, second]) == [(0, 0, 10, 10), (50, 50, 60, 60), (30, 30, 40, 40), (0, 0, 10, 30)]
    assert priority_nms([second, first])[0] == (1, 1, 11, 11)


# ---------------------------------------------------------------- determinism


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    config = tiny_config(seed=7)
    generate_twin(tmp_path / "a", config, progress=False)
    generate_twin(tmp_path / "b", config, progress=False)
    generate_twin(tmp_path / "c", tiny_config(seed=8), progress=False)
    a, b, c = (DatasetLayout(tmp_path / n) for n in "abc")
    image_id = a.read_split("train")[0]
    for pick in (
        lambda layout: layout.brightfield(image_id),
        lambda layout: layout.fluorescence(image_id),
        lambda layout: layout.trainval_xml(image_id),
        lambda layout: layout.test_xml(layout.read_split("test")[0], "Unioned"),
        lambda layout: layout.split_file("train"),
        lambda layout: layout.expert_csv,
    ):
        assert digest(pick(a)) == digest(pick(b))
    assert tree_digests(a.root) == tree_digests(b.root)
    assert digest(a.brightfield(image_id)) != digest(c.brightfield(image_id))
    assert digest(a.fluorescence(image_id)) != digest(c.fluorescence(image_id))


def test_output_does_not_depend_on_worker_count(tmp_path):
    config = tiny_config(seed=3)
    generate_twin(tmp_path / "serial", config, progress=False, workers=1)
    generate_twin(tmp_path / "parallel", config, progress=False, workers=2)
    assert tree_digests(tmp_path / "serial") == tree_digests(tmp_path / "parallel")


def test_images_do_not_depend_on_how_many_there_are(tmp_path):
    small = tiny_config(images_per_patient={"r06": 3, "r07": 3, "r08": 3})
    large = tiny_config(images_per_patient={"r06": 6, "r07": 3, "r08": 3})
    generate_twin(tmp_path / "s", small, progress=False)
    generate_twin(tmp_path / "l", large, progress=False)
    image_id = "r07c04f02p01"
    assert digest(DatasetLayout(tmp_path / "s").brightfield(image_id)) == digest(
        DatasetLayout(tmp_path / "l").brightfield(image_id)
    )


# ---------------------------------------------------------------- intensities and class signal


def test_intensities_are_dark_like_the_release(demo_twin):
    layout, _, _ = demo_twin
    bf_mean, bf_std, fl_mean, fl_max = [], [], [], []
    for image_id in layout.read_split("train"):
        bf = read_opencv(layout.brightfield(image_id))[:, :, 0].astype(float)
        fl = read_opencv(layout.fluorescence(image_id)).astype(float)  # [Hoechst, green, red]
        bf_mean.append(bf.mean())
        bf_std.append(bf.std())
        fl_mean.append(fl.mean(axis=(0, 1)))
        fl_max.append(fl.max(axis=(0, 1)))
        assert 3000 < read_native(layout.brightfield(image_id)).mean() < 4500
    assert 12 <= np.mean(bf_mean) <= 17
    assert 2.5 <= np.mean(bf_std) <= 4.5
    hoechst, green, red = np.mean(fl_mean, axis=0)
    assert 0.1 <= hoechst <= 2 and 0.5 <= green <= 4 and 0.5 <= red <= 4
    assert np.all(np.max(fl_max, axis=0) >= 20), "cells must be bright against the dark background"


def test_fluorescence_carries_the_class(demo_twin):
    layout, _, _ = demo_twin
    means: dict[str, list[np.ndarray]] = {c: [] for c in CLASSES}
    background = []
    for split in ("train", "val"):
        for image_id in layout.read_split(split):
            fl = read_opencv(layout.fluorescence(image_id)).astype(float)  # [Hoechst, green, red]
            background.append(np.median(fl, axis=(0, 1)))
            for obj in read_voc(layout.trainval_xml(image_id)).objects:
                xmin, ymin, xmax, ymax = obj.int_coords()
                means[obj.name].append(fl[ymin:ymax, xmin:xmax].mean(axis=(0, 1)))
    r, g, u = (np.array(means[c]) for c in CLASSES)
    hoechst_bg = np.mean(background, axis=0)[0]
    assert r[:, 2].mean() > 3 * r[:, 1].mean() and np.mean(r[:, 2] > r[:, 1]) > 0.9
    assert g[:, 1].mean() > 3 * g[:, 2].mean() and np.mean(g[:, 1] > g[:, 2]) > 0.9
    assert u[:, 2].mean() < 0.3 * r[:, 2].mean() and u[:, 1].mean() < 0.3 * g[:, 1].mean()
    for cells in (r, g, u):
        assert cells[:, 0].mean() > hoechst_bg + 0.5, "every cell has a Hoechst-stained nucleus"


def test_full_size_image(tmp_path):
    config = TwinConfig.paper(images_per_patient={"r06": 1}, test_per_patient=0, write_crops=False)
    summary = generate_twin(tmp_path / "full", config, progress=False)
    layout = DatasetLayout(tmp_path / "full")
    (image_id,) = layout.read_split("train")
    assert image_id == "r06c04f01p01"
    assert read_native(layout.brightfield(image_id)).shape == (1080, 1080, 1)
    assert read_native(layout.fluorescence(image_id)).shape == (1080, 1080, 3)
    objects = read_voc(layout.trainval_xml(image_id)).objects
    assert 40 <= len(objects) <= 110 and sum(summary["cells"]["train"].values()) == len(objects)
    assert all(0 <= o.xmin < o.xmax <= 1080 and 0 <= o.ymin < o.ymax <= 1080 for o in objects)


# ---------------------------------------------------------------- config and CLI


def test_config_presets_and_round_trip():
    paper = TwinConfig.paper()
    assert paper.image_size == 1080 and sum(paper.images_per_patient.values()) == 1207
    assert paper.id_width == 3
    demo = TwinConfig.demo(seed=4)
    assert demo.seed == 4 and demo.id_width == 2
    assert TwinConfig.from_dict(json.loads(json.dumps(demo.to_dict()))) == demo
    with pytest.raises(ConfigError):
        TwinConfig.from_dict({**demo.to_dict(), "colour": "blue"})
    with pytest.raises(ConfigError):
        TwinConfig.demo(test_per_patient=8)  # r08 has only 8 images
    with pytest.raises(ConfigError):
        TwinConfig.demo(images_per_patient={"r09": 3})
    with pytest.raises(ConfigError):
        TwinConfig.demo(field_width=1, images_per_patient={"r06": 12, "r07": 12, "r08": 12})


def test_parse_images():
    assert parse_images("r06=5, r08=2") == {"r06": 5, "r08": 2}
    for bad in ("r06", "r09=3", "r06=x", ""):
        with pytest.raises(ConfigError):
            parse_images(bad)


def test_cli_writes_the_pointer_after_the_twin(tmp_path):
    root, pointer = tmp_path / "data" / "twin", tmp_path / "dataset.json"
    argv = ["synth-dataset", "--root", str(root), "--pointer", str(pointer), "--seed", "5", "--image-size", "128"]
    argv += ["--images", "r06=3,r07=3,r08=2", "--test-per-patient", "1", "--no-crops"]
    assert main(argv) == 0
    record = read_pointer(pointer)
    assert record.source == "synth" and Path(record.root) == root.resolve()
    config = TwinConfig.from_dict(record.details)
    assert config.seed == 5 and config.image_size == 128 and not config.write_crops
    assert config.images_per_patient == {"r06": 3, "r07": 3, "r08": 2}
    assert len(record.layout.read_split("test")) == 3
    # Nothing half-written is left beside the dataset.
    assert sorted(p.name for p in root.parent.iterdir()) == ["twin"]


def test_the_config_block_makes_a_subset_sized_paper_twin():
    """dataset.synth of the smoke preset: the paper's generator and images, a few per patient, each patient with a
    train, a val and a test image; counts left unset keep the generator preset's."""
    from ctcbench.config import load
    from ctcbench.data.synth.plan import plan_images
    from ctcbench.data.synth_dataset_cli import add_arguments, config_from_args, config_options

    synth = load(ROOT / "config.yaml", {"preset": "smoke"})["dataset"]["synth"]
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    options = ["--root", "x", "--pointer", "y", *config_options(synth).split()]
    config = config_from_args(parser.parse_args(options))
    assert config == TwinConfig.paper(images_per_patient={"r06": 3, "r07": 3, "r08": 3}, test_per_patient=1,
                                      val_fraction=0.5)  # fmt: skip
    assert config.image_size == 1080 and config.cells_per_image == TwinConfig.paper().cells_per_image
    splits = Counter((plan.patient, plan.split) for plan in plan_images(config))
    assert splits == {(patient, split): 1 for patient in ("r06", "r07", "r08") for split in ("train", "val", "test")}
    demo = load(ROOT / "config.yaml", {"preset": "demo"})["dataset"]["synth"]
    assert config_options(demo) == "--preset demo --seed 0 --image-size 256"


def test_regenerating_replaces_an_earlier_twin(tmp_path):
    root = tmp_path / "twin"
    generate_twin(root, tiny_config(seed=1), progress=False)
    generate_twin(root, tiny_config(seed=2, images_per_patient={"r06": 2, "r07": 2, "r08": 2}), progress=False)
    assert json.loads((root / SUMMARY_NAME).read_text())["config"]["seed"] == 2
    assert len(list((root / "raw_images_for_model" / "brightfield").iterdir())) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["twin"]


def test_refuses_to_overwrite_a_foreign_directory(tmp_path, capsys):
    root = tmp_path / "precious"
    root.mkdir()
    (root / "notes.txt").write_text("keep me")
    argv = ["synth-dataset", "--root", str(root), "--pointer", str(tmp_path / "p.json"), "--images", "r06=2"]
    argv += ["--test-per-patient", "1"]
    assert main(argv) == 1
    assert "not a synthetic twin" in capsys.readouterr().err
    assert (root / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "p.json").exists()


# ---------------------------------------------------------------- learnability


def test_twin_check_cli(demo_twin, tmp_path):
    layout, _, _ = demo_twin
    out, table = tmp_path / "check.json", tmp_path / "check.md"
    assert main(["twin-check", "--root", str(layout.root), "--out", str(out), "--markdown", str(table)]) == 0
    report = json.loads(out.read_text())
    assert set(report["settings"]) == {"bf", "bf_hoechst", "bf_fluo"}
    assert report["n_train"] == sum(report_counts for report_counts in demo_twin[2]["cells"]["train"].values())
    assert report["settings"]["bf_fluo"]["auroc"] > 0.95
    assert report["settings"]["bf"]["auroc"] > 0.55
    assert "| bf_hoechst |" in table.read_text()


def test_settings_keep_the_papers_order(tmp_path):
    """About 10 s: a twin big enough (~1,700 cells) for AUROC differences of a few points to be real."""
    from ctcbench.data.synth.learnability import check

    config = TwinConfig.demo(
        seed=11, images_per_patient={"r06": 50, "r07": 50, "r08": 24}, val_fraction=0.35, write_crops=False
    )
    generate_twin(tmp_path / "twin", config, progress=False, workers=2)
    report = check(DatasetLayout(tmp_path / "twin"))
    auroc = {name: metrics["auroc"] for name, metrics in report["settings"].items()}
    assert 0.65 <= auroc["bf"] <= 0.88
    assert auroc["bf_hoechst"] >= auroc["bf"] + 0.02
    assert auroc["bf_fluo"] >= 0.95 and auroc["bf_fluo"] >= auroc["bf_hoechst"] + 0.05
