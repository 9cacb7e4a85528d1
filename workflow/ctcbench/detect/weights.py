"""Pretrained weights as explicit, checksummed inputs under resources/weights/ (docs/experiments.md#pretrained-weights).

Model hubs cannot be reached from every machine the benchmark runs on, and the COCO DINO checkpoint's original
URL is dead, so no weight is ever fetched implicitly (no `torchvision://` or `open-mmlab://` URIs): `stage`
copies a user-supplied file or downloads a configured URL once, verifies it, and the training rules take the
staged file as an input. A file is verified by its full sha256 when the config gives one, otherwise by the
sha256 prefix that torch hub and OpenMMLab put in their file names (`resnet50-0676ba61.pth`).
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DownloadError
from ..io import atomic_path, atomic_torch_save
from ..provenance import file_sha256 as sha256_of

log = logging.getLogger(__name__)

HASH_PREFIX_RE = re.compile(r"-([0-9a-f]{8,64})\.(?:pth|pt|ckpt)$")
WEIGHT_TITLES = {
    "imagenet_pytorch": "ImageNet ResNet-50 (torchvision, for Faster R-CNN and DINO)",
    "imagenet_caffe": "ImageNet ResNet-50 (caffe/detectron2 style, for FCOS)",
    "coco_dino": "COCO DINO-4scale R50 12-epoch checkpoint of the MMDetection model zoo",
}


def expected_digest(entry: dict[str, Any], key: str) -> str:
    """The full sha256 or the file name's hash prefix that a staged file must match."""
    if entry.get("sha256"):
        return str(entry["sha256"]).lower()
    match = HASH_PREFIX_RE.search(Path(entry["file"]).name)
    if match is None:
        raise ConfigError(
            f"detect.weights.{key}: no sha256 and no hash prefix in the file name {Path(entry['file']).name!r}; "
            "set detect.weights.{key}.sha256 (sha256sum of the file)"
        )
    return match.group(1)


def verify(path: Path | str, entry: dict[str, Any], key: str) -> str:
    """Check a weight file against its configured checksum; returns its full sha256."""
    path = Path(path)
    actual = sha256_of(path)
    expected = expected_digest(entry, key)
    if not actual.startswith(expected):
        raise DownloadError(
            f"{path}: sha256 {actual[:16]}... does not match {expected[:16]}... of detect.weights.{key}; "
            "delete the file and stage the right one (python -m ctcbench detect-weights)"
        )
    return actual


def missing_message(path: Path | str, entry: dict[str, Any], key: str) -> str:
    """One line naming the file and how to stage it."""
    title = WEIGHT_TITLES.get(key, key)
    how = f"download {entry['url']} there" if entry.get("url") else "copy it there (its original URL is dead)"
    return (
        f"{path}: pretrained weights missing ({title}); {how}, or set detect.weights.{key}.source to a local path "
        "or URL and rerun, or set detect.pretrained: false"
    )


def _download(url: str, dest: Path) -> None:
    import requests
    from tqdm import tqdm

    try:
        with requests.get(url, stream=True, timeout=60) as response:
            response.raise_for_status()
            total = int(response.headers.get("content-length", 0)) or None
            with open(dest, "wb") as handle, tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
                for chunk in response.iter_content(1 << 20):
                    handle.write(chunk)
                    bar.update(len(chunk))
    except requests.RequestException as exc:
        raise DownloadError(f"{url}: download failed ({exc}); stage the file by hand (see detect/README.md)") from None


def is_url(source: str) -> bool:
    """A `source` or `url` to download (http or https); anything else is a local path."""
    return re.match(r"^https?://", str(source)) is not None


def local_source(source: str) -> Path:
    return Path(str(source)).expanduser()


def stage(entry: dict[str, Any], key: str, out: Path | str) -> str:
    """Put a verified copy of weights `key` at `out` from its `source` (path or URL) or `url`; returns sha256."""
    out = Path(out)
    source = entry.get("source") or entry.get("url")
    if not source:
        if out.is_file():
            return verify(out, entry, key)
        raise DownloadError(missing_message(out, entry, key))
    with atomic_path(out) as tmp:
        if is_url(source):
            log.info("downloading %s", source)
            _download(str(source), tmp)
        else:
            src = local_source(source)
            if not src.is_file():
                raise DownloadError(f"{src}: detect.weights.{key}.source does not exist; point it at the weight file")
            shutil.copyfile(src, tmp)
        digest = verify(tmp, entry, key)
    log.info("staged %s (sha256 %s)", out, digest)
    return digest


def require(path: Path | str, entry: dict[str, Any], key: str) -> str:
    """The sha256 of a staged weight file, or a one-line error saying how to stage it."""
    path = Path(path)
    if not path.is_file():
        raise DownloadError(missing_message(path, entry, key))
    return verify(path, entry, key)


@contextmanager
def trusted_torch_load() -> Iterator[None]:
    """Let mmengine load its own checkpoints under torch >= 2.6.

    mmengine calls `torch.load` without `weights_only`, which torch now defaults to True; that refuses the
    optimizer and message-hub state mmengine writes into its resumable checkpoints. Inside this block a load that
    leaves the argument unset gets `weights_only=False`. It is used only around files this package wrote or
    verified by checksum.
    """
    import torch

    original = torch.load

    def load(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("weights_only", False)
        return original(*args, **kwargs)

    torch.load = load
    try:
        yield
    finally:
        torch.load = original


def state_dict_of(checkpoint: Any) -> dict[str, Any]:
    """The parameter mapping of a checkpoint that is either a bare state dict or mmengine's {'state_dict': ...}."""
    if isinstance(checkpoint, dict) and isinstance(checkpoint.get("state_dict"), dict):
        return checkpoint["state_dict"]
    return checkpoint


def inflate_stem(weight, channels: int):
    """A pretrained [out, 3, k, k] first conv for `channels` inputs: tiled over channels and scaled by 3/channels.

    Tiling keeps each channel's filter a pretrained one (brightfield copies keep theirs; Hoechst and the other
    fluorescence channels reuse the RGB filters in turn) and the rescaling keeps the response to an input whose
    channels all carry the same image equal to the original's, so the following frozen BN statistics still fit.
    """
    # The classifier's corrected stem uses the same adaptation; one implementation (timm's) serves both.
    from timm.models import adapt_input_conv

    return adapt_input_conv(channels, weight)


def adapt_stem(source: Path | str, dest: Path | str, channels: int) -> Path:
    """Write a copy of a checkpoint whose first conv takes `channels` inputs (see `inflate_stem`)."""
    import torch

    with trusted_torch_load():
        checkpoint = torch.load(source, map_location="cpu")
    state = state_dict_of(checkpoint)
    keys = [k for k in ("conv1.weight", "backbone.conv1.weight") if k in state]
    if not keys:
        raise ConfigError(f"{source}: no conv1.weight or backbone.conv1.weight; not a ResNet checkpoint")
    for key in keys:
        state[key] = inflate_stem(state[key], channels)
    dest = Path(dest)
    atomic_torch_save(dest, checkpoint)
    return dest
