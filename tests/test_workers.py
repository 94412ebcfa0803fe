"""The local multi-worker launcher (``course_lib.runtime.workers``) and multi-worker training.

The pure parts (``TF_CONFIG``, ports, threads, argv, messages) and the launcher's process
handling (with stand-in workers that need no TensorFlow) are fast. One test trains for real:
2 workers under ``MultiWorkerMirroredStrategy`` against one device, through a worker that
dies mid-run, a rerun that resumes, and the NaN guard.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from course_lib.runtime import workers
from course_lib.runtime.devices import parse_tf_config

ROOT = Path(__file__).resolve().parents[1]
JOB = ROOT / "tests" / "workers_job.py"

# --------------------------------------------------------------------------- pure parts


def test_free_ports_are_distinct_and_free():
    ports = workers.free_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        with socket.socket() as s:
            s.bind((workers.LOOPBACK, port))  # still free after the call
    with pytest.raises(ValueError):
        workers.free_ports(0)


def test_tf_config_names_the_cluster_and_this_worker():
    hosts = ["127.0.0.1:1000", "127.0.0.1:1001"]
    config = json.loads(workers.tf_config(hosts, 1))
    assert config == {
        "cluster": {"worker": hosts},
        "task": {"type": "worker", "index": 1},
    }
    assert parse_tf_config(workers.tf_config(hosts, 0)) == 2  # what RuntimeSetup reads
    configs = workers.cluster_tf_configs(["node1:12345", "node2:12345", "node3:12345"])
    assert [json.loads(c)["task"]["index"] for c in configs] == [0, 1, 2]
    assert {json.dumps(json.loads(c)["cluster"]) for c in configs} == {
        json.dumps({"worker": ["node1:12345", "node2:12345", "node3:12345"]})
    }


@pytest.mark.parametrize(
    "hosts, index, match",
    [
        ([], 0, "at least one"),
        (["127.0.0.1"], 0, "host:port"),
        (["127.0.0.1:x"], 0, "host:port"),
        (["a:1", "b:2"], 2, "not a worker"),
        (["a:1"], -1, "index"),
    ],
)
def test_tf_config_rejects_bad_clusters(hosts, index, match):
    with pytest.raises(ValueError, match=match):
        workers.tf_config(hosts, index)


def test_threads_share_the_cores():
    assert workers.threads_per_worker(2, cpus=2) == 1
    assert workers.threads_per_worker(1, cpus=2) == 2
    assert workers.threads_per_worker(4, cpus=2) == 1  # never 0
    assert workers.threads_per_worker(2, cpus=8) == 4
    assert workers.threads_per_worker(2) >= 1


def test_worker_env_sets_tf_config_and_keeps_explicit_thread_counts():
    env = workers.worker_env({"PATH": "/bin", "OMP_NUM_THREADS": "7"}, '{"x": 1}', threads=2)
    assert env["TF_CONFIG"] == '{"x": 1}' and env["PATH"] == "/bin"
    assert env["TF_NUM_INTRAOP_THREADS"] == "2" and env["TF_NUM_INTEROP_THREADS"] == "2"
    assert env["OMP_NUM_THREADS"] == "7"  # the learner's own setting wins
    assert "TF_NUM_INTRAOP_THREADS" not in workers.worker_env({}, "{}")


def test_local_workers_never_share_a_gpu():
    assert workers.split_gpus(None, 2) == ["-1", "-1"]
    assert workers.split_gpus("", 2) == ["-1", "-1"]
    assert workers.split_gpus("-1", 2) == ["-1", "-1"]
    assert workers.split_gpus("0", 2) == ["-1", "-1"]  # one GPU for two workers: CPU only
    assert workers.split_gpus("0,1", 2) == ["0", "1"]
    assert workers.split_gpus("0, 1,2,3", 2) == ["0,1", "2,3"]
    assert workers.split_gpus("3,2,1", 2) == ["3", "2"]


def test_run_dir_is_read_from_argv():
    assert workers.run_dir_of(["train", "gpt", "--run-dir", "/r/x"]) == Path("/r/x")
    assert workers.run_dir_of(["train", "--run-dir=/r/y", "--seed", "0"]) == Path("/r/y")
    assert workers.run_dir_of(["train", "gpt"]) is None
    assert workers.run_dir_of(["train", "--run-dir"]) is None


def test_exit_codes_and_the_failure_message():
    assert workers.describe_exit(3) == "exited with code 3"
    assert workers.describe_exit(-9) == "was killed by signal 9 (SIGKILL)"
    assert workers.exit_code(-9) == 137 and workers.exit_code(3) == 3
    message = workers.failure_message(1, -9, "/r/workers/worker-1.log")
    assert "worker 1 was killed by signal 9" in message
    assert "/r/workers/worker-1.log" in message
    assert "Rerun the same command to resume from the last checkpoint" in message
    assert "(the chief)" in workers.failure_message(0, 1, "x")


def test_the_newest_checkpoint_is_read_without_tensorflow(tmp_path):
    assert workers.newest_checkpoint(tmp_path) is None
    assert workers.resume_hint(tmp_path) == workers.RESUME_HINT
    (tmp_path / "checkpoint").write_text(
        'model_checkpoint_path: "ckpt-52"\nall_model_checkpoint_paths: "ckpt-32"\n'
        'all_model_checkpoint_paths: "ckpt-52"\n'
    )
    assert workers.newest_checkpoint(tmp_path) == tmp_path / "ckpt-52"
    assert workers.resume_hint(tmp_path).endswith(f"last checkpoint ({tmp_path / 'ckpt-52'}).")
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "/abs/ckpt-7"\n')
    assert workers.newest_checkpoint(tmp_path) == Path("/abs/ckpt-7")
    assert "(/abs/ckpt-7)." in workers.failure_message(1, 3, "log", tmp_path)


def test_launch_refuses_a_workers_flag_in_argv(tmp_path):
    for argv in (["train", "gpt", "--workers", "2"], ["train", "--workers=2"]):
        with pytest.raises(ValueError, match="--workers"):
            workers.launch(argv, 2, log_dir=tmp_path)


# --------------------------------------------------------------------------- processes

# A stand-in worker: prints its TF_CONFIG index and thread count, then does what argv[1] says
# for its index: "ok" exits 0, "fail" exits 3, "kill" SIGKILLs itself, "hang" sleeps.
FAKE = textwrap.dedent("""
    import glob, json, os, signal, sys, time
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    def wait_for_the_hanging_one():
        for _ in range(200):
            if glob.glob(sys.argv[2] + "/pid-*"):
                return
            time.sleep(0.05)
    print(f"worker {index} of {os.environ['TF_CONFIG']} threads "
          f"{os.environ['TF_NUM_INTRAOP_THREADS']}", flush=True)
    action = sys.argv[1].split(",")[index]
    if action == "fail":
        wait_for_the_hanging_one()
        sys.exit(3)
    if action == "slowfail":  # fails once the chief is done
        for _ in range(200):
            if os.path.exists(sys.argv[2] + "/done-0"):
                break
            time.sleep(0.05)
        time.sleep(0.5)
        sys.exit(3)
    if action == "kill":
        wait_for_the_hanging_one()
        os.kill(os.getpid(), signal.SIGKILL)
    if action == "hang":
        open(sys.argv[2] + f"/pid-{index}", "w").write(str(os.getpid()))
        time.sleep(600)
    print(f"worker {index} done", flush=True)
    open(sys.argv[2] + f"/done-{index}", "w").close()
