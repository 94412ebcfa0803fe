"""Run one command as ``K`` local worker processes under ``MultiWorkerMirroredStrategy``.

``tf.distribute.MultiWorkerMirroredStrategy`` learns its cluster from the environment variable
``TF_CONFIG``, a JSON object naming every worker's ``host:port`` and which of them this process
is::

    {"cluster": {"worker": ["127.0.0.1:41231", "127.0.0.1:41232"]},
     "task": {"type": "worker", "index": 0}}

:func:`launch` does on one machine what a cluster scheduler does on several: it picks ``K``
free loopback ports, starts ``python -m course_lib <argv>`` ``K`` times, each with its own
``TF_CONFIG`` (same cluster, its own index), and watches them:

* worker 0, the chief (it writes the checkpoints and the summary), prints to this console;
  every worker's output also goes to ``<log_dir>/worker-<i>.log``;
* a worker that dies (non-zero exit code, or killed) stops the run: the others are
  terminated (they would wait for it forever inside the next all-reduce) and one message
  names the worker, its exit code and its log; rerunning the same command resumes from the
  chief's last checkpoint;
* Ctrl-C (or SIGTERM) is passed on to every worker once as SIGINT; they get a few seconds
  to save and exit, then are terminated; the launcher returns 130. Workers stop at slightly
  different steps, so one of them may print an aborted all-reduce: the chief's console output
  stops at Ctrl-C (its log keeps it), and a rerun resumes from the chief's newest checkpoint.

The two cores of a small machine are shared: each worker is given ``cpus // K`` threads
(``TF_NUM_INTRAOP_THREADS``, ``TF_NUM_INTEROP_THREADS``, ``OMP_NUM_THREADS``) instead of
every worker starting one thread per core. Local workers never share a GPU
(:func:`split_gpus`): they run on the CPU unless ``CUDA_VISIBLE_DEVICES`` lists a GPU per
worker. :func:`cluster_tf_configs` writes the ``TF_CONFIG`` of each machine of a real
cluster. Importing this module imports no TensorFlow.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from course_lib.runtime.validation import check_int

LOOPBACK = "127.0.0.1"
#: exit code of a run stopped by Ctrl-C (128 + SIGINT, the shell's convention)
INTERRUPTED = 130
#: what a worker runs, before ``argv``
DEFAULT_COMMAND: tuple[str, ...] = (sys.executable, "-m", "course_lib")
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")
RESUME_HINT = "Rerun the same command to resume from the last checkpoint."


def free_ports(n: int, host: str = LOOPBACK) -> list[int]:
    """``n`` distinct TCP ports that are free on ``host`` right now.

    All ``n`` sockets are bound (to port 0: the system picks) before any is closed, so the
    ports differ. A port can be taken by another program between this call and the worker
    binding it; that shows as a worker failing to start, and a rerun picks new ports.
    """
    n = check_int("n", n, minimum=1)
    with ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(n)
        ]
        for s in sockets:
            s.bind((host, 0))
        return [s.getsockname()[1] for s in sockets]


def tf_config(workers: Sequence[str], index: int) -> str:
    """The ``TF_CONFIG`` JSON of worker ``index`` in the cluster ``workers`` (``host:port``).

    Worker 0 is the chief: there is no separate ``chief`` task, so the chief trains too.
    """
    workers = [str(w) for w in workers]
    if not workers:
        raise ValueError("workers must name at least one 'host:port'")
    for address in workers:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"each worker must be 'host:port', got {address!r}")
    index = check_int("index", index, minimum=0)
    if index >= len(workers):
        raise ValueError(f"index {index} is not a worker of a {len(workers)}-worker cluster")
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def cluster_tf_configs(workers: Sequence[str]) -> list[str]:
    """One ``TF_CONFIG`` per machine of a real cluster, in the order of ``workers``.

    ``cluster_tf_configs(["node1:12345", "node2:12345"])[1]`` is what ``node2`` exports
    before running the same ``python -m course_lib train ...`` command as ``node1``.
    """
    return [tf_config(workers, i) for i in range(len(workers))]


def threads_per_worker(num_workers: int, cpus: int | None = None) -> int:
    """CPU threads for each of ``num_workers`` processes sharing ``cpus`` cores (at least 1)."""
    num_workers = check_int("num_workers", num_workers, minimum=1)
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cpus or 1) // num_workers)


def worker_env(base: Mapping[str, str], config: str, threads: int | None = None) -> dict[str, str]:
    """``base`` with this worker's ``TF_CONFIG``, unbuffered output and, when ``threads``
    is given, the thread counts (a thread count already set in ``base`` is kept)."""
    env = dict(base)
    env["TF_CONFIG"] = config
    env["PYTHONUNBUFFERED"] = "1"
    if threads is not None:
        threads = check_int("threads", threads, minimum=1)
        for name in THREAD_VARIABLES:
            env.setdefault(name, str(threads))
    return env


def run_dir_of(argv: Sequence[str]) -> Path | None:
    """The value of ``--run-dir D`` (or ``--run-dir=D``) in ``argv``, or ``None``."""
    argv = list(argv)
    for i, arg in enumerate(argv):
        if arg == "--run-dir" and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--run-dir="):
            return Path(arg.split("=", 1)[1])
    return None


def newest_checkpoint(run_dir: str | Path | None) -> Path | None:
    """The chief's newest checkpoint in ``run_dir`` (read from TensorFlow's ``checkpoint``
    index file, without TensorFlow), or ``None``."""
    if run_dir is None:
        return None
    index = Path(run_dir) / "checkpoint"
    try:
        text = index.read_text()
    except OSError:
        return None
    match = re.search(r'^model_checkpoint_path:\s*"([^"]+)"', text, re.MULTILINE)
    if match is None:
        return None
    path = Path(match.group(1))
    return path if path.is_absolute() else Path(run_dir) / path


def resume_hint(run_dir: str | Path | None) -> str:
    """:data:`RESUME_HINT`, naming the newest checkpoint when there is one."""
    newest = newest_checkpoint(run_dir)
    if newest is None:
        return RESUME_HINT
    return f"{RESUME_HINT[:-1]} ({newest})."


def split_gpus(visible: str | None, num_workers: int) -> list[str]:
    """``CUDA_VISIBLE_DEVICES`` of each local worker, from the launcher's own ``visible``.

    Workers on one machine must not share a GPU (TensorFlow's multi-worker tutorial hides
    them for that reason). When ``visible`` lists at least ``num_workers`` GPUs
    (``"0,1,2,3"``), worker ``i`` gets its own contiguous share (``"0,1"`` and ``"2,3"``);
    otherwise (unset, empty, ``"-1"``, or too few) every worker gets ``"-1"``: CPU only.
    On one GPU machine, train without ``--workers``: one process mirrors over all its GPUs.
    """
    num_workers = check_int("num_workers", num_workers, minimum=1)
    ids = [g.strip() for g in (visible or "").split(",") if g.strip()]
    if not ids or ids == ["-1"] or len(ids) < num_workers:
        return ["-1"] * num_workers
    share = len(ids) // num_workers
    return [",".join(ids[i * share : (i + 1) * share]) for i in range(num_workers)]


def describe_exit(code: int) -> str:
    """``"exited with code 3"`` or ``"was killed by signal 9 (SIGKILL)"``."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown signal"
        return f"was killed by signal {-code} ({name})"
    return f"exited with code {code}"


