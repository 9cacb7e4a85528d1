"""The brightfield-only track (classify.bf_only): its training images, its offline expansion, its macro metrics,
its statistics and one run trained end to end on the tiny twin."""

import json

import numpy as np
import pytest
from classify_helpers import TINY_MODEL
from scipy import stats as scipy_stats
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from ctcbench.classify.bf_only.augment import apply, draw
from ctcbench.classify.bf_only.metrics import confusion, from_confusion, macro_metrics
from ctcbench.classify.bf_only.records import MacroRecords
from ctcbench.classify.bf_only.samples import (
    OFFLINE,
    ONLINE,
    image,
    sample_draw,
    training_samples,
    validation_samples,
)
from ctcbench.classify.bf_only.spec import BfOnlySpec
from ctcbench.classify.bf_only.stats import compare
from ctcbench.classify.bf_only.variants import variant
from ctcbench.data.channels import HOECHST
from ctcbench.data.crops import CropCache
from ctcbench.data.layout import CLASSES
from ctcbench.data.splits import read_trainset
from ctcbench.errors import ConfigError


@pytest.fixture(scope="module")
def train_cache(tiny_crops):
    return CropCache.load(tiny_crops.cache("train"))


@pytest.fixture(scope="module")
def records(tiny_crops):
    return read_trainset(tiny_crops.trainset("all"))


def test_each_brightfield_crop_has_its_hoechst_partner_with_the_same_label(train_cache, records):
    samples = training_samples(train_cache, records, variant("bfnuc-aug0"), "drop", 5)
    kept = [r for r in records if r.label in ("R", "G")]
    assert len(samples) == 2 * len(kept)
    by_crop = {}
    for sample in samples:
        by_crop.setdefault(sample.index, {})[sample.channel] = sample.label
    position = {str(key): i for i, key in enumerate(train_cache.keys)}
    for record in kept:
        assert by_crop[position[record.key]] == {"bf": "RG".index(record.label), "nuc": "RG".index(record.label)}
    # The partner image is the cell's Hoechst channel, scaled to [0, 1] and repeated to three channels.
    partner = next(s for s in samples if s.channel == "nuc")
    crop = train_cache.crop(partner.index)
    expected = crop[..., train_cache.bf_channels + HOECHST].astype(np.float32) / 255
    assert np.array_equal(image(train_cache, partner), np.repeat(expected[..., None], 3, axis=2))


def test_unknown_cells_are_dropped_or_made_not_cancer(train_cache, records):
    unknown = sum(r.label == "U" for r in records)
    assert unknown > 0
    dropped = training_samples(train_cache, records, variant("bf-aug0"), "drop", 5)
    kept = training_samples(train_cache, records, variant("bf-aug0"), "not_cancer", 5)
    assert len(kept) - len(dropped) == unknown
    assert {s.label for s in kept} == {0, 1}


def test_validation_uses_the_primary_channel_alone(tiny_crops):
    val_cache = CropCache.load(tiny_crops.cache("val"))
    for value, channel in (("bfnuc-aug3", "bf"), ("bf-aug1", "bf"), ("nucbf-aug3", "nuc")):
        samples = validation_samples(val_cache, variant(value), "drop")
        assert {s.channel for s in samples} == {channel}
        assert len(samples) == int(np.isin(val_cache.labels, [CLASSES.index("R"), CLASSES.index("G")]).sum())


@pytest.mark.parametrize(("value", "per_crop"), [("bfnuc-aug3", 5), ("bf-aug3", 5), ("bf-aug1", 5), ("bfnuc-aug0", 2),
                                                 ("bf-aug0", 1)])  # fmt: skip
def test_the_offline_expansion_makes_five_images_per_crop(train_cache, records, value, per_crop):
    # The study: 782 training crops -> 3,910 images, its nuclear images included.
    samples = training_samples(train_cache, records, variant(value), "drop", 5)
    crops = sum(r.label in ("R", "G") for r in records)
    assert len(samples) == per_crop * crops


