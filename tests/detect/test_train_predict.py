"""Real training and inference on a tiny twin: one iteration of each detector, predictions keyed by image id,
and a training run killed after its first checkpoint that continues where it stopped."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mmdet")

from detect_helpers import ROOT, image_list, tiny_config  # noqa: E402

from ctcbench.data.pointer import read_pointer  # noqa: E402
from ctcbench.detect.predict import predict  # noqa: E402
from ctcbench.detect.predictions import read_predictions, write_predictions  # noqa: E402
from ctcbench.detect.recipes import DETECTORS  # noqa: E402
from ctcbench.detect.spec import run_spec  # noqa: E402
from ctcbench.detect.train import TrainPaths, train  # noqa: E402
from ctcbench.run_record import KEYS  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory, twin, demo_config):
    """One training iteration (two images, batch 2) of each detector on BF+Fluorescence."""
    base = tmp_path_factory.mktemp("detect_runs")
    layout = read_pointer(twin).layout
    train_ids = layout.read_split("train")[:2]
    train_list = image_list(base / "train.txt", train_ids)
    runs = {}
    for detector in DETECTORS:
        spec = run_spec(tiny_config(demo_config), detector, "bf_fluo", "all", 0)
        out = base / detector
        record = train(
            spec,
            TrainPaths(dataset=twin, train_list=train_list, model=out / "model.pth", run_json=out / "run.json"),
            threads=2,
        )
        runs[detector] = (out, record)
    return runs


@pytest.mark.parametrize("detector", DETECTORS)
def test_one_iteration_trains_and_records_its_provenance(trained, detector):
    out, record = trained[detector]
    assert (out / "model.pth").is_file()
    assert record == json.loads((out / "run.json").read_text())
    assert sorted(record) == sorted(KEYS) and record["stage"] == "detect" and record["run"]["seed"] == 0
    training = record["training"]
    assert (training["iterations"], training["epochs"], training["in_channels"]) == (1, 1, 6)
    assert record["protocol"] == "faithful" and training["box_shift"] == -1
    assert len(record["inputs"]["train_list"]["sha256"]) == 64 and record["inputs"]["train_list"]["images"] == 2
    environment = record["environment"]
    assert environment["packages"]["mmdet"] == "3.3.0" and environment["packages"]["mmcv"] == "2.1.0"
    assert environment["device"]["device"] in ("cpu", "cuda")
    assert "commit" in environment["git"] and record["compute"]["wall_time_s"] > 0
    assert not list((out / "work").glob("*.pth")), "resumable checkpoints are removed once the model is written"


@pytest.mark.parametrize("detector", DETECTORS)
def test_inference_covers_every_test_image_in_original_pixels(trained, twin, tmp_path, detector):
    out, _ = trained[detector]
    layout = read_pointer(twin).layout
    predictions = predict(model_path=out / "model.pth", dataset=twin, image_list=layout.split_file("test"))
    assert list(predictions.images) == layout.read_split("test")
    for entry in predictions.images.values():
        assert (entry.width, entry.height) == (160, 160)
        assert entry.boxes.shape == (len(entry.scores), 4)
        assert np.all(np.diff(entry.scores) <= 0)
        if len(entry.boxes):
            assert entry.boxes.min() >= -1 and entry.boxes.max() <= 161
    write_predictions(tmp_path / "predictions.json", predictions)
    again = read_predictions(tmp_path / "predictions.json")
    assert again.meta["detector"] == detector and again.meta["box_convention"].startswith("x1 y1 x2 y2")
    for image_id, entry in predictions.images.items():
        assert np.allclose(again.images[image_id].boxes, entry.boxes, atol=1e-3)
        assert np.array_equal(again.images[image_id].scores, entry.scores)


def test_predictions_are_keyed_by_id_whatever_the_list_order(trained, twin, tmp_path):
    out, _ = trained["fcos"]
    layout = read_pointer(twin).layout
    ids = layout.read_split("test") + layout.read_split("val")
    shuffled = ids[:]
    random.Random(3).shuffle(shuffled)
    assert shuffled != ids
    straight = predict(model_path=out / "model.pth", dataset=twin, image_list=image_list(tmp_path / "a.txt", ids))
    mixed = predict(model_path=out / "model.pth", dataset=twin, image_list=image_list(tmp_path / "b.txt", shuffled))
    assert list(mixed.images) == shuffled
    for image_id in ids:
        assert np.allclose(straight.images[image_id].boxes, mixed.images[image_id].boxes, atol=1e-4)
        assert np.allclose(straight.images[image_id].scores, mixed.images[image_id].scores, atol=1e-6)


def test_the_same_seed_gives_the_same_bytes_twice(twin, demo_config, tmp_path):
    """Two uninterrupted runs of one spec write identical weights, curves and test predictions."""
    layout = read_pointer(twin).layout
    train_list = image_list(tmp_path / "train.txt", layout.read_split("train")[:2])
    spec = run_spec(tiny_config(demo_config, epochs=2, milestones=[1]), "faster_rcnn", "bf", "all", 0)
    outputs = []
    for name in ("first", "second"):
        out = tmp_path / name
        train(spec, TrainPaths(dataset=twin, train_list=train_list, model=out / "model.pth", run_json=out / "run.json"))
        write_predictions(
            out / "predictions.json",
            predict(model_path=out / "model.pth", dataset=twin, image_list=layout.split_file("test")),
        )
        outputs.append({f: (out / f).read_bytes() for f in ("model.pth", "curves.csv")})
        predictions = json.loads((out / "predictions.json").read_text())
        del predictions["meta"]["wall_time_s"]  # the one field that is a measurement, not a result
        outputs[-1]["predictions.json"] = json.dumps(predictions).encode()
    assert outputs[0]["curves.csv"].count(b"\n") == 3  # header and one row per iteration
    for name in outputs[0]:
        assert outputs[0][name] == outputs[1][name], f"{name} differs between two runs of one spec"


def kill_after_first_checkpoint(command: list[str], env: dict[str, str], work: Path) -> None:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    pointer = work / "last_checkpoint"
    while not (pointer.is_file() and pointer.read_text().strip()):
        assert process.poll() is None, "training ended before its first checkpoint"
        assert time.time() < deadline, "no checkpoint within 4 minutes"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()


def killed_and_resumed(command: list[str], out: Path) -> dict:
    """Run `command`, kill it after its first checkpoint, run it again to the end; the run record it writes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "workflow")}
    kill_after_first_checkpoint(command, env, out / "work")
    assert not (out / "model.pth").exists(), "killed before the end"
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads((out / "run.json").read_text())


