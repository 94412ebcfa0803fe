"""Command line of the course: ``python -m course_lib <command>`` (or the ``course`` script).

A command is a function ``run(args) -> exit code`` registered in :data:`COMMANDS` with a
one-line help and a function that adds its arguments. This module imports neither
TensorFlow nor Keras, so ``--help`` is instant; a command imports what it needs when run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    help: str
    run: Callable[[argparse.Namespace], int]
    add_arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None


def _doctor(args: argparse.Namespace) -> int:
    """Print versions, devices, the chosen precision/strategy and the profile.

    Exit 0 if all is well, 2 if the environment names something invalid (COURSE_PROFILE,
    COURSE_PRECISION, TF_CONFIG): the report is printed anyway, with ERROR lines.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported
    from . import devices

    facts = devices.report_dict()
    print(json.dumps(facts, indent=2) if args.json else devices.report(facts))
    if facts["errors"]:
        print(
            f"course doctor: {len(facts['errors'])} problem(s) found, see ERROR above.",
            file=sys.stderr,
        )
        return 2
    return 0


def _doctor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the facts as JSON")


def _profiles(args: argparse.Namespace) -> int:
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


COMMANDS: dict[str, Command] = {
    "doctor": Command(
        "report Python/TF/Keras versions, devices, precision, strategy, profile",
        _doctor,
        _doctor_arguments,
    ),
    "profiles": Command(
        "list the run profiles (COURSE_PROFILE=ci|student|full) and their sizes", _profiles
    ),
}


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with one subcommand per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Tools of the course 'LLMs and the Architecture of Computing'."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, command in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(sub_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command named in ``argv`` (default ``sys.argv[1:]``); return its exit code."""
    prog = "python -m course_lib" if sys.argv[0].endswith("__main__.py") else "course"
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return COMMANDS[args.command].run(args)
