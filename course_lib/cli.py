"""Command line of the course: ``python -m course_lib <command>`` (or the ``course`` script).

A command is a function ``run(args) -> exit code`` registered in :data:`COMMANDS` with a
one-line help and a function that adds its arguments. Neither this module nor the command
modules import TensorFlow at module level, so ``--help`` is instant; a command imports what
it needs when it runs. The dispatcher sits above every layer of the library, since its
commands come from several of them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

from course_lib import bench
from course_lib.book import command as book
from course_lib.classroom import command as classroom
from course_lib.recipes import command as train
from course_lib.runtime import cli as runtime


@dataclass(frozen=True)
class Command:
    help: str
    run: Callable[[argparse.Namespace], int]
    add_arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None


COMMANDS: dict[str, Command] = {
    "doctor": Command(
        "report Python/TF/Keras versions, devices, precision, strategy, profile",
        runtime.doctor,
        runtime.doctor_arguments,
    ),
    "profiles": Command(
        "list the run profiles (COURSE_PROFILE=ci|student|full) and their sizes", runtime.profiles
    ),
    "release": Command(
        "write student copies of the exercises (nbgrader layout, or --format otter)",
        classroom.release,
        classroom.add_release_arguments,
    ),
    "grade": Command(
        "autograde submitted notebooks with nbgrader; write a per-exercise score table",
        classroom.grade,
        classroom.add_grade_arguments,
    ),
    "build": Command(
        "execute the chapters (cached) and render the course as HTML in _build/html",
        book.run,
        book.add_arguments,
    ),
    "train": Command(
        "train a course model (classifier, vae, gan, gpt) as its chapter does; resumable",
        train.run,
        train.add_arguments,
    ),
    "bench": Command(
        "measure training and generation speed and MFU of the course's models on this machine",
        bench.run,
        bench.add_arguments,
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
