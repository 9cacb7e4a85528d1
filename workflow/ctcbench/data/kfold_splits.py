"""The k-fold protocol's splits of the labelled crops (docs/experiments.md#k-fold-track): a seeded 80/20 split
into a cross-validation part and a test part, k folds of the cross-validation part, and the down-sampled training
set of each fold.

The study split its crops stratified by class only. Crops of one image are then on both sides of a split, so a
fold's held-out crops share their image (its focus, stain and background) with training crops (docs/defects.md#
defect-32). `grouped` keeps every image's crops on one side, still stratified by class as far as the images allow.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DatasetError

STRATIFIED, GROUPED = "stratified", "grouped"
SCHEMES = (STRATIFIED, GROUPED)
TEST = -1  # the part of a crop in the test part; folds are 0 .. k-1


def check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise ConfigError(f"k-fold scheme {scheme!r}: expected one of {', '.join(SCHEMES)}")
    return scheme


def _check_counts(labels: np.ndarray, folds: int) -> None:
    counts = np.bincount(labels, minlength=2)
    if labels.size == 0 or (counts < folds + 1).any():
        raise DatasetError(
            f"k-fold split: {counts.tolist()} crops per class; each class needs more than {folds} for "
            f"{folds} folds and a test part (fewer folds, or a larger dataset)"
        )


def _test_part(labels: np.ndarray, groups: np.ndarray, scheme: str, test_fraction: float, seed: int) -> np.ndarray:
    """Whether each crop is in the test part."""
    from sklearn.model_selection import StratifiedGroupKFold, train_test_split  # not at import: the plan imports this

    positions = np.arange(labels.size)
    if scheme == STRATIFIED:
        _, test = train_test_split(positions, test_size=test_fraction, stratify=labels, random_state=seed)
    else:  # one of round(1 / fraction) stratified group folds: the nearest grouped equivalent of the fraction
        splits = max(2, round(1 / test_fraction))
        _, test = next(StratifiedGroupKFold(splits, shuffle=True, random_state=seed).split(positions, labels, groups))
    is_test = np.zeros(labels.size, bool)
    is_test[test] = True
    return is_test


def split_parts(
    labels: np.ndarray, groups: np.ndarray, scheme: str, *, folds: int = 5, test_fraction: float = 0.2, seed: int = 0
) -> np.ndarray:
    """The part of every crop: TEST, or its fold 0 .. folds-1. `labels` are 0 (cancer) or 1 (not cancer), `groups`
    the crops' image ids (used by the grouped scheme only)."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    labels, groups = np.asarray(labels, np.int64), np.asarray(groups)
    check_scheme(scheme)
    _check_counts(labels, folds)
    parts = np.full(labels.size, TEST, np.int64)
    rest = np.flatnonzero(~_test_part(labels, groups, scheme, test_fraction, seed))
    if scheme == STRATIFIED:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed).split(rest, labels[rest])
    else:
        splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(rest, labels[rest], groups[rest])
    for fold, (_, held_out) in enumerate(splitter):
        parts[rest[held_out]] = fold
    return parts


def balanced(positions: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """`positions` with the majority class down-sampled (seeded, without replacement) to the minority's count, in
    ascending order."""
    positions = np.asarray(positions, np.int64)
    own = np.asarray(labels)[positions]
    classes = np.unique(own)
    if classes.size < 2:
        raise DatasetError(f"k-fold training fold: only class {classes.tolist()}; every fold needs both classes")
    smallest = min(int(np.sum(own == c)) for c in classes)
    rng = np.random.default_rng(seed)
    kept = [rng.choice(positions[own == c], size=smallest, replace=False) for c in classes]
    return np.sort(np.concatenate(kept))


def training_positions(parts: np.ndarray, labels: np.ndarray, fold: int, seed: int) -> np.ndarray:
    """The balanced training set of `fold`: every other fold's crops, the majority class down-sampled."""
    others = np.flatnonzero((parts != TEST) & (parts != fold))
    return balanced(others, labels, seed * 1000 + fold)
