"""Analytic FLOPs of the mmcv kernels FlopCounterMode cannot see (mmcv custom ops on GPU, grid_sample and
elementwise code on CPU), recorded by forward hooks while a detector is counted.

* MultiScaleDeformableAttention (DINO's encoder and its decoder's cross-attention): each query samples `points`
  locations on each of `levels` feature maps per head, a bilinear interpolation (4 multiply-adds per channel) then
  weighted by its attention weight (1 more): 10 FLOPs x queries x levels x points x embed_dims. Its linear layers
  (value, offsets, weights, output) are ordinary Linear modules and counted by torch.
* RoIAlign (Faster R-CNN's box head): every output bin averages its sampling points' bilinear interpolations:
  8 FLOPs x channels x bins x samples per bin, the samples `sampling_ratio`^2 per bin, or with `sampling_ratio: 0`
  (mmdet's default) ceil(roi height / bin rows) x ceil(roi width / bin columns), read from the RoIs of the step.

The backward of each is estimated from the gradients it computes: RoIAlign scatters into the features (1 forward),
deformable attention also differentiates the sampling locations and weights (2 forwards). NMS compares boxes and
multiplies nothing of note: left out. On the paper's grid these estimates are 0.4% of the detectors' FLOPs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

BILINEAR_AND_WEIGHT = 10  # FLOPs per sampled point and channel of deformable attention
BILINEAR_SAMPLE = 8  # FLOPs per RoIAlign sample and channel
BACKWARD_FORWARDS = {"MultiScaleDeformableAttention": 2, "RoIAlign": 1}


def deformable_attention_flops(module: nn.Module, query: torch.Tensor) -> int:
    queries = query.shape[0] * query.shape[1]  # (bs, queries) or (queries, bs), as batch_first says
    return BILINEAR_AND_WEIGHT * queries * module.num_levels * module.num_points * module.embed_dims


def roi_align_flops(module: nn.Module, features: torch.Tensor, rois: torch.Tensor) -> int:
    rows, columns = module.output_size
    if module.sampling_ratio > 0:
        samples = module.sampling_ratio**2 * len(rois)
    else:
        scaled = rois[:, 1:].detach().float() * module.spatial_scale
        heights = (scaled[:, 3] - scaled[:, 1]).clamp(min=1.0)
        widths = (scaled[:, 2] - scaled[:, 0]).clamp(min=1.0)
        samples = int((torch.ceil(heights / rows) * torch.ceil(widths / columns)).sum())
    return BILINEAR_SAMPLE * features.shape[1] * rows * columns * samples


class MmcvOpsEstimate:
    """Within `with`: the analytic FLOPs of every mmcv deformable-attention and RoIAlign call of `model`."""

    def __init__(self, model: nn.Module) -> None:
        from mmcv.ops import MultiScaleDeformableAttention, RoIAlign

        self.modules = [m for m in model.modules() if isinstance(m, (MultiScaleDeformableAttention, RoIAlign))]
        self.forward = 0  # FLOPs of the forwards seen
        self.training_step = 0  # the same with their backward
        self._handles: list[Any] = []

    def _record(self, module: nn.Module, args: tuple, kwargs: dict, _output: Any) -> None:
        name = type(module).__name__
        if name == "RoIAlign":
            flops = roi_align_flops(module, args[0], args[1])
        else:
            flops = deformable_attention_flops(module, args[0] if args else kwargs["query"])
        self.forward += flops
        self.training_step += flops * (1 + BACKWARD_FORWARDS[name])

    def __enter__(self) -> MmcvOpsEstimate:
        self._handles = [m.register_forward_hook(self._record, with_kwargs=True) for m in self.modules]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
