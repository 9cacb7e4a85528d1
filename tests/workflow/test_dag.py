"""The DAG plans without network: the default config lists the data stage for the real dataset."""

import re

from pointer_helpers import staged_dataset_root
from snakemake_helpers import ROOT, in_directory, job_counts, plan, snakemake

from ctcbench.data.channels import SETTINGS


def test_default_config_plans_the_data_stage_for_the_real_dataset(tmp_path):
    result = plan(tmp_path)
    assert result.returncode == 0, result.stderr
    counts = job_counts(result.stdout)
    assert counts["fetch_dataset"] == 1
    assert counts["validate_dataset"] == 1
    # train, val and test; + train and val of the other three sources and readers the defect variants read
    # (crop_source, image_read: plan.defects)
    assert counts["crop_cache"] == 3 + 3 * 2
    assert "results/paper/crops/released/opencv/train.npz" in result.stdout


def test_demo_preset_plans_the_synthetic_twin(tmp_path):
    result = plan(tmp_path, "preset=demo")
    assert result.returncode == 0, result.stderr
    assert job_counts(result.stdout)["synth_dataset"] == 1


def test_smoke_preset_plans_every_real_size_configuration_without_downloads(tmp_path):
    """14 backbones x 3 settings and 3 detectors x 3 settings, one seed, on a few paper-size twin images."""
    result = plan(tmp_path, "preset=smoke", options=("-p",))
    assert result.returncode == 0, result.stderr[-2000:]
    counts = job_counts(result.stdout)
    assert counts["classify_train"] == 42 and counts["detect_train"] == 9 and counts["synth_dataset"] == 1
    assert "stage_weights" not in counts and "detect_weights" not in counts
    assert "--preset paper --seed 0 --image-size 1080 --images r06=3,r07=3,r08=3" in result.stdout


def test_config_error_stops_with_one_line(tmp_path):
    result = plan(tmp_path, "protocol=fathful")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "configuration error" in line]
    assert errors == [
        "ctcbench: configuration error: config.yaml (with --config overrides): protocol = 'fathful': "
        "expected a preset, one of faithful, corrected; did you mean 'faithful'?"
    ]
    assert "Traceback" not in result.stderr


def test_command_line_values_win_over_the_preset_and_keep_their_types(tmp_path):
    """`--config preset=demo seeds=[0,1] dataset={source: local, ...}` plans two seeds on the local copy, not
    the preset's single seed on the synthetic twin."""
    local = staged_dataset_root(tmp_path / "staged")
    result = plan(tmp_path, "preset=demo", "seeds=[0,1]", f"dataset={{source: local, local: {{root: {local}}}}}",
                  "pipeline={omegas: [0.5]}")  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    counts = job_counts(result.stdout)
    assert "synth_dataset" not in counts and counts["stage_local_dataset"] == 1
    assert counts["classify_train"] == 2 * job_counts(plan(tmp_path, "preset=demo").stdout)["classify_train"]


def classify_train_commands(result):
    assert result.returncode == 0, result.stderr[-2000:]
    shells = [line for line in result.stdout.splitlines() if line.startswith("Shell command:")]
    return [line for line in shells if "ctcbench classify-train" in line]


def test_classifier_speed_options_reach_the_training_command(tmp_path):
    """Off by default (the command and spec of before); on, the spec says where to augment and the command gets
    the compute flags."""
    default = classify_train_commands(plan(tmp_path / "default", "preset=demo", options=("-p",)))
    assert default and not any(flag in c for c in default for flag in ("augment_on", "--compile", "--fused", "--jobs"))
    options = "classify={augment_on: device, compile: true, fused_optimizer: true, resources: {jobs_per_gpu: 3}}"
    fast = classify_train_commands(plan(tmp_path / "fast", "preset=demo", options, options=("-p",)))
    assert len(fast) == len(default)
    for command in fast:
        assert '"augment_on":"device"' in command
        assert "--compile --fused-optimizer --jobs-per-gpu 3 >" in command


def test_a_broken_config_file_stops_with_its_file_and_line(tmp_path):
    """The working directory's config.yaml (Snakemake itself reads a --configfile, before the workflow can)."""
    broken = tmp_path / "config.yaml"
    broken.write_text((ROOT / "config.yaml").read_text().replace("seeds: [0, 1, 2]", "seeds: [0, 1, 2", 1))
    result = snakemake("-n", "--directory", str(tmp_path), "--snakefile", str(ROOT / "Snakefile"), cwd=tmp_path)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "configuration error" in line]
    assert len(errors) == 1 and errors[0].startswith("ctcbench: configuration error: config.yaml: line ")
    assert "not valid YAML" in errors[0] and "Traceback" not in result.stderr


