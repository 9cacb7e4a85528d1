"""`ctcbench reference-update`: rewrite the committed reference from a fresh run (or a finished check's runs).

Commit the result together with the change that moved the numbers, and say in the message why they moved.
The README's demo numbers are generated from the reference in the same step.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from .check_cli import add_common_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        "--from", dest="source", type=Path,
        help="the scratch folder of a finished `reference-check --work DIR` to take the results from instead of "
        "running again",
    )  # fmt: skip
    parser.add_argument(
        "--this-machine", action="store_true",
        help="write this CPU's own copy (tests/reference/machines/<cpu>/) instead of the first reference, for a "
        "CPU whose numerics differ while the code moved no number; the README's numbers stay",
    )  # fmt: skip
    parser.add_argument(
        "--force", action="store_true",
        help="rewrite the first reference although it was made on another CPU (its copy for that CPU must then "
        "be remade there)",
    )  # fmt: skip


def replace_reference(results: Path, target: Path) -> int:
    """Copy a results tree's reference files into `target`, dropping files the tree no longer makes."""
    from .compare import REFERENCE_GLOBS, collect

    for pattern in REFERENCE_GLOBS:
        for stale in target.glob(pattern):
            stale.unlink()
    files = collect(results)
    for name, path in files.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / name)
    return len(files)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run(args: argparse.Namespace) -> None:
    from ..errors import CtcbenchError
    from .configs import by_name
    from .machine import CPU_FILE, MACHINES_DIR, cpu_signature, machine_reference, record_cpu, recorded_cpu
    from .readme import update_readme
    from .regenerate import regenerate, results_root

    work = args.source or Path(tempfile.mkdtemp(prefix="ctcbench-reference-"))
    cpu = (recorded_cpu(work) if args.source else None) or cpu_signature()
    first_cpu = recorded_cpu(args.reference)
    if not args.this_machine and first_cpu not in (None, cpu) and not args.force:
        raise CtcbenchError(
            f"the first reference was made on CPU {first_cpu} and these runs on {cpu}: add this CPU's own copy with "
            "--this-machine, or, when the code moved numbers, --force (and remake the other CPUs' copies there)"
        )
    for configuration in by_name(args.configurations):
        directory = work / configuration.name
        if args.source is None:
            print(f"{configuration.name}: running the DAG ({configuration.description}) in {directory}", flush=True)
            regenerate(configuration, directory, args.cores)
        results = results_root(configuration, directory)
        if not (results / "report.md").is_file():
            raise CtcbenchError(f"{results}: no finished run of {configuration.name} (report.md missing)")
        if args.this_machine:
            target = machine_reference(args.reference, configuration.name, cpu)
        else:
            target = args.reference / configuration.name
        before = _snapshot(target)
        count = replace_reference(results, target)
        print(f"{configuration.name}: {count} files written to {target}")
        if not args.this_machine and _snapshot(target) != before:
            # the numbers moved: other CPUs' copies are stale until remade there
            for stale in sorted((args.reference / MACHINES_DIR).glob(f"*/{configuration.name}")):
                shutil.rmtree(stale)
                print(f"{configuration.name}: removed {stale} (remake it on that CPU with --this-machine)")
    if not args.this_machine:
        record_cpu(args.reference, cpu)
        print(f"{args.reference / CPU_FILE}: the first reference is this CPU's ({cpu})")
        print(f"README.md: demo numbers {'rewritten' if update_readme(args.reference) else 'unchanged'}")
    if args.source is None:
        shutil.rmtree(work, ignore_errors=True)