def test_offline_copies_are_fixed_and_seeded_online_draws_are_fresh(train_cache, records):
    v = variant("bfnuc-aug3")
    samples = training_samples(train_cache, records, v, "drop", 5)
    copy = next(s for s in samples if s.copy == 2)
    original = next(s for s in samples if s.copy == 0 and s.channel == "bf")
    partner = next(s for s in samples if s.channel == "nuc")
    assert sample_draw(original, v, OFFLINE, 0, 0, 0) is None and sample_draw(partner, v, ONLINE, 0, 0, 0) is None
    first = sample_draw(copy, v, OFFLINE, 0, epoch=0, position=3)
    assert first == sample_draw(copy, v, OFFLINE, 0, epoch=7, position=11)  # the same copy every epoch
    assert first != sample_draw(copy, v, OFFLINE, 1, epoch=0, position=3)  # another seed, another copy
    assert sample_draw(copy, v, ONLINE, 0, 0, 3) != sample_draw(copy, v, ONLINE, 0, 1, 3)
    picture = image(train_cache, copy)
    assert np.array_equal(apply(picture, first), apply(picture, sample_draw(copy, v, OFFLINE, 0, 0, 0)))


def test_augmentation_levels_add_operations():
    rng = lambda: np.random.default_rng(3)  # noqa: E731
    none, one, two, three = (draw(rng(), level) for level in range(4))
    assert none.angle is None and not none.hflip and none.brightness is None
    assert one.angle is not None and not (one.hflip or one.vflip) and one.brightness is None
    assert two.angle == one.angle and two.brightness is None
    assert three.angle == one.angle and three.brightness is not None and three.colour is not None


@pytest.mark.parametrize("seed", range(5))
def test_macro_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels, predicted = rng.integers(0, 2, 40), rng.integers(0, 2, 40)
    if seed == 4:
        predicted[:] = 1  # one class never predicted: its precision is 0, as sklearn's zero_division=0
    ours = macro_metrics(labels, predicted)
    p, r, f, _ = precision_recall_fscore_support(labels, predicted, average="macro", zero_division=0)
    assert ours["precision"] == pytest.approx(p) and ours["recall"] == pytest.approx(r)
    assert ours["f1"] == pytest.approx(f) and ours["accuracy"] == pytest.approx(accuracy_score(labels, predicted))


def test_per_image_records_recompute_the_metrics_on_resamples():
    images = np.array(["a", "a", "b", "c", "c", "c"])
    labels, predicted = np.array([0, 1, 0, 1, 1, 0]), np.array([0, 0, 0, 1, 0, 0])
    record = MacroRecords(images, np.array(["r06"] * 6), labels, predicted)
    assert record.metrics() == macro_metrics(labels, predicted)
    twice_a = record.resampled(np.array([[2, 0, 1]]))  # image a twice, c once, b left out
    chosen = np.array([0, 1, 0, 1, 3, 4, 5])
    expected = from_confusion(confusion(np.r_[labels[:2], labels[[0, 1, 3, 4, 5]]],
                                        np.r_[predicted[:2], predicted[[0, 1, 3, 4, 5]]]))  # fmt: skip
    assert len(chosen) == 7
    for name, value in expected.items():
        assert twice_a[name][0] == pytest.approx(value)


def test_statistics_match_scipy_on_a_hand_made_case():
    a, b = [0.70, 0.72, 0.69, 0.74, 0.71], [0.80, 0.79, 0.81, 0.78, 0.82]
    result = compare(a, b)
    assert result["mann_whitney_u"] == pytest.approx(tuple(scipy_stats.mannwhitneyu(a, b, alternative="two-sided")))
    assert result["mann_whitney_u"][0] == 0.0  # every A below every B
    assert result["mann_whitney_u"][1] == pytest.approx(2 / 252)  # exact: 2 of the C(10, 5) orderings as extreme
    assert result["levene"] == pytest.approx(tuple(scipy_stats.levene(a, b)))
    assert result["shapiro_a"] == pytest.approx(tuple(scipy_stats.shapiro(a)))
    few = compare([0.5, 0.6], [0.7, 0.8])  # two runs an arm: no normality or variance test, still a U test
    assert all(np.isnan(few["shapiro_a"])) and all(np.isnan(few["levene"])) and few["mann_whitney_u"][1] > 0
    # With a tie scipy leaves the exact distribution for the normal approximation: five runs fully separated then
    # give p = 0.012, near the study's 0.011.
    tied = compare(a, [0.80, 0.79, 0.81, 0.78, 0.80])["mann_whitney_u"][1]
    assert tied == pytest.approx(scipy_stats.mannwhitneyu(a, [0.80, 0.79, 0.81, 0.78, 0.80]).pvalue) and tied > 2 / 252


