"""Does ``mixed_bfloat16`` train the course's models faster than ``float32`` on this CPU?

For each course model (``classifier``, ``vae``, ``gan``, ``gpt`` at the ``student`` profile's
sizes, built by :func:`course_lib.bench.build_workload`, trained by the course's ``Trainer``
with its compiled steps) the script runs a fresh Python process per precision policy (the
Keras policy is set before the model is built), alternating the policies over ``--repeats``
rounds so that load from other processes hits both alike. Each run trains a warm-up (not
timed: tracing and compiling) and then about ``--seconds`` of timed steps
(:func:`course_lib.bench.measure_training`). The GPT is also run without XLA (the course
trains it with XLA), since XLA's CPU backend and TensorFlow's oneDNN kernels treat bfloat16
differently.

It prints, per model and setting, the median items/s over the rounds, the ratio
``bfloat16 / float32`` of the medians (and of each round), once per second of wall-clock
time and once per second of the worker's CPU time (which varies less when other processes
share the CPU), and the mean training loss over the
first compiled calls that both policies ran (same initial weights and the same batches):
a bfloat16 run whose loss drifts away from float32's is not a faster way to the same model.

Whether bfloat16 can be fast at all depends on the CPU: oneDNN uses the AVX512-BF16
instructions where the CPU has them (``grep -o avx512_bf16 /proc/cpuinfo``).

The course's decision per model (``course_lib.runtime.devices.CPU_BF16_SPEEDUP``, used by
``choose_precision`` when a command names the model) comes from runs of this script on
2026-12-05 on the course's 2-core machine while other jobs ran (load average 12 to 20), with
3 rounds of 6 s for the classifier and the VAE and 2 rounds of 5 s for the GAN (10 steps per
compiled call) and the GPT; bfloat16 / float32 per CPU second (per wall-clock second):
classifier 1.55 (2.27), vae 1.12 (1.19), gan 1.40 (1.45), gpt with XLA 0.92 (1.71), gpt
without XLA 1.18 (0.95, against float32 without XLA). The training loss after the same steps
(float32 vs bfloat16) differed by at most 2 %: classifier 0.2364 vs 0.2325 after 80 steps, VAE
171.07 vs 170.85 nats after 250, GAN 1.070 vs 1.060 (D) and 0.730 vs 0.744 (G) after 30, GPT
3.3351 vs 3.3353 nats/char after 30.

    nice -n 10 python benchmarks/mixed_precision_cpu.py     # about 15 minutes on 2 idle cores
    python benchmarks/mixed_precision_cpu.py --models gan gpt --repeats 2 --seconds 5 \
        --gan-steps-per-execution 10
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

POLICIES = ("float32", "mixed_bfloat16")
MODELS = ("classifier", "vae", "gan", "gpt")


def worker(model: str, policy: str, seconds: float, jit: str, spe: int = 0) -> dict:
    """One measurement in this process: set ``policy``, build ``model``, train, report."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import dataclasses

    import keras

    keras.mixed_precision.set_global_policy(policy)
    from course_lib.bench import build_workload, measure_training

    if model == "vae" and policy != "float32":
        _vae_outputs_in_float32()

    work = build_workload(model)
    if jit != "default":
        work.train_config = dataclasses.replace(work.train_config, jit_compile=jit == "on")
    if spe:
        work.train_config = dataclasses.replace(work.train_config, steps_per_execution=spe)
    speed = measure_training(work, seconds)
    return {
        "model": model,
        "policy": policy,
        "jit": work.train_config.jit_compile,
        "items_per_second": speed.items_per_second,
        "unit": work.unit,
        "steps": speed.steps,
        "seconds": speed.seconds,
        "items_per_cpu_second": speed.items_per_cpu_second,
        "warmup_seconds": speed.warmup_seconds,
        "losses": speed.losses,
        "steps_per_call": work.train_config.steps_per_execution,
    }