def test_the_readme_states_the_demo_job_counts(tmp_path):
    """The README's job counts of the two demo configurations are what Snakemake plans."""
    readme = (ROOT / "README.md").read_text().replace("\n", " ")
    stated = re.search(r"faithful demo DAG is (\d+) jobs.*?\((\d+) jobs", readme)
    assert stated, "README.md no longer states the demo job counts"
    for count, config in zip(
        stated.groups(), (["preset=demo"], ["preset=demo", "protocol=corrected,hoechst_channels=4"])
    ):
        result = plan(tmp_path / str(len(config)), *config)
        assert result.returncode == 0, result.stderr[-2000:]
        assert re.search(rf"^total\s+{count}$", result.stdout, re.M), f"{config}: not {count} jobs"


def test_lint_is_clean():
    result = snakemake("--lint")
    assert result.returncode == 0
    assert "Congratulations" in result.stdout + result.stderr


def test_paper_grid_plans_every_pipeline_pairing(tmp_path):
    """Table 4: 3 detectors x 3 settings x 3 seeds at two omegas; Tables 5 and 6: 3 strategies and 3 patients x
    3 seeds at one omega (their `all` rows reuse Table 4's Faster R-CNN BF+H runs); the annotator table: Table 4's
    Faster R-CNN pairings at omega 0.7 scored against the two experts (9 x 2); the error decomposition of Table 4's
    27 pairings. The corrected protocol also predicts and scores the val images, where it chooses its threshold."""
    for protocol, extra in (("faithful", 0), ("corrected", 1)):
        result = plan(tmp_path, f"protocol={protocol}")
        assert result.returncode == 0, result.stderr
        counts = job_counts(result.stdout)
        # + 9 pairings of the brightfield-only track with the Brightfield detectors, at both omegas
        assert counts["pipeline_score"] == (27 + 9 + 9 + 9) * (1 + extra)
        # + under faithful, the val images of Table 4's Faster R-CNN runs of seed 0, where the defect variant
        # faithful-image_threshold chooses its threshold
        assert counts["detect_predict"] == 36 * (1 + extra) + 3 * (1 - extra)
        assert counts["pipeline_evaluate"] == 27 * 2 + 9 + 9 + 18 + 9 * 2
        assert counts["table"] == 11 + 4 and counts["results_table"] == 1 and counts["table_comparisons"] == 2
        assert counts["pipeline_oracle"] == counts["pipeline_localised"] == 27
        # The related studies' tracks (README): 5 seeds x (3 more backbones + 7 variants); 5 networks x 2 inits;
        # the nucleus detector's boxes scored by Table 4's classifier of each setting and seed.
        assert (counts["classify_bf_only"], counts["classify_kfold"], counts["nucleus_classifier"]) == (50, 10, 9)
        assert counts["classify_train"] == 180 and counts["detect_train"] == 36
        # The defect effects (plan.defects): the other preset and 21 switches x 2 ends, every setting, seed 0; a
        # variant retrains only the runs that read its switch (9 classifier and 8 detector switches).
        assert counts["defect_classify_eval"] == (1 + 9 * 2) * 3 and counts["defect_detect_train"] == (1 + 8 * 2) * 3
        assert counts["defect_pipeline_evaluate"] == (1 + 21 * 2) * 3
        if not extra:
            assert re.search(r"^total\s+1394$", result.stdout, re.M)  # the README's count
        assert ("seed2/scores-val.json" in result.stdout) == bool(extra)  # one rule, a {split} wildcard
        # The classifiers start from the weights of the network the protocol builds (classifier_networks); the
        # k-fold track's ImageNet runs from torchvision's vgg16, vgg19, resnet18, resnet50 and alexnet, whatever the
        # protocol (resnet50.pth is the grid's own under faithful); + the brightfield-only track's ResNet-34.
        # + the main backbone's network under the other protocol, for the defect effects' classifier variants.
        assert counts["stage_weights"] == 14 + (5 if extra else 4) + 1 + 1
        staged = "convnext_base.fb_in1k.safetensors" if extra else "convnext_base.pth"
        assert f"output: resources/weights/{staged}" in result.stdout
    assert "results/paper/pipeline/faster_rcnn/bf_hoechst/patient-r07/seed2/omega0.7/metrics.json" in result.stdout


