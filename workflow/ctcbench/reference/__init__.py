"""The committed reference results and the check that the demo DAG regenerates them.

`tests/reference/<configuration>/` holds the tables (CSV and Markdown) and the figure CSVs that the demo DAG
produced for each named configuration (`configs.CONFIGURATIONS`). `ctcbench reference-check` reruns every
configuration from scratch in a scratch directory and compares what it wrote with the reference, cell by cell;
`ctcbench reference-update` rewrites the reference from such a run.
"""