def failure_message(
    index: int, code: int, log: Path | str, run_dir: str | Path | None = None
) -> str:
    """What the launcher prints when worker ``index`` stopped the run."""
    role = " (the chief)" if index == 0 else ""
    return (
        f"worker {index}{role} {describe_exit(code)}; the other workers were stopped. "
        f"Its output: {log}. {resume_hint(run_dir)}"
    )


def exit_code(code: int) -> int:
    """The launcher's exit code for a worker's: as it is, or 128 + signal when killed."""
    return 128 - code if code < 0 else code


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen
    log: Path
    reader: threading.Thread | None = None


def _copy_lines(source: IO[str], log: IO[str], out: IO[str], muted: threading.Event) -> None:
    """The chief's output: to its log, and to the console until ``muted`` is set."""
    for line in source:
        log.write(line)
        log.flush()
        if muted.is_set():
            continue
        try:
            out.write(line)
            out.flush()
        except (OSError, ValueError):  # console gone: keep logging
            pass


def _stop(workers: Sequence[_Worker], grace: float) -> None:
    """SIGTERM every worker still running, SIGKILL what is left after ``grace`` seconds."""
    for w in workers:
        if w.process.poll() is None:
            w.process.terminate()
    deadline = time.monotonic() + grace
    for w in workers:
        try:
            w.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            w.process.kill()
            w.process.wait()


