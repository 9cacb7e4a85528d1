"""Detection stage: Faster R-CNN, FCOS and DINO through MMDetection 3.3 (docs/protocol.md#detectors).

Modules: `spec` (a run as plain data; no torch), `targets` (paths for the rules), `configs` (mmdet configs
generated in code), `registry` (our dataset, loading transform and data preprocessor registered in mmdet),
`weights` (staged, checksummed pretrained weights), `train`, `predict`, `predictions` (the predictions.json
format), `metrics` and `evaluate` (AP50 and best F1 of the reference evaluator, without mmdet); `nucleus` and
`nucleus_predictions`, the classical nucleus detector (OpenCV, no training, no mmdet). run.json fields come from
`ctcbench.provenance`. Installation and formats: README.md here.
"""
