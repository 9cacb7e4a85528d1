"""The `opencv` reader against OpenCV itself; the `native` reader keeps full depth and file order."""

import cv2
import numpy as np
import pytest
import tifffile

from ctcbench.data.imageio import read_image, read_native, read_opencv, write_tiff
from ctcbench.errors import DatasetError

RNG = np.random.default_rng(7)
CASES = {
    "gray8": RNG.integers(0, 256, (37, 53), dtype=np.uint8),
    "gray16": RNG.integers(0, 65536, (37, 53), dtype=np.uint16),
    "rgb8": RNG.integers(0, 256, (37, 53, 3), dtype=np.uint8),
    "rgb16": RNG.integers(0, 65536, (37, 53, 3), dtype=np.uint16),
    # the dark, low-range values of the real data, where 8-bit conversion decides everything
    "gray16_dark": RNG.integers(3000, 4500, (37, 53), dtype=np.uint16),
    "rgb16_dark": RNG.integers(0, 900, (37, 53, 3), dtype=np.uint16),
    # every 16-bit value once, so no rounding boundary escapes
    "rgb16_all": np.arange(65536, dtype=np.uint16).reshape(256, 256)[..., None].repeat(3, axis=2),
    "gray16_all": np.arange(65536, dtype=np.uint16).reshape(256, 256),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("compression", [None, "zlib"])
def test_opencv_reader_equals_opencv(tmp_path, name, compression):
    path = tmp_path / f"{name}.tiff"
    array = CASES[name]
    tifffile.imwrite(path, array, photometric="rgb" if array.ndim == 3 else "minisblack", compression=compression)
    expected = cv2.imread(str(path))
    ours = read_opencv(path)
    assert ours.dtype == np.uint8 and ours.shape == expected.shape
    np.testing.assert_array_equal(ours, expected)


def test_opencv_reader_equals_opencv_for_planar_rgb(tmp_path):
    path = tmp_path / "planar.tiff"
    tifffile.imwrite(path, CASES["rgb16"].transpose(2, 0, 1), photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(read_opencv(path), cv2.imread(str(path)))


def test_opencv_reader_reverses_rgb_and_replicates_gray(tmp_path):
    write_tiff(tmp_path / "rgb.tiff", CASES["rgb8"])
    write_tiff(tmp_path / "gray.tiff", CASES["gray8"])
    np.testing.assert_array_equal(read_opencv(tmp_path / "rgb.tiff"), CASES["rgb8"][..., ::-1])
    gray = read_opencv(tmp_path / "gray.tiff")
    for channel in range(3):
        np.testing.assert_array_equal(gray[..., channel], CASES["gray8"])


def test_native_reader_keeps_depth_and_file_order(tmp_path):
    write_tiff(tmp_path / "rgb16.tiff", CASES["rgb16"])
    write_tiff(tmp_path / "gray16.tiff", CASES["gray16"])
    np.testing.assert_array_equal(read_image(tmp_path / "rgb16.tiff", "native"), CASES["rgb16"])
    gray = read_native(tmp_path / "gray16.tiff")
    assert gray.shape == (37, 53, 1) and gray.dtype == np.uint16
    np.testing.assert_array_equal(gray[..., 0], CASES["gray16"])


def test_unreadable_and_missing_files_name_the_file(tmp_path):
    bad = tmp_path / "bad.tiff"
    bad.write_bytes(b"<html>not an image</html>")
    with pytest.raises(DatasetError, match="bad.tiff: not a readable TIFF"):
        read_opencv(bad)
    with pytest.raises(DatasetError, match="missing.tiff: image file missing"):
        read_opencv(tmp_path / "missing.tiff")
    float_image = tmp_path / "float.tiff"
    tifffile.imwrite(float_image, np.zeros((4, 4), np.float32))
    with pytest.raises(DatasetError, match="float.tiff: pixel type float32"):
        read_opencv(float_image)
    with pytest.raises(ValueError, match="unknown image reader"):
        read_image(float_image, "approximate")
