"""Classification stage (docs/protocol.md#classifier, docs/metrics.md#cell-level, docs/experiments.md#embeddings): timm
and torchvision backbones, augmentation, training, cell-level evaluation.

Submodules import torch; this package file does not, so the workflow can plan runs (`schedule`) without it. Other
stages use a trained classifier through one entry point, `scorer.CellScorer` (P(R) of any crops).
"""
