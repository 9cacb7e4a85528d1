"""Training runs on the tiny twin: a killed run resumes to the same result, and the files a run leaves behind."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from classify_helpers import same_weights, tiny_config, tiny_spec

from ctcbench.classify.checkpoint import load_model
from ctcbench.classify.evaluate import evaluate_run
from ctcbench.classify.schedule import Schedule
from ctcbench.classify.train import RESUME_DIR, train
from ctcbench.cli import main
from ctcbench.errors import ConfigError, DatasetError
from ctcbench.report.intervals import load_record
from ctcbench.run_record import KEYS


class Crash(Exception):
    pass


@pytest.mark.parametrize("protocol", ["faithful", "corrected"])
def test_killed_run_resumes_to_the_same_weights_and_metrics(tiny_crops, tmp_path, protocol):
    # drop_path makes the model draw on torch's RNG, so its state must be restored exactly too.
    straight = tiny_config(tiny_crops, tmp_path / "straight", drop_path=0.1, protocol=protocol)
    assert train(straight, progress=False).completed
    evaluate_run(straight.out_dir, straight.val_cache)

    # Paused after 5 steps (a session limit), resumed with a DataLoader worker this time.
    paused = dataclasses.replace(straight, out_dir=tmp_path / "paused")
    outcome = train(paused, stop_after=5, progress=False)
    assert not outcome.completed and outcome.next_step == 5
    assert (paused.out_dir / RESUME_DIR / "last.pt").is_file() and not (paused.out_dir / "final.pt").exists()
    assert train(dataclasses.replace(paused, workers=1), progress=False).completed

    # Crashed at step 6: the last resume state is from step 4, steps 4-6 are redone.
    crashed = dataclasses.replace(straight, out_dir=tmp_path / "crashed")

    def crash(step):
        if step == 6:
            raise Crash()

    with pytest.raises(Crash):
        train(crashed, on_step=crash, progress=False)
    assert torch.load(crashed.out_dir / RESUME_DIR / "last.pt", weights_only=False)["progress"]["next_step"] == 4
    assert train(crashed, progress=False).completed

    model, _, _ = load_model(straight.out_dir / "best.pt")
    assert any(getattr(m, "drop_prob", 0) > 0 for m in model.modules())  # the RNG really is in play
    reference = json.loads((straight.out_dir / "metrics.json").read_text())
    for run in (paused, crashed):
        assert not (run.out_dir / RESUME_DIR).exists()
        # corrected: the checkpoints chosen on each val half too (classifier_checkpoint: cross_fitted)
        halves = ("best-half0.pt", "best-half1.pt") if protocol == "corrected" else ()
        for name in ("best.pt", "final.pt", *halves):
            assert same_weights(straight.out_dir / name, run.out_dir / name), (run.out_dir, name)
        evaluate_run(run.out_dir, run.val_cache)
        assert json.loads((run.out_dir / "metrics.json").read_text()) == reference
        record = json.loads((run.out_dir / "run.json").read_text())
        assert record["compute"]["sessions"] == 2
        # every step's time once: those of the first session up to its resume state, then the second's
        assert record["compute"]["step_seconds"]["count"] == straight.schedule.iterations
        assert (
            record["training"]["validation"]
            == json.loads((straight.out_dir / "run.json").read_text())["training"]["validation"]
        )
        assert (run.out_dir / "curves.csv").read_bytes() == (straight.out_dir / "curves.csv").read_bytes()


REPEATED_FILES = ("best.pt", "final.pt", "curves.csv", "metrics.json", "embeddings.npz")


def test_the_same_seed_gives_the_same_bytes_twice(tiny_crops, tmp_path):
    """Two runs of one configuration on CPU write byte-identical checkpoints, curves, metrics and embeddings."""
    runs = [tiny_config(tiny_crops, tmp_path / name, drop_path=0.1) for name in ("first", "second")]
    for run in runs:
        assert train(run, progress=False).completed
        evaluate_run(run.out_dir, run.val_cache)
    for name in REPEATED_FILES:
        assert (runs[0].out_dir / name).read_bytes() == (runs[1].out_dir / name).read_bytes(), name


def test_curves_hold_every_step_and_each_validation(tiny_crops, tmp_path):
    config = tiny_config(tiny_crops, tmp_path / "run")
    assert train(config, progress=False).completed
    lines = (config.out_dir / "curves.csv").read_text().splitlines()
    assert lines[0] == "step,lr,loss,val_accuracy"
    rows = [line.split(",") for line in lines[1:]]
    assert [int(r[0]) for r in rows] == list(range(config.schedule.iterations))
    validation = json.loads((config.out_dir / "run.json").read_text())["training"]["validation"]
    measured = {int(r[0]): float(r[3]) for r in rows if r[3]}
    assert measured == pytest.approx({v["step"]: v["accuracy"] for v in validation}, abs=1e-6)
    assert all(float(r[2]) > 0 for r in rows)


def test_resume_state_of_another_configuration_is_refused(tiny_crops, tmp_path):
    cfg = tiny_config(tiny_crops, tmp_path / "run")
    train(cfg, stop_after=2, progress=False)
    other = dataclasses.replace(cfg, spec=dataclasses.replace(cfg.spec, seed=1))
    with pytest.raises(ConfigError, match="resume state of a different run spec"):
        train(other, progress=False)


@pytest.mark.parametrize(
    "protocol, hoechst",
    [("faithful", 3), ("corrected", 3), ("corrected,hoechst_channels=4", 4), ("faithful,hoechst_channels=4", 4)],
)
def test_train_and_evaluate_end_to_end(tiny_crops, tmp_path, protocol, hoechst):
    cfg = tiny_config(tiny_crops, tmp_path / protocol, protocol=protocol, setting="bf_hoechst")
    train(cfg, progress=False)
    record = json.loads((cfg.out_dir / "run.json").read_text())
    assert sorted(record) == sorted(KEYS) and record["format"] == "ctcbench.run/1" and record["stage"] == "classify"
    assert record["run"] == {
        "name": "tiny/bf_hoechst/all/seed0",
        "backbone": "tiny",
        "setting": "bf_hoechst",
        "trainset": "all",
        "seed": 0,
    }
    assert record["protocol"] == protocol and record["spec"] == cfg.spec.to_dict()
    assert record["spec_sha256"] == cfg.spec.digest()
    inputs = record["inputs"]
    assert len(inputs["train_cache"]["content_sha256"]) == 64 and len(inputs["trainset"]["sha256"]) == 64
    assert inputs["weights"] is None and len(record["outputs"]["best.pt"]["sha256"]) == 64
    assert record["spec"]["schedule"]["iterations"] == 12 and record["training"]["in_chans"] == hoechst
    assert record["training"]["network"] == {"library": "timm", "name": "test_resnet"}  # no torchvision builder
    assert [v["step"] for v in record["training"]["validation"]] == [3, 7, 11]
    assert record["training"]["best_step"] in (3, 7, 11)  # validations after the 2-step warm-up
    assert record["compute"]["wall_time_s"] > 0 and record["compute"]["peak_memory"]["cpu_rss"] > 0
    assert set(record["environment"]["packages"]) >= {"torch", "timm", "numpy"}
    normalised = record["training"]["normalisation"]["mean"] is not None
    assert normalised == protocol.startswith("corrected")

    metrics = evaluate_run(cfg.out_dir, cfg.val_cache)
    assert metrics["run"]["setting"] == "bf_hoechst" and metrics["checkpoint"] == "best.pt"
    # The per-crop records beside metrics.json give back its numbers bit for bit, under either threshold rule.
    assert metrics["per_image"] == "per_image.npz"
    again = load_record(cfg.out_dir / "per_image.npz").metrics()
    assert again == {key: metrics[key] for key in ("f1", "precision", "recall", "auroc")}
    assert 0 <= metrics["f1"] <= 1 and 0 <= metrics["auroc"] <= 1
    assert np.allclose(np.sum(metrics["confusion_percent"], axis=1), 100)
    assert ("heldout" in metrics) == protocol.startswith("corrected")
    cross_fitted = protocol.startswith("corrected")  # classifier_checkpoint: cross_fitted
    assert (cfg.out_dir / "best-half0.pt").is_file() == cross_fitted
    assert metrics["checkpoint_choice"].startswith("cross-fitted" if cross_fitted else "best.pt")
    if cross_fitted:
        for half, name in enumerate(("best-half0.pt", "best-half1.pt")):
            per_half = [(v["half_accuracy"][half], -v["step"]) for v in record["training"]["validation"]]
            best_step = -max(per_half)[1]  # the earliest of the best (validations after the warm-up)
            assert record["training"]["best_per_val_half"][half]["step"] == best_step
            assert torch.load(cfg.out_dir / name, weights_only=True)["info"]["step"] == best_step
            assert name in record["outputs"]
    embeddings = np.load(cfg.out_dir / "embeddings.npz")
    model, spec, _ = load_model(cfg.out_dir / "best.pt")
    assert embeddings["features"].shape == (metrics["n_crops"], model.num_features)
    assert spec.in_chans == hoechst
    assert set(embeddings.files) >= {"features", "labels", "patients", "keys"}
    assert set(embeddings["patients"].tolist()) <= {"r06", "r07", "r08"}


@pytest.mark.parametrize("protocol, outputs", [("faithful", 3), ("corrected", 2)])
def test_drop_unknown_runs(tiny_crops, tmp_path, protocol, outputs):
    cfg = tiny_config(
        tiny_crops,
        tmp_path / "u-drop",
        protocol=protocol,
        trainset="u-drop",
        schedule=Schedule(iterations=4, milestones=(), warmup=1, batch_size=8, val_every=2),
    )
    train(cfg, progress=False)
    model, spec, _ = load_model(cfg.out_dir / "best.pt")
    assert spec.classes == ("R", "G") and spec.num_outputs == outputs
    metrics = evaluate_run(cfg.out_dir, cfg.val_cache)
    assert metrics["head_outputs"] == outputs and metrics["trained_classes"] == ["R", "G"]
    # A 2-class set holding U crops is a broken list, not something to train on silently.
    bad = dataclasses.replace(
        cfg, trainset_file=tiny_crops.trainset("all", cfg.protocol.image_read), out_dir=tmp_path / "bad"
    )
    with pytest.raises(DatasetError, match="labels \\['U'\\] in a R/G training set"):
        train(bad, progress=False)


def test_cli_pauses_resumes_and_reports_missing_weights(tiny_crops, tmp_path, capsys):
    out = tmp_path / "cli"
    spec = tiny_spec(
        setting="bf", seed=1, schedule=Schedule(iterations=6, milestones=(4,), warmup=1, batch_size=8, val_every=3)
    )
    files = [
        "--train-cache",
        str(tiny_crops.cache("train")),
        "--val-cache",
        str(tiny_crops.cache("val")),
        "--trainset-file",
        str(tiny_crops.trainset("all")),
        "--out-dir",
        str(out),
        "--no-progress",
    ]
    args = ["classify-train", "--spec", spec.to_json(), *files]
    assert main([*args, "--max-steps-this-session", "2"]) == 0 and not (out / "run.json").exists()
    assert main(args) == 0 and (out / "run.json").is_file()
    assert main(["classify-eval", "--run-dir", str(out), "--val-cache", str(tiny_crops.cache("val"))]) == 0
    assert json.loads((out / "metrics.json").read_text())["run"]["seed"] == 1

    capsys.readouterr()
    pretrained = dataclasses.replace(spec, pretrained=True).to_json()
    missing = main(["classify-train", "--spec", pretrained, "--weights-dir", str(tmp_path / "weights"), *files])
    error = capsys.readouterr().err.strip().splitlines()
    assert missing == 1 and len(error) == 1
    assert str(tmp_path / "weights" / "test_resnet.safetensors") in error[0] and "stage-weights" in error[0]


def test_scoring_runs_in_fp32_where_training_runs_under_bf16(tiny_crops, tmp_path, monkeypatch):
    """Training steps autocast (bf16 on CUDA); validation and every other score do not. Made visible on CPU by an
    autocast that really casts to bf16 here: training then differs, the scores of one model do not."""
    from ctcbench.classify import predict as predict_module
    from ctcbench.classify import runtime
    from ctcbench.classify import train as train_module
    from ctcbench.classify.data import CropSource
    from ctcbench.classify.predict import predict
    from ctcbench.data.crops import CropCache

    cfg = tiny_config(tiny_crops, tmp_path / "fp32")
    assert train(cfg, progress=False).completed
    model, spec, _ = load_model(cfg.out_dir / "best.pt")
    cache = CropCache.load(cfg.val_cache)
    source = CropSource(cache, spec.setting, spec.hoechst_channels)
    args = (model, source, np.arange(len(cache)), spec.image_size, spec.normalisation, torch.device("cpu"))
    plain = predict(*args, desc=None).probs

    def bf16(device):
        return torch.autocast("cpu", dtype=torch.bfloat16)

    for module in (runtime, train_module, predict_module):
        monkeypatch.setattr(module, "autocast", bf16, raising=False)
    assert np.array_equal(predict(*args, desc=None).probs, plain)  # scoring ignores the autocast
    cast = tiny_config(tiny_crops, tmp_path / "bf16")
    assert train(cast, progress=False).completed
    assert not same_weights(cfg.out_dir / "final.pt", cast.out_dir / "final.pt")  # training steps use it


def test_a_torchvision_network_trains_from_its_staged_weights_and_says_so(tiny_crops, tmp_path):
    """Faithful, a backbone with a torchvision builder: the run starts from the staged <builder>.pth the run's own
    rule finds, its record names the network it built, and its checkpoint evaluates (embeddings of its feat_dim)."""
    import numpy as np
    from torchvision import models

    from ctcbench.classify.weights import stage_weights

    torch.manual_seed(0)
    torch.save(models.resnet18().state_dict(), tmp_path / "download.pth")
    staged = tmp_path / "weights" / "resnet18.pth"
    stage_weights("resnet18", staged, tmp_path / "download.pth", library="torchvision")
    spec = tiny_spec(torchvision_name="resnet18", pretrained=True, setting="bf_fluo")
    out = tmp_path / "run"
    files = ["--train-cache", str(tiny_crops.cache("train")), "--val-cache", str(tiny_crops.cache("val")),
             "--trainset-file", str(tiny_crops.trainset("all")), "--out-dir", str(out), "--no-progress"]  # fmt: skip
    assert main(["classify-train", "--spec", spec.to_json(), "--weights-dir", str(staged.parent), *files]) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["training"]["network"] == {"library": "torchvision", "name": "resnet18"}
    assert record["inputs"]["weights"]["path"] == str(staged) and record["training"]["in_chans"] == 6
    assert main(["classify-eval", "--run-dir", str(out), "--val-cache", str(tiny_crops.cache("val"))]) == 0
    assert np.load(out / "embeddings.npz")["features"].shape[1] == 512
