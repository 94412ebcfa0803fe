"""Generation speed of course_lib's GPT with and without the key/value cache.

A GPT with random weights (default: 4 blocks, 4 heads, d_model 128, context length 512,
vocabulary 65 -- the defaults of ``GPTConfig`` with a longer context; nanoGPT's own
character-level "baby GPT", config/train_shakespeare_char.py, is larger: 6 blocks of 6 heads,
width 384, context 256) continues a 16-token prompt by 256 tokens, batch 1, sampling at
temperature 1:

* ``cache``:    ``generate(..., use_cache=True)``: the prompt is prefilled once, then each
  new token runs through the model alone, attending to cached keys and values;
* ``no cache``: ``generate(..., use_cache=False)``: every new token reruns the model on the
  whole sequence so far (nanoGPT's ``generate``).

Each loop is one compiled ``tf.function``, with XLA (the default of ``generate``) and
without. Under XLA the uncached loop runs a fixed-length window (static shapes); without
XLA it runs exactly the tokens so far, which is faster for it, so the ratio is taken
against the faster of the two uncached runs. The first call of each traces and compiles and
is timed separately; then the script prints the median tokens/s over ``--repeats`` calls
(all timings by ``course_lib.hardware.microbench.time_op``)
and the ratio (the goal is at least 5x).

    taskset -c 1 python benchmarks/kv_cache_speed.py        # about 2 minutes on one CPU core
    python benchmarks/kv_cache_speed.py --context-length 64 --new-tokens 512 --repeats 3
    python benchmarks/kv_cache_speed.py --config '{"n_layer": 6, "n_head": 6, "d_model": 384}'
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from course_lib.gpt import GPT, GPTConfig, generate
from course_lib.hardware import parameter_count
from course_lib.hardware.microbench import time_op
from course_lib.runtime import set_seed


def tokens_per_second(
    model: GPT, prompt: np.ndarray, new_tokens: int, use_cache: bool, repeats: int, jit: bool
) -> tuple[float, float]:
    """``(seconds of the first call, median new tokens/s of the next repeats)``, both timed
    by :func:`course_lib.hardware.microbench.time_op` (each call until its tokens are ready)."""

    def run():
        return generate(
            model,
            prompt,
            new_tokens,
            temperature=1.0,
            seed=0,
            use_cache=use_cache,
            jit_compile=jit,
        )

    first = time_op(run, warmup=0, repeats=1).median  # traces and compiles
    timing = time_op(run, warmup=0, repeats=repeats)
    return first, new_tokens / timing.median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--config",
        type=json.loads,
        default={},
        help="GPTConfig fields as JSON, applied over the defaults below",
    )
    parser.add_argument("--context-length", type=int, default=512)
    parser.add_argument("--prompt-tokens", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--cache-without-xla",
        action="store_true",
        help="also time the cached loop without XLA (slow: no in-place cache updates)",
    )
    args = parser.parse_args()
    fields = {
        "vocab_size": 65,
        "context_length": args.context_length,
        "n_layer": 4,
        "n_head": 4,
        "d_model": 128,
    }
    cfg = GPTConfig(**{**fields, **args.config})
    set_seed(0)
    model = GPT(cfg)
    prompt = np.random.default_rng(0).integers(
        0, cfg.vocab_size, (args.batch_size, args.prompt_tokens)
    )
    print(
        f"{cfg}\n{parameter_count(cfg.shape):,} parameters; TF {tf.__version__}, "
        f"Keras {keras.__version__}, {os.cpu_count()} CPUs; prompt {args.prompt_tokens} tokens, "
        f"{args.new_tokens} new, batch {args.batch_size}; median of {args.repeats}"
    )
    runs = [(True, True), (False, True), (False, False)] + (
        [(True, False)] if args.cache_without_xla else []
    )
    rates = {}
    for use_cache, jit in runs:
        first, rates[use_cache, jit] = tokens_per_second(
            model, prompt, args.new_tokens, use_cache, args.repeats, jit
        )
        name = "cache" if use_cache else "no cache"
        print(
            f"{name:>9}, XLA {jit!s:>5}: {rates[use_cache, jit]:10,.1f} new tokens/s per "
            f"sequence (first call, with compilation: {first:.1f} s)",
            flush=True,
        )
    baseline = max(rates[False, True], rates[False, False])
    print(f"cache (XLA) / fastest no-cache: {rates[True, True] / baseline:.1f}x")


if __name__ == "__main__":
    main()