@pytest.mark.parametrize("detector", DETECTORS)
def test_a_killed_training_resumes_to_the_same_weights_bit_for_bit(twin, demo_config, tmp_path, detector):
    """Killed after its first checkpoint and run again, a detector ends where an uninterrupted run ends: same
    weights, same test predictions (random flips, box sampling and denoising queries continue, not restart)."""
    import torch

    layout = read_pointer(twin).layout
    train_list = image_list(tmp_path / "train.txt", layout.read_split("train")[:4])
    config = tiny_config(demo_config, epochs=3, milestones=[2], checkpoint_interval=1, batch_size=2)
    spec = run_spec(config, detector, "bf", "all", 0)
    whole = tmp_path / "whole"
    train(spec, TrainPaths(dataset=twin, train_list=train_list, model=whole / "model.pth", run_json=whole / "run.json"))

    out = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "ctcbench",
        "detect-train",
        "--dataset",
        str(twin),
        "--train-list",
        str(train_list),
        "--spec",
        spec.to_json(),
        "--model",
        str(out / "model.pth"),
        "--run-json",
        str(out / "run.json"),
        "--threads",
        "1",
    ]
    record = killed_and_resumed(command, out)
    assert record["training"]["epochs"] == 3 and record["training"]["iterations"] == 6
    attempts = record["compute"]["attempts"]
    assert len(attempts) == 1 and attempts[0]["resumed_from_epoch"] >= 1
    assert record["compute"]["step_seconds"]["count"] == 6  # the iterations before the kill travel in the checkpoint

    resumed = torch.load(out / "model.pth", weights_only=True)["state_dict"]
    reference = torch.load(whole / "model.pth", weights_only=True)["state_dict"]
    differing = [key for key in reference if not torch.equal(reference[key], resumed[key])]
    assert not differing, f"{len(differing)} tensors differ after resuming, e.g. {differing[:3]}"
    assert (out / "curves.csv").read_bytes() == (whole / "curves.csv").read_bytes()
    test_ids = layout.split_file("test")
    after, before = (predict(model_path=run / "model.pth", dataset=twin, image_list=test_ids) for run in (out, whole))
    for image_id, entry in after.images.items():
        assert np.array_equal(entry.boxes, before.images[image_id].boxes)
        assert np.array_equal(entry.scores, before.images[image_id].scores)


