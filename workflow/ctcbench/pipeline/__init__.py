"""The image-level pipeline (docs/protocol.md#image-level-pipeline, Tables 4-6): a detector's boxes re-scored by a
classifier.

`proposals` turns detections into integer boxes and their exact crops, `scoring` gives every proposal
S_cls = P(R) with a trained classifier (scores.json), `fusion` combines S_det and S_cls, and `evaluate` ranks
the fused boxes after NMS with the detection stage's matching and metrics.
"""
