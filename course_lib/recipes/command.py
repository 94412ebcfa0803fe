"""``python -m course_lib train MODEL``: train a course model from a terminal, on one or K workers.

``python -m course_lib train {classifier,vae,gan,gpt} --profile P [--steps N] [--workers K]
[--run-dir D] [--seed S]`` runs :func:`course_lib.recipes.run`: the chapter's own run, its
progress bar (``student`` and ``full``), checkpoints in the run directory, exact resume when
the same command runs again, and a last line with the chapter's metric. ``--workers K``
(``K > 1``) starts ``K`` local processes of the same command under
``MultiWorkerMirroredStrategy`` (:func:`course_lib.runtime.workers.launch`); the chief writes
the checkpoints and the summary.

Exit codes: 0 done, 1 an error (one line on stderr), 130 interrupted (checkpoint saved; rerun
the same command to resume). Importing this module imports no TensorFlow.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from course_lib.runtime.profiles import PROFILE_ENV, get_profile
from course_lib.runtime.validation import check_choice, check_int

#: the models the command trains (the issue's four; every name of ``RECIPES`` is accepted)
MODELS = ("classifier", "vae", "gan", "gpt")
INTERRUPTED = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``train`` command's arguments."""
    parser.add_argument("model", help=f"the model to train: {', '.join(MODELS)}")
    parser.add_argument(
        "--profile",
        default=None,
        help=f"ci, student or full (default: ${PROFILE_ENV}, else student)",
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="optimizer steps (default: the chapter's)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="local worker processes under MultiWorkerMirroredStrategy (default 1)",
    )
    parser.add_argument(
        "--run-dir",
        default=None,
        help="checkpoints and summary (default runs/train_<model>_<profile>); rerun to resume",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and data (default 0)")


def _error(message: str) -> int:
    print(f"train: error: {message}", file=sys.stderr, flush=True)
    return 1


def one_line(err: BaseException) -> str:
    """An error as one line: its message, or for a multi-line one (TensorFlow's "in user
    code: ... File ...") the first and the last line, where the cause is named."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"


def worker_argv(args: argparse.Namespace, run_dir: Path) -> list[str]:
    """The command each worker runs: this one without ``--workers``, with every setting
    explicit (profile resolved, run directory absolute) so all workers agree."""
    argv = ["train", args.model, "--profile", get_profile(args.profile).name]
    if args.steps is not None:
        argv += ["--steps", str(args.steps)]
    return [*argv, "--run-dir", str(run_dir), "--seed", str(args.seed)]


def run(args: argparse.Namespace) -> int:
    """Check the arguments, then train (or launch the workers); return the exit code."""
    from course_lib import recipes
    from course_lib.recipes.run import default_run_dir

    try:
        name = check_choice("model", args.model, list(recipes.RECIPES))
        profile = get_profile(args.profile)
        steps = None if args.steps is None else check_int("--steps", args.steps, minimum=1)
        workers = check_int("--workers", args.workers, minimum=1)
        seed = check_int("--seed", args.seed, minimum=0)
        run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(name, profile)
        run_dir = run_dir.expanduser().resolve()
        if run_dir.is_file():
            raise ValueError(f"--run-dir {run_dir} is a file, not a folder")
    except (TypeError, ValueError) as err:
        return _error(str(err))
    if workers > 1:
        from course_lib.runtime import workers as launcher

        try:
            return launcher.launch(worker_argv(args, run_dir), workers)
        except KeyboardInterrupt:
            return INTERRUPTED
    from course_lib.runtime.quiet import start_tensorflow

    start_tensorflow()  # before anything imports TensorFlow: no red C++ start-up block
    try:
        summary = recipes.run(name, profile, steps=steps, run_dir=run_dir, seed=seed)
    except KeyboardInterrupt:
        print(
            f"train: interrupted outside the training steps (start-up or final evaluation); "
            f"rerun the same command to resume from the newest checkpoint in {run_dir}",
            flush=True,
        )
        return INTERRUPTED
    except (TypeError, ValueError, OSError) as err:
        return _error(one_line(err))
    if summary.stop_reason == "interrupted":
        print(
            f"train: interrupted at step {summary.step}/{summary.total_steps}; checkpoint saved in "
            f"{summary.run_dir}: rerun the same command to resume",
            flush=True,
        )
        return INTERRUPTED
    if summary.stop_reason != "completed":
        return _error(f"{summary.stop_reason}: {summary.message}")
    if _is_chief_process():
        print(summary.line(), flush=True)
    return 0


def _is_chief_process() -> bool:
    """Whether this process prints the summary: not a worker other than worker 0 / chief."""
    import json

    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return True
    task = json.loads(text).get("task", {})
    return task.get("type") == "chief" or (task.get("type") == "worker" and task.get("index") == 0)
