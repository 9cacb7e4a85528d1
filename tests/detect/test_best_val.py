"""The detector of the best val epoch (protocol switch detector_checkpoint: best_val, docs/defects.md#defect-22):
which epoch wins, what the val score is, that scoring leaves training alone, and what survives in a checkpoint."""

from __future__ import annotations

import logging

import pytest
import torch

pytest.importorskip("mmdet")

from detect_helpers import image_list, tiny_config  # noqa: E402

from ctcbench.data.pointer import read_pointer  # noqa: E402
from ctcbench.detect import registry  # noqa: E402
from ctcbench.detect.best_val import CtcBestValHook, best_weights_file  # noqa: E402
from ctcbench.detect.configs import validation_hooks  # noqa: E402
from ctcbench.detect.evaluate import ground_truth, prepare, val_summary  # noqa: E402
from ctcbench.detect.predict import predict  # noqa: E402
from ctcbench.detect.spec import run_spec  # noqa: E402
from ctcbench.detect.train import TrainPaths, train  # noqa: E402
from ctcbench.errors import ConfigError, DatasetError  # noqa: E402
from ctcbench.protocol import parse  # noqa: E402

registry.ensure_registered()
BEST_VAL = "faithful,detector_checkpoint=best_val"


class FakeRunner:
    """What the hook reads of an mmengine runner."""

    def __init__(self, model: torch.nn.Module, max_epochs: int) -> None:
        self.model, self.max_epochs, self.epoch = model, max_epochs, 0
        self.logger = logging.getLogger("test_best_val")


def scripted(scores: list[float]):
    """A `CtcBestValHook.score` that returns the next of `scores` instead of predicting the val images."""

    def score(self, model):
        return {"ap50": scores[len(self.history)], "best_f1": 0.0}

    return score


def run_epochs(hook: CtcBestValHook, runner: FakeRunner, epochs: range) -> None:
    """Training stand-in: the model's weight holds the number of the epoch just trained."""
    for epoch in epochs:
        runner.epoch = epoch - 1
        with torch.no_grad():
            runner.model.weight.fill_(epoch)
        hook.after_train_epoch(runner)


def val_hook(config, twin, work, interval=1) -> CtcBestValHook:
    spec = run_spec(config, "faster_rcnn", "bf", "all", 0)
    layout = read_pointer(twin).layout
    (cfg,) = validation_hooks(spec, layout.root, layout.split_file("val"), work)
    assert cfg.pop("type") == "CtcBestValHook" and cfg["interval"] == spec.detect["checkpoint_interval"]
    return CtcBestValHook(**{**cfg, "interval": interval})


def test_the_best_epoch_wins_a_tie_goes_to_the_later_and_two_weight_files_at_most_stay(
    twin, demo_config, tmp_path, monkeypatch
):
    monkeypatch.setattr(CtcBestValHook, "score", scripted([0.3, 0.5, 0.2, 0.5]))
    config = tiny_config(demo_config)
    config["protocol"] = BEST_VAL
    hook, runner = val_hook(config, twin, tmp_path), FakeRunner(torch.nn.Linear(1, 1), max_epochs=4)
    hook.before_train(runner)
    run_epochs(hook, runner, range(1, 3))
    assert (hook.best_epoch, hook.previous_best) == (2, 1)
    run_epochs(hook, runner, range(3, 5))
    assert [entry["ap50"] for entry in hook.history] == [0.3, 0.5, 0.2, 0.5]
    assert (hook.best_epoch, hook.previous_best) == (4, 2)  # 0.5 again: the later epoch
    # Epoch 2's file stays until a checkpoint names epoch 4 (a kill before that resumes from epoch 3's, which names 2).
    assert sorted(p.name for p in tmp_path.glob("best-epoch*.pth")) == ["best-epoch2.pth", "best-epoch4.pth"]
    saved = torch.load(best_weights_file(tmp_path, 4), weights_only=True)
    assert float(saved["weight"]) == 4.0


def test_an_epoch_is_scored_every_interval_and_after_the_last(twin, demo_config, tmp_path, monkeypatch):
    monkeypatch.setattr(CtcBestValHook, "score", scripted([0.1, 0.2, 0.3]))
    config = tiny_config(demo_config)
    config["protocol"] = BEST_VAL
    hook, runner = val_hook(config, twin, tmp_path, interval=2), FakeRunner(torch.nn.Linear(1, 1), max_epochs=5)
    hook.before_train(runner)
    run_epochs(hook, runner, range(1, 6))
    assert [entry["epoch"] for entry in hook.history] == [2, 4, 5]


