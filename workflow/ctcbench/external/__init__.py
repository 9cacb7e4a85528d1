"""Methods ctcbench did not train, scored exactly as its own (docs/extending.md#external-methods).

A detection method hands in a detections file of the format `detect.predictions` writes (`ctcbench.detections/1`),
a cell classifier a cell-scores file (`ctcbench.cell_scores/1`). `ctcbench score` validates either, reporting every
problem with its image or crop id and field, and evaluates it with the code that evaluates the built-in models; the
config list `external_methods` enters them into the tables and the report.
"""
