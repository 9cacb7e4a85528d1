"""The results tree remembers its protocol: the first real run stamps it, a later plan with another is refused."""

import pytest

from ctcbench.errors import ConfigError
from ctcbench.results_stamp import check_stamp, write_stamp


def test_stamp_round_trip_and_refusal(tmp_path):
    faithful = {"protocol": "faithful", "hoechst_channels": 3, "seeds": [0]}
    check_stamp(tmp_path, faithful)  # no stamp yet: anything goes
    write_stamp(tmp_path, faithful)
    check_stamp(tmp_path, {**faithful, "seeds": [0, 1, 2]})  # other keys may change
    with pytest.raises(ConfigError, match=r"hoechst_channels 3 -> 4"):
        check_stamp(tmp_path, {**faithful, "protocol": "corrected", "hoechst_channels": 4})
    (tmp_path / "protocol.json").write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable"):
        check_stamp(tmp_path, faithful)
