"""The speed options of classifier training on the tiny twin: augmentation on the device (resumable, and really
another path), the fused optimizer (CUDA only; no change on CPU) and torch.compile of the training forward."""

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch
from classify_helpers import same_weights, tiny_config, tiny_spec

from ctcbench.classify import runtime
from ctcbench.classify.augment import Normalisation, resize
from ctcbench.classify.data import CropSource, TrainBatches, trainset_indices
from ctcbench.classify.spec import ClassifierSpec
from ctcbench.classify.train import RESUME_DIR, train
from ctcbench.data.crops import CropCache
from ctcbench.data.splits import read_trainset
from ctcbench.errors import ConfigError


class Crash(Exception):
    pass


def crash_at(step_to_crash):
    def on_step(step):
        if step == step_to_crash:
            raise Crash()

    return on_step


def same_run(a, b):
    """Bit-identical checkpoints, training curves and validations."""
    assert same_weights(a / "best.pt", b / "best.pt") and same_weights(a / "final.pt", b / "final.pt")
    assert (a / "curves.csv").read_bytes() == (b / "curves.csv").read_bytes()
    validation = [json.loads((run / "run.json").read_text())["training"]["validation"] for run in (a, b)]
    assert validation[0] == validation[1]


@pytest.mark.parametrize("protocol", ["faithful", "corrected"])
def test_a_device_augmented_run_resumes_exactly_and_differs_from_a_loader_run(tiny_crops, tmp_path, protocol):
    straight = tiny_config(tiny_crops, tmp_path / "straight", protocol=protocol, augment_on="device", drop_path=0.1)
    assert train(straight, progress=False).completed

    # Paused after 5 steps, resumed with a loader worker; crashed at step 6, resumed from the state of step 4.
    paused = dataclasses.replace(straight, out_dir=tmp_path / "paused")
    assert not train(paused, stop_after=5, progress=False).completed
    saved = torch.load(paused.out_dir / RESUME_DIR / "last.pt", weights_only=False)
    assert isinstance(saved["rng"]["augment"], torch.Tensor)  # the device generator's state travels in last.pt
    assert train(dataclasses.replace(paused, workers=1), progress=False).completed
    crashed = dataclasses.replace(straight, out_dir=tmp_path / "crashed")
    with pytest.raises(Crash):
        train(crashed, on_step=crash_at(6), progress=False)
    assert train(crashed, progress=False).completed
    for run in (paused, crashed):
        same_run(straight.out_dir, run.out_dir)

    record = json.loads((straight.out_dir / "run.json").read_text())
    assert record["spec"]["augment_on"] == "device" and record["compute"]["sessions"] == 1
    loader_run = tiny_config(tiny_crops, tmp_path / "loader", protocol=protocol, drop_path=0.1)
    assert train(loader_run, progress=False).completed
    assert not same_weights(straight.out_dir / "final.pt", loader_run.out_dir / "final.pt")


def test_a_loader_run_does_not_resume_as_a_device_run(tiny_crops, tmp_path):
    cfg = tiny_config(tiny_crops, tmp_path / "run")
    train(cfg, stop_after=2, progress=False)
    with pytest.raises(ConfigError, match="resume state of a different run spec"):
        train(dataclasses.replace(cfg, spec=dataclasses.replace(cfg.spec, augment_on="device")), progress=False)


def test_for_the_device_the_loader_yields_the_same_crops_only_resized(tiny_crops):
    cache = CropCache.load(tiny_crops.cache("train"))
    source = CropSource(cache, "bf_fluo")
    indices, labels = trainset_indices(cache, read_trainset(tiny_crops.trainset("all")))
    norm = Normalisation(mean=(100.0,) * 6, std=(10.0,) * 6)
    loader_side, device_side = (
        TrainBatches(source, indices, labels, 8, 24, 0, "clipped", norm, augment=augment) for augment in (True, False)
    )
    for step in (0, 5):
        augmented, augmented_labels = loader_side[step]
        plain, plain_labels = device_side[step]
        assert torch.equal(augmented_labels, plain_labels)  # the same crops, drawn the same way
        assert not torch.equal(augmented, plain)
        rng = np.random.default_rng([0, step])
        positions = rng.choice(len(indices), size=8, replace=False)
        for row, position in enumerate(positions):
            expected = resize(source.crop(indices[position]), 24)  # native units: no normalisation either
            assert np.array_equal(plain[row].numpy().transpose(1, 2, 0), expected)


def test_augment_on_is_checked_and_left_out_of_a_loader_runs_spec():
    loader_spec, device_spec = tiny_spec(), tiny_spec(augment_on="device")
    assert "augment_on" not in loader_spec.to_dict()  # specs and digests of loader runs are those of before
    assert ClassifierSpec.from_json(loader_spec.to_json()) == loader_spec
    assert ClassifierSpec.from_json(device_spec.to_json()) == device_spec
    assert device_spec.digest() != loader_spec.digest()
    with pytest.raises(ConfigError, match="augment_on 'gpu': expected one of loader, device"):
        tiny_spec(augment_on="gpu")


def test_the_fused_optimizer_is_asked_for_on_cuda_only():
    params = [torch.nn.Parameter(torch.zeros(3))]
    assert runtime.adam(params, 1e-3, torch.device("cuda"), fused=True).defaults["fused"] is True
    for device, fused in ((torch.device("cpu"), True), (torch.device("cuda"), False)):
        assert not runtime.adam(params, 1e-3, device, fused=fused).defaults["fused"]


def test_speed_options_on_cpu_leave_the_run_bit_identical(tiny_crops, tmp_path, monkeypatch):
    """The fused optimizer does nothing on CPU; compile only routes the training forward through the compiled
    module (here an eager stand-in, so the numbers must not move), never validation."""
    calls = {"train": 0, "eval": 0}

    class Compiled(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, images):
            calls["train" if self.model.training else "eval"] += 1
            return self.model(images)

    monkeypatch.setattr(torch, "compile", Compiled)
    plain = tiny_config(tiny_crops, tmp_path / "plain", drop_path=0.1)
    fast = tiny_config(tiny_crops, tmp_path / "fast", drop_path=0.1, compile=True, fused_optimizer=True)
    for cfg in (plain, fast):
        assert train(cfg, progress=False).completed
    assert calls == {"train": fast.schedule.iterations, "eval": 0}
    same_run(plain.out_dir, fast.out_dir)
    compute = json.loads((fast.out_dir / "run.json").read_text())["compute"]
    assert compute["compile"] is True and compute["fused_optimizer"] is True


@pytest.mark.slow
def test_a_compiled_model_trains_and_resumes(tiny_crops, tmp_path):
    """torch.compile for real (inductor on CPU: about a minute on a cold compile cache, hence slow)."""
    if shutil.which("g++") is None and shutil.which("c++") is None:
        pytest.skip("torch.compile's CPU backend (inductor) needs a C++ compiler, and this machine has none")
    cfg = tiny_config(tiny_crops, tmp_path / "compiled", compile=True)
    assert not train(cfg, stop_after=3, progress=False).completed
    assert train(cfg, progress=False).completed
    record = json.loads((cfg.out_dir / "run.json").read_text())
    losses = [float(line.split(",")[2]) for line in (cfg.out_dir / "curves.csv").read_text().splitlines()[1:]]
    assert len(losses) == cfg.schedule.iterations and all(np.isfinite(losses))
    assert record["compute"]["compile"] is True and record["compute"]["sessions"] == 2
    state = torch.load(cfg.out_dir / "final.pt", weights_only=True)["state_dict"]
    assert not any(key.startswith("_orig_mod") for key in state)  # checkpoints hold the model, not its wrapper