""")


def _fake_launch(tmp_path: Path, actions: str, **kwargs) -> tuple[int, str, float]:
    out = io.StringIO()
    began = time.monotonic()
    code = workers.launch(
        [actions, str(tmp_path)],
        len(actions.split(",")),
        command=[sys.executable, "-c", FAKE],
        log_dir=tmp_path / "logs",
        out=out,
        poll_seconds=0.05,
        **kwargs,
    )
    return code, out.getvalue(), time.monotonic() - began


def test_launch_runs_every_worker_with_its_own_tf_config(tmp_path):
    code, out, _ = _fake_launch(tmp_path, "ok,ok,ok", threads=1)
    assert code == 0, out
    assert "worker 0 done" in out and "worker 1 done" not in out  # the chief on the console
    for i in range(3):
        log = (tmp_path / "logs" / f"worker-{i}.log").read_text()
        assert f"worker {i} done" in log and "threads 1" in log
        assert f'"index": {i}' in log
    ports = {
        json.loads(line.split(" of ", 1)[1].rsplit(" threads", 1)[0])["cluster"]["worker"][0]
        for line in (tmp_path / "logs" / "worker-0.log").read_text().splitlines()[:1]
    }
    assert all(p.startswith("127.0.0.1:") for p in ports)


def test_workers_that_end_badly_after_the_chief_finished_do_not_fail_the_run(tmp_path):
    code, out, seconds = _fake_launch(tmp_path, "ok,slowfail,hang", finish_seconds=1.5)
    assert code == 0, out
    assert "note: worker 1 exited with code 3 after the chief had finished" in out
    assert "note: the chief finished, but worker(s) [2] had not exited" in out
    assert seconds < 20


@pytest.mark.parametrize(
    "actions, code, words",
    [
        ("hang,fail", 3, "worker 1 exited with code 3"),
        ("hang,kill", 137, "worker 1 was killed by signal 9 (SIGKILL)"),
        ("fail,hang", 3, "worker 0 (the chief) exited with code 3"),
    ],
)
def test_a_dying_worker_stops_the_run_with_a_clear_message(tmp_path, actions, code, words):
    got, out, seconds = _fake_launch(tmp_path, actions)
    assert got == code, out
    last = out.strip().splitlines()[-1]
    assert words in last and "worker-" in last and "Rerun the same command" in last
    assert seconds < 20  # the hanging worker was terminated, not waited for
    assert len(list(tmp_path.glob("pid-*"))) == 1
    for pid_file in tmp_path.glob("pid-*"):
        pid = int(pid_file.read_text())
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_every_worker_and_exits_130(tmp_path, signum):
    # The launcher gets Ctrl-C as in a terminal. When pytest runs as a background job (as in
    # `nohup .ci/run &`, which is how the CI runs of 2026-12-05 were started), the shell starts
    # it with SIGINT ignored, every child inherits that, and Python then installs no
    # KeyboardInterrupt handler: without this line the launcher never sees the signal.
    script = textwrap.dedent(f"""
        import signal, sys
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from course_lib.runtime import workers
        sys.exit(workers.launch(["hang,hang", {str(tmp_path)!r}], 2,
                                command=[sys.executable, "-c", {FAKE!r}],
                                log_dir={str(tmp_path / "logs")!r}, grace_seconds=3))
    """)
    launcher = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    # generous timeouts: 1 s on an idle machine, but a loaded CI machine once took over 30 s
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("pid-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = [int(p.read_text()) for p in tmp_path.glob("pid-*")]
    assert len(pids) == 2
    launcher.send_signal(signum)
    out, _ = launcher.communicate(timeout=120)
    assert launcher.returncode == 130, out
    assert "Ctrl-C" in out and "Rerun the same command" in out
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


# --------------------------------------------------------------------------- real training

#: Relative tolerance between the 2-worker and the one-device loss curves. Both runs apply the
#: same updates; only float32 sums are taken in another order (each replica sums its half of
#: the batch, then the all-reduce adds the halves). Re-associating a float32 sum of n >= 0
#: terms changes it by at most about 2 (n - 1) u of the sum, u = 2**-24: 7.5e-6 for the 64
#: per-example losses of a batch. 1e-5 is that bound; the differences of the updates that
#: follow from it stay far below it over this short run (measured: at most 1.7e-7).
RTOL = 1e-5


def _losses(history: dict) -> dict[int, float]:
    return {int(step): values["loss"] for step, values in history["points"]}


def test_two_workers_match_one_device_through_a_crash_a_resume_and_a_nan(tmp_path):
    """The course's Trainer under MultiWorkerMirroredStrategy, started by the launcher.

    40 steps of a small MLP; a NaN target at step 35 fires the NaN guard in both runs. In the
    2-worker run, worker 1 dies at step 20: the launcher stops the run naming it; the same
    command again resumes from the chief's checkpoint and runs to the NaN. The loss of every
    step and every record's training and validation means match one device within RTOL.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COURSE_PROFILE": "ci"}
    args = ["--steps", "40", "--nan-at", "35"]
    one_dir, two_dir = tmp_path / "one", tmp_path / "two"
    one = subprocess.Popen(  # the one-device reference, alongside the first 2-worker run
        [sys.executable, str(JOB), "--run-dir", str(one_dir), *args],
        env={**env, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = io.StringIO()
    argv = ["--run-dir", str(two_dir), *args, "--crash-at", "20"]
    code = workers.launch(argv, 2, env=env, command=[sys.executable, str(JOB)], out=out)
    first = out.getvalue()
    assert code == 3, first
    last = first.strip().splitlines()[-1]
    assert "worker 1 exited with code 3" in last and "Rerun the same command" in last
    assert f"({two_dir / 'ckpt-'}" in last  # names the chief's newest checkpoint
    assert str(two_dir / "workers" / "worker-1.log") in first  # logs go to <run dir>/workers
    one_out, _ = one.communicate(timeout=300)
    assert one.returncode == 0, one_out[-3000:]

    out = io.StringIO()
    argv = ["--run-dir", str(two_dir), *args]
    code = workers.launch(argv, 2, env=env, command=[sys.executable, str(JOB)], out=out)
    second = out.getvalue()
    assert code == 0, second
    assert "resumed from" in second, second  # from the chief's checkpoint (step 10 or 20)
    assert "done: multi_worker, 2 replica(s)" in second

    a = json.loads((one_dir / "history.json").read_text())
    b = json.loads((two_dir / "history.json").read_text())
    assert a["stop_reason"] == b["stop_reason"] == "non-finite"
    assert "at step 35" in a["message"] and a["message"] == b["message"]
    la, lb = _losses(a), _losses(b)
    assert sorted(la) == sorted(lb) == list(range(1, 35))
    np.testing.assert_allclose([lb[s] for s in la], list(la.values()), rtol=RTOL)
    assert [r["step"] for r in a["records"]] == [r["step"] for r in b["records"]] == [10, 20, 30]
    for ra, rb in zip(a["records"], b["records"], strict=True):
        for split in ("train", "val"):
            np.testing.assert_allclose(rb[split]["loss"], ra[split]["loss"], rtol=RTOL)
    # the chief kept the checkpoints, worker 1 wrote a throw-away copy beside them
    assert (two_dir / "checkpoint").exists() and (two_dir / "worker-1-tmp").is_dir()


def test_train_command_with_two_workers_matches_one_worker(tmp_path):
    """``python -m course_lib train classifier --profile ci --steps 10 --workers 2`` against
    the same command on one worker: the histories the Trainer writes agree within RTOL, and
    the chief alone writes the summary line."""
    # float32: RTOL is float32's bound. On a CPU with bfloat16 instructions `train` picks
    # mixed_bfloat16 for the classifier, whose sums in another order differ by ~1e-4.
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COURSE_MODEL_CACHE": "0",
        "COURSE_PRECISION": "float32",
    }
    base = [sys.executable, "-m", "course_lib", "train", "classifier", "--profile", "ci"]
    base += ["--steps", "10"]
    one = subprocess.Popen(
        [*base, "--run-dir", str(tmp_path / "one")],
        env={**env, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    two = subprocess.run(
        [*base, "--workers", "2", "--run-dir", str(tmp_path / "two")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    one_out, _ = one.communicate(timeout=600)
    assert one.returncode == 0, one_out[-3000:]
    assert two.returncode == 0, two.stdout[-3000:]
    assert "launching 2 workers" in two.stdout
    assert two.stdout.count("train classifier (ci): test accuracy") == 1  # the chief's line
    assert "2 workers" in two.stdout.splitlines()[-1]
    a = json.loads((tmp_path / "one" / "history.json").read_text())
    b = json.loads((tmp_path / "two" / "history.json").read_text())
    assert a["stop_reason"] == b["stop_reason"] == "completed"
    assert [s for s, _ in a["points"]] == [s for s, _ in b["points"]]
    for (_, va), (_, vb) in zip(a["points"], b["points"], strict=True):
        np.testing.assert_allclose(vb["loss"], va["loss"], rtol=RTOL)
    worker_1 = (tmp_path / "two" / "workers" / "worker-1.log").read_text()
    assert "test accuracy" not in worker_1  # only the chief reports
