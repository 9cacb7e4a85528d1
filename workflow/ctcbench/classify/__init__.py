"""Classification stage (reference-spec §4-§6): timm backbones, augmentation, training, cell-level evaluation.

Submodules import torch; this package file does not, so the workflow can plan runs (`schedule`) without it.
"""
