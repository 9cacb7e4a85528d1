"""Hand-made run records for the figure tests: metrics.json and embeddings.npz in the workflow's run layout."""

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