def _wait_all(workers: Sequence[_Worker], seconds: float, poll: float) -> bool:
    """Wait up to ``seconds`` for every worker to exit; whether they all did."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(w.process.poll() is not None for w in workers):
            return True
        time.sleep(poll)
    return all(w.process.poll() is not None for w in workers)


def launch(
    argv: Sequence[str],
    num_workers: int,
    *,
    env: Mapping[str, str] | None = None,
    log_dir: str | Path | None = None,
    command: Sequence[str] = DEFAULT_COMMAND,
    threads: int | None = None,
    out: IO[str] | None = None,
    poll_seconds: float = 0.2,
    grace_seconds: float = 10.0,
    finish_seconds: float = 300.0,
) -> int:
    """Run ``command + argv`` as ``num_workers`` workers on loopback; return an exit code.

    Args:
        argv: the arguments of every worker, e.g. ``["train", "classifier", "--profile",
            "ci", "--run-dir", "runs/x"]`` (without ``--workers``: a worker is one process).
        num_workers: ``K >= 1``.
        env: the workers' environment before their ``TF_CONFIG`` (default: this process's).
        log_dir: where ``worker-<i>.log`` go (created); default ``<D>/workers`` when
            ``argv`` has ``--run-dir D``, else a new temporary directory.
        command: what runs before ``argv`` (default ``python -m course_lib``).
        threads: CPU threads per worker; default :func:`threads_per_worker`.
        out: where the chief's output and the launcher's messages go (default stdout).
        poll_seconds: how often the workers are checked.
        grace_seconds: how long workers get to exit after Ctrl-C before they are
            terminated.
        finish_seconds: how long the other workers get to exit once the chief has finished
            (they may still be evaluating); then they are terminated, and the run counts as
            complete (the chief wrote the checkpoints and the summary).

    Returns:
        0 when the chief finished (exit 0) and no worker failed before it; the exit code
        of the first worker that failed before that (128 + signal if it was killed); 130
        after Ctrl-C or SIGTERM.
    """
    num_workers = check_int("num_workers", num_workers, minimum=1)
    argv = [str(a) for a in argv]
    if "--workers" in argv or any(a.startswith("--workers=") for a in argv):
        raise ValueError(
            "argv must not contain --workers: each worker is one process (the launcher "
            f"starts {num_workers})"
        )
    out = out or sys.stdout
    base = dict(os.environ if env is None else env)
    threads = threads_per_worker(num_workers) if threads is None else threads
    if log_dir is None:
        run_dir = run_dir_of(argv)
        log_dir = run_dir / "workers" if run_dir else tempfile.mkdtemp(prefix="workers-")
    logs = Path(log_dir)
    logs.mkdir(parents=True, exist_ok=True)
    hosts = [f"{LOOPBACK}:{p}" for p in free_ports(num_workers)]
    gpus = split_gpus(base.get("CUDA_VISIBLE_DEVICES"), num_workers)
    devices = "CPU only" if gpus[0] == "-1" else "GPUs " + " | ".join(gpus)
    print(
        f"launching {num_workers} workers on {', '.join(hosts)} ({devices}, {threads} CPU "
        f"thread(s) each); worker 0 (the chief) prints here, every worker logs to "
        f"{logs}/worker-<i>.log",
        file=out,
        flush=True,
    )
    workers: list[_Worker] = []
    files: list[IO[str]] = []
    # After Ctrl-C the chief's console output stops: a worker that stops first makes the
    # others' pending all-reduce fail with a long traceback that would bury the message.
    muted = threading.Event()
    previous = _terminate_like_ctrl_c()
    try:
        for i in range(num_workers):
            log = logs / f"worker-{i}.log"
            handle = open(log, "w")  # noqa: SIM115 (closed in finally, after the worker)
            files.append(handle)
            env_i = worker_env(base, tf_config(hosts, i), threads)
            env_i["CUDA_VISIBLE_DEVICES"] = gpus[i]
            process = subprocess.Popen(
                [*command, *argv],
                env=env_i,
                stdout=subprocess.PIPE if i == 0 else handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                start_new_session=True,  # Ctrl-C reaches the launcher only, which passes it on
            )
            worker = _Worker(i, process, log)
            if i == 0:
                worker.reader = threading.Thread(
                    target=_copy_lines, args=(process.stdout, handle, out, muted), daemon=True
                )
                worker.reader.start()
            workers.append(worker)
        return _monitor(workers, out, poll_seconds, finish_seconds, run_dir_of(argv))
    except KeyboardInterrupt:
        muted.set()
        print(
            "\nCtrl-C: stopping every worker (each saves a checkpoint if it can; their "
            f"output from now on is only in {logs}) ...",
            file=out,
            flush=True,
        )
        for w in workers:
            if w.process.poll() is None:
                w.process.send_signal(signal.SIGINT)
        try:
            if not _wait_all(workers, grace_seconds, poll_seconds):
                _stop(workers, grace=2.0)
        except KeyboardInterrupt:  # a second Ctrl-C: stop at once
            _stop(workers, grace=0.0)
        print(f"stopped. {resume_hint(run_dir_of(argv))}", file=out, flush=True)
        return INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        _stop(workers, grace=2.0)
        for w in workers:
            if w.reader is not None:
                w.reader.join(timeout=5)
        for handle in files:
            handle.close()


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _terminate_like_ctrl_c():
    """In the main thread: SIGTERM (e.g. from a job scheduler) stops the workers as Ctrl-C
    does, instead of leaving them running without their launcher. Returns the old handler."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)


