"""Does the roofline predict this machine? Predicted vs measured time of matvec, matmul and a GPT
decode step.

The roofline model says an operation of ``F`` FLOPs that must move ``Q`` bytes takes at least
``max(F / P, Q / B_mem)`` seconds on a machine with peak rate ``P`` and memory bandwidth ``B_mem``
(``course_lib.hardware.roofline.predict_time``). This script

1. measures ``P`` (best float32 matmul rate) and ``B_mem`` (read rate of an array 8x the last-level
   cache, whose size ``course_lib.hardware.microbench.last_level_cache_bytes`` reads) with
   ``course_lib.hardware.measure_machine`` (``--plan thorough`` by default);
2. predicts the time of every matrix-vector and matrix-matrix product the plan timed, and of
   one decoding step of a tiny GPT (``GPTConfig(vocab_size=77, context_length=256, n_layer=4,
   n_head=4, d_model=128)``, random weights, float32, KV cache on) at batch 1 and batch 8,
   using ``course_lib.hardware.decode_step_time`` (weights once per step plus each sequence's
   KV cache of ``context`` tokens; the compiled cache always spans all 256 slots);
3. measures the decode step as the median time of ``generate(..., use_cache=True)`` (one
   XLA-compiled loop) for ``--tokens`` new tokens, timed by ``microbench.time_op`` after a
   warm-up call, divided by ``--tokens`` (the
   8-token prefill and the sampler are included: they are part of producing a token);
4. prints a table -- case, FLOPs, bytes, bound, predicted, measured, error -- and the median
   absolute error over the cases where the model applies: predicted time at least 10x the
   measured per-call dispatch overhead and, for memory-bound cases, data larger than the
   last-level cache (otherwise the cache, not DRAM, feeds the processor).

``error = predicted / measured - 1``: negative means the machine was slower than the bound.
The largest matmul usually defines ``P``, so its error is 0 by construction.

    python benchmarks/roofline_validation.py                      # 2-3 minutes on one CPU core
    python benchmarks/roofline_validation.py --plan quick --tokens 100
    # pin to one core for steadier numbers:
    taskset -c 0 python benchmarks/roofline_validation.py

Timings on a shared machine vary by tens of percent between runs; rerun before trusting a digit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf

from course_lib.gpt import GPT, GPTConfig, generate
from course_lib.hardware import (
    PLANS,
    bound,
    decode_step_time,
    measure_machine,
    predict_time,
)
from course_lib.hardware.microbench import last_level_cache_bytes, time_op

TINY_GPT = GPTConfig(vocab_size=77, context_length=256, n_layer=4, n_head=4, d_model=128)
PROMPT_LENGTH = 8


def decode_seconds_per_token(model: GPT, batch: int, tokens: int, repeats: int) -> float:
    """Median over ``repeats`` timed ``generate`` calls (after one untimed call that traces and
    compiles) divided by ``tokens``, timed by ``course_lib.hardware.microbench.time_op``."""
    prompt = tf.zeros([batch, PROMPT_LENGTH], tf.int32)

    def decode():
        return generate(model, prompt, max_new_tokens=tokens, use_cache=True)

    return time_op(decode, warmup=1, repeats=repeats).median / tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plan", default="thorough", choices=list(PLANS))
    parser.add_argument(
        "--tokens", type=int, default=200, help="new tokens per timed generate call"
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed generate calls per batch size"
    )
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    if PROMPT_LENGTH + args.tokens > TINY_GPT.context_length:
        parser.error(
            f"--tokens must be at most {TINY_GPT.context_length - PROMPT_LENGTH} (no cache refill)"
        )

    start = time.perf_counter()
    m = measure_machine(args.plan)
    print(m.summary())
    peak, bw, dispatch = m.peak_flops, m.bandwidth, m.dispatch_seconds
    llc = last_level_cache_bytes() or 0
    print(f"last-level cache {llc / 2**20:.0f} MiB; TensorFlow {tf.__version__}\n")

    rows = []  # (case, flops, bytes, bound, predicted, measured, applies, note)
    for r in m.matvec + tuple(r for r in m.matmul if r.dtype == "float32"):
        op = r.operation
        predicted = predict_time(op, peak, bw)
        kind = bound(op, peak, bw)
        applies = predicted >= 10 * dispatch and (kind == "compute" or op.bytes > llc)
        note = "defines P" if r.kind == "matmul" and r.flops_per_second == peak else ""
        rows.append(
            (
                f"{r.kind} n={r.size}",
                op.flops,
                op.bytes,
                kind,
                predicted,
                r.timing.median,
                applies,
                note,
            )
        )

    model = GPT(TINY_GPT)
    model(tf.zeros([1, PROMPT_LENGTH], tf.int32))  # build the weights
    shape = TINY_GPT.shape
    for batch in args.batches:
        est = decode_step_time(
            shape,
            batch=batch,
            context=TINY_GPT.context_length,
            peak_flops=peak,
            bandwidth=bw,
            bytes_per_param=4,
        )
        measured = decode_seconds_per_token(model, batch, args.tokens, args.repeats)
        applies = est.seconds >= 10 * dispatch and (est.bound == "compute" or est.bytes > llc)
        rows.append(
            (
                f"GPT decode B={batch}",
                est.flops,
                est.bytes,
                est.bound,
                est.seconds,
                measured,
                applies,
                "fits in cache" if est.bytes <= llc else "",
            )
        )

    print(
        f"{'case':<18} {'FLOPs':>9} {'bytes':>9} {'bound':>7} {'predicted':>11} {'measured':>11} "
        f"{'error':>7}  model applies?"
    )
    errors: dict[str, list[float]] = {"memory": [], "compute": []}
    for case, flops, nbytes, kind, predicted, measured, applies, note in rows:
        error = predicted / measured - 1
        if applies and not note.startswith("defines"):
            errors[kind].append(abs(error))
        print(
            f"{case:<18} {flops:>9.2e} {nbytes:>9.2e} {kind:>7} {predicted * 1e3:>8.3f} ms "
            f"{measured * 1e3:>8.3f} ms "
            f"{error:>+7.0%}  {'yes' if applies else 'no'}{', ' + note if note else ''}"
        )
    every = errors["memory"] + errors["compute"]
    if every:
        print(
            f"\nmedian |error| where the model applies (excluding the case that defines P): "
            f"{statistics.median(every):.0%} over {len(every)} cases; "
            f"within 30 %: {sum(e <= 0.3 for e in every)}/{len(every)}"
        )
        for kind, errs in errors.items():
            if errs:
                print(
                    f"  {kind}-bound: median {statistics.median(errs):.0%} over {len(errs)} cases"
                )
    else:
        print("\nno case where the model applies: use a larger plan")
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
