"""``python -m course_lib bench``: how fast the course's models train and generate here.

For each course model (``classifier``, ``vae``, ``gan``, ``gpt``) built as its chapter builds
it in a profile (``--profile``, default ``student``; :func:`course_lib.recipes.build`), it
trains through the course's :class:`~course_lib.training.Trainer` for about ``--seconds``
after a short untimed warm-up (the first call traces and compiles), and prints

* the training throughput, images/s or tokens/s;
* the model FLOPs utilisation ``MFU = items/s x FLOPs per item / P``, with ``P`` the peak of
  this device: measured by the course's own matmul microbenchmark
  (:func:`course_lib.hardware.microbench.matmul_flops`, in the compute dtype of the precision
  policy), or, for a GPU named in :mod:`course_lib.hardware.specs`, the vendor's peak;
* for the GPT, the generation speed with and without the KV cache (new tokens/s, batch 1,
  :func:`course_lib.gpt.generate`);

with the device, precision policy, strategy, date and machine.

**FLOPs per item** are *model* FLOPs, the convention of MFU (Chowdhery et al. 2022, "PaLM",
arXiv:2204.02311, Appendix B), as the recipes count them (``training_flops_per_item``): the
GPT's ``6 N + 12 L T d`` per token
(:func:`course_lib.hardware.cost_model.training_flops_per_token`); for the convolutional and
dense networks three times the forward pass's multiply-adds counted layer by layer (2 FLOPs per
multiply-add in ``Dense``, ``Conv2D`` and ``Conv2DTranspose``), and ``4 F_G + 8 F_D`` per
image for the GAN's two updates.

``--predict DEVICE`` prints instead what the course's cost model predicts for a device of
:mod:`course_lib.hardware.specs` (:func:`predictions`): roofline bounds, not measurements.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from course_lib.runtime.validation import check_choice, check_int, check_positive, check_real

MODELS = ("classifier", "vae", "gan", "gpt")
UNITS = {"classifier": "images", "vae": "images", "gan": "images", "gpt": "tokens"}
PROFILES = ("ci", "student", "full")
# The peak microbenchmark: square matmuls of these sizes, the fastest call counts (ci:
# small sizes, for tests; the rate they give is far below the peak).
PEAK_SIZES = {"ci": (64, 128), "student": (512, 1024, 2048), "full": (512, 1024, 2048)}
# At most this many steps per compiled call (the GAN's chapter runs 50, each step about 0.3 s
# on 2 CPU cores): short calls keep the warm-up and the measurement within --seconds.
BENCH_STEPS_PER_EXECUTION = 10
GENERATION = {"prompt": 16, "new_tokens": 128}  # batch 1, the GPT's context is 64


# --------------------------------------------------------------------------- MFU
def mfu(items_per_second: float, flops_per_item: float, peak_flops: float) -> float:
    """Model FLOPs utilisation: achieved model FLOP/s over the peak,
    ``items/s x FLOPs per item / P``."""
    rate = check_real("items_per_second", items_per_second, minimum=0)
    return (
        rate
        * check_positive("flops_per_item", flops_per_item)
        / check_positive("peak_flops", peak_flops)
    )


# --------------------------------------------------------------------------- workloads
@dataclass
class Workload:
    """One course model ready to train: its task, endless training data, the Trainer's
    config, the items (images or tokens) of one step and the model FLOPs of one item."""

    name: str
    task: Any  # course_lib.training.Task
    data: Any  # tf.data.Dataset, endless
    train_config: Any  # course_lib.training.TrainConfig
    items_per_step: int
    unit: str
    flops_per_item: float
    description: str
    model: Any = None  # the GPT, for generation
    items_per_example: int = 1  # tokens per sequence for the GPT, 1 for images

    @property
    def flops_per_step(self) -> float:
        return self.items_per_step * self.flops_per_item


# the sizes a report line names (the rest is about how long the chapter trains)
_DESCRIBED = (
    "n_layer",
    "n_head",
    "d_model",
    "context_length",
    "batch_size",
    "filters",
    "latent_dim",
    "kind",
)


def build_workload(
    name: str, *, profile: str = "student", seed: int = 0, strategy: Any = None
) -> Workload:
    """The course model ``name`` (one of :data:`MODELS`) as its chapter trains it in
    ``profile`` (:func:`course_lib.recipes.build`: the chapter's sizes, optimizer and data,
    built under ``strategy``'s scope with the current global Keras precision policy), as a
    :class:`Workload`: the recipe's task, data and config (no progress bar) and its FLOPs."""
    check_choice("name", name, MODELS)
    check_choice("profile", profile, PROFILES)
    from course_lib import recipes

    built = recipes.build(name, profile, strategy=strategy, seed=check_int("seed", seed))
    config = dataclasses.replace(built.train_config, progress="none", steps=None, epochs=None)
    model = built.models.get("gpt") if name == "gpt" else None
    parts = [
        f"{k}={v}"
        for k, v in dataclasses.asdict(built.sizes).items()
        if k in _DESCRIBED and v is not None
    ]
    per_example = built.items_per_batch // _batch_size(built.sizes)
    return Workload(
        name,
        built.task,
        built.train_data,
        config,
        built.items_per_batch,
        built.unit,
        float(built.training_flops_per_item),
        f"recipes.{name} ({built.profile.name} profile): " + ", ".join(parts),
        model,
        per_example,
    )


def _batch_size(sizes: Any) -> int:
    return int(sizes.batch_size)


# --------------------------------------------------------------------------- measuring
@dataclass(frozen=True)
class TrainingSpeed:
    """What :func:`measure_training` saw: the timed steps, their seconds (inside the
    Trainer's compiled calls), the warm-up's seconds, and the mean loss of each compiled
    call (``losses``: name -> values) over warm-up and timed steps."""

    steps: int
    items: int
    seconds: float
    warmup_steps: int
    warmup_seconds: float
    losses: dict[str, list[float]] = field(default_factory=dict)
    cpu_seconds: float = math.nan

    @property
    def items_per_second(self) -> float:
        return self.items / self.seconds

    @property
    def items_per_cpu_second(self) -> float:
        """Items per second of this process's CPU time (all its threads): on a machine
        shared with other work it varies less than the wall-clock rate."""
        return self.items / self.cpu_seconds


def measure_training(
    work: Workload, seconds: float, *, warmup_steps: int | None = None, max_steps: int = 100_000
) -> TrainingSpeed:
    """Train ``work`` through :class:`~course_lib.training.Trainer`: ``warmup_steps``
    untimed (default: two compiled calls; tracing and compiling happen there), then timed
    stretches of steps until ``seconds`` have passed, each stretch as long as the warm-up
    suggests. Items are counted from the examples the Trainer saw (a smaller last batch of an
    epoch counts what it holds), times ``items_per_example``. The time is the Trainer's own
    (inside its compiled calls, ``Record.seconds``); the process's CPU time over the timed
    stretches is kept too (``cpu_seconds``)."""
    from course_lib.training import Trainer

    seconds = check_real("seconds", seconds, minimum=0, strict=True)
    spe = work.train_config.steps_per_execution
    warmup = 2 * spe if warmup_steps is None else check_int("warmup_steps", warmup_steps, minimum=1)
    trainer = Trainer(work.task, dataclasses.replace(work.train_config, eval_every=None))
    began = time.perf_counter()
    trainer.fit(work.data, steps=max(warmup - spe, 1))  # traces and compiles
    trainer.fit(work.data, steps=warmup)  # compiled: says how long a call takes
    warmup_seconds = time.perf_counter() - began
    calls = max(math.ceil(min(spe, warmup - 1) / spe), 1)
    per_call = max(trainer.history.records[-1].seconds / calls, 1e-4)
    chunk = max(spe, int(min(seconds / 4, 2.0) / per_call) * spe)
    done = warmup
    timed_steps, timed_seconds, examples = 0, 0.0, 0
    cpu_began = time.process_time()
    while timed_seconds < seconds and timed_steps < max_steps:
        trainer.fit(work.data, steps=done + chunk)
        record = trainer.history.records[-1]
        timed_seconds += record.seconds
        examples += round(record.examples_per_sec * record.seconds)
        timed_steps += chunk
        done += chunk
    cpu_seconds = time.process_time() - cpu_began
    losses: dict[str, list[float]] = {}
    for _, means in trainer.history.points:
        for key, value in means.items():
            if "loss" in key:
                losses.setdefault(key, []).append(value)
    return TrainingSpeed(
        timed_steps,
        examples * work.items_per_example,
        timed_seconds,
        warmup,
        warmup_seconds,
        losses,
        cpu_seconds,
    )


def generation_speed(model: Any, seconds: float, *, use_cache: bool) -> tuple[float, float]:
    """``(new tokens/s, seconds of the first call)`` of :func:`course_lib.gpt.generate` with
    batch 1, a 16-token prompt and 128 new tokens (or fewer for a short context), XLA on:
    median of as many calls as fit in about ``seconds`` (at least 2), after a first call
    that traces and compiles, both by :func:`~course_lib.hardware.microbench.time_op`."""
    import numpy as np

    from course_lib.gpt import generate
    from course_lib.hardware.microbench import time_op

    C = model.cfg.context_length
    prompt_len = min(GENERATION["prompt"], C // 2)
    new = GENERATION["new_tokens"] if C >= 64 else C
    prompt = np.random.default_rng(0).integers(0, model.cfg.vocab_size, (1, prompt_len))

    def run():
        return generate(model, prompt, new, temperature=1.0, seed=0, use_cache=use_cache)

    first = time_op(run, warmup=0, repeats=1).median
    one = time_op(run, warmup=0, repeats=1).median
    repeats = max(2, min(20, int(seconds / one)))
    return new / time_op(run, warmup=0, repeats=repeats).median, first


# --------------------------------------------------------------------------- the peak
_SPEC_PRECISION = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}
# TensorFlow runs float32 matmuls and convolutions on NVIDIA GPUs from Ampere on as
# TensorFloat-32 unless told not to ("TensorFloat-32 is enabled by default"):
TF32_SOURCE = (
    "https://www.tensorflow.org/api_docs/python/tf/config/experimental/"
    "enable_tensor_float_32_execution"
)


def spec_precision(spec: Any, precision: str) -> str:
    """The row of ``spec.peak_flops`` that a Keras ``precision`` policy runs at on that GPU:
    ``tf32`` for ``float32`` where the table has a TF32 peak (TensorFlow's default, see
    :data:`TF32_SOURCE`), else the compute dtype (``float32``, ``bfloat16``, ``float16``)."""
    dtype = _SPEC_PRECISION[check_choice("precision", precision, _SPEC_PRECISION)]
    if dtype == "float32" and "tf32" in spec.peak_flops:
        return "tf32"
    return dtype


def known_spec(model_name: str):
    """The row of :data:`course_lib.hardware.specs.SPECS` whose name contains the GPU model
    reported by TensorFlow (e.g. "NVIDIA A100-SXM4-80GB" matches "NVIDIA A100 SXM 80GB" on
    its model number "A100"), or ``None``. A PCIe card never matches an SXM row (its peaks
    are lower)."""
    from course_lib.hardware.specs import SPECS

    words = model_name.replace("-", " ").upper().split()
    for spec in SPECS:
        if spec.kind != "gpu":
            continue
        if "PCIE" in words and "SXM" in spec.name.upper().split():
            continue
        names = [w for w in spec.name.upper().split() if any(c.isdigit() for c in w)]
        if names and names[0] in words:
            return spec
    return None


def peak_flops(
    precision: str, device: str = "CPU", gpu_model: str = "", profile: str = "student"
) -> tuple[float, str]:
    """``(P in FLOP/s, where it comes from)``: for a GPU in the specs table, the vendor's
    dense peak for the precision's compute dtype; otherwise the best rate of the course's
    square-matmul microbenchmark in that dtype on this device (the fastest of 5 calls at the
    best size: other processes on a shared machine only ever slow a call down)."""
    dtype = _SPEC_PRECISION[check_choice("precision", precision, _SPEC_PRECISION)]
    if device == "GPU":
        spec = known_spec(gpu_model)
        if spec is not None and spec_precision(spec, precision) in spec.peak_flops:
            row = spec_precision(spec, precision)
            return spec.peak(row), f"{spec.name}, vendor peak ({row}, dense)"
    from course_lib.hardware.microbench import matmul_flops

    results = matmul_flops(
        PEAK_SIZES[check_choice("profile", profile, PROFILES)], dtype, warmup=1, repeats=5
    )
    # the fastest call: the closest to what the hardware can do when other work shares it
    best = max(results, key=lambda r: r.flops / r.timing.min)
    rate = best.flops / best.timing.min
    return rate, f"measured: {dtype} matmul n={best.size}, fastest of 5 calls (microbench)"


# --------------------------------------------------------------------------- the command
@dataclass
class ModelResult:
    """One model's line of the report."""

    model: str
    unit: str
    items_per_second: float
    flops_per_item: float
    mfu: float
    steps: int
    seconds: float
    warmup_seconds: float
    description: str
    precision: str = "float32"
    generation_cache_tokens_per_second: float | None = None
    generation_no_cache_tokens_per_second: float | None = None


def _machine() -> dict[str, Any]:
    from course_lib.runtime.devices import _cpu_model

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "host": platform.node(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
    }


def run_bench(
    models: Sequence[str] = MODELS,
    seconds: float = 5.0,
    *,
    profile: str = "student",
    precision: str | None = None,
    generation: bool = True,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Measure ``models`` (see the module docstring) and return the report as a dict
    (what ``--json`` prints). ``precision``: a Keras policy for every model; by default each
    model gets the course's choice for it (:class:`~course_lib.runtime.devices.RuntimeSetup`
    with ``model=name``, which honours ``$COURSE_PRECISION``). The peak ``P`` is taken in the
    compute dtype of the policy each model ran in."""
    import keras
    import tensorflow as tf

    from course_lib.runtime.devices import RuntimeSetup

    for m in models:
        check_choice("a model", m, MODELS)
    seconds = check_real("seconds", seconds, minimum=0, strict=True)
    began = time.perf_counter()
    general = RuntimeSetup.setup(precision=precision)  # the choice without a model
    gpus = general.hw.gpus
    device = "GPU" if gpus else "CPU"
    device_model = (
        gpus[0].model
        if gpus
        else next((d.model for d in general.hw.devices if d.device_type == "CPU"), "")
    )
    steps = _progress(2 * len(models), show_progress)
    peaks: dict[str, tuple[float, str]] = {}
    results = []
    for name in models:
        setup = RuntimeSetup.setup(precision=precision, model=name)
        if setup.precision not in peaks:
            peaks[setup.precision] = peak_flops(setup.precision, device, device_model, profile)
        peak = peaks[setup.precision][0]
        steps.update(1)
        work = build_workload(name, profile=profile, strategy=setup.strategy)
        spe = min(work.train_config.steps_per_execution, BENCH_STEPS_PER_EXECUTION)
        work.train_config = dataclasses.replace(work.train_config, steps_per_execution=spe)
        speed = measure_training(work, seconds)
        result = ModelResult(
            name,
            work.unit,
            speed.items_per_second,
            work.flops_per_item,
            mfu(speed.items_per_second, work.flops_per_item, peak),
            speed.steps,
            speed.seconds,
            speed.warmup_seconds,
            work.description,
            setup.precision,
        )
        if name == "gpt" and generation:
            gen_seconds = min(seconds, 3.0)
            result.generation_cache_tokens_per_second = generation_speed(
                work.model, gen_seconds, use_cache=True
            )[0]
            result.generation_no_cache_tokens_per_second = generation_speed(
                work.model, gen_seconds, use_cache=False
            )[0]
        results.append(result)
        steps.update(1)
    steps.close()
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "device": device,
        "device_model": device_model,
        "precision": general.precision,
        "precision_reason": general.precision_reason,
        "strategy": general.strategy_kind,
        "replicas": general.strategy.num_replicas_in_sync,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "profile": profile,
        "seconds_per_measurement": seconds,
        "peaks": {p: {"flops": v, "source": src} for p, (v, src) in peaks.items()},
        "models": [dataclasses.asdict(r) for r in results],
        "total_seconds": time.perf_counter() - began,
    }


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, show: bool):
    """A progress bar over the measurements (``course_lib.runtime.progress`` when it exists
    and the profile shows progress), else nothing."""
    if not show:
        return _NoBar()
    try:
        from course_lib.runtime.progress import progress
    except ImportError:
        return _NoBar()
    bar = progress(total=total, desc="bench", unit="measurements")
    return bar.__enter__() if hasattr(bar, "__enter__") else bar


def format_report(report: dict[str, Any]) -> str:
    """The report of :func:`run_bench` as readable lines."""
    m = report["machine"]
    lines = [
        f"course bench, {report['date']} on {m['host']} ({m['cpu']}, {m['usable_cpus']} usable "
        f"CPU(s) of {m['cpu_count']}; load average {_load(m['load_average'])})",
        f"device {report['device']} ({report['device_model']}), strategy {report['strategy']} "
        f"({report['replicas']} replica(s)); TensorFlow {report['tensorflow']}, Keras "
        f"{report['keras']}",
        f"precision: {report['precision']} unless a model's row says otherwise "
        f"({report['precision_reason']})",
        *(
            f"peak P in {p} = {v['flops'] / 1e9:,.1f} GFLOP/s ({v['source']})"
            for p, v in report["peaks"].items()
        ),
        f"about {report['seconds_per_measurement']:g} s per measurement after a warm-up; "
        f"the {report['profile']} profile's models",
        "",
        f"{'model':<11} {'precision':<15} {'training':>20} {'model FLOPs/item':>17} {'MFU':>7}"
        "   generation (new tokens/s, batch 1)",
    ]
    for r in report["models"]:
        gen = ""
        if r["generation_cache_tokens_per_second"] is not None:
            c = r["generation_cache_tokens_per_second"]
            n = r["generation_no_cache_tokens_per_second"]
            gen = f"KV cache {c:,.0f}, without {n:,.0f} ({c / n:.1f}x)"
        rate = f"{r['items_per_second']:,.0f} {r['unit']}/s"
        lines.append(
            f"{r['model']:<11} {r['precision']:<15} {rate:>20} "
            f"{r['flops_per_item'] / 1e6:>11,.2f} MFLOP {r['mfu']:>7.1%}   {gen}"
        )
    lines += ["", "models:"] + [f"  {r['model']}: {r['description']}" for r in report["models"]]
    lines.append(f"total {report['total_seconds']:.0f} s")
    return "\n".join(lines)


def _load(values: list[float] | None) -> str:
    return "unknown" if values is None else ", ".join(f"{v:.2f}" for v in values)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m course_lib bench``."""
    parser.add_argument(
        "--models",
        nargs="+",
        choices=MODELS,
        default=list(MODELS),
        help="which course models to measure (default: all)",
    )
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="timed seconds per measurement (default 5)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--precision",
        choices=("float32", "mixed_bfloat16", "mixed_float16"),
        default=None,
        help="Keras precision policy (default: the course's choice, see `doctor`)",
    )
    parser.add_argument(
        "--no-generation", action="store_true", help="skip the GPT's generation speeds"
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="student",
        help="whose model sizes to measure or predict (default: student)",
    )
    parser.add_argument(
        "--predict",
        metavar="DEVICE",
        default=None,
        help="print the cost model's predictions for a device of the specs table "
        "(e.g. 'NVIDIA A100 SXM 80GB', or 'all') instead of measuring",
    )


