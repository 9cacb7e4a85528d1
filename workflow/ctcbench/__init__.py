"""ctcbench: a reproducible benchmark of label-free cancer-cell detection on the CCA organoid dataset."""

__version__ = "0.1.0"