# Val scores of epochs 1, 2 and 3, in place of predicting the val images: epoch 1 is the best.
SCRIPTED_SCORES = [0.9, 0.1, 0.2]
# `ctcbench detect-train` with those scores.
SCRIPTED_VAL_TRAIN = f"""
import sys
from ctcbench.cli import main
from ctcbench.detect.best_val import CtcBestValHook
CtcBestValHook.score = lambda self, model: {{"ap50": {SCRIPTED_SCORES}[len(self.history)], "best_f1": 0.0}}
sys.exit(main())
"""


def scripted_score(self, model):
    return {"ap50": SCRIPTED_SCORES[len(self.history)], "best_f1": 0.0}


def test_a_killed_best_val_training_keeps_its_best_epoch_so_far(twin, demo_config, tmp_path, monkeypatch):
    """Killed after its best epoch (the first) and run again, a run that keeps its best val epoch ends with the
    model and val scores of an uninterrupted run: the scores so far and the best weights survive the kill."""
    import torch

    from ctcbench.detect.best_val import CtcBestValHook

    layout = read_pointer(twin).layout
    train_list = image_list(tmp_path / "train.txt", layout.read_split("train")[:4])
    val_list = layout.split_file("val")
    config = tiny_config(demo_config, epochs=3, milestones=[2], checkpoint_interval=1, batch_size=2)
    config["protocol"] = "faithful,detector_checkpoint=best_val"
    spec = run_spec(config, "faster_rcnn", "bf", "all", 0)
    monkeypatch.setattr(CtcBestValHook, "score", scripted_score)
    whole = tmp_path / "whole"
    paths = TrainPaths(twin, train_list, whole / "model.pth", whole / "run.json", val_list=val_list)
    reference = train(spec, paths)
    assert reference["training"]["model_epoch"] == 1

    driver = tmp_path / "scripted_train.py"
    driver.write_text(SCRIPTED_VAL_TRAIN)
    out = tmp_path / "killed"
    command = [sys.executable, str(driver), "detect-train", "--dataset", str(twin), "--train-list", str(train_list),
               "--val-list", str(val_list), "--spec", spec.to_json(), "--model", str(out / "model.pth"),
               "--run-json", str(out / "run.json"), "--threads", "1"]  # fmt: skip
    record = killed_and_resumed(command, out)
    assert record["compute"]["attempts"][0]["resumed_from_epoch"] >= 1
    assert record["training"]["val"] == reference["training"]["val"] and record["training"]["model_epoch"] == 1
    resumed = torch.load(out / "model.pth", weights_only=True)["state_dict"]
    expected = torch.load(whole / "model.pth", weights_only=True)["state_dict"]
    assert all(torch.equal(resumed[key], expected[key]) for key in expected)


def test_a_changed_config_starts_over_instead_of_resuming(twin, demo_config, tmp_path):
    from ctcbench.detect.train import prepare_work_dir

    spec = run_spec(tiny_config(demo_config), "fcos", "bf", "all", 0)
    work = tmp_path / "work"
    prepare_work_dir(work, spec)
    (work / "epoch_1.pth").write_bytes(b"old")
    prepare_work_dir(work, spec)
    assert (work / "epoch_1.pth").exists()
    other = run_spec(tiny_config(demo_config, epochs=2, milestones=[1]), "fcos", "bf", "all", 0)
    prepare_work_dir(work, other)
    assert not (work / "epoch_1.pth").exists()


