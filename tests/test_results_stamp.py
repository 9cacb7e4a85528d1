"""The results tree remembers its protocol: the first real run stamps it, a later plan with another is refused."""

import pytest

from ctcbench.errors import ConfigError
from ctcbench.results_stamp import check_stamp, write_stamp


def test_stamp_round_trip_and_refusal(tmp_path):
    faithful = {"protocol": "faithful", "seeds": [0]}
    check_stamp(tmp_path, faithful)  # no stamp yet: anything goes
    write_stamp(tmp_path, faithful)
    check_stamp(tmp_path, {**faithful, "seeds": [0, 1, 2]})  # other keys may change
    check_stamp(tmp_path, {**faithful, "protocol": {"base": "faithful"}})  # the same protocol, written otherwise
    with pytest.raises(ConfigError, match=r"\(faithful; fusion_gate 0.1 -> null\)"):
        check_stamp(tmp_path, {**faithful, "protocol": "faithful,fusion_gate=null"})
    with pytest.raises(ConfigError, match=r"hoechst_channels 3 -> 4"):
        check_stamp(tmp_path, {**faithful, "protocol": "corrected,hoechst_channels=4"})


def test_a_stamp_from_before_the_switches_is_read(tmp_path):
    (tmp_path / "protocol.json").write_text('{"protocol": "corrected", "hoechst_channels": 4}')
    check_stamp(tmp_path, {"protocol": "corrected,hoechst_channels=4"})
    with pytest.raises(ConfigError, match=r"hoechst_channels 4 -> 3"):
        check_stamp(tmp_path, {"protocol": "corrected"})


def test_an_unreadable_stamp_is_refused(tmp_path):
    (tmp_path / "protocol.json").write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable"):
        check_stamp(tmp_path, {"protocol": "faithful"})
    (tmp_path / "protocol.json").write_text('{"protocol": "faithfull"}')
    with pytest.raises(ConfigError, match="unreadable protocol"):
        check_stamp(tmp_path, {"protocol": "faithful"})
