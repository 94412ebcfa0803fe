"""Time chapter notebooks from a fresh kernel, one at a time, and print the figures with the
machine and the date, ready to paste into a notebook's header or the README.

Usage:  python tools/time_notebooks.py [--profile ci|student|full] [--keep DIR] [NB ...]

(without NB: every chapter)

Each notebook runs with ``jupyter nbconvert --to notebook --execute`` in a new kernel (kernel
start and imports included), its output written to a temporary file and thrown away. Wall-clock
time is what a learner waits; CPU time (user + system, of nbconvert and its kernel) says how much
of that was work, so a run on a busy machine shows itself by a wall time far above the CPU time
divided by the cores. The load average before each run is printed too: time on a quiet machine.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    """The CPU's model name (Linux), or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """One line naming the machine, the software and the date, for the record."""
    import importlib.metadata as md

    versions = []
    for package in ("tensorflow", "keras"):
        try:
            versions.append(f"{package} {md.version(package)}")
        except md.PackageNotFoundError:
            versions.append(f"{package} not installed")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{datetime.date.today().isoformat()}, {cores} cores of {cpu_model()}, no GPU used, "
        f"Python {platform.python_version()}, {', '.join(versions)}"
    )


def time_notebook(
    path: Path, profile: str, timeout: int = 3600, keep: Path | None = None
) -> tuple[float, float, bool]:
    """``(wall seconds, CPU seconds, succeeded)`` of executing ``path`` in a fresh kernel; with
    ``keep``, the executed notebook is saved there (as ``<name>.<profile>.ipynb``) to read its
    results, otherwise thrown away."""
    env = {**os.environ, "COURSE_PROFILE": profile}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out_dir, out_name = (keep, f"{path.stem}.{profile}") if keep else (Path(tmp), path.stem)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "jupyter",
                "nbconvert",
                "--to",
                "notebook",
                "--execute",
                f"--ExecutePreprocessor.timeout={timeout}",
                "--output-dir",
                str(out_dir),
                "--output",
                out_name,
                str(path),
            ],
            check=False,
            env=env,
            cwd=path.parent,
            capture_output=True,
            text=True,
        )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    return wall, cpu, done.returncode == 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="student", choices=("ci", "student", "full"))
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="save the executed notebooks in DIR (outside the repository) to read their results",
    )
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "chapters").glob("[0-9][0-9]_*/*.ipynb"))
    print(f"profile {args.profile}; {machine_line()}")
    print("| notebook | profile | wall clock | CPU time | load average before |")
    print("|---|---|---|---|---|")
    failed = 0
    for nb in notebooks:
        load = os.getloadavg()[0]
        wall, cpu, ok = time_notebook(
            nb.resolve(), args.profile, keep=args.keep.resolve() if args.keep else None
        )
        failed += not ok
        name = nb.resolve().relative_to(ROOT / "chapters").as_posix()
        status = "" if ok else " (FAILED)"
        row = f"| `{name}` | `{args.profile}` | {wall:.0f} s{status} | {cpu:.0f} s | {load:.2f} |"
        print(row, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
