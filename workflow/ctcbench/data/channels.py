"""Input channels per setting (docs/protocol.md#inputs), for the classifier and for the detectors.

Both image readers (the protocol's `image_read`) first bring an image pair into one canonical form, so that
channel semantics never depend on the reader:

* `bf`: brightfield, H x W x 3 (`opencv`: the three BGR channels OpenCV returns, identical for a gray file) or
  H x W x 1 (`native`: full bit depth, one channel);
* `fl`: fluorescence, H x W x 3 in the order [Hoechst, green/normal, red/cancer] (the file stores R, G, B; the
  OpenCV read reverses it, and the native read reverses it explicitly to match).

Settings: `bf` (Brightfield), `bf_hoechst` (Brightfield + Hoechst), `bf_fluo` (Brightfield + Fluorescence).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DatasetError
from ..protocol import Protocol

SETTINGS: tuple[str, ...] = ("bf", "bf_hoechst", "bf_fluo")
SETTING_TITLES = {"bf": "Brightfield", "bf_hoechst": "Brightfield + Hoechst", "bf_fluo": "Brightfield + Fluorescence"}
SHORT_SETTINGS = {"bf": "BF", "bf_hoechst": "BF+H", "bf_fluo": "BF+FL"}
HOECHST, GREEN, RED = 0, 1, 2  # channel indices of the canonical fluorescence array


def canonical_brightfield(bf_raw: np.ndarray, reader: str) -> np.ndarray:
    """Canonical bf from what `imageio.read_image` with `reader` returned for a brightfield file."""
    if reader == "opencv" or bf_raw.shape[2] != 3:
        return bf_raw  # OpenCV's three BGR channels, or the native single channel
    # An RGB brightfield keeps one channel when all three agree; otherwise its channel mean.
    same = np.array_equal(bf_raw[..., 0], bf_raw[..., 1]) and np.array_equal(bf_raw[..., 0], bf_raw[..., 2])
    return bf_raw[..., :1] if same else bf_raw.mean(axis=2, keepdims=True, dtype=np.float32)


def canonical_fluorescence(fl_raw: np.ndarray, reader: str) -> np.ndarray:
    """Canonical fl ([Hoechst, green, red]) from what `imageio.read_image` with `reader` returned for a fluorescence
    file (stored R, G, B)."""
    if reader == "opencv":
        return fl_raw  # already BGR
    return np.ascontiguousarray(fl_raw[..., ::-1])


def canonical_pair(bf_raw: np.ndarray, fl_raw: np.ndarray, reader: str) -> tuple[np.ndarray, np.ndarray]:
    """Canonical (bf, fl) from what `imageio.read_image` with `reader` returned for the two files."""
    return canonical_brightfield(bf_raw, reader), canonical_fluorescence(fl_raw, reader)


def channel_count(setting: str, hoechst_channels: int = 3) -> int:
    """Number of input channels a model sees for a setting."""
    check_setting(setting, hoechst_channels)
    return {"bf": 3, "bf_hoechst": hoechst_channels, "bf_fluo": 6}[setting]


def check_setting(setting: str, hoechst_channels: int = 3) -> None:
    if setting not in SETTINGS:
        raise ConfigError(f"unknown setting {setting!r}; expected one of {', '.join(SETTINGS)}")
    if hoechst_channels not in (3, 4):
        raise ConfigError(f"hoechst_channels is {hoechst_channels}; expected 3 (as the original) or 4")


def _three_bf(bf: np.ndarray) -> np.ndarray:
    return bf if bf.shape[2] == 3 else np.repeat(bf, 3, axis=2)


def compose(bf: np.ndarray, fl: np.ndarray, setting: str, hoechst_channels: int = 3) -> np.ndarray:
    """Stack canonical channels for a setting; no intensity change (the classifier's input,
    docs/protocol.md#classifier-input).

    BF+Hoechst with 3 channels reproduces the original: Hoechst overwrites the third BF channel. With 4 channels
    the brightfield keeps all three and Hoechst is appended (what the paper's text describes).
    """
    check_setting(setting, hoechst_channels)
    bf3 = _three_bf(bf)
    if setting == "bf":
        return bf3
    if setting == "bf_hoechst":
        if hoechst_channels == 3:
            return np.concatenate([bf3[..., :2], fl[..., HOECHST : HOECHST + 1].astype(bf3.dtype)], axis=2)
        return np.concatenate([bf3, fl[..., HOECHST : HOECHST + 1].astype(bf3.dtype)], axis=2)
    return np.concatenate([bf3, fl.astype(bf3.dtype)], axis=2)


FLUORESCENCE_NAMES = ("Hoechst", "green (normal stain)", "red (cancer stain)")  # the canonical fl order


def channel_names(setting: str, hoechst_channels: int = 3) -> list[str]:
    """What each input channel of a setting holds, in order (the same for the classifier and the detectors): the
    names run through `compose` itself, so they cannot drift from it."""
    bf = np.array([[["brightfield"]]], dtype=object)
    fl = np.array([[FLUORESCENCE_NAMES]], dtype=object)
    return list(compose(bf, fl, setting, hoechst_channels)[0, 0])


def classifier_input(bf: np.ndarray, fl: np.ndarray, setting: str, hoechst_channels: int = 3) -> np.ndarray:
    """Classifier channels as float32 in the units the image reader returned (8-bit or full depth)."""
    return compose(bf, fl, setting, hoechst_channels).astype(np.float32)


def minmax_uint8(image: np.ndarray) -> np.ndarray:
    """The original detector scaling: one min/max over all channels -> [0, 1] -> x255 -> truncate to uint8.

    It is OpenCV's NORM_MINMAX itself, not a re-derivation: its float rounding decides which values land on the
    integer boundaries before truncation, and that changes about 2 % of the output values.
    """
    import cv2  # only this scaling needs OpenCV; imported here so the float path never does

    scaled = cv2.normalize(image.astype(np.float32), None, alpha=0, beta=1, norm_type=cv2.NORM_MINMAX, dtype=cv2.CV_32F)
    return (scaled * 255).astype(np.uint8).reshape(image.shape)  # OpenCV drops a single channel axis


def minmax_float(image: np.ndarray) -> np.ndarray:
    """The same min-max map to [0, 255], in float64, without 8-bit quantisation."""
    image = image.astype(np.float64)
    low, high = image.min(), image.max()
    if high <= low:
        return np.zeros(image.shape, np.float32)
    return ((image - low) * (255.0 / (high - low))).astype(np.float32)


# Protocol.detector_scaling -> the per-image min-max it names (docs/defects.md#defect-20).
DETECTOR_SCALINGS = {"uint8": minmax_uint8, "float": minmax_float}


def detector_input(bf: np.ndarray, fl: np.ndarray, setting: str, protocol: Protocol) -> np.ndarray:
    """Detector channels (docs/protocol.md#detector-input): per-image min-max of BF, of Hoechst on its own, of FL
    jointly, by the protocol's `detector_scaling`; float32 0-255."""
    hoechst_channels = protocol.hoechst_channels
    check_setting(setting, hoechst_channels)
    scale = DETECTOR_SCALINGS[protocol.detector_scaling]
    bf_scaled = scale(_three_bf(bf))
    if setting == "bf":
        out = bf_scaled
    elif setting == "bf_hoechst":
        hoechst = scale(fl[..., HOECHST : HOECHST + 1])
        out = compose(bf_scaled, np.repeat(hoechst, 3, axis=2), setting, hoechst_channels)
    else:
        out = np.concatenate([bf_scaled, scale(fl)], axis=2)
    return out.astype(np.float32)


def read_pair(layout, image_id: str, reader: str) -> tuple[np.ndarray, np.ndarray]:
    """Read an image id's brightfield and fluorescence files with `reader` and return the canonical (bf, fl)."""
    from .imageio import read_image

    bf = read_image(layout.brightfield(image_id), reader)
    fl = read_image(layout.fluorescence(image_id), reader)
    check_partner(bf, fl, layout.fluorescence(image_id))
    return canonical_pair(bf, fl, reader)


def check_partner(bf: np.ndarray, fl: np.ndarray, fl_path) -> None:
    """A fluorescence file fits its brightfield: three channels, the same pixel grid."""
    check_fluorescence(fl, fl_path)
    if bf.shape[:2] != fl.shape[:2]:
        raise DatasetError(
            f"{fl_path}: size {fl.shape[1]}x{fl.shape[0]} differs from its brightfield "
            f"{bf.shape[1]}x{bf.shape[0]}; the two files of an image id must be registered pixel to pixel"
        )


def check_fluorescence(fl: np.ndarray, fl_path) -> None:
    """A fluorescence file has three channels (R, G, B)."""
    if fl.shape[2] != 3:
        raise DatasetError(f"{fl_path}: {fl.shape[2]} channels; fluorescence needs 3 (R, G, B)")


def read_hoechst(layout, image_id: str, reader: str) -> np.ndarray:
    """The Hoechst (nuclear stain) channel of an image id's fluorescence file read with `reader`, H x W, in the
    reader's units; the brightfield file is not read."""
    from .imageio import read_image

    path = layout.fluorescence(image_id)
    fl = read_image(path, reader)
    check_fluorescence(fl, path)
    return canonical_fluorescence(fl, reader)[..., HOECHST]
