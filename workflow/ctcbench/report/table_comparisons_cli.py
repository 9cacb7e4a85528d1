"""`ctcbench table-comparisons`: the paired comparisons a result table declares (report.comparisons), as CSV,
Markdown and HTML, from the metrics of its runs and their per-image records."""

from __future__ import annotations

import argparse
import logging

from .cli_options import add_bootstrap, add_table_inputs, add_table_outputs

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_table_inputs(parser)
    add_bootstrap(parser)
    add_table_outputs(parser, "the comparisons")


def run(args: argparse.Namespace) -> None:
    from ..data.pointer import describe_data, read_pointer
    from ..errors import ConfigError
    from ..markup import write_table
    from ..tables import write_csv
    from .cli_options import bootstrap_of, table_params, table_spec
    from .comparisons import COLUMNS, render_comparisons
    from .intervals import Intervals
    from .results import Results

    spec = table_spec(args.name)
    if spec.comparisons is None:
        raise ConfigError(f"table {args.name!r} declares no paired comparisons (report.table_specs)")
    intervals = Intervals.load(args.per_image, bootstrap_of(args))
    rows, text = render_comparisons(spec, table_params(args.params), Results.load(args.metrics), intervals)
    write_csv(args.csv, rows, COLUMNS)
    write_table(args.md, text, describe_data(read_pointer(args.dataset)), spec.comparisons_title)
    log.info("%s:\n%s", spec.comparisons_title, text)