def run(args: argparse.Namespace) -> int:
    """``python -m course_lib bench``: measure (or ``--predict``) and print."""
    from course_lib.runtime.quiet import start_tensorflow

    start_tensorflow()  # TensorFlow's C++ start-up lines dropped, any other line kept
    if args.predict is not None:
        table = predictions(args.predict, profile=args.profile)
        print(json.dumps(table, indent=2) if args.json else format_predictions(table))
        return 0
    report = run_bench(
        args.models,
        args.seconds,
        profile=args.profile,
        precision=args.precision,
        generation=not args.no_generation,
        show_progress=not args.json,
    )
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


# --------------------------------------------------------------------------- predictions
# Bytes one training step must move per trainable float32 parameter with Adam/AdamW, at the
# least: read the weight, its gradient and the two moments, write the weight and the moments,
# and the backward pass writes the gradient (8 accesses of 4 bytes). Keras keeps the
# variables in float32 under the mixed policies too.
UPDATE_BYTES_PER_PARAM = 8 * 4


@dataclass(frozen=True)
class ModelCost:
    """What the cost model needs of one course model: its training FLOPs per item, the items
    of one step, its trainable parameters, and (GPT only) its shape."""

    model: str
    unit: str
    flops_per_item: float
    items_per_step: int
    parameters: int
    shape: Any = None  # hardware.ModelShape of the GPT


