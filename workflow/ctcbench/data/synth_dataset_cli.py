"""`ctcbench synth-dataset`: write a synthetic twin and, once it is complete, the dataset pointer naming it."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .layout import PATIENTS
from .pointer import write_pointer
from .synth.config import PRESETS, TwinConfig

log = logging.getLogger(__name__)


def parse_images(text: str) -> dict[str, int]:
    """`r06=16,r07=16,r08=8` -> {"r06": 16, ...}; patients left out are not generated."""
    counts: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        patient, sep, value = part.partition("=")
        patient = patient.strip()
        if not sep or patient not in PATIENTS:
            raise ConfigError(
                f"--images {text!r}: expected comma-separated PATIENT=COUNT with patients {list(PATIENTS)}"
            )
        try:
            counts[patient] = int(value)
        except ValueError:
            raise ConfigError(f"--images {text!r}: {value!r} is not an integer image count") from None
    if not counts:
        raise ConfigError(f"--images {text!r}: no PATIENT=COUNT pairs")
    return counts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", required=True, type=Path, help="dataset directory to (re)create")
    parser.add_argument("--pointer", required=True, type=Path, help="dataset pointer JSON to write when done")
    parser.add_argument("--preset", choices=PRESETS, default="demo", help="size preset (default: demo)")
    parser.add_argument("--seed", type=int, help="random seed (default: the preset's, 0)")
    parser.add_argument("--image-size", type=int, help="side of the square images in pixels")
    parser.add_argument("--images", type=parse_images, help="images per patient, e.g. r06=16,r07=16,r08=8")
    parser.add_argument("--test-per-patient", type=int, help="test images per patient")
    parser.add_argument(
        "--val-fraction", type=float, help="share of each patient's non-test images that go to val (rounded)"
    )
    parser.add_argument("--cells-per-image", type=float, help="mean annotated cells per image")
    parser.add_argument("--no-crops", action="store_true", help="skip raw_cell_images (many small files)")
    parser.add_argument("--workers", type=int, default=1, help="processes rendering images (output is identical)")


def config_from_args(args: argparse.Namespace) -> TwinConfig:
    overrides = {
        "seed": args.seed,
        "image_size": args.image_size,
        "images_per_patient": args.images,
        "test_per_patient": args.test_per_patient,
        "val_fraction": args.val_fraction,
        "cells_per_image": args.cells_per_image,
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if args.no_crops:
        overrides["write_crops"] = False
    return TwinConfig.preset(args.preset, **overrides)


def config_options(synth: dict[str, Any]) -> str:
    """The options of this command for the config's `dataset.synth` block (rule synth_dataset): its preset, seed
    and size, and the counts that make a subset-sized twin where they are set."""
    options = [f"--preset {synth['preset']}", f"--seed {synth['seed']}", f"--image-size {synth['image_size']}"]
    if synth.get("images_per_patient"):
        counts = ",".join(f"{patient}={count}" for patient, count in synth["images_per_patient"].items())
        options.append(f"--images {counts}")
    if synth.get("test_per_patient") is not None:
        options.append(f"--test-per-patient {synth['test_per_patient']}")
    if synth.get("val_fraction") is not None:
        options.append(f"--val-fraction {synth['val_fraction']}")
    return " ".join(options)


def run(args: argparse.Namespace) -> None:
    from .synth.generate import generate_twin  # the renderer: imported when the command runs, not by the workflow

    config = config_from_args(args)
    summary = generate_twin(args.root, config, workers=args.workers)
    write_pointer(args.pointer, args.root, "synth", **config.to_dict())
    log.info("wrote %s (images %s)", args.pointer, summary["images"])
