"""One run-record schema: classifier and detector runs write the same top-level keys, read back by one reader."""

import json

import pytest

from ctcbench.errors import DatasetError
from ctcbench.run_record import FORMAT, KEYS, identity, read_run_record, run_record


def record(stage, model_key):
    return run_record(
        stage=stage,
        identity={"name": "m/bf/all/seed1", model_key: "m", "setting": "bf", "trainset": "all", "seed": 1},
        protocol="faithful",
        spec={"seed": 1},
        spec_sha256="0" * 64,
        inputs={},
        outputs={},
        training={},
        device="cpu",
        compute={"wall_time_s": 1.0},
    )


def test_both_stages_write_the_same_keys_and_read_back(tmp_path):
    classifier, detector = record("classify", "backbone"), record("detect", "detector")
    assert list(classifier) == list(detector) == list(KEYS) and classifier["format"] == FORMAT
    assert set(classifier["environment"]) == {"git", "packages", "device"}
    assert identity(classifier) == ("classify", "m", "all", "bf", 1)
    assert identity(detector) == ("detect", "m", "all", "bf", 1)
    path = tmp_path / "run.json"
    path.write_text(json.dumps(detector))
    assert read_run_record(path) == json.loads(json.dumps(detector))


def test_a_record_without_its_identity_or_of_an_older_schema_is_refused(tmp_path):
    with pytest.raises(ValueError, match="without \\['backbone'\\]"):
        record("classify", "detector")
    old = tmp_path / "run.json"
    old.write_text(json.dumps({"run": {"backbone": "m"}, "config": {}}))
    with pytest.raises(DatasetError, match="run record format None, expected ctcbench.run/1; train it again"):
        read_run_record(old)


def test_step_seconds_summarise_the_steps_a_record_saw():
    from ctcbench.run_record import step_seconds

    assert step_seconds([]) is None
    assert step_seconds([3.0, 1.0, 2.0]) == {"count": 3, "median": 2.0, "mean": 2.0, "max": 3.0}
    assert step_seconds([9.0, 1.0, 2.0, 4.0])["median"] == 3.0  # the first, slow step does not move it much