def model_costs(profile: str = "student") -> dict[str, ModelCost]:
    """:class:`ModelCost` of every course model in ``profile`` (builds them)."""
    out = {}
    for name in MODELS:
        work = build_workload(name, profile=profile)
        params = sum(
            math.prod(v.shape) for o in work.task.objectives for v in o.trainable_variables()
        )
        shape = work.model.cfg.shape if work.model is not None else None
        out[name] = ModelCost(
            name, work.unit, work.flops_per_item, work.items_per_step, int(params), shape
        )
    return out


def predict_training(cost: ModelCost, peak_flops: float, bandwidth: float) -> float:
    """Items/s the roofline allows for one training step of ``cost`` on a device of peak
    ``P`` and bandwidth ``B_mem``: ``items_per_step / max(F / P, Q / B_mem)`` with
    ``F = items_per_step x flops_per_item`` and ``Q`` = :data:`UPDATE_BYTES_PER_PARAM` per
    parameter (the optimizer's update; activations are not counted). An upper bound: kernel
    launches, activations' traffic and kernels below peak only lower it."""
    from course_lib.hardware.roofline import Operation, predict_time

    op = Operation(
        f"{cost.model} training step",
        cost.items_per_step * cost.flops_per_item,
        cost.parameters * UPDATE_BYTES_PER_PARAM,
    )
    return cost.items_per_step / predict_time(op, peak_flops, bandwidth)


