"""The smoke run: every real-size configuration of the grid for a few steps, each training killed once after its
first resume state and resumed by Snakemake's retry, then tabulated (`ctcbench smoke-report`, README "Proven at the
paper's size").

* `kill_watch`: kills each training Snakemake runs once, right after its first resume state (a ledger keeps which);
* `table`: per training run, what run.json and the benchmark files say (time per step, peak memory, sessions) and
  whether it resumed and was evaluated: results/{preset}/smoke.{csv,md};
* `report_cli`: the command that runs Snakemake with the watch and writes the table.
"""
