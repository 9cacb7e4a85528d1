"""The learning rate at the steps where the schedule changes, and how a backbone's schedule is resolved."""

import pytest
from classify_helpers import ROOT

from ctcbench.classify.schedule import Schedule, resolve_schedule
from ctcbench.config import load
from ctcbench.errors import ConfigError
from ctcbench.protocol import CORRECTED, FAITHFUL

BASE = Schedule()  # the paper's: lr 1e-4, warm-up 1000, milestones 10000/14000, gamma 0.1


@pytest.mark.parametrize(
    "step, expected",
    [
        (0, 0.0),  # warm-up starts from zero
        (1, 1e-4 * 1 / 1000),
        (500, 1e-4 * 0.5),
        (999, 1e-4 * 0.999),
        (1000, 1e-4),  # warm-up over
        (9999, 1e-4),
        (10000, 1e-4),  # a milestone itself still runs at the old rate (s > m, strictly)
        (10001, 1e-5),
        (13999, 1e-5),
        (14000, 1e-5),
        (14001, 1e-6),
        (17999, 1e-6),
    ],
)
def test_lr_at_the_changes(step, expected):
    assert BASE.lr_at(step) == pytest.approx(expected, rel=1e-12, abs=0)


def test_no_warmup_starts_at_full_rate():
    assert Schedule(warmup=0).lr_at(0) == pytest.approx(1e-4)


def test_milestones_must_increase():
    with pytest.raises(ConfigError, match="strictly increasing"):
        Schedule(milestones=(5, 5))


def test_backbone_overrides_and_faithful_lr():
    classify = load(ROOT / "config.yaml")["classify"]
    swin = resolve_schedule(classify, "swin_b", FAITHFUL)
    assert (swin.iterations, swin.milestones, swin.warmup, swin.lr) == (36000, (20000, 28000), 2000, 1e-4)
    assert swin.lr_at(20001) == pytest.approx(1e-5) and swin.lr_at(1999) == pytest.approx(1e-4 * 1999 / 2000)
    assert resolve_schedule(classify, "efficientnet_b4", FAITHFUL).lr == 1e-3  # the original's B4 rate
    assert resolve_schedule(classify, "efficientnet_b4", CORRECTED).lr == 1e-4  # same as every other backbone
    assert resolve_schedule(classify, "convnext_b", FAITHFUL) == Schedule()
    with pytest.raises(ConfigError, match="expected a key of classify.backbones"):
        resolve_schedule(classify, "vit_b", FAITHFUL)
