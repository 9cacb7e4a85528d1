"""Hand-made run records for the report tests: metrics.json and embeddings.npz in the workflow's run layout, and
random detections with their ground truth."""

import json

import numpy as np

CLASSES = ("R", "G", "U")
PATIENTS = ("r06", "r07", "r08")


def run_dir(root, backbone, setting, trainset, seed):
    folder = root / backbone / setting / trainset / f"seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_metrics(root, backbone, setting, trainset, seed, *, f1=0.5, auroc=0.7, confusion=None):
    """A metrics.json with the keys the figures read; the confusion matrix defaults to a diagonal one."""
    confusion = np.eye(3) * 100 if confusion is None else np.asarray(confusion, float)
    record = {
        "run": {"backbone": backbone, "setting": setting, "trainset": trainset, "seed": seed},
        "protocol": "faithful",
        "f1": f1,
        "auroc": auroc,
        "precision": f1,
        "recall": f1,
        "accuracy": 0.5,
        "confusion_percent": confusion.tolist(),
        "confusion_order": list(CLASSES),
    }
    path = run_dir(root, backbone, setting, trainset, seed) / "metrics.json"
    path.write_text(json.dumps(record))
    return path


def blobs(n_per_class=40, dim=32, spread=12.0, seed=0):
    """Three well-separated Gaussian blobs: features, class index, patient per point."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, dim)) * spread
    labels = np.repeat(np.arange(3), n_per_class)
    features = centres[labels] + rng.normal(size=(len(labels), dim))
    patients = np.array([PATIENTS[i % 3] for i in range(len(labels))])
    return features.astype(np.float32), labels, patients


def write_embeddings(root, backbone, setting, trainset, seed, n_per_class=40):
    features, labels, patients = blobs(n_per_class, seed=seed)
    path = run_dir(root, backbone, setting, trainset, seed) / "embeddings.npz"
    np.savez_compressed(
        path,
        features=features,
        labels=labels,
        patients=patients,
        keys=np.array([f"{p}c01f01p01_{i}" for i, p in enumerate(patients)]),
        classes=np.array(CLASSES),
    )
    return path


# Fig. 9: a three-image test set worked out by hand (64 x 64, test annotator Unioned), its scores.json and the
# metrics.json the pipeline evaluation makes of it at omega 0.7 with the faithful gate 0.1.
#   A: cells A1 [4,4,13,13] and A2 [30,30,39,39]; proposals on A1 (S_det .9, S_cls .9 -> S .9) and on background
#      (.8, .8 -> .8). B: cell [10,10,19,19]; one proposal [11,11,20,20] (.5, .2 -> .29; VOC IoU 81/119).
#   C: no cell; one proposal (.6, .1 -> .25).
# Ranking .9 TP, .8 FP, .29 TP, .25 FP over 3 cells: F1 .5, .4, .667, .571, so the oracle threshold is .29.
TINY_IDS = ("r06c04f01p01", "r07c04f01p01", "r08c04f01p01")
TINY_TRUTH = {TINY_IDS[0]: [[4, 4, 13, 13], [30, 30, 39, 39]], TINY_IDS[1]: [[10, 10, 19, 19]], TINY_IDS[2]: []}
TINY_PROPOSALS = {  # boxes, S_det, S_cls
    TINY_IDS[0]: ([[4, 4, 13, 13], [40, 40, 49, 49]], [0.9, 0.8], [0.9, 0.8]),
    TINY_IDS[1]: ([[11, 11, 20, 20]], [0.5], [0.2]),
    TINY_IDS[2]: ([[5, 5, 14, 14]], [0.6], [0.1]),
}
TINY_RUN = "faster_rcnn/bf_fluo/all/seed0"


def write_tiny_pipeline_run(root):
    """(dataset.json, scores.json, metrics.json) of the hand-made case under `root`."""
    from ctcbench.data.imageio import write_tiff
    from ctcbench.data.layout import DatasetLayout
    from ctcbench.data.pointer import write_pointer
    from ctcbench.data.voc import Box, VocAnnotation, write_voc
    from ctcbench.io import atomic_write_json
    from ctcbench.pipeline.evaluate import pipeline_metrics
    from ctcbench.pipeline.scores import ScoredImage, Scores, write_scores
    from ctcbench.protocol import FAITHFUL

    layout = DatasetLayout(root / "dataset")
    rng = np.random.default_rng(0)
    for image_id, cells in TINY_TRUTH.items():
        objects = [Box("R", *cell) for cell in cells]
        write_voc(layout.test_xml(image_id), VocAnnotation(f"{image_id}.tiff", 64, 64, 3, objects))
        write_tiff(layout.brightfield(image_id), rng.integers(1000, 3000, (64, 64), dtype=np.uint16))
        fluorescence = rng.integers(0, 200, (64, 64, 3), dtype=np.uint16)
        for x1, y1, x2, y2 in cells:
            fluorescence[y1 : y2 + 1, x1 : x2 + 1, 0] = 4000  # file order R, G, B: the cancer marker
        write_tiff(layout.fluorescence(image_id), fluorescence)
    pointer = root / "dataset.json"
    write_pointer(pointer, layout.root, "synth")
    detector = {"run": TINY_RUN, "detector": "faster_rcnn", "setting": "bf_fluo", "trainset": "all", "seed": 0}
    meta = {
        "protocol": "faithful",
        "pipeline_run": TINY_RUN,
        "detector": detector,
        "classifier": {"backbone": "tiny", "sha256": "c" * 64},
    }
    images = {
        image_id: ScoredImage(64, 64, np.array(boxes, np.int64), np.array(s_det), np.array(s_cls))
        for image_id, (boxes, s_det, s_cls) in TINY_PROPOSALS.items()
    }
    scores = Scores(meta=meta, images=images)
    scores_path = root / "scores.json"
    write_scores(scores_path, scores)
    metrics = pipeline_metrics(scores, layout, list(TINY_IDS), omega=0.7, protocol=FAITHFUL)
    metrics_path = root / "omega0.7" / "metrics.json"
    atomic_write_json(metrics_path, metrics)
    return pointer, scores_path, metrics_path


def random_detections(seed, hit=0.7, per_patient=10, least_cells=0, least_background=0):
    """(detections, truth, image ids): `per_patient` images per patient, cells of 30 px each found with probability
    `hit` by a jittered box, and boxes on the background (at least `least_cells` and `least_background` per image);
    scores random, higher for the boxes on cells."""
    rng = np.random.default_rng(seed)
    ids = [f"{p}c01f{i:02d}p01" for p in PATIENTS for i in range(per_patient)]
    detections, truth = {}, {}
    for image_id in ids:
        corners = rng.uniform(0, 900, (rng.integers(least_cells, 8), 2))
        truth[image_id] = np.hstack([corners, corners + 30])
        found = corners[rng.uniform(size=len(corners)) < hit]
        found = found + rng.normal(0, 3, found.shape)
        background = rng.uniform(0, 900, (rng.integers(least_background, 5), 2))
        boxes = np.vstack([found, background])
        scores = np.concatenate([rng.uniform(0.4, 1, len(found)), rng.uniform(0, 0.7, len(background))])
        detections[image_id] = (np.hstack([boxes, boxes + 30]), scores)
    return detections, truth, ids
