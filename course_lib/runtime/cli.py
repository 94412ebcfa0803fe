"""The runtime's commands, ``doctor`` and ``profiles`` (the command line is :mod:`course_lib.cli`).

Neither imports TensorFlow at module level, so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys


def doctor(args: argparse.Namespace) -> int:
    """Print versions, devices, the chosen precision/strategy (with the reasons: on a CPU with
    bfloat16 instructions, the measured bfloat16 / float32 training speed of each course model)
    and the profile.

    Exit 0 if all is well, 2 if the environment names something invalid (COURSE_PROFILE,
    COURSE_PRECISION, TF_CONFIG): the report is printed anyway, with ERROR lines.
    """
    from . import devices
    from .quiet import start_tensorflow

    start_tensorflow()  # TensorFlow's C++ start-up lines dropped, any other line kept

    facts = devices.report_dict()
    print(json.dumps(facts, indent=2) if args.json else devices.report(facts))
    if facts["errors"]:
        print(
            f"course doctor: {len(facts['errors'])} problem(s) found, see ERROR above.",
            file=sys.stderr,
        )
        return 2
    return 0


def doctor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the facts as JSON")


def profiles(args: argparse.Namespace) -> int:
    """List the run profiles and their sizes; mark the one $COURSE_PROFILE selects."""
    from course_lib.runtime import profiles as config

    try:
        current, error = config.get_profile().name, None
    except ValueError as e:
        current, error = None, str(e)
    print(f"   {'name':<8} {'epochs':>6} {'train':>8} {'eval':>6} {'batch':>5}  description")
    for p in config.PROFILES.values():
        mark = "*" if p.name == current else " "
        train, evals = (
            str(n) if n is not None else "all" for n in (p.max_train_examples, p.max_eval_examples)
        )
        sizes = f"{p.epochs:>6} {train:>8} {evals:>6} {p.batch_size:>5}"
        print(f" {mark} {p.name:<8} {sizes}  {p.description}")
    if error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    print(f"(* = selected by ${config.PROFILE_ENV}, default {config.DEFAULT_PROFILE})")
    return 0