def test_a_results_tree_of_another_protocol_is_refused(tmp_path):
    stamp = tmp_path / "results" / "demo" / "protocol.json"
    stamp.parent.mkdir(parents=True)
    stamp.write_text('{"protocol": "faithful", "hoechst_channels": 3}')
    assert plan(tmp_path, "preset=demo").returncode == 0
    result = plan(tmp_path, "preset=demo", "protocol={base: faithful, hoechst_channels: 4, fusion_gate: null}")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "configuration error" in line]
    assert errors == [
        "ctcbench: configuration error: results/demo/protocol.json: results/demo holds results of another "
        "protocol (faithful; hoechst_channels 3 -> 4, fusion_gate 0.1 -> null); run this one in another "
        "--directory, or delete results/demo to replace them"
    ]


def test_a_wrong_local_root_stops_the_plan_with_one_line(tmp_path):
    result = plan(tmp_path, "preset=demo", f"dataset={{source: local, local: {{root: {tmp_path / 'nowhere'}}}}}")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "configuration error" in line]
    assert len(errors) == 1 and f"dataset.local.root = {tmp_path / 'nowhere'}: dataset root does not exist" in errors[0]


def test_every_rule_says_what_it_produces(tmp_path):
    """`snakemake --list-rules` is the index of producers: every rule carries a docstring."""
    for config in ([], ["--config", "preset=demo"], ["--config", "protocol=corrected,hoechst_channels=4"]):
        result = snakemake("--list-rules", *in_directory(tmp_path), *config)
        assert result.returncode == 0, result.stderr[-2000:]
        rules = [line for line in result.stdout.splitlines() if line and not line.startswith(" ")]
        assert len(rules) > 20
        assert [line for line in rules if not line.endswith(")")] == []


def test_the_pseudo_label_set_follows_its_threshold(tmp_path):
    """A 0.9 strategy writes u-pseudo-0.9.tsv, trains on it and passes 0.9 to the labelling (not 0.8)."""
    result = plan(tmp_path, "preset=demo", "ablations={unknown: {strategies: [u-drop, u-pseudo-0.9]}}", options=("-p",))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--threshold 0.9 " in result.stdout and "splits/trainsets/u-pseudo-0.9.tsv" in result.stdout
    assert "u-pseudo-0.8" not in result.stdout


def test_a_configured_external_method_is_scored_into_tables_4_and_6_and_results(tmp_path):
    """`external_methods` entries plan one `score` job each, read by Tables 4 and 6 and the long results table."""
    detections, cells = tmp_path / "mine.json", tmp_path / "cells.json"
    detections.write_text("{}")
    cells.write_text("{}")
    entries = (f"[{{name: mine, title: Mine, kind: detections, setting: bf, file: {detections}}}, "
               f"{{name: my_cls, kind: cell_scores, setting: bf_fluo, seed: 1, file: {cells}}}]")  # fmt: skip
    result = plan(tmp_path, "preset=demo", f"external_methods={entries}", options=("--printshellcmds",))
    assert result.returncode == 0, result.stderr[-2000:]
    assert job_counts(result.stdout)["score"] == 2
    assert f"ctcbench score --name mine --setting bf --seed 0 --predictions {detections}" in result.stdout
    assert f"ctcbench score --name my_cls --setting bf_fluo --seed 1 --cell-scores {cells}" in result.stdout
    tables = {
        line.split("--name ")[1].split()[0]: line
        for line in result.stdout.splitlines()
        if line.startswith("Shell command: python -m ctcbench table ")
    }
    mine = "results/demo/external/mine/bf/seed0/metrics.json"
    assert mine in tables["table4_image_level"] and mine in tables["table6_patients"]
    assert mine.replace("metrics.json", "per_image.npz") in tables["table4_image_level"]  # its intervals
    assert "results/demo/external/my_cls/bf_fluo/seed1/metrics.json" in tables["table2_cell_level"]
    assert '"external": [["mine", "Mine"]]' in tables["table4_image_level"]
    results_table = next(line for line in result.stdout.splitlines() if "ctcbench results-table" in line)
    assert mine in results_table


