"""A dataset pointer for the table commands, which say which data made them."""

from pathlib import Path


def write_twin_pointer(directory: Path) -> Path:
    """A dataset pointer naming a small synthetic twin."""
    from ctcbench.data.pointer import write_pointer

    path = directory / "dataset.json"
    write_pointer(path, directory, "synth", seed=0, image_size=64, images_per_patient={"A": 2, "B": 3})
    return path


def staged_dataset_root(folder: Path) -> Path:
    """An empty copy in the figshare layout: the two folders that make a dataset root, nothing in them."""
    for marker in ("Annotations", "raw_images_for_model"):
        (folder / marker).mkdir(parents=True)
    return folder
