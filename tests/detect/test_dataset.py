"""The registered dataset and loading transform read the twin exactly as ctcbench.data does."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mmdet")

from mmdet.registry import DATASETS  # noqa: E402
from mmengine.config import Config  # noqa: E402

from ctcbench.data.channels import detector_input, read_pair  # noqa: E402
from ctcbench.data.pointer import read_pointer  # noqa: E402
from ctcbench.data.voc import read_voc  # noqa: E402
from ctcbench.detect import registry  # noqa: E402
from ctcbench.detect.configs import dataset_config, inference_pipeline, train_pipeline  # noqa: E402
from ctcbench.detect.spec import run_spec  # noqa: E402
from ctcbench.protocol import parse  # noqa: E402

registry.ensure_registered()


def build(spec, pointer, split, pipeline):
    layout = read_pointer(pointer).layout
    pipe = pipeline(spec, layout.root)
    return DATASETS.build(Config(dataset_config(spec, layout.root, layout.split_file(split), split, pipe))), layout


@pytest.mark.parametrize("setting", ["bf", "bf_hoechst", "bf_fluo"])
@pytest.mark.parametrize("protocol", ["faithful", "corrected"])
def test_pixels_are_the_detector_input_of_ctcbench_data(twin, demo_config, setting, protocol):
    config = {**demo_config, "protocol": protocol}
    spec = run_spec(config, "fcos", setting, "all", 0)
    data, layout = build(spec, twin, "test", inference_pipeline)
    for index, image_id in enumerate(layout.read_split("test")):
        sample = data[index]
        assert sample["data_samples"].img_id == image_id
        bf, fl = read_pair(layout, image_id, parse(protocol).image_read)
        expected = detector_input(bf, fl, setting, parse(protocol))
        got = sample["inputs"].numpy().transpose(1, 2, 0)
        assert got.dtype == np.float32 and np.array_equal(got, expected)


@pytest.mark.parametrize("protocol,shift", [("faithful", -1), ("corrected", 0)])
def test_training_boxes_are_the_r_boxes_of_trainval_with_the_protocol_shift(twin, demo_config, protocol, shift):
    spec = run_spec({**demo_config, "protocol": protocol}, "faster_rcnn", "bf", "all", 0)
    assert spec.box_shift == shift
    data, layout = build(spec, twin, "train", train_pipeline)
    for index, image_id in enumerate(layout.read_split("train")):
        info = data.get_data_info(index)
        assert info["img_id"] == image_id
        boxes = [b.int_coords() for b in read_voc(layout.trainval_xml(image_id)).boxes_of("R")]
        assert [i["bbox"] for i in info["instances"]] == [[float(c + shift) for c in b] for b in boxes]
        assert all(i["bbox_label"] == 0 for i in info["instances"])


def test_test_ground_truth_comes_from_the_chosen_annotator(twin, demo_config):
    layout = read_pointer(twin).layout
    for annotator in ("Expert1", "Unioned"):
        config = {**demo_config, "dataset": {**demo_config["dataset"], "test_annotator": annotator}}
        spec = run_spec(config, "dino", "bf", "all", 0)
        data, _ = build(spec, twin, "test", inference_pipeline)
        for index, image_id in enumerate(layout.read_split("test")):
            boxes = [list(map(float, b.int_coords())) for b in read_voc(layout.test_xml(image_id, annotator)).objects]
            assert [i["bbox"] for i in data.get_data_info(index)["instances"]] == boxes