def test_the_nucleus_detector_is_predicted_evaluated_and_tabled_without_training(tmp_path):
    """detect.nucleus (on by default): one prediction per predicted split, one evaluation, its table and its rows in
    results.csv, no GPU asked; off, none of them."""
    for protocol, splits in (("faithful", 1), ("corrected,hoechst_channels=4", 2)):
        result = plan(tmp_path / protocol, "preset=demo", f"protocol={protocol}", options=("-p",))
        assert result.returncode == 0, result.stderr[-2000:]
        counts = job_counts(result.stdout)
        assert (counts["nucleus_predict"], counts["nucleus_evaluate"]) == (splits, 1)
        shells = [line for line in result.stdout.splitlines() if line.startswith("Shell command:")]
        metrics = "results/demo/detect/classical/nucleus/metrics.json"
        table = next(line for line in shells if "ctcbench table --name nucleus_detector " in line)
        assert metrics in table and metrics in next(line for line in shells if "ctcbench results-table" in line)
        jobs = [block for block in result.stdout.split("\n\n") if re.search(r"rule nucleus_(predict|evaluate):", block)]
        assert len(jobs) == splits + 1 and not any("gpu=" in job for job in jobs)
        predict = next(line for line in shells if "ctcbench nucleus-predict" in line)
        reader = "opencv" if protocol == "faithful" else "native"  # the protocol's image_read
        assert f"--reader {reader} " in predict
        assert ("--val-predictions results/demo/detect/classical/nucleus/predictions-val.json" in result.stdout) == (
            splits == 2
        )
    off = plan(tmp_path / "off", "preset=demo", "detect={nucleus: {enabled: false}}")
    assert off.returncode == 0, off.stderr[-2000:]
    counts = job_counts(off.stdout)
    assert "nucleus_predict" not in counts and "classical/nucleus" not in off.stdout
    assert "tables/nucleus_detector" not in off.stdout


def test_the_tables_get_every_runs_per_image_record_and_the_bootstrap(tmp_path):
    """Each table command reads the per-image record beside each metrics file it reads (the human agreement and the
    k-fold runs have none), with the config's bootstrap; Tables 4 and 5 also get their paired comparisons."""
    result = plan(tmp_path, "preset=demo", "report={bootstrap: {resamples: 50, level: 0.9}}", options=("-p",))
    assert result.returncode == 0, result.stderr[-2000:]
    commands = [
        line for line in result.stdout.splitlines() if line.startswith("Shell command: python -m ctcbench table")
    ]
    by_table = {line.split("--name ")[1].split()[0] + ("*" if " table-comparisons " in line else ""): line
                for line in commands}  # fmt: skip
    assert set(by_table) >= {"table2_cell_level", "table4_image_level", "table4_image_level*", "table5_unknown_cells*"}
    for line in by_table.values():
        metrics = line.split("--metrics ")[1].split(" --")[0].split()
        records = line.split("--per-image ")[1].split(" --")[0].split()
        # (the human agreement and the k-fold runs have no per-image records)
        expected = [
            m.replace("metrics", "per_image").replace(".json", ".npz")
            for m in metrics
            if "/data/" not in m and "/kfold/" not in m
        ]
        assert records == expected and "--resamples 50 --bootstrap-seed 0 --level 0.9" in line
    assert "results/demo/data/human_agreement.json" in by_table["table4_image_level"]
    evaluations = [line for line in result.stdout.splitlines() if "-evaluate " in line and "Shell command" in line]
    # the detection stage's, the nucleus detector's and the pipeline's, each writing its record beside
    # + the brightfield-only track's 3 pairings at 2 omegas; + the 15 defect variants' main pipeline (plan.defects)
    assert len(evaluations) == 12 + 1 + 30 + 6 + 15
    assert all(re.search(r"--out (\S+)/metrics(\S*)\.json --per-image \1/per_image\2\.npz ", e) for e in evaluations)