def test_a_checkpoint_carries_the_scores_and_a_resumed_hook_drops_later_files(twin, demo_config, tmp_path, monkeypatch):
    monkeypatch.setattr(CtcBestValHook, "score", scripted([0.3, 0.5, 0.9]))
    config = tiny_config(demo_config)
    config["protocol"] = BEST_VAL
    hook, runner = val_hook(config, twin, tmp_path), FakeRunner(torch.nn.Linear(1, 1), max_epochs=3)
    hook.before_train(runner)
    run_epochs(hook, runner, range(1, 3))
    checkpoint: dict = {}
    hook.before_save_checkpoint(runner, checkpoint)
    run_epochs(hook, runner, range(3, 4))  # then killed before epoch 3's checkpoint was complete
    assert (tmp_path / "best-epoch3.pth").is_file()

    resumed = val_hook(config, twin, tmp_path)
    resumed.after_load_checkpoint(runner, checkpoint)
    resumed.before_train(runner)
    assert resumed.history == hook.history[:2] and (resumed.best_epoch, resumed.previous_best) == (2, 1)
    # Epoch 3 is trained and scored again; epoch 1's file went when epoch 3 became the best.
    assert [p.name for p in tmp_path.glob("best-epoch*.pth")] == ["best-epoch2.pth"]

    best_weights_file(tmp_path, 2).unlink()
    again = val_hook(config, twin, tmp_path)
    again.after_load_checkpoint(runner, checkpoint)
    with pytest.raises(DatasetError, match="best-epoch2.pth: the weights of the best val epoch so far are missing"):
        again.before_train(runner)


def test_the_val_list_is_required_exactly_when_the_best_epoch_is_kept(demo_config, tmp_path):
    faithful = run_spec(tiny_config(demo_config), "faster_rcnn", "bf", "all", 0)
    assert validation_hooks(faithful, tmp_path, None, tmp_path) == []
    with pytest.raises(ConfigError, match="keeps the final epoch .* drop --val-list"):
        validation_hooks(faithful, tmp_path, tmp_path / "val.txt", tmp_path)
    config = tiny_config(demo_config)
    config["protocol"] = BEST_VAL
    with pytest.raises(ConfigError, match="best_val scores the val images; pass their list"):
        validation_hooks(run_spec(config, "faster_rcnn", "bf", "all", 0), tmp_path, None, tmp_path)


def train_run(twin, config, protocol, out, train_ids, **detect):
    config = tiny_config(config, **detect)
    config["protocol"] = protocol
    spec = run_spec(config, "faster_rcnn", "bf", "all", 0)
    layout = read_pointer(twin).layout
    train_list = image_list(out.parent / f"{out.name}-train.txt", train_ids)
    val_list = layout.split_file("val") if spec.validates else None
    paths = TrainPaths(twin, train_list, out / "model.pth", out / "run.json", val_list=val_list)
    return train(spec, paths)


SHORT = dict(epochs=3, milestones=[2], checkpoint_interval=1, batch_size=2)


def test_the_run_keeps_the_weights_of_its_best_val_epoch(twin, demo_config, tmp_path, monkeypatch):
    """Scored 0.2, 0.6 and 0.4, a 3-epoch run keeps epoch 2: the weights of a 2-epoch run of the same seed."""
    train_ids = read_pointer(twin).layout.read_split("train")[:4]
    monkeypatch.setattr(CtcBestValHook, "score", scripted([0.2, 0.6, 0.4]))
    record = train_run(twin, demo_config, BEST_VAL, tmp_path / "best", train_ids, **SHORT)
    short = train_run(twin, demo_config, "faithful", tmp_path / "short", train_ids, **{**SHORT, "epochs": 2})
    training = record["training"]
    assert training["checkpoint"] == "best_val" and training["model_epoch"] == 2 and training["epochs"] == 3
    assert [(e["epoch"], e["ap50"]) for e in training["val"]["history"]] == [(1, 0.2), (2, 0.6), (3, 0.4)]
    assert training["val"]["best_epoch"] == 2 and len(record["inputs"]["val_list"]["sha256"]) == 64
    assert short["training"]["checkpoint"] == "final" and short["training"]["val"] is None
    kept = torch.load(tmp_path / "best" / "model.pth", weights_only=True)
    reference = torch.load(tmp_path / "short" / "model.pth", weights_only=True)["state_dict"]
    assert kept["meta"]["epoch"] == 2
    assert all(torch.equal(kept["state_dict"][key], reference[key]) for key in reference)
    assert not list((tmp_path / "best" / "work").glob("*.pth")), "the best epoch's file goes with the checkpoints"


def test_val_scores_are_the_image_level_evaluation_and_leave_training_alone(twin, demo_config, tmp_path):
    """The score of the kept epoch is what detect-evaluate's code makes of that model's val predictions, and a run
    that scores val trains the same weights, iteration by iteration, as one that does not."""
    layout = read_pointer(twin).layout
    train_ids = layout.read_split("train")[:4]
    protocol = "corrected"  # exact IoU, ground truth of undetected images counted
    record = train_run(twin, demo_config, protocol, tmp_path / "best", train_ids, **SHORT)
    final = f"{protocol},detector_checkpoint=final"
    train_run(twin, demo_config, final, tmp_path / "final", train_ids, **SHORT)
    assert (tmp_path / "best" / "curves.csv").read_bytes() == (tmp_path / "final" / "curves.csv").read_bytes()

    val = record["training"]["val"]
    kept = next(entry for entry in val["history"] if entry["epoch"] == record["training"]["model_epoch"])
    val_ids = layout.read_split("val")
    # detect_predict's batch size, the detect section's (batches of another size round differently)
    predictions = predict(
        model_path=tmp_path / "best" / "model.pth",
        dataset=twin,
        image_list=layout.split_file("val"),
        batch_size=SHORT["batch_size"],
    )
    detections = prepare(predictions, val_ids, val["nms_iou"])
    expected = val_summary(detections, ground_truth(layout, "val", val_ids), parse(protocol))
    assert {key: kept[key] for key in expected} == expected and kept["n_ground_truth"] > 0