def test_an_empty_checkpoint_pointer_falls_back_to_the_last_complete_epoch_file(tmp_path):
    import torch

    from ctcbench.detect.train import latest_checkpoint

    assert latest_checkpoint(tmp_path) is None
    for epoch in (2, 10):
        torch.save({"epoch": epoch}, tmp_path / f"epoch_{epoch}.pth")
    (tmp_path / "last_checkpoint").write_text("")
    assert latest_checkpoint(tmp_path) == tmp_path / "epoch_10.pth"
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "epoch_2.pth"))
    assert latest_checkpoint(tmp_path) == tmp_path / "epoch_2.pth"
    # a checkpoint cut short by a kill (its zip directory missing) is never chosen
    (tmp_path / "last_checkpoint").unlink()
    whole = (tmp_path / "epoch_10.pth").read_bytes()
    (tmp_path / "epoch_11.pth").write_bytes(whole[: len(whole) // 2])
    assert latest_checkpoint(tmp_path) == tmp_path / "epoch_10.pth"


def test_corrected_six_channel_run_starts_from_an_inflated_pretrained_stem(twin, demo_config, tmp_path):
    """A stand-in for the ImageNet ResNet-50 (random weights in torchvision's layout) is loaded, its conv1 is
    tiled over the six channels, the stem stays frozen, and run.json records the file."""
    import torch
    import torchvision

    weights = tmp_path / "resnet50-00000000.pth"
    torch.save(torchvision.models.resnet50().state_dict(), weights)
    config = tiny_config(demo_config, pretrained=True, backbone_depth=50, backbone_width=64)
    config["protocol"] = "corrected"
    spec = run_spec(config, "faster_rcnn", "bf_fluo", "all", 0)
    layout = read_pointer(twin).layout
    out = tmp_path / "run"
    train_list = image_list(tmp_path / "t.txt", layout.read_split("train")[:2])
    record = train(
        spec,
        TrainPaths(
            dataset=twin,
            train_list=train_list,
            model=out / "model.pth",
            run_json=out / "run.json",
            weights=weights,
            val_list=layout.split_file("val"),  # corrected keeps the best val epoch
        ),
    )
    training = record["training"]
    assert training["stem"] == "inflate" and training["standardise"] == "imagenet" and training["box_shift"] == 0
    assert record["inputs"]["weights"]["key"] == "imagenet_pytorch" and len(record["inputs"]["weights"]["sha256"]) == 64
    state = torch.load(out / "model.pth", weights_only=True)["state_dict"]
    expected = torch.load(weights, weights_only=True)["conv1.weight"]
    assert torch.allclose(state["backbone.conv1.weight"], torch.cat([expected, expected], 1) / 2)


def test_a_full_disk_at_an_epoch_checkpoint_is_one_line_and_leaves_no_partial_file(
    twin, demo_config, tmp_path, monkeypatch
):
    """mmengine writes its checkpoints itself: the second one meets a full disk after 1 KiB."""
    import errno

    from mmengine.fileio.backends.local_backend import LocalBackend

    from ctcbench.errors import DiskFullError

    real_put = LocalBackend.put

    def put_on_a_full_disk(self, obj, filepath):
        if str(filepath).endswith("epoch_2.pth"):
            Path(filepath).write_bytes(obj[:1024])
            raise OSError(errno.ENOSPC, "No space left on device")
        real_put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, "put", put_on_a_full_disk)
    layout = read_pointer(twin).layout
    train_list = image_list(tmp_path / "train.txt", layout.read_split("train")[:2])
    spec = run_spec(tiny_config(demo_config, epochs=2, checkpoint_interval=1), "fcos", "bf", "all", 0)
    out = tmp_path / "run"
    paths = TrainPaths(dataset=twin, train_list=train_list, model=out / "model.pth", run_json=out / "run.json")
    with pytest.raises(DiskFullError) as info:
        train(spec, paths)
    message = str(info.value)
    assert message.startswith(f"{out / 'work' / 'epoch_2.pth'}: no space left on the device while training (1.0 KiB")
    assert "the next run resumes from epoch 1" in message and "\n" not in message
    assert sorted(p.name for p in (out / "work").glob("*.pth")) == ["epoch_1.pth"]
    assert not paths.model.exists()


def test_scoring_a_detectors_own_predictions_as_external_reproduces_its_metrics(trained, twin, tmp_path):
    """`ctcbench score` accepts the detectors' own files and evaluates them exactly as detect-evaluate does."""
    from ctcbench.cli import main
    from ctcbench.detect.evaluate import detection_stage_metrics
    from ctcbench.protocol import FAITHFUL

    out, _ = trained["faster_rcnn"]
    layout = read_pointer(twin).layout
    test_list = image_list(tmp_path / "test.txt", layout.read_split("test"))
    predictions = predict(model_path=out / "model.pth", dataset=twin, image_list=test_list)
    write_predictions(tmp_path / "predictions.json", predictions)
    built_in = detection_stage_metrics(
        read_predictions(tmp_path / "predictions.json"), layout, layout.read_split("test"), "Unioned", FAITHFUL
    )
    scored = tmp_path / "scored.json"
    own = str(tmp_path / "predictions.json")
    main(["score", "--name", "own", "--setting", "bf_fluo", "--predictions", own, "--dataset", str(twin),
          "--image-list", str(test_list), "--protocol", "faithful", "--out", str(scored)])  # fmt: skip
    external = json.loads(scored.read_text())
    for key in ("ap50", "best_f1", "precision_at_best_f1", "recall_at_best_f1", "n_ground_truth", "per_patient"):
        assert external[key] == built_in[key], key