def predict_generation(
    shape: Any, peak_flops: float, bandwidth: float, *, kv_bytes: float
) -> tuple[float, float]:
    """``(with the KV cache, without)`` new tokens/s for batch 1 by the course's cost model:
    with the cache one :func:`~course_lib.hardware.cost_model.decode_step_time` per token (a
    full cache of ``C`` tokens; float32 weights, 4 bytes each, as Keras stores them;
    ``kv_bytes`` per cached value); without, the loop reruns the model on a window of ``C``
    tokens per new token, one :func:`~course_lib.hardware.cost_model.prefill_time` of
    ``C`` tokens. Upper bounds, like every roofline time."""
    from course_lib.hardware.cost_model import decode_step_time, prefill_time

    C = shape.context_length
    common = dict(peak_flops=peak_flops, bandwidth=bandwidth, bytes_per_param=4)
    cached = decode_step_time(shape, batch=1, context=C, kv_bytes_per_value=kv_bytes, **common)
    full = prefill_time(shape, prompt_length=C, kv_bytes_per_value=kv_bytes, **common)
    return 1.0 / cached.seconds, 1.0 / full.seconds


def predictions(device: str = "all", profile: str = "student") -> dict[str, Any]:
    """The cost model's predictions for the course's models on ``device`` (a name of
    :mod:`course_lib.hardware.specs`, or ``"all"`` for every GPU there): one row per device
    and Keras policy (``float32``: TF32 tensor cores where the table has them, else the FP32
    units; ``mixed_bfloat16``: bfloat16 tensor cores with FP32 accumulation; see
    :func:`spec_precision`) with the roofline's training items/s per model and the GPT's
    generation tokens/s. Every row is a *prediction* (an upper bound), not a measurement."""
    from course_lib.hardware.specs import SPECS, get_spec

    specs = [s for s in SPECS if s.kind == "gpu"] if device == "all" else [get_spec(device)]
    costs = model_costs(profile)
    rows = []
    for spec in specs:
        for precision in ("float32", "mixed_bfloat16"):
            row = spec_precision(spec, precision)
            if row not in spec.peak_flops:
                continue
            P, B = spec.peak(row), spec.memory_bandwidth
            training = {name: predict_training(c, P, B) for name, c in costs.items()}
            cache, no_cache = predict_generation(
                costs["gpt"].shape, P, B, kv_bytes=4 if precision == "float32" else 2
            )
            rows.append(
                {
                    "device": spec.name,
                    "precision": precision,
                    "peak_row": row,
                    "peak_flops": P,
                    "bandwidth": B,
                    "source": spec.source_url,
                    "training_items_per_second": training,
                    "generation_cache_tokens_per_second": cache,
                    "generation_no_cache_tokens_per_second": no_cache,
                }
            )
    return {
        "kind": "prediction (roofline upper bounds from course_lib.hardware; not measured)",
        "profile": profile,
        "models": {n: dataclasses.asdict(c) | {"shape": None} for n, c in costs.items()},
        "rows": rows,
    }


