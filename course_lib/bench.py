"""``python -m course_lib bench``: how fast the course's models train and generate here.

For each course model (``classifier``, ``vae``, ``gan``, ``gpt``, at the sizes of the
``student`` profile) it trains through the course's :class:`~course_lib.training.Trainer`
for about ``--seconds`` after a short untimed warm-up (the first call traces and compiles),
and prints

* the training throughput, images/s or tokens/s;
* the model FLOPs utilisation ``MFU = items/s x FLOPs per item / P``, with ``P`` the peak of
  this device: measured by the course's own matmul microbenchmark
  (:func:`course_lib.hardware.microbench.matmul_flops`, in the compute dtype of the precision
  policy), or, for a GPU named in :mod:`course_lib.hardware.specs`, the vendor's peak;
* for the GPT, the generation speed with and without the KV cache (new tokens/s, batch 1,
  :func:`course_lib.gpt.generate`);

with the device, precision policy, strategy, date and machine.

**FLOPs per item** are *model* FLOPs, the convention of MFU (Chowdhery et al. 2022, "PaLM",
arXiv:2204.02311, Appendix B): the GPT's ``6 N + 12 L T d`` per token
(:func:`course_lib.hardware.cost_model.training_flops_per_token`); for the convolutional and
dense networks three times the forward pass's multiply-adds counted layer by layer
(:func:`forward_flops`: 2 FLOPs per multiply-add in ``Dense``, ``Conv2D`` and
``Conv2DTranspose``; biases, activations and normalisations are not counted, as ``6 N``
does not count them), once for the forward pass and twice for the backward pass (gradients
with respect to activations and to weights). The GAN's step counts what its two updates run
(:func:`gan_flops_per_image`).

``--predict DEVICE`` prints instead what the course's cost model predicts for a device of
:mod:`course_lib.hardware.specs` (:func:`predict`): roofline bounds, not measurements.
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
SIZES = ("student", "tiny")
# The peak microbenchmark: square matmuls of these sizes, the best median rate counts.
PEAK_SIZES = {"student": (512, 1024, 2048), "tiny": (64, 128)}
GENERATION = {"prompt": 16, "new_tokens": 128}  # batch 1, the GPT's context is 64


# --------------------------------------------------------------------------- FLOP counting
def _dims(shape: Sequence[int | None]) -> list[int]:
    return [int(s) for s in shape[1:]]


def layer_forward_flops(layer: Any) -> float:
    """Forward FLOPs of one Keras layer for one example (2 per multiply-add).

    * ``Dense``: ``2 d_in d_out`` per position (``prod`` of the middle axes);
    * ``Conv2D``: ``2 k_h k_w (C_in / groups) C_out H_out W_out``;
    * ``Conv2DTranspose``: ``2 k_h k_w C_in C_out H_in W_in`` (every input pixel is spread by
      the whole kernel);
    * any other layer: 0 (pooling, activations, normalisation, reshapes: not matrix products).
    Needs a built functional layer (``layer.input`` and ``layer.output`` have shapes)."""
    import keras

    if isinstance(layer, keras.layers.Dense):
        shape = _dims(layer.input.shape)
        positions = math.prod(shape[:-1])
        return 2.0 * positions * shape[-1] * layer.units
    if isinstance(layer, keras.layers.Conv2DTranspose):
        h, w, c_in = _dims(layer.input.shape)
        kh, kw = layer.kernel_size
        return 2.0 * kh * kw * c_in * layer.filters * h * w
    if isinstance(layer, keras.layers.Conv2D):
        c_in = _dims(layer.input.shape)[-1]
        h_out, w_out, c_out = _dims(layer.output.shape)
        kh, kw = layer.kernel_size
        return 2.0 * kh * kw * (c_in // layer.groups) * c_out * h_out * w_out
    return 0.0


def forward_flops(model: Any) -> float:
    """Forward FLOPs per example of a functional Keras model, nested models included: the
    sum of :func:`layer_forward_flops` over its layers."""
    import keras

    total = 0.0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
        else:
            total += layer_forward_flops(layer)
    return total


def training_flops(forward: float) -> float:
    """Model FLOPs of one training example through a network whose forward pass costs
    ``forward``: ``3 x forward`` (forward, backward to activations, backward to weights)."""
    return 3.0 * check_real("forward", forward, minimum=0)


def gan_flops_per_image(generator_forward: float, discriminator_forward: float) -> float:
    """Model FLOPs of one image of a GAN training step (:func:`course_lib.gan.make_task`: the
    discriminator's update, then the generator's, each on ``B`` new ``z``), with ``F_G`` and
    ``F_D`` the forward FLOPs per image:

    * D's update: ``G(z)`` forward (no gradient: ``F_G``), ``D`` forward and backward on the
      real and the fake image (``2 x 3 F_D``);
    * G's update: ``G`` forward and backward (``3 F_G``), ``D`` forward (``F_D``) and backward
      to its input only (``F_D``: D's weights get no gradient here).

    Total ``4 F_G + 8 F_D``."""
    f_g = check_real("generator_forward", generator_forward, minimum=0)
    f_d = check_real("discriminator_forward", discriminator_forward, minimum=0)
    return 4.0 * f_g + 8.0 * f_d


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

    @property
    def flops_per_step(self) -> float:
        return self.items_per_step * self.flops_per_item


def _mnist_images(n: int):
    from course_lib.data import load_mnist, to_float

    mnist = load_mnist()
    return to_float(mnist.x_train[:n]), mnist.y_train[:n].astype("int32")


def _classifier(size: str, seed: int) -> Workload:
    import keras

    from course_lib.data import make_dataset
    from course_lib.gan.classifier import build_classifier
    from course_lib.training import TrainConfig, supervised_task

    batch = 64 if size == "student" else 16
    x, y = _mnist_images(4096 if size == "student" else 256)
    model = build_classifier()

    def loss(y_true, logits):
        return keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)

    task = supervised_task(model, loss, keras.optimizers.Adam(1e-3))
    data = make_dataset(x, y, batch_size=batch, seed=seed, repeat=True, drop_remainder=True)
    return Workload(
        "classifier",
        task,
        data,
        TrainConfig(steps_per_execution=10, progress="none"),
        batch,
        "images",
        training_flops(forward_flops(model)),
        f"gan.classifier.build_classifier, batch {batch}, Adam",
    )


def _vae(size: str, seed: int) -> Workload:
    import keras

    from course_lib.data import binarize_dynamic_tf, make_dataset
    from course_lib.training import TrainConfig
    from course_lib.vae import VAE, VAEConfig, make_task

    batch = 128 if size == "student" else 16
    hidden = (512, 256) if size == "student" else (32, 16)
    x, _ = _mnist_images(4096 if size == "student" else 256)
    vae = VAE(VAEConfig(latent_dim=2, kind="mlp", hidden=hidden), seed=seed)
    task = make_task(vae, keras.optimizers.Adam(1e-3))
    data = make_dataset(
        x,
        batch_size=batch,
        seed=seed,
        map_fn=binarize_dynamic_tf,
        map_with_seed=True,
        repeat=True,
        drop_remainder=True,
    )
    flops = training_flops(forward_flops(vae.encoder) + forward_flops(vae.decoder))
    return Workload(
        "vae",
        task,
        data,
        TrainConfig(steps_per_execution=10, progress="none"),
        batch,
        "images",
        flops,
        f"vae.VAE(kind='mlp', hidden={hidden}, latent_dim=2), batch {batch}, Adam",
    )


def _gan(size: str, seed: int) -> Workload:
    import keras

    from course_lib.data import make_dataset
    from course_lib.gan import GAN, GANConfig, make_task, to_tanh_range
    from course_lib.training import TrainConfig

    batch = 64 if size == "student" else 16
    filters = (64, 128) if size == "student" else (8, 16)
    x, _ = _mnist_images(4096 if size == "student" else 256)
    gan = GAN(GANConfig(kind="dcgan", filters=filters), seed=seed)
    task = make_task(
        gan, keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)
    )
    data = make_dataset(
        to_tanh_range(x), batch_size=batch, seed=seed, repeat=True, drop_remainder=True
    )
    flops = gan_flops_per_image(forward_flops(gan.generator), forward_flops(gan.discriminator))
    return Workload(
        "gan",
        task,
        data,
        TrainConfig(steps_per_execution=50 if size == "student" else 5, progress="none"),
        batch,
        "images",
        flops,
        f"gan.GAN(kind='dcgan', filters={filters}), batch {batch}, two Adam",
    )


def _gpt(size: str, seed: int) -> Workload:
    from course_lib.data import lm_dataset, load_shakespeare
    from course_lib.gpt import GPT, GPTConfig, make_optimizer, make_task
    from course_lib.hardware import training_flops_per_token
    from course_lib.text.tokenization import CharTokenizer
    from course_lib.training import TrainConfig
    from course_lib.training.schedules import warmup_cosine

    corpus = load_shakespeare()
    tok = CharTokenizer.from_text(corpus.train)
    ids = tok.encode(corpus.train)
    if size == "student":
        dims, batch = dict(n_layer=4, n_head=4, d_model=128, context_length=64), 32
    else:
        dims, batch = dict(n_layer=1, n_head=2, d_model=32, context_length=32), 8
    cfg = GPTConfig(vocab_size=tok.vocab_size, dropout=0.0, **dims)
    model = GPT(cfg)
    schedule = warmup_cosine(2e-3, total_steps=1200, warmup_steps=100, final_fraction=0.1)
    task = make_task(model, make_optimizer(model, schedule))
    data = lm_dataset(ids, cfg.context_length, batch, seed=seed)
    return Workload(
        "gpt",
        task,
        data,
        TrainConfig(steps_per_execution=10, jit_compile=True, progress="none"),
        batch * cfg.context_length,
        "tokens",
        float(training_flops_per_token(cfg.shape)),
        f"gpt.GPT(L={cfg.n_layer}, H={cfg.n_head}, d={cfg.d_model}, C={cfg.context_length}, "
        f"V={cfg.vocab_size}), batch {batch} x {cfg.context_length} tokens, AdamW, XLA",
        model,
    )


_BUILDERS = {"classifier": _classifier, "vae": _vae, "gan": _gan, "gpt": _gpt}


def build_workload(name: str, *, size: str = "student", seed: int = 0, strategy=None) -> Workload:
    """The course model ``name`` (one of :data:`MODELS`) at the ``student`` profile's sizes
    (``size="tiny"``: a few hundred parameters, for tests), built under ``strategy``'s scope
    with the current global Keras precision policy, its optimizer and endless data."""
    check_choice("name", name, MODELS)
    check_choice("size", size, SIZES)
    import tensorflow as tf

    from course_lib.runtime import set_seed

    set_seed(check_int("seed", seed, minimum=0))
    with (strategy or tf.distribute.get_strategy()).scope():
        return _BUILDERS[name](size, seed)


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
    suggests. The time is the Trainer's own (inside its compiled calls, ``Record.seconds``);
    the process's CPU time over the timed stretches is kept too (``cpu_seconds``)."""
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
    timed_steps, timed_seconds = 0, 0.0
    cpu_began = time.process_time()
    while timed_seconds < seconds and timed_steps < max_steps:
        trainer.fit(work.data, steps=done + chunk)
        record = trainer.history.records[-1]
        timed_seconds += record.seconds
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
        timed_steps * work.items_per_step,
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
    its model number "A100"), or ``None``."""
    from course_lib.hardware.specs import SPECS

    words = model_name.replace("-", " ").upper().split()
    for spec in SPECS:
        if spec.kind != "gpu":
            continue
        names = [w for w in spec.name.upper().split() if any(c.isdigit() for c in w)]
        if names and all(n in words for n in names[:1]):
            return spec
    return None


def peak_flops(
    precision: str, device: str = "CPU", gpu_model: str = "", size: str = "student"
) -> tuple[float, str]:
    """``(P in FLOP/s, where it comes from)``: for a GPU in the specs table, the vendor's
    dense peak for the precision's compute dtype; otherwise the best median rate of the
    course's square-matmul microbenchmark in that dtype on this device."""
    dtype = _SPEC_PRECISION[check_choice("precision", precision, _SPEC_PRECISION)]
    if device == "GPU":
        spec = known_spec(gpu_model)
        if spec is not None and spec_precision(spec, precision) in spec.peak_flops:
            row = spec_precision(spec, precision)
            return spec.peak(row), f"{spec.name}, vendor peak ({row}, dense)"
    from course_lib.hardware.microbench import matmul_flops

    results = matmul_flops(PEAK_SIZES[size], dtype, warmup=1, repeats=3)
    best = max(results, key=lambda r: r.flops_per_second)
    return best.flops_per_second, f"measured: {dtype} matmul n={best.size} (microbench)"


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
    size: str = "student",
    precision: str | None = None,
    generation: bool = True,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Measure ``models`` (see the module docstring) and return the report as a dict
    (what ``--json`` prints). ``precision``: a Keras policy, default the course's choice
    (:class:`~course_lib.runtime.devices.RuntimeSetup`)."""
    import keras
    import tensorflow as tf

    from course_lib.runtime.devices import RuntimeSetup

    for m in models:
        check_choice("a model", m, MODELS)
    seconds = check_real("seconds", seconds, minimum=0, strict=True)
    began = time.perf_counter()
    setup = RuntimeSetup.setup(precision=precision)
    gpus = setup.hw.gpus
    device = "GPU" if gpus else "CPU"
    device_model = (
        gpus[0].model
        if gpus
        else next((d.model for d in setup.hw.devices if d.device_type == "CPU"), "")
    )
    steps = _progress(len(models) + 1, show_progress)
    peak, peak_source = peak_flops(setup.precision, device, device_model, size)
    steps.update(1)
    results = []
    for name in models:
        work = build_workload(name, size=size, strategy=setup.strategy)
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
        "precision": setup.precision,
        "precision_reason": setup.precision_reason,
        "strategy": setup.strategy_kind,
        "replicas": setup.strategy.num_replicas_in_sync,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "size": size,
        "seconds_per_measurement": seconds,
        "peak_flops": peak,
        "peak_source": peak_source,
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
        f"device {report['device']} ({report['device_model']}), precision "
        f"{report['precision']} ({report['precision_reason']}), strategy {report['strategy']} "
        f"({report['replicas']} replica(s)); TensorFlow {report['tensorflow']}, Keras "
        f"{report['keras']}",
        f"peak P = {report['peak_flops'] / 1e9:,.1f} GFLOP/s ({report['peak_source']}); "
        f"about {report['seconds_per_measurement']:g} s per measurement after a warm-up; "
        f"{report['size']} sizes",
        "",
        f"{'model':<11} {'training':>22} {'model FLOPs/item':>17} {'MFU':>7}   generation "
        "(new tokens/s, batch 1)",
    ]
    for r in report["models"]:
        gen = ""
        if r["generation_cache_tokens_per_second"] is not None:
            c = r["generation_cache_tokens_per_second"]
            n = r["generation_no_cache_tokens_per_second"]
            gen = f"KV cache {c:,.0f}, without {n:,.0f} ({c / n:.1f}x)"
        rate = f"{r['items_per_second']:,.0f} {r['unit']}/s"
        lines.append(
            f"{r['model']:<11} {rate:>22} {r['flops_per_item'] / 1e6:>12,.2f} MFLOP "
            f"{r['mfu']:>7.1%}   {gen}"
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
    parser.add_argument("--size", choices=SIZES, default="student", help=argparse.SUPPRESS)
    parser.add_argument(
        "--predict",
        metavar="DEVICE",
        default=None,
        help="print the cost model's predictions for a device of the specs table "
        "(e.g. 'NVIDIA A100 SXM 80GB', or 'all') instead of measuring",
    )


def run(args: argparse.Namespace) -> int:
    """``python -m course_lib bench``: measure (or ``--predict``) and print."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.predict is not None:
        table = predictions(args.predict)
        print(json.dumps(table, indent=2) if args.json else format_predictions(table))
        return 0
    report = run_bench(
        args.models,
        args.seconds,
        size=args.size,
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


def model_costs(size: str = "student") -> dict[str, ModelCost]:
    """:class:`ModelCost` of every course model at ``size`` (builds them, float32)."""
    out = {}
    for name in MODELS:
        work = build_workload(name, size=size)
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


def predictions(device: str = "all", size: str = "student") -> dict[str, Any]:
    """The cost model's predictions for the course's models on ``device`` (a name of
    :mod:`course_lib.hardware.specs`, or ``"all"`` for every GPU there): one row per device
    and Keras policy (``float32``: TF32 tensor cores where the table has them, else the FP32
    units; ``mixed_bfloat16``: bfloat16 tensor cores with FP32 accumulation; see
    :func:`spec_precision`) with the roofline's training items/s per model and the GPT's
    generation tokens/s. Every row is a *prediction* (an upper bound), not a measurement."""
    from course_lib.hardware.specs import SPECS, get_spec

    specs = [s for s in SPECS if s.kind == "gpu"] if device == "all" else [get_spec(device)]
    costs = model_costs(size)
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
        "size": size,
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
