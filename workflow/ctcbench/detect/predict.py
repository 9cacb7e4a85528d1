"""Run a trained detector on an image list and write predictions.json keyed by image id.

The model is rebuilt from the config stored in model.pth (not regenerated), so a later change of the generator
cannot silently change an existing run's inference. Every prediction is keyed by the `img_id` that travels
with its image through the pipeline, never by its position in the list.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .. import provenance
from ..data.pointer import read_pointer
from ..data.splits import read_image_list
from ..errors import DatasetError
from .configs import dataset_config, inference_pipeline, inference_steps
from .predictions import ImageDetections, Predictions, write_predictions
from .spec import RunSpec
from .train import MODEL_FORMAT

log = logging.getLogger(__name__)


def load_model(path: Path | str, device: str):
    """The detector saved by `train.save_model`, in eval mode on `device`, and its spec."""
    import torch
    from mmdet.registry import MODELS
    from mmengine.config import Config

    from . import registry

    registry.ensure_registered()
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: trained detector missing; run its training step (rule detect_train)")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise DatasetError(f"{path}: not a ctcbench detector ({MODEL_FORMAT}); retrain it")
    config = json.loads(payload["meta"]["model_config"])
    config["backbone"]["init_cfg"] = None  # the state dict below replaces any initialisation
    model = MODELS.build(Config(config))
    model.load_state_dict(payload["state_dict"])
    model.to(device).eval()
    return model, RunSpec.from_json(payload["meta"]["spec"])


def image_detections(sample: Any) -> ImageDetections:
    """One image's detections from the model's output sample, by descending score, in original pixels."""
    import torch

    instances = sample.pred_instances
    order = torch.argsort(instances.scores, descending=True, stable=True)
    height, width = sample.metainfo["ori_shape"]
    return ImageDetections(
        width=int(width),
        height=int(height),
        boxes=instances.bboxes[order].cpu().numpy().astype(np.float64),
        scores=instances.scores[order].cpu().numpy().astype(np.float64),
    )


class ArrayDetector:
    """A trained detector applied to detector inputs already in memory (new images, `ctcbench predict`): the model,
    resize and packing of `predict`, with the image given instead of read from a dataset root."""

    def __init__(self, model_path: Path | str, device: str) -> None:
        from mmengine.dataset import Compose

        self.model, self.spec = load_model(model_path, device)
        self.steps = Compose(inference_steps(self.spec))

    def detect(self, image_id: str, image: np.ndarray) -> ImageDetections:
        """Detections of one detector input (`channels.detector_input`: float32 H x W x C, 0-255)."""
        import torch
        from mmengine.dataset import pseudo_collate

        from .registry import with_image

        data = self.steps(with_image({"img_id": image_id, "img_path": image_id}, image))
        with torch.no_grad():
            (sample,) = self.model.test_step(pseudo_collate([data]))
        return image_detections(sample)


def detect_images(model, data, batch_size: int = 1, label: str = "predict") -> dict[str, ImageDetections]:
    """Detections of every image of an mmdet dataset built with `inference_pipeline`, keyed by image id, boxes in
    descending score order and original pixels (training's val evaluation scores the same output)."""
    import torch
    from mmengine.dataset import pseudo_collate

    images: dict[str, ImageDetections] = {}
    indices = list(range(len(data)))
    with torch.no_grad(), tqdm(total=len(indices), desc=label, unit="image") as bar:
        for start in range(0, len(indices), batch_size):
            batch = pseudo_collate([data[i] for i in indices[start : start + batch_size]])
            for sample in model.test_step(batch):
                image_id = sample.metainfo["img_id"]
                if image_id in images:
                    raise DatasetError(f"{data.ann_file}: image id {image_id} listed twice; fix the list")
                images[image_id] = image_detections(sample)
            bar.update(len(batch["inputs"]))
    return images


def predict(
    model_path: Path | str,
    dataset: Path | str,
    image_list: Path | str,
    batch_size: int = 1,
    device: str | None = None,
    threads: int = 1,
) -> Predictions:
    """Detections of every image of `image_list`, in original pixel coordinates."""
    import torch
    from mmdet.registry import DATASETS
    from mmengine.config import Config

    torch.set_num_threads(threads)
    if device in (None, "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model, spec = load_model(model_path, device)
    root = read_pointer(dataset).root
    pipeline = inference_pipeline(spec, root)
    data = DATASETS.build(Config(dataset_config(spec, root, image_list, "test", pipeline, annotations=False)))
    started = time.time()
    images = detect_images(model, data, batch_size, f"predict {spec.name}")
    meta: dict[str, Any] = {
        "run": spec.name,
        "detector": spec.detector,
        "setting": spec.setting,
        "trainset": spec.trainset,
        "seed": spec.seed,
        "protocol": spec.protocol,
        "box_shift": spec.box_shift,
        "model_sha256": provenance.file_sha256(model_path),
        "image_list": str(image_list),
        "image_list_sha256": provenance.file_sha256(image_list),
        "images": len(images),
        "device": provenance.device_info(device),
        "versions": provenance.versions(),
        "wall_time_s": round(time.time() - started, 1),
    }
    missing = set(read_image_list(image_list)) - set(images)
    if missing:
        raise DatasetError(f"{image_list}: no predictions for {sorted(missing)[:3]}; rerun inference")
    return Predictions(meta=meta, images=images)


def predict_to_file(out: Path | str, **kwargs: Any) -> Predictions:
    predictions = predict(**kwargs)
    write_predictions(out, predictions)
    log.info(
        "wrote %s (%d images, %d boxes)",
        out,
        len(predictions.images),
        sum(len(v.scores) for v in predictions.images.values()),
    )
    return predictions