def _vae_outputs_in_float32() -> None:
    """Let the VAE run under a mixed policy: its encoder's ``mu, log_var`` and its decoder's
    logits in float32 (the matrix products stay in the compute dtype), as the GAN's and the
    GPT's last layers are. ``course_lib.vae`` as it stands mixes a float32 ``eps`` with a
    bfloat16 ``mu`` and fails (``TypeError`` in ``reparameterize``); this patch is what a fix
    there would do, applied here so the VAE can be timed."""
    import tensorflow as tf

    from course_lib.vae import model as vae_model

    encode, decode = vae_model.VAE.encode, vae_model.VAE.decode

    def encode32(self, x, training=False):
        return tuple(tf.cast(t, tf.float32) for t in encode(self, x, training))

    def decode32(self, z, training=False):
        return tf.cast(decode(self, z, training), tf.float32)

    vae_model.VAE.encode, vae_model.VAE.decode = encode32, decode32


def run_worker(model: str, policy: str, seconds: float, jit: str, spe: int = 0) -> dict:
    cmd = [sys.executable, __file__, "--worker", model, policy, str(seconds), jit, str(spe)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ)
    return json.loads(out.stdout.strip().splitlines()[-1])


def loss_check(a: dict, b: dict, calls: int = 5) -> str:
    """Mean loss of the first ``calls`` compiled calls (and of the last call both ran)."""
    parts = []
    for name in a["losses"]:
        x, y = a["losses"][name], b["losses"][name]
        n = min(len(x), len(y))
        k = min(calls, n)
        parts.append(
            f"{name}: first {k * a['steps_per_call']} steps {statistics.mean(x[:k]):.4f} vs "
            f"{statistics.mean(y[:k]):.4f}, after {n * a['steps_per_call']} steps "
            f"{x[n - 1]:.4f} vs {y[n - 1]:.4f}"
        )
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--repeats", type=int, default=3, help="rounds of both policies")
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds per run")
    parser.add_argument(
        "--gan-steps-per-execution",
        type=int,
        default=0,
        help="steps per compiled call for the GAN (0: its chapter's 50; fewer: shorter runs)",
    )
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        model, policy, seconds, jit, spe = args.worker
        print(json.dumps(worker(model, policy, float(seconds), jit, int(spe))))
        return
    with open("/proc/cpuinfo") as f:
        flags = sorted({w for w in f.read().split() if w in ("avx512_bf16", "amx_bf16")})
    load = os.getloadavg()
    print(
        f"CPU bfloat16 flags: {flags or 'none'}; {os.cpu_count()} CPUs; load average at start "
        f"{load[0]:.2f}; {args.repeats} rounds x {args.seconds:g} s per run; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        flush=True,
    )
    settings = [(m, "default") for m in args.models]
    if "gpt" in args.models:
        settings.append(("gpt", "off"))
    summary = {}
    for model, jit in settings:
        runs: dict[str, list[dict]] = {p: [] for p in POLICIES}
        for round_ in range(args.repeats):
            order = POLICIES if round_ % 2 == 0 else POLICIES[::-1]
            for policy in order:
                spe = args.gan_steps_per_execution if model == "gan" else 0
                runs[policy].append(run_worker(model, policy, args.seconds, jit, spe))
        f32, bf16 = runs["float32"], runs["mixed_bfloat16"]
        label = f"{model} (XLA {'on' if f32[0]['jit'] else 'off'})"
        summary[label] = {}
        for key, what in (("items_per_second", "wall"), ("items_per_cpu_second", "CPU")):
            rate = {p: statistics.median(r[key] for r in runs[p]) for p in POLICIES}
            ratio = rate["mixed_bfloat16"] / rate["float32"]
            rounds = [b[key] / a[key] for a, b in zip(f32, bf16, strict=True)]
            summary[label][what] = {"rates": rate, "ratio": ratio, "rounds": rounds}
            unit = f"{f32[0]['unit']}/{what} s"
            print(
                f"{label if what == 'wall' else '':<22} float32 {rate['float32']:9,.0f} {unit}, "
                f"mixed_bfloat16 {rate['mixed_bfloat16']:9,.0f}: ratio {ratio:.2f} "
                f"(per round {', '.join(f'{x:.2f}' for x in rounds)})",
                flush=True,
            )
        print(f"{'':<22} loss float32 vs bfloat16: {loss_check(f32[0], bf16[0])}", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
