"""The paper's figures (Figs 7, 8, 10 and 11), drawn from the run records the workflow wrote."""