def test_a_variant_outside_the_grammar_is_refused():
    with pytest.raises(ConfigError, match="expected <bf|bfnuc|nuc|nucbf>-aug<0-3>"):
        variant("bfdapi-aug3")


def tiny_bf_only_spec(**overrides) -> BfOnlySpec:
    values = dict(backbone="tiny", timm_name=TINY_MODEL, trainset="bfo-bfnuc-aug3", seed=0, protocol="faithful",
                  image_size=32, epochs=2, batch_size=32, lr=1e-3, weight_decay=0.01, expansion=5,
                  unknown="drop")  # fmt: skip
    return BfOnlySpec(**{**values, **overrides})


@pytest.mark.parametrize("protocol", ["faithful", "corrected"])
def test_a_run_trains_and_writes_cell_level_records(tiny_crops, tmp_path, protocol):
    from ctcbench.classify.bf_only.train import Files, train_and_evaluate
    from ctcbench.report.results import results_of

    halves = 0 if protocol == "corrected" else None
    spec = tiny_bf_only_spec(protocol=protocol, val_halves_seed=halves)
    files = Files(tiny_crops.cache("train"), tiny_crops.cache("val"), tiny_crops.trainset("all"), tmp_path / "run")
    metrics = train_and_evaluate(spec, files, "cpu")
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert written["f1"] == metrics["f1"] and 0 <= metrics["f1"] <= 1
    assert written["checkpoint"] == ("cross_fitted" if halves is not None else "oracle")
    assert (tmp_path / "run" / "best-half0.pt").is_file() == (halves is not None)
    record = MacroRecords.from_arrays(dict(np.load(tmp_path / "run" / "per_image.npz")))
    assert record.metrics()["f1"] == pytest.approx(metrics["f1"])
    rows = {(r.metric, r.trainset_kind): r.value for r in results_of(tmp_path / "run" / "metrics.json")}
    assert rows[("f1", "bf_only")] == metrics["f1"] and rows[("accuracy", "bf_only")] == metrics["accuracy"]
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["inputs"]["training_images"] == 5 * int(
        np.isin(CropCache.load(tiny_crops.cache("train")).labels, [0, 1]).sum()
    )


def test_the_pipelines_scorer_feeds_the_checkpoint_as_the_track_does(tiny_crops, tmp_path):
    """best.pt records ImageNet's statistics in the crops' units, so the classifier's evaluation path (the pipeline's
    CellScorer: composition, resize, normalisation) gives the P(R) the track's own input gives."""
    import torch

    from ctcbench.classify.bf_only.train import Files, predict, train_and_evaluate
    from ctcbench.classify.scorer import CellScorer

    files = Files(tiny_crops.cache("train"), tiny_crops.cache("val"), tiny_crops.trainset("all"), tmp_path / "run")
    train_and_evaluate(tiny_bf_only_spec(epochs=1), files, "cpu")
    scorer = CellScorer(tmp_path / "run" / "best.pt", "cpu")
    val_cache = CropCache.load(tiny_crops.cache("val"))
    val = validation_samples(val_cache, variant("bfnuc-aug3"), "drop")
    track = predict(scorer.model, val_cache, val, 32, torch.device("cpu"))[:, 0]
    pipeline = scorer.p_cancer(val_cache, np.array([s.index for s in val]))
    assert np.allclose(pipeline, track, atol=1e-5) and track.std() > 0
