"""The k-fold track's splits: an 80/20 split and k folds, stratified by class; grouped by image under the corrected
scheme; every training fold down-sampled to balanced classes."""

import numpy as np
import pytest

from ctcbench.data.kfold_splits import TEST, balanced, split_parts, training_positions
from ctcbench.errors import ConfigError, DatasetError


def crops(images=40, per_image=6, seed=0):
    """Labels (0 cancer, 1 not, about 1 in 3 cancer) and image ids of `images` images of `per_image` crops each."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(images * per_image) > 0.33).astype(np.int64)
    groups = np.repeat([f"img{i:03d}" for i in range(images)], per_image)
    return labels, groups


@pytest.mark.parametrize("scheme", ["stratified", "grouped"])
def test_every_crop_has_one_part_and_the_test_part_is_about_a_fifth(scheme):
    labels, groups = crops()
    parts = split_parts(labels, groups, scheme, folds=5, test_fraction=0.2, seed=3)
    assert set(np.unique(parts)) == {TEST, 0, 1, 2, 3, 4}
    assert abs(np.mean(parts == TEST) - 0.2) < 0.05


def test_stratified_folds_keep_the_class_ratio_of_the_whole():
    labels, groups = crops()
    parts = split_parts(labels, groups, "stratified", seed=1)
    overall = labels.mean()
    for part in [TEST, 0, 1, 2, 3, 4]:
        assert abs(labels[parts == part].mean() - overall) < 0.03


def test_grouped_parts_never_share_an_image_while_stratified_ones_do():
    labels, groups = crops()
    grouped = split_parts(labels, groups, "grouped", seed=1)
    for image in np.unique(groups):
        assert len(set(grouped[groups == image])) == 1, image
    stratified = split_parts(labels, groups, "stratified", seed=1)
    shared = [image for image in np.unique(groups) if len(set(stratified[groups == image])) > 1]
    assert shared  # the crop leak the grouped scheme closes


def test_grouped_training_folds_and_held_out_fold_have_no_image_in_common():
    labels, groups = crops()
    parts = split_parts(labels, groups, "grouped", seed=2)
    for fold in range(5):
        trained = set(groups[training_positions(parts, labels, fold, seed=2)])
        assert not trained & set(groups[parts == fold])
        assert not trained & set(groups[parts == TEST])


def test_a_training_fold_is_the_other_folds_with_the_majority_down_sampled_to_the_minority():
    labels, groups = crops()
    parts = split_parts(labels, groups, "stratified", seed=0)
    for fold in range(5):
        chosen = training_positions(parts, labels, fold, seed=0)
        others = np.flatnonzero((parts != TEST) & (parts != fold))
        minority = min(np.sum(labels[others] == 0), np.sum(labels[others] == 1))
        assert np.sum(labels[chosen] == 0) == np.sum(labels[chosen] == 1) == minority
        assert set(chosen) <= set(others)
        assert len(set(chosen)) == chosen.size


def test_splits_and_down_sampling_repeat_for_a_seed_and_move_with_it():
    labels, groups = crops()
    first, again = (split_parts(labels, groups, "grouped", seed=5) for _ in range(2))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, split_parts(labels, groups, "grouped", seed=6))
    positions = np.arange(labels.size)
    assert np.array_equal(balanced(positions, labels, 1), balanced(positions, labels, 1))
    assert not np.array_equal(balanced(positions, labels, 1), balanced(positions, labels, 2))


def test_too_few_crops_of_a_class_and_unknown_schemes_are_clear_errors():
    labels, groups = np.array([0, 0, 1, 1, 1, 1, 1, 1]), np.arange(8).astype(str)
    with pytest.raises(DatasetError, match="crops per class"):
        split_parts(labels, groups, "stratified", folds=5)
    with pytest.raises(ConfigError, match="expected one of stratified, grouped"):
        split_parts(*crops(), "by_patient")
    with pytest.raises(DatasetError, match="both classes"):
        balanced(np.array([0, 1]), np.array([1, 1]), 0)
