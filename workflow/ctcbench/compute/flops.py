"""FLOPs of one call, counted by torch's FlopCounterMode (docs/experiments.md#compute-projection).

Convention (torch.utils.flop_counter): a multiply-add is 2 FLOPs, and only matrix products, convolutions and
attention kernels are counted (mm, addmm, bmm, baddbmm, convolution and its backward, scaled-dot-product
attention); elementwise work (normalisation, activations, the loss, the optimiser's update) is not, as in model
FLOPs utilisation. A Conv2d(Cin, Cout, k) with an Ho x Wo output is 2 * Cin/groups * Cout * k * k * Ho * Wo FLOPs
per image. Its backward is one forward's worth for the input gradient and one for the weight gradient, each only
when autograd asks for it, so the training step of a network whose input needs no gradient is about 3 forwards.

torch 2.14's formula for the weight gradient of a grouped convolution ignores the groups: a depthwise 7 x 7
convolution over C channels is counted C times over (ConvNeXt's backward came out at 8.9 forwards, EfficientNet's at
50). `count` replaces that formula by the one above.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode, conv_flop_count


def convolution_backward_flops(
    grad_out_shape: Any,
    x_shape: Any,
    w_shape: Any,
    _bias: Any,
    _stride: Any,
    _padding: Any,
    _dilation: Any,
    transposed: bool,
    _output_padding: Any,
    _groups: int,
    output_mask: Any,
    out_shape: Any = None,
    **_: Any,
) -> int:
    """A convolution's backward: its forward's FLOPs once for the input gradient and once for the weight gradient
    (the weight's shape already holds the division by the groups)."""
    forward = conv_flop_count(list(x_shape), list(w_shape), list(grad_out_shape), transposed)
    return forward * (int(output_mask[0]) + int(output_mask[1]))


CORRECTED_FORMULAS = {torch.ops.aten.convolution_backward: convolution_backward_flops}


def counter() -> FlopCounterMode:
    return FlopCounterMode(display=False, custom_mapping=CORRECTED_FORMULAS)


def count(call: Callable[[], Any]) -> int:
    """FLOPs of everything `call` runs (forward and, if it calls it, backward)."""
    with counter() as mode:
        call()
    return int(mode.get_total_flops())
