"""The plan as work, multiplied out by hand on the demo grid: 15 classifier runs of 200 steps; detectors
`epochs` x ceil(images / batch) steps on their image list; validation every `val_every` steps over the val crops
of the trained classes; evaluation, pseudo-labels, predictions and proposal scoring per run."""

from __future__ import annotations

import collections
import copy
from pathlib import Path

from ctcbench.compute.counts import read_counts
from ctcbench.compute.networks import INFER, TRAIN
from ctcbench.compute.workload import CLASSIFIERS, DETECTORS, INFERENCE, max_proposals, workload

ROOT = Path(__file__).resolve().parents[2]


def totals(works):
    """(stage, model, task) -> [runs, steps]."""
    summed = collections.defaultdict(lambda: [0, 0])
    for work in works:
        summed[(work.stage, work.model, work.task)][0] += work.runs
        summed[(work.stage, work.model, work.task)][1] += work.steps
    return {key: tuple(value) for key, value in summed.items()}


def test_the_demo_grid_by_hand(demo_config, small_counts):
    table = totals(workload(demo_config, small_counts))
    # 3 settings x (all + 2 fractions) + 3 patients + 3 unknown-cell sets, seed 0 only: 15 runs of 200 steps.
    assert table[(CLASSIFIERS, "resnet_tiny", "train")] == (15, 15 * 200)
    # 200 / 50 = 4 passes; 12 runs validate on R+G+U (111 crops), the 3 unknown-cell runs on R+G (56).
    assert table[(INFERENCE, "resnet_tiny", "validation")] == (15, 4 * (12 * 111 + 3 * 56))
    assert table[(INFERENCE, "resnet_tiny", "evaluation")] == (15, 15 * 111)
    assert table[(INFERENCE, "resnet_tiny", "pseudo_labels")] == (1, 137)  # the one u-drop run scores the train U
    # 4 epochs x ceil(24 / 2) = 48 steps on all images (3 settings); 4 x (5 + 5 + 2) on the three patients' lists.
    assert table[(DETECTORS, "faster_rcnn", "train")] == (6, 3 * 48 + 4 * (5 + 5 + 2))
    assert table[(DETECTORS, "fcos", "train")] == (3, 3 * 48)
    assert table[(DETECTORS, "dino", "train")] == (3, 3 * 48)
    assert table[(INFERENCE, "faster_rcnn", "predict")] == (6, 6 * 9)  # the test images only (faithful)
    # Faster R-CNN pairs 9 times (Table 4, patients, unknown cells), at most 1000 proposals on each of 9 test images.
    assert table[(INFERENCE, "resnet_tiny", "score_faster_rcnn")] == (9, 9 * 9 * 1000)
    assert table[(INFERENCE, "resnet_tiny", "score_dino")] == (3, 3 * 9 * 100)
    assert sum(w.runs for w in workload(demo_config, small_counts) if w.task == "train") == 15 + 12


def test_training_is_steps_and_inference_is_items(demo_config, small_counts):
    works = workload(demo_config, small_counts)
    assert {w.mode for w in works if w.task.startswith("train")} == {TRAIN}
    assert {w.mode for w in works if not w.task.startswith("train")} == {INFER}
    heads = {w.network.head_outputs for w in works if w.stage == CLASSIFIERS}
    assert heads == {2, 3}  # the pseudo-label sets train 2 outputs, the stale drop-U head 3 (faithful)


def test_a_held_out_threshold_adds_the_val_images(demo_config, small_counts):
    corrected = copy.deepcopy(demo_config)
    corrected["protocol"] = "corrected"
    table = totals(workload(corrected, small_counts))
    assert table[(INFERENCE, "fcos", "predict")] == (6, 3 * (9 + 7))
    assert table[(INFERENCE, "resnet_tiny", "score_fcos")] == (6, 3 * (9 + 7) * 100)


def test_the_paper_grid_counts_swins_longer_schedule_and_the_patients_smaller_lists(paper_config):
    counts = read_counts(ROOT / "resources" / "paper" / "table1_dataset.csv")
    works = workload(paper_config, counts)
    table = totals(works)
    assert table[(CLASSIFIERS, "swin_b", "train")] == (9, 9 * 36000)  # the 2x schedule
    assert table[(CLASSIFIERS, "resnet50", "train")] == (9, 9 * 18000)
    assert table[(CLASSIFIERS, "convnext_b", "train")] == (63, 63 * 18000)  # 9 of Table 3 and 54 of the ablations
    patients = 32 * sum(-(-n // 4) for n in (439, 447, 81))
    assert table[(DETECTORS, "faster_rcnn", "train")] == (18, 9 * 32 * 242 + 3 * patients)
    # The defect effects (plan.defects): 57 classifier and 51 detector trainings of their own, shown apart.
    assert table[(CLASSIFIERS, "convnext_b (defect variants)", "train_defect_variants")] == (57, 57 * 18000)
    assert table[(DETECTORS, "faster_rcnn (defect variants)", "train_defect_variants")] == (51, 51 * 32 * 242)
    estimated = {w.estimate for w in works if w.stage == DETECTORS and w.model == "faster_rcnn"}
    assert estimated == {"", "a patient's training images, estimated"}
    # 3 and 6 channels; the 2-output head; detectors (the defect variants' are the same networks)
    assert len({w.network for w in works}) == 14 * 2 + 1 + 3 * 2


def test_dino_returns_at_most_its_queries():
    assert max_proposals({"max_per_img": 300, "num_queries": 900}) == 300
    assert max_proposals({"max_per_img": 300, "num_queries": 100}) == 100
    assert max_proposals({"max_per_img": 1000}) == 1000
