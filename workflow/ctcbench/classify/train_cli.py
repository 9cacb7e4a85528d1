"""`ctcbench classify-train`: train (or resume) one classifier run of the grid."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..cli_args import add_device, add_jobs_per_gpu, add_threads, add_workers
from .spec import ClassifierSpec

if TYPE_CHECKING:
    from .train import TrainConfig

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec",
        required=True,
        help="run spec as JSON: backbone, timm name, torchvision builder, setting, training set, seed, protocol, "
        "schedule, image size, drop path, pretrained (the workflow generates it from config.yaml; "
        "ctcbench.classify.spec)",
    )
    parser.add_argument(
        "--weights-dir", type=Path, default=Path("resources/weights"), help="staged weights (pretrained specs)"
    )
    files = parser.add_argument_group("files")
    files.add_argument("--train-cache", required=True, type=Path, help="crop cache of the train split")
    files.add_argument("--val-cache", required=True, type=Path, help="crop cache of the val split")
    files.add_argument("--trainset-file", required=True, type=Path, help="training-set list (.tsv)")
    files.add_argument("--out-dir", required=True, type=Path, help="run folder: best.pt, final.pt, run.json")
    compute = parser.add_argument_group("compute")
    add_device(compute)
    add_threads(compute, "CPU threads of the training process")
    add_workers(compute)
    compute.add_argument(
        "--fast-cuda", action="store_true", help="cudnn autotuning and TF32 on CUDA (faster, not bitwise repeatable)"
    )
    compute.add_argument(
        "--compile", action="store_true", help="torch.compile the training forward (evaluation stays eager)"
    )
    compute.add_argument(
        "--fused-optimizer", action="store_true", help="the fused Adam kernel on CUDA (no effect on CPU)"
    )
    add_jobs_per_gpu(compute)
    compute.add_argument("--resume-every", type=int, default=1000, help="steps between resume states (last.pt)")
    compute.add_argument(
        "--max-steps-this-session", type=int, help="stop after this many steps, leaving last.pt to resume from"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    # Imported here, not at the top: `--help` then never waits for torch.
    from .network import require_weights
    from .train import TrainConfig

    spec = ClassifierSpec.from_json(args.spec)
    return TrainConfig(
        spec=spec,
        train_cache=args.train_cache,
        val_cache=args.val_cache,
        trainset_file=args.trainset_file,
        out_dir=args.out_dir,
        weights=require_weights(args.weights_dir, spec.network) if spec.pretrained else None,
        device=args.device,
        threads=args.threads,
        workers=args.workers,
        deterministic=not args.fast_cuda,
        resume_every=args.resume_every,
        compile=args.compile,
        fused_optimizer=args.fused_optimizer,
    )


def run(args: argparse.Namespace) -> None:
    from .train import train

    outcome = train(config_from_args(args), stop_after=args.max_steps_this_session, progress=not args.no_progress)
    if outcome.completed:
        log.info("%s: done; best val accuracy %s at step %s", args.out_dir, outcome.best_accuracy, outcome.best_step)
    else:
        log.info("%s: paused at step %d; run the same command again to resume", args.out_dir, outcome.next_step)
