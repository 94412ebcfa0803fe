"""``python -m course_lib build``: execute the chapters and render the course as an HTML site.

``build --profile ci|student|full [--instructor] [--out DIR] [NOTEBOOK ...]`` runs every chapter
notebook (or only the NOTEBOOKs named) in a fresh kernel, with the execution cache of
:mod:`course_lib.book.cache`, makes the student version of each (unless ``--instructor``), and
renders the site with :mod:`course_lib.book.render`. A failing notebook does not stop the
build: every other notebook runs, the whole site and its execution report are written, and
then the command exits with status 1, naming each failing notebook and cell. Exit status 2
means the command was used wrongly (an unknown notebook, a missing tool).

This module imports only the standard library and :mod:`course_lib.runtime` at load time, so
registering the command costs nothing; the build's own imports happen when it runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from course_lib.book.options import DEFAULT_TIMEOUT, BuildOptions
from course_lib.runtime.paths import chapter_notebooks, get_paths
from course_lib.runtime.profiles import DEFAULT_PROFILE, PROFILE_ENV, PROFILES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``build`` command's arguments."""
    root = get_paths().root
    default_profile = os.environ.get(PROFILE_ENV, "").strip() or DEFAULT_PROFILE
    parser.add_argument(
        "notebooks",
        nargs="*",
        metavar="NOTEBOOK",
        help="execute only these chapter notebooks; the site still lists and links every "
        "chapter, the others without outputs",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=default_profile,
        help=f"run profile of the notebooks (default: ${PROFILE_ENV} or {DEFAULT_PROFILE})",
    )
    parser.add_argument(
        "--instructor",
        action="store_true",
        help="keep the solutions and hidden tests (default: the student version)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="folder of the HTML site (default: _build/html)"
    )
    parser.add_argument(
        "--build-dir",
        type=Path,
        default=root / "_build",
        help="working folder: execution cache, generated sources, logs (default: _build)",
    )
    parser.add_argument(
        "--chapters",
        type=Path,
        default=root / "chapters",
        help="folder of the chapter notebooks (default: the course's chapters/)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"longest run of one cell, in seconds (default: {DEFAULT_TIMEOUT:.0f})",
    )
    parser.add_argument(
        "--no-cache",
        dest="use_cache",
        action="store_false",
        help="execute every selected notebook even if the cache holds its outputs",
    )


def _resolve_notebooks(names: Sequence[str | Path], chapters: Path) -> tuple[Path, ...]:
    """The chapter notebooks ``names`` refer to (a path as given, or relative to the chapters
    folder or the course's root); ``ValueError`` naming any that is not a chapter notebook."""
    known = {p.resolve(): p for p in chapter_notebooks(chapters)}
    found, unknown = [], []
    for name in names:
        name = Path(name)
        candidates = [name, chapters / name, chapters.parent / name]
        match = next((known[c.resolve()] for c in candidates if c.resolve() in known), None)
        if match is None:
            unknown.append(str(name))
        elif match not in found:
            found.append(match)
    if unknown:
        names = ", ".join(p.relative_to(chapters).as_posix() for p in known.values())
        raise ValueError(
            f"not a chapter notebook under {chapters}: {', '.join(unknown)} (the chapters: {names})"
        )
    return tuple(found)


def options_from_args(args: argparse.Namespace) -> BuildOptions:
    """The :class:`BuildOptions` of parsed command-line arguments."""
    chapters = Path(args.chapters).resolve()
    build_dir = Path(args.build_dir).resolve()
    selected = _resolve_notebooks(args.notebooks, chapters) if args.notebooks else None
    return BuildOptions(
        profile=args.profile,
        out=Path(args.out).resolve() if args.out else build_dir / "html",
        build_dir=build_dir,
        chapters=chapters,
        selected=selected,
        instructor=args.instructor,
        timeout=args.timeout,
        use_cache=args.use_cache,
    )


def run(args: argparse.Namespace) -> int:
    """Run ``build`` with parsed arguments; the exit status: 0 built, 1 a notebook failed or
    the site is incomplete, 2 wrong usage or a missing tool."""
    try:
        options = options_from_args(args)
    except ValueError as e:
        print(f"course build: {e}", file=sys.stderr)
        return 2
    try:
        from course_lib.book.site import build
    except ImportError as e:
        print(
            f"course build: {e.name or e} is missing; install the build tools with "
            "pip install -e '.[build]'",
            file=sys.stderr,
        )
        return 2
    try:
        result = build(options)
    except ValueError as e:  # a notebook that cannot be read
        print(f"course build: {e}", file=sys.stderr)
        return 1
    return 0 if result.ok else 1
