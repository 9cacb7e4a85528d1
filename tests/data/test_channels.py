"""Channel composition per setting: shapes, channel order and values, for both readers and both consumers."""

import cv2
import numpy as np
import pytest

from ctcbench.data.channels import (
    canonical_pair,
    channel_count,
    classifier_input,
    detector_input,
    minmax_float,
    minmax_uint8,
    read_hoechst,
    read_pair,
)
from ctcbench.data.imageio import write_tiff
from ctcbench.data.layout import DatasetLayout
from ctcbench.errors import ConfigError, DatasetError
from ctcbench.protocol import CORRECTED, FAITHFUL

RNG = np.random.default_rng(3)
BF_FILE = RNG.integers(2000, 6000, (20, 30), dtype=np.uint16)  # gray brightfield
FL_FILE = RNG.integers(0, 3000, (20, 30, 3), dtype=np.uint16)  # file order red, green, blue(Hoechst)


@pytest.fixture()
def layout(tmp_path):
    layout = DatasetLayout(tmp_path)
    write_tiff(layout.brightfield("r06c04f01p01"), BF_FILE)
    write_tiff(layout.fluorescence("r06c04f01p01"), FL_FILE)
    return layout


def test_opencv_reader_pair_is_opencv_read(layout):
    bf, fl = read_pair(layout, "r06c04f01p01", "opencv")
    np.testing.assert_array_equal(bf, cv2.imread(str(layout.brightfield("r06c04f01p01"))))
    # canonical fluorescence order: Hoechst (file blue), green, red (file red)
    np.testing.assert_array_equal(fl[..., 0], ((FL_FILE[..., 2].astype(int) + 128) // 257).astype(np.uint8))
    np.testing.assert_array_equal(fl[..., 2], ((FL_FILE[..., 0].astype(int) + 128) // 257).astype(np.uint8))


def test_native_reader_pair_keeps_depth_and_uses_same_channel_meaning(layout):
    bf, fl = read_pair(layout, "r06c04f01p01", "native")
    assert bf.shape == (20, 30, 1) and bf.dtype == np.uint16
    np.testing.assert_array_equal(bf[..., 0], BF_FILE)
    np.testing.assert_array_equal(fl, FL_FILE[..., ::-1])


@pytest.mark.parametrize("reader", ["opencv", "native"])
def test_classifier_settings_shapes_and_values(layout, reader):
    bf, fl = read_pair(layout, "r06c04f01p01", reader)
    bf3 = bf if bf.shape[2] == 3 else np.repeat(bf, 3, axis=2)
    only_bf = classifier_input(bf, fl, "bf")
    assert only_bf.shape == (20, 30, 3) and only_bf.dtype == np.float32
    np.testing.assert_array_equal(only_bf, bf3)  # no scaling of any kind (docs/protocol.md#classifier-input)
    hoechst = classifier_input(bf, fl, "bf_hoechst")
    assert hoechst.shape == (20, 30, 3)
    np.testing.assert_array_equal(hoechst[..., :2], bf3[..., :2])
    np.testing.assert_array_equal(hoechst[..., 2], fl[..., 0])  # Hoechst overwrites the third BF channel
    fluo = classifier_input(bf, fl, "bf_fluo")
    assert fluo.shape == (20, 30, 6)
    np.testing.assert_array_equal(fluo[..., :3], bf3)
    np.testing.assert_array_equal(fluo[..., 3:], fl)


def test_four_channel_hoechst_option(layout):
    bf, fl = read_pair(layout, "r06c04f01p01", "native")
    four = classifier_input(bf, fl, "bf_hoechst", hoechst_channels=4)
    assert four.shape == (20, 30, 4)
    np.testing.assert_array_equal(four[..., 3], fl[..., 0])
    np.testing.assert_array_equal(four[..., 2], bf[..., 0])
    assert channel_count("bf_hoechst", 4) == 4 and channel_count("bf_fluo") == 6
    # The faithful protocol with only its Hoechst defect corrected appends Hoechst to the detectors' input too.
    detector = detector_input(bf, fl, "bf_hoechst", FAITHFUL.replace(hoechst_channels=4))
    assert detector.shape == (20, 30, 4)
    np.testing.assert_array_equal(detector[..., 3], minmax_uint8(fl[..., :1])[..., 0])


def test_uint8_detector_scaling(layout):
    bf, fl = read_pair(layout, "r06c04f01p01", "opencv")
    out = detector_input(bf, fl, "bf_fluo", FAITHFUL)
    assert out.shape == (20, 30, 6) and out.dtype == np.float32
    # one min/max over the three BF channels, then x255 and truncation, as the original loader
    ref_bf = (cv2.normalize(bf.astype(np.float32), None, 0, 1, cv2.NORM_MINMAX, cv2.CV_32F) * 255).astype(np.uint8)
    np.testing.assert_array_equal(out[..., :3], ref_bf)
    assert out[..., :3].min() == 0 and out[..., :3].max() in (254, 255)
    # fluorescence scaled jointly: the dimmest channel does not reach 255 on its own
    ref_fl = (cv2.normalize(fl.astype(np.float32), None, 0, 1, cv2.NORM_MINMAX, cv2.CV_32F) * 255).astype(np.uint8)
    np.testing.assert_array_equal(out[..., 3:], ref_fl)
    hoechst = detector_input(bf, fl, "bf_hoechst", FAITHFUL)
    ref_h = minmax_uint8(fl[..., :1])[..., 0]
    np.testing.assert_array_equal(hoechst[..., 2], ref_h)  # Hoechst scaled on its own
    np.testing.assert_array_equal(hoechst[..., :2], ref_bf[..., :2])
    assert np.all(out == np.floor(out))  # quantised to integers


def test_float_detector_scaling_is_exact(layout):
    bf, fl = read_pair(layout, "r06c04f01p01", "native")
    out = detector_input(bf, fl, "bf", CORRECTED)
    expected = (BF_FILE - BF_FILE.min()) * (255.0 / (BF_FILE.max() - BF_FILE.min()))
    np.testing.assert_allclose(out[..., 0], expected, rtol=1e-6)
    assert not np.all(out == np.floor(out))
    assert np.all(minmax_float(np.full((3, 3, 1), 7)) == 0)  # constant image: no division by zero


def test_rgb_brightfield_with_the_native_reader():
    same = np.repeat(BF_FILE[..., None], 3, axis=2)
    bf, _ = canonical_pair(same, FL_FILE, "native")
    assert bf.shape == (20, 30, 1) and bf.dtype == np.uint16
    different = np.stack([BF_FILE, BF_FILE // 2, BF_FILE // 4], axis=2)
    bf, _ = canonical_pair(different, FL_FILE, "native")
    np.testing.assert_allclose(bf[..., 0], different.mean(axis=2), rtol=1e-6)


def test_bad_inputs(layout, tmp_path):
    with pytest.raises(ConfigError, match="unknown setting"):
        channel_count("fluo_only")
    write_tiff(layout.fluorescence("r07c04f01p01"), BF_FILE)
    write_tiff(layout.brightfield("r07c04f01p01"), BF_FILE)
    with pytest.raises(DatasetError, match="fluorescence needs 3"):
        read_pair(layout, "r07c04f01p01", "native")
    write_tiff(layout.fluorescence("r08c04f01p01"), FL_FILE[:10])
    write_tiff(layout.brightfield("r08c04f01p01"), BF_FILE)
    with pytest.raises(DatasetError, match="registered pixel to pixel"):
        read_pair(layout, "r08c04f01p01", "opencv")


@pytest.mark.parametrize("reader", ["opencv", "native"])
def test_the_hoechst_channel_alone_is_the_pairs_and_needs_no_brightfield(layout, reader):
    expected = read_pair(layout, "r06c04f01p01", reader)[1][..., 0]
    layout.brightfield("r06c04f01p01").unlink()
    hoechst = read_hoechst(layout, "r06c04f01p01", reader)
    assert hoechst.shape == (20, 30) and hoechst.dtype == expected.dtype
    np.testing.assert_array_equal(hoechst, expected)
    write_tiff(layout.fluorescence("r07c04f01p01"), BF_FILE)
    if reader == "native":  # the OpenCV-style read makes three channels of a gray file, as OpenCV does
        with pytest.raises(DatasetError, match="fluorescence needs 3"):
            read_hoechst(layout, "r07c04f01p01", reader)