def test_the_error_decomposition_is_planned_when_enabled_and_absent_when_not(tmp_path):
    """report.error_decomposition (on by default): an oracle and a perfect-localisation job per main pairing, both
    read by table error_decomposition (with their per-image records) and by results.csv; off, none of them."""
    result = plan(tmp_path / "on", "preset=demo", options=("-p",))
    assert result.returncode == 0, result.stderr[-2000:]
    counts = job_counts(result.stdout)
    assert (counts["pipeline_oracle"], counts["pipeline_localised"]) == (9, 9)
    shells = [line for line in result.stdout.splitlines() if line.startswith("Shell command:")]
    table = next(line for line in shells if "ctcbench table --name error_decomposition " in line)
    folder = "results/demo/pipeline/dino/bf_fluo/all/seed0"
    for stage in ("oracle_classifier", "perfect_localisation"):
        assert f"{folder}/{stage}/metrics.json" in table and f"{folder}/{stage}/per_image.npz" in table
    assert f"{folder}/omega1/metrics.json" in table and f"{folder}/omega0.7/metrics.json" in table
    assert "results/demo/detect/dino/bf_fluo/all/seed0/metrics.json" in table
    assert f"{folder}/oracle_classifier/metrics.json" in next(
        line for line in shells if "ctcbench results-table" in line
    )
    localised = next(line for line in shells if "ctcbench pipeline-localised" in line)
    assert "results/demo/classify/resnet_tiny/" in localised and "/best.pt" in localised
    off = plan(tmp_path / "off", "preset=demo", "report={error_decomposition: false}")
    assert off.returncode == 0, off.stderr[-2000:]
    counts = job_counts(off.stdout)
    assert "pipeline_oracle" not in counts and "pipeline_localised" not in counts
    assert "tables/error_decomposition" not in off.stdout and "/oracle_classifier/" not in off.stdout


def test_the_controls_are_evaluated_and_tabled_without_training(tmp_path):
    """report.controls (on by default): one random-box job per draw and one feature-classifier job per setting, no GPU
    asked, their records in the controls table beside the nucleus detector's and the main pipeline's at the ablation
    omega, and in results.csv; the val inputs of a held-out threshold; off, none of them."""
    for protocol, crops in (("faithful", "released/opencv"), ("corrected,hoechst_channels=4", "cut/native")):
        result = plan(tmp_path / protocol, "preset=demo", f"protocol={protocol}", options=("-p",))
        assert result.returncode == 0, result.stderr[-2000:]
        counts = job_counts(result.stdout)
        assert (counts["random_boxes"], counts["nucleus_features"], counts["nucleus_classifier"]) == (3, 3, 3)
        shells = [line for line in result.stdout.splitlines() if line.startswith("Shell command:")]
        table = next(line for line in shells if "ctcbench table --name controls " in line)
        records = ["controls/random_boxes/any/seed2", "controls/nucleus_features/bf_fluo/seed0",
                   "detect/classical/nucleus", "pipeline/faster_rcnn/bf/all/seed0/omega0.7"]  # fmt: skip
        assert all(f"results/demo/{record}/metrics.json" in table for record in records)
        assert "omega1/" not in table and "pipeline/fcos" not in table
        results_table = next(line for line in shells if "ctcbench results-table" in line)
        assert f"results/demo/{records[0]}/metrics.json" in results_table
        jobs = [
            block for block in result.stdout.split("\n\n") if re.search(r"rule (random_boxes|nucleus_features):", block)
        ]
        assert len(jobs) == 6 and not any("gpu=" in job for job in jobs)
        # The nucleus detector as the pipeline's proposal source: scored by Table 4's classifier of its setting.
        trained = [line for line in shells if "ctcbench nucleus-classifier " in line]
        checkpoints = {line.split("--classifier ")[1].split()[0] for line in trained}
        assert checkpoints == {f"results/demo/classify/resnet_tiny/{s}/all/seed0/best.pt" for s in SETTINGS}
        features = next(line for line in shells if "nucleus-features" in line and "--setting bf_hoechst " in line)
        assert f"--train-crops results/demo/crops/{crops}/train.npz " in features
        heldout = protocol != "faithful"
        assert ("--val-predictions results/demo/detect/classical/nucleus/predictions-val.json" in features) == heldout
        assert ("--val-list" in next(line for line in shells if "ctcbench random-boxes" in line)) == heldout
    off = plan(tmp_path / "off", "preset=demo", "report={controls: {enabled: false}}")
    assert off.returncode == 0, off.stderr[-2000:]
    counts = job_counts(off.stdout)
    assert "random_boxes" not in counts and "nucleus_features" not in counts and "nucleus_classifier" not in counts
    assert "tables/controls" not in off.stdout and "results/demo/controls/" not in off.stdout
