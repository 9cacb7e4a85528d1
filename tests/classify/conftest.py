"""Session fixtures of the classification tests (helpers in classify_helpers.py)."""

import pytest
from classify_helpers import TinyCrops, build_tiny_crops


@pytest.fixture(scope="session")
def tiny_crops(tmp_path_factory: pytest.TempPathFactory) -> TinyCrops:
    return build_tiny_crops(tmp_path_factory.mktemp("classify_twin"))
