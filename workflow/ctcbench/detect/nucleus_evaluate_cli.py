"""`ctcbench nucleus-evaluate`: detection-stage AP50 and best F1 of the classical nucleus detector's predictions, by
the code that evaluates the trained detectors (`ctcbench detect-evaluate`: the same options, the same metrics.json).

A command of its own so that the rule that runs it (nucleus_evaluate) has the name of its command; the results table
tells the record from a trained run's by its run name (plan.runs.ClassicalRun)."""

from __future__ import annotations

from .evaluate_cli import add_arguments, run

__all__ = ["add_arguments", "run"]