def _watch(worker: _Worker, exits: queue.Queue) -> None:
    exits.put((worker.index, worker.process.wait()))


def _monitor(
    workers: Sequence[_Worker], out: IO[str], poll: float, finish: float, run_dir: Path | None
) -> int:
    """Until every worker has exited: stop the run at the first failure.

    One thread per worker waits for its exit and queues it, so the queue's order is the order
    in which the workers ended: the worker that died first is named, not one that failed
    because its peer disappeared from an all-reduce a moment later. Once the chief has
    finished (exit 0: checkpoints and summary are written) the run is complete; the other
    workers get ``finish`` seconds to exit, and one that fails or hangs then is reported
    without failing the run.
    """
    exits: queue.Queue[tuple[int, int]] = queue.Queue()
    for w in workers:
        threading.Thread(target=_watch, args=(w, exits), daemon=True).start()
    done: set[int] = set()
    deadline: float | None = None  # set once the chief has finished
    while len(done) < len(workers):
        try:
            index, code = exits.get(timeout=poll)
        except queue.Empty:
            if deadline is not None and time.monotonic() > deadline:
                stuck = sorted({w.index for w in workers} - done)
                _stop(workers, grace=2.0)
                print(
                    f"note: the chief finished, but worker(s) {stuck} had not exited "
                    f"{finish:.0f} s later and were stopped (see their logs in "
                    f"{workers[0].log.parent})",
                    file=out,
                    flush=True,
                )
                return 0
            continue
        done.add(index)
        if code != 0 and deadline is not None:  # after the chief's success
            print(
                f"note: worker {index} {describe_exit(code)} after the chief had finished "
                f"(its output: {workers[index].log}); the run itself completed",
                file=out,
                flush=True,
            )
        elif code != 0:
            _stop(workers, grace=2.0)
            if workers[0].reader is not None:
                workers[0].reader.join(timeout=5)  # the chief's last lines first
            message = failure_message(index, code, workers[index].log, run_dir)
            print(message, file=out, flush=True)
            return exit_code(code)
        if index == 0:
            deadline = time.monotonic() + finish
    return 0
