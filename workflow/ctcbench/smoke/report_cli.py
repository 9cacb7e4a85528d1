"""`ctcbench smoke-report`: run a preset's DAG (default: smoke) with Snakemake, kill each training once after its
first resume state so that Snakemake's retry must resume it, and tabulate every training run: time per step, peak
memory, whether it resumed and whether it was evaluated (results/{preset}/smoke.{csv,md}).

Run it again after an interruption: Snakemake continues where it stopped (`--rerun-incomplete`), the kill ledger
(results/{preset}/logs/smoke/kills.json) keeps every run from being killed twice, and the table is written anew.
Snakemake's output goes to results/{preset}/logs/smoke/snakemake.log.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
from pathlib import Path

import yaml

from ..errors import ConfigError, CtcbenchError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="smoke", help="the preset whose DAG runs (config.yaml presets:)")
    parser.add_argument(
        "--directory", type=Path, default=Path("."), help="the workflow's working directory, holding results/"
    )
    parser.add_argument("--cores", type=int, default=2, help="cores Snakemake may use")
    parser.add_argument(
        "--config", nargs="*", default=[], metavar="KEY=VALUE",
        help="more --config overrides for Snakemake, e.g. 'settings=[bf]' (the preset is set by --preset)",
    )  # fmt: skip
    parser.add_argument(
        "--target", nargs="*", default=[], metavar="TARGET", help="Snakemake targets (default: the whole DAG)"
    )
    parser.add_argument("--no-kill", action="store_true", help="run the DAG without killing any training")
    parser.add_argument(
        "--tabulate-only", action="store_true", help="write the table from the results as they are; run nothing"
    )


def overrides_of(preset: str, pairs: list[str]) -> tuple[list[str], dict]:
    """The --config strings for Snakemake and the same overrides as typed values for reading the config here."""
    typed = {"preset": preset}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--config {pair!r}: expected KEY=VALUE, e.g. 'settings=[bf]'")
        if key == "preset":
            raise ConfigError(f"--config {pair!r}: choose the preset with --preset")
        try:
            typed[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"--config {pair!r}: the value is not valid YAML") from None
    return [f"preset={preset}", *pairs], typed


def run_snakemake(directory: Path, overrides: list[str], args: argparse.Namespace, logs: Path) -> int:
    """Snakemake over the DAG, each failed job retried once (the kill), with the kill watch unless --no-kill."""
    from ..workflow_run import job_environment, snakemake_command
    from .kill_watch import KillLedger, KillWatch

    options = ["--cores", str(args.cores), "--retries", "1", "--keep-going", "--rerun-incomplete",
               "--printshellcmds", "--show-failed-logs", *args.target]  # fmt: skip
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / "snakemake.log", "a") as output:
        process = subprocess.Popen(
            snakemake_command(directory, overrides, *options),
            stdout=output,
            stderr=subprocess.STDOUT,
            env=job_environment(),
        )
        watch = None if args.no_kill else KillWatch(process.pid, KillLedger(logs / "kills.json", directory))
        if watch is not None:
            watch.start()
        try:
            return process.wait()
        finally:
            if watch is not None:
                watch.stop()


def run(args: argparse.Namespace) -> None:
    from ..config import load
    from ..io import read_json
    from ..plan import plan
    from ..provenance import REPO_ROOT
    from .table import OK, Where, smoke_rows, write_table

    overrides, typed = overrides_of(args.preset, args.config)
    config = load(REPO_ROOT / "config.yaml", typed)
    directory = args.directory.resolve()
    where = Where(directory, f"results/{args.preset}")
    logs = where.of(f"{where.results}/logs/smoke")
    status = 0
    if not args.tabulate_only:
        log.info("running the %s DAG in %s (Snakemake's output: %s)", args.preset, directory, logs / "snakemake.log")
        status = run_snakemake(directory, overrides, args, logs)
    ledger = logs / "kills.json"
    kills = None if args.no_kill else (read_json(ledger) if ledger.is_file() else {})
    rows = smoke_rows(plan(config), where, kills)
    csv_path, md_path = (where.of(f"{where.results}/smoke.{ext}") for ext in ("csv", "md"))
    write_table(rows, csv_path, md_path, f"Smoke run: {where.results}")
    failed = [r for r in rows if r["status"] != OK]
    log.info("%d of %d training runs passed -> %s, %s", len(rows) - len(failed), len(rows), csv_path, md_path)
    if status != 0 or failed:
        first = f"; e.g. {failed[0]['stage']} {failed[0]['model']}/{failed[0]['setting']}: {failed[0]['status']}"
        raise CtcbenchError(
            f"the smoke run did not pass: Snakemake exit {status}, {len(failed)} of {len(rows)} training runs "
            f"not proven{first if failed else ''} (the table {md_path}; Snakemake's log {logs / 'snakemake.log'})"
        )
