"""`ctcbench reference-check`: regenerate every reference configuration from scratch and compare with the reference.

Exit status 1 and one line per difference (file, row, column, reference value, new value) when anything moved.
The scratch folder is kept when it was given (`--work`) or when the check fails, so the regenerated tree can be
inspected or turned into the new reference (`ctcbench reference-update --from`).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
from pathlib import Path

from ..provenance import REPO_ROOT

log = logging.getLogger(__name__)
REFERENCE_DIR = REPO_ROOT / "tests" / "reference"
TOLERANCES_FILE = "tolerances.yaml"


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by reference-check and reference-update."""
    parser.add_argument(
        "--configurations", nargs="*", default=[], metavar="NAME",
        help="reference configurations to run (default: all: demo-faithful demo-corrected)",
    )  # fmt: skip
    parser.add_argument(
        "--reference", type=Path, default=REFERENCE_DIR, help=f"the reference folder (default: {REFERENCE_DIR})"
    )
    parser.add_argument(
        "--cores", type=int, default=os.cpu_count() or 1,
        help="cores Snakemake may use; results do not depend on it (every job's threads are set by config) "
        "(default: this machine's)",
    )  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--work", type=Path, help="scratch folder for the runs, kept afterwards (default: a new temporary folder)"
    )
    parser.add_argument(
        "--html-report", action="store_true", help="also make each run's Snakemake HTML report (report.html)"
    )


def run_and_compare(args: argparse.Namespace, work: Path) -> bool:
    from .compare import compare_trees, format_differences, load_tolerances
    from .configs import by_name
    from .machine import cpu_signature, record_cpu, reference_for
    from .regenerate import html_report, regenerate, results_root

    tolerances = load_tolerances(args.reference / TOLERANCES_FILE)
    cpu = cpu_signature()
    record_cpu(work, cpu)  # so that `reference-update --from` files the runs under the CPU that made them
    all_equal = True
    for configuration in by_name(args.configurations):
        directory = work / configuration.name
        print(f"{configuration.name}: running the DAG ({configuration.description}) in {directory}", flush=True)
        seconds = regenerate(configuration, directory, args.cores)
        if args.html_report:
            print(f"{configuration.name}: HTML report {html_report(configuration, directory)}", flush=True)
        reference = reference_for(args.reference, configuration.name, cpu)
        own_copy = reference != args.reference / configuration.name
        if own_copy:
            print(f"{configuration.name}: comparing with this CPU's reference ({cpu})", flush=True)
        files, differences = compare_trees(reference, results_root(configuration, directory), tolerances)
        within = sorted(name for name in files if name in tolerances)
        note = f" ({', '.join(within)} compared with the tolerances of {TOLERANCES_FILE})" if within else ""
        if differences:
            all_equal = False
            for line in format_differences(configuration.name, differences):
                print(line, flush=True)
            print(f"{configuration.name}: {len(differences)} differences in {len(files)} files{note}", flush=True)
            if not own_copy:
                print(
                    f"{configuration.name}: this CPU is {cpu} and has no copy of its own; if the code "
                    "moved no number, the difference is this CPU's numerics (tests/reference/README.md: "
                    "`reference-update --this-machine`)",
                    flush=True,
                )
        else:
            print(f"{configuration.name}: {len(files)} files equal to the reference{note} [{seconds / 60:.1f} min]")
    return all_equal


def run(args: argparse.Namespace) -> None:
    from ..errors import CtcbenchError

    keep = args.work is not None
    work = args.work or Path(tempfile.mkdtemp(prefix="ctcbench-reference-"))
    equal = run_and_compare(args, work)
    if not equal:
        raise CtcbenchError(
            f"the regenerated results differ from the reference {args.reference} (above); the runs are in {work}. "
            "If the change is intended, `make update-reference` (or `ctcbench reference-update --from "
            f"{work}`) and commit the new reference with the reason in the message"
        )
    print("reference check: every table and figure CSV equals the committed reference")
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
