"""`ctcbench classify-train`: train (or resume) one classifier run of the grid."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..cli_args import add_device, add_workers
from ..data.channels import SETTINGS, check_setting
from ..data.imageio import PROTOCOLS
from .schedule import Schedule

if TYPE_CHECKING:
    from .train import TrainConfig

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    run = parser.add_argument_group("run")
    run.add_argument("--backbone", required=True, help="backbone key of the config (e.g. convnext_b)")
    run.add_argument("--timm", required=True, help="timm architecture name, optionally with a weight tag")
    run.add_argument("--setting", required=True, choices=SETTINGS, help="input channels: bf, bf_hoechst, bf_fluo")
    run.add_argument("--trainset", required=True, help="training-set variant: all, patient-r06, frac-0.1, u-drop, ...")
    run.add_argument("--seed", type=int, required=True, help="seed of the initialisation, sampling and augmentation")
    run.add_argument("--protocol", required=True, choices=PROTOCOLS, help="faithful (as the original) or corrected")
    run.add_argument(
        "--hoechst-channels",
        type=int,
        default=3,
        choices=(3, 4),
        help="bf_hoechst input: 3 (Hoechst overwrites a BF channel, as the original) or 4 (corrected only)",
    )
    run.add_argument("--image-size", type=int, default=128, help="side of the resized crops")
    run.add_argument("--drop-path", type=float, default=0.0, help="stochastic depth rate (torchvision's defaults)")
    run.add_argument("--pretrained", action="store_true", help="start from the staged ImageNet weights")
    run.add_argument("--weights-dir", type=Path, default=Path("resources/weights"), help="staged weights folder")
    files = parser.add_argument_group("files")
    files.add_argument("--train-cache", required=True, type=Path, help="crop cache of the train split")
    files.add_argument("--val-cache", required=True, type=Path, help="crop cache of the val split")
    files.add_argument("--trainset-file", required=True, type=Path, help="training-set list (.tsv)")
    files.add_argument("--out-dir", required=True, type=Path, help="run folder: best.pt, final.pt, run.json")
    sched = parser.add_argument_group("schedule (docs/protocol.md#classifier-schedule)")
    defaults = Schedule()
    sched.add_argument("--lr", type=float, default=defaults.lr, help="peak learning rate (Adam)")
    sched.add_argument("--iterations", type=int, default=defaults.iterations, help="training steps")
    sched.add_argument(
        "--milestones",
        type=int,
        nargs="*",
        default=list(defaults.milestones),
        help="steps after which the learning rate is multiplied by --gamma",
    )
    sched.add_argument("--gamma", type=float, default=defaults.gamma, help="learning-rate factor at each milestone")
    sched.add_argument("--warmup", type=int, default=defaults.warmup, help="steps of linear warm-up from 0")
    sched.add_argument("--batch-size", type=int, default=defaults.batch_size, help="crops per step")
    sched.add_argument("--val-every", type=int, default=defaults.val_every, help="steps between val evaluations")
    sched.add_argument(
        "--label-smoothing", type=float, default=defaults.label_smoothing, help="cross-entropy label smoothing"
    )
    compute = parser.add_argument_group("compute")
    add_device(compute)
    compute.add_argument("--threads", type=int, default=1, help="CPU threads of the training process")
    add_workers(compute)
    compute.add_argument(
        "--fast-cuda", action="store_true", help="cudnn autotuning and TF32 on CUDA (faster, not bitwise repeatable)"
    )
    compute.add_argument("--resume-every", type=int, default=1000, help="steps between resume states (last.pt)")
    compute.add_argument(
        "--max-steps-this-session", type=int, help="stop after this many steps, leaving last.pt to resume from"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    # Imported here, not at the top: `--help` then never waits for torch.
    from .models import require_weights
    from .train import TrainConfig

    check_setting(args.setting, args.hoechst_channels, args.protocol)
    schedule = Schedule(
        lr=args.lr,
        iterations=args.iterations,
        milestones=tuple(args.milestones),
        gamma=args.gamma,
        warmup=args.warmup,
        batch_size=args.batch_size,
        val_every=args.val_every,
        label_smoothing=args.label_smoothing,
    )
    weights = require_weights(args.weights_dir, args.timm) if args.pretrained else None
    return TrainConfig(
        backbone=args.backbone,
        timm_name=args.timm,
        setting=args.setting,
        trainset=args.trainset,
        seed=args.seed,
        protocol=args.protocol,
        schedule=schedule,
        train_cache=args.train_cache,
        val_cache=args.val_cache,
        trainset_file=args.trainset_file,
        out_dir=args.out_dir,
        image_size=args.image_size,
        hoechst_channels=args.hoechst_channels,
        drop_path=args.drop_path,
        weights=weights,
        device=args.device,
        threads=args.threads,
        workers=args.workers,
        deterministic=not args.fast_cuda,
        resume_every=args.resume_every,
    )


def run(args: argparse.Namespace) -> None:
    from .train import train

    outcome = train(config_from_args(args), stop_after=args.max_steps_this_session, progress=not args.no_progress)
    if outcome.completed:
        log.info("%s: done; best val accuracy %s at step %s", args.out_dir, outcome.best_accuracy, outcome.best_step)
    else:
        log.info("%s: paused at step %d; run the same command again to resume", args.out_dir, outcome.next_step)