def format_predictions(table: dict[str, Any]) -> str:
    """:func:`predictions` as a Markdown table, labelled as predictions."""
    units = {n: UNITS[n] for n in MODELS}
    head = (
        "| device | precision | P (TFLOP/s) | B_mem (GB/s) | "
        + " | ".join(f"{n} ({units[n]}/s)" for n in MODELS)
        + " | GPT generation, KV cache / without (tokens/s) |"
    )
    lines = [
        "PREDICTIONS of the course's cost model (roofline upper bounds: "
        "course_lib.hardware.roofline and cost_model with the specs table), not measurements.",
        "",
        head,
        "|" + "---|" * (head.count("|") - 1),
    ]
    for r in table["rows"]:
        t = r["training_items_per_second"]
        cells = [
            r["device"],
            f"{r['precision']} ({r['peak_row']})",
            f"{r['peak_flops'] / 1e12:,.1f}",
            f"{r['bandwidth'] / 1e9:,.0f}",
            *(_three_digits(t[n]) for n in MODELS),
            f"{_three_digits(r['generation_cache_tokens_per_second'])} / "
            f"{_three_digits(r['generation_no_cache_tokens_per_second'])}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"float32 on an NVIDIA GPU with TF32: TensorFlow's default ({TF32_SOURCE})."]
    for name, c in table["models"].items():
        lines.append(
            f"{name}: {c['flops_per_item'] / 1e6:,.2f} MFLOP per {UNITS[name][:-1]}, "
            f"{c['items_per_step']} {UNITS[name]} per step, {c['parameters']:,} parameters"
        )
    return "\n".join(lines)


def _three_digits(x: float) -> str:
    """``x`` rounded to three significant digits, with thousands separators."""
    if x <= 0 or not math.isfinite(x):
        return str(x)
    digits = 2 - math.floor(math.log10(x))
    return f"{round(x, digits):,.{max(digits, 0)}f}"
