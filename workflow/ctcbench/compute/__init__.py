"""The compute projection (rule `compute`): the GPU cost of a configuration's whole grid, before it runs.

`counts` reads the dataset's size (Table 1), `networks` names every distinct network the plan trains or runs,
`workload` lists the plan's training steps and inference items per network, `flops` counts FLOPs with torch's
FlopCounterMode, `classifiers` and `detectors` count one training step and one inference item of each network,
`mmcv_ops` estimates the mmcv kernels the counter cannot see, `projection` turns FLOPs into GPU-hours and
`report` writes compute.csv and compute.md (docs/experiments.md#compute-projection).
"""
