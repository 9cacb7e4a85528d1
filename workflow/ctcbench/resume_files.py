"""Where a training run keeps what it resumes from, for the trainings and for whatever watches them from outside
(the smoke driver kills each training once its first resume state exists). Torch-free.

* classifier: `<run>/resume/last.pt`, written every `classify.resume_every` steps, removed when the run completes;
* detector: `<run>/work/last_checkpoint`, mmengine's pointer to its newest checkpoint (every
  `detect.checkpoint_interval` epochs), written after the checkpoint itself and removed when the run completes.
"""

from __future__ import annotations

from pathlib import Path

CLASSIFY_RESUME_DIR = "resume"
CLASSIFY_LAST = "last.pt"
DETECT_WORK_DIR = "work"
DETECT_POINTER = "last_checkpoint"


def has_resume_state(stage: str, run_dir: Path) -> bool:
    """Whether a `classify` or `detect` run in `run_dir` has written a state it can resume from."""
    if stage == "classify":
        return (run_dir / CLASSIFY_RESUME_DIR / CLASSIFY_LAST).is_file()
    pointer = run_dir / DETECT_WORK_DIR / DETECT_POINTER
    try:
        return bool(pointer.read_text().strip())
    except OSError:  # not written yet, or removed as the run completed
        return False
