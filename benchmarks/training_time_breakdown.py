"""What do the course's long training runs spend their time on? A breakdown per run.

Each run is rebuilt here with the sizes of its notebook in the ``student`` profile (the
notebooks themselves are not run or changed):

* ``gan``      chapter 05 part 3, the DCGAN on MNIST (cell "Training"), with its two
  callbacks: the fixed-noise image grid and the IS / FD scoring at every record;
* ``gpt``      chapter 06 part 1, the Shakespeare GPT, with its text sample after every record;
* ``ladder``   chapter 02 part 2, the seven-rung ladder trained in one loop (the notebook's own
  cells up to the ladder are executed to define its models);
* ``pretrain`` chapter 08 part 3, the English teacher (cell 5), one poem fine-tuning arm
  (cell 7) and the distilled student (cell 16);
* ``faq``      chapter 09 part 1, cell 9: the recipe's GPT with checkpoints.

For each run the Trainer trains ``--records`` record intervals of the real configuration
(the first interval holds the tracing and compilation) and reports its
:attr:`~course_lib.training.Trainer.timings`; one more validation pass, callback call and
step batch are then timed warm, and the whole run is projected from these parts:
``first call + steady step x remaining steps + records x (validation + callbacks) +
checkpoints x write``. The shares of that projection are printed per run, then the ratios of
the alternatives, each measured on the same model in the same process:

* steps per execution (host round-trips): the steady time per step with 1 step per call, the
  notebook's setting, and a whole record interval per call;
* input pipeline: batches/s of the ``tf.data`` pipeline alone, and the step time when the
  batches come from an in-memory tensor instead;
* XLA on/off (``jit_compile``): first call and steady step time of the other setting;
* the tracing count of every compiled function after the run (1 each: no retracing).

Run from the repository root (heavy: ``nice`` it on a shared machine)::

    COURSE_PROFILE=student nice -n 10 python benchmarks/training_time_breakdown.py
    COURSE_PROFILE=student nice -n 10 python benchmarks/training_time_breakdown.py --runs gpt gan
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("COURSE_PROFILE", "student")

import numpy as np
import tensorflow as tf

from course_lib.runtime import get_profile
from course_lib.training import TrainConfig, Trainer
from course_lib.training.checkpointing import Checkpointer
from course_lib.training.plan import plan_run

ROOT = Path(__file__).resolve().parent.parent


@dataclasses.dataclass
class Run:
    """One training run as its notebook sets it up."""

    name: str
    where: str
    task: object
    train: tf.data.Dataset
    val: tf.data.Dataset | None
    config: TrainConfig
    callbacks: list[Callable] = dataclasses.field(default_factory=list)
    #: e.g. "jit" to skip the XLA comparison
    skip: tuple[str, ...] = ()


# ----------------------------------------------------------------------------- the runs
def gan_run() -> list[Run]:
    """05/03: DCGAN, 2,000 steps of 64, eval_every 250, 50 steps per call, checkpoints."""
    import keras

    from course_lib.data import load_mnist, make_dataset, to_float
    from course_lib.gan import (
        GAN,
        FixedNoiseGrid,
        GANConfig,
        from_tanh_range,
        make_task,
        to_tanh_range,
    )
    from course_lib.gan.classifier import train_classifier
    from course_lib.gan.sample_quality import digit_scores
    from course_lib.runtime import get_paths

    profile = get_profile()
    mnist = load_mnist()
    data = mnist.subset(
        profile.subset(len(mnist.x_train)), profile.subset(len(mnist.x_test), eval=True), seed=0
    )
    x_train = to_tanh_range(to_float(data.x_train))
    filters = profile.pick(ci=(32, 64), student=(64, 128), full=(64, 128))
    n_score = min(len(data.x_test), profile.pick(ci=500, student=1000, full=2000))
    gan = GAN(GANConfig(kind="dcgan", filters=filters), seed=0)
    task = make_task(
        gan, keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)
    )
    classifier_cache = get_paths().run_dir("mnist_classifier", fresh=False)
    classifier = train_classifier(data.x_train, data.y_train, epochs=2, cache_dir=classifier_cache)
    grid = FixedNoiseGrid(gan, n=40, seed=1)
    z_score = gan.sample_z(n_score, seed=2)

    def record_scores(trainer, record):
        images = from_tanh_range(gan.generator(z_score, training=False).numpy())
        digit_scores(classifier, images, data.x_train)

    config = TrainConfig(
        steps=profile.pick(ci=400, student=2000, full=6000),
        eval_every=profile.pick(ci=100, student=250, full=500),
        steps_per_execution=50,
        checkpoint_dir="(temporary)",
    )
    dataset = make_dataset(x_train, batch_size=64, seed=0, repeat=True, drop_remainder=True)
    return [Run("gan", "05/03 DCGAN", task, dataset, None, config, [grid, record_scores])]


def _shakespeare():
    from course_lib.data import load_shakespeare
    from course_lib.text.tokenization import CharTokenizer

    corpus = load_shakespeare()
    tok = CharTokenizer.from_text(corpus.text)
    return tok, tok.encode(corpus.train), tok.encode(corpus.val)


def gpt_run() -> list[Run]:
    """06/01: GPT 4x4x128, 1,200 steps of 32 x 64, eval_every 100 on 32,768 chars, XLA."""
    from course_lib.data import lm_dataset, lm_eval_dataset
    from course_lib.gpt import GPT, GPTConfig, generate, make_optimizer, make_task
    from course_lib.training.schedules import warmup_cosine

    profile = get_profile()
    tok, train_ids, val_ids = _shakespeare()
    model_sizes = profile.pick(
        ci=dict(n_layer=2, n_head=2, d_model=64, context_length=64, dropout=0.0),
        student=dict(n_layer=4, n_head=4, d_model=128, context_length=64, dropout=0.0),
        full=dict(n_layer=6, n_head=6, d_model=384, context_length=256, dropout=0.2),
    )
    cfg = GPTConfig(vocab_size=tok.vocab_size, **model_sizes)
    model = GPT(cfg)
    steps = profile.pick(ci=300, student=1_200, full=5_000)
    schedule = warmup_cosine(2e-3, total_steps=steps, warmup_steps=100, final_fraction=0.1)
    optimizer = make_optimizer(model, schedule, weight_decay=0.1, beta_2=0.99, global_clipnorm=1.0)
    val_chars = profile.pick(ci=16_384, student=32_768, full=None)
    prompt = "KING.\nNow, my good lords, "
    length = cfg.context_length // 2
    ids = tok.encode("\n" * (length - len(prompt[-length:])) + prompt[-length:])

    def sample_after_interval(trainer, record):
        generate(model, ids[None], 200, temperature=0.8, seed=0, return_logits=True)

    config = TrainConfig(
        steps=steps,
        eval_every=profile.pick(ci=50, student=100, full=250),
        steps_per_execution=10,
        jit_compile=True,
        checkpoint_dir="(temporary)",
    )
    return [
        Run(
            "gpt",
            "06/01 Shakespeare GPT",
            make_task(model, optimizer),
            lm_dataset(train_ids, cfg.context_length, 32, seed=0),
            lm_eval_dataset(val_ids[:val_chars], cfg.context_length, 256),
            config,
            [sample_after_interval],
        )
    ]


def ladder_run() -> list[Run]:
    """02/02: the ladder, 7 models in one loop, 800 steps of 32 x 64, eval_every 100."""
    import nbformat

    path = ROOT / "chapters/02_core_concepts/02_building_a_gpt.ipynb"
    cells = nbformat.read(path, as_version=4).cells
    namespace: dict = {}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.show = lambda *a, **k: None
    marker = "task = Task("
    with contextlib.redirect_stdout(open(os.devnull, "w")):
        for cell in cells:
            if cell.cell_type != "code":
                continue
            if marker in cell.source:
                break
            exec(compile(cell.source, str(path), "exec"), namespace)
    from course_lib.training import Objective, Task

    ns = namespace
    models = ns["models"]
    ladder = ns["LADDER"]

    def loss_fn_of(model):
        def loss_fn(batch, training):
            x, y = batch
            return ns["next_token_loss"](model(x, training=training), y)

        return loss_fn

    def eval_fn(batch):
        return {rung: ns["token_loss_sum"](model, batch) for rung, model in models.items()}

    task = Task(
        objectives=[
            Objective(rung, loss_fn_of(m), m, ns["make_optimizer"](m, ladder["learning_rate"]))
            for rung, m in models.items()
        ],
        models={f"rung_{i}": m for i, m in enumerate(models.values())},
        eval_fn=eval_fn,
    )
    C = ns["C"]
    val_text = (
        ns["val_ids"] if ladder["val_chars"] is None else ns["val_ids"][: ladder["val_chars"]]
    )
    config = TrainConfig(
        steps=ladder["steps"], eval_every=ladder["eval_every"], steps_per_execution=10
    )
    return [
        Run(
            "ladder",
            "02/02 ladder (7 models)",
            task,
            ns["lm_dataset"](ns["train_ids"], C, ladder["batch_size"], seed=0),
            ns["lm_eval_dataset"](val_text, C, 256),
            config,
        )
    ]


def pretrain_runs() -> list[Run]:
    """08/03: the teacher (300 steps), a poem arm (250 steps, eval_every 25), a student."""
    import keras

    from course_lib.data import (
        lm_dataset,
        lm_eval_dataset,
        load_shakespeare,
        load_tang_poems,
        poems_text,
        split_poems,
    )
    from course_lib.gpt import GPT, GPTConfig, make_optimizer, make_task
    from course_lib.gpt.distillation import DistillationConfig, make_distillation_task
    from course_lib.text.tokenization import CharTokenizer
    from course_lib.training.schedules import warmup_cosine

    profile = get_profile()
    corpus, poems = load_shakespeare(), load_tang_poems()
    train_poems, val_poems = split_poems(poems, val_fraction=0.1, seed=0)
    english_tok = CharTokenizer.from_text(corpus.text)
    tok = CharTokenizer.from_text(corpus.text + poems_text(poems))
    en_train = tok.encode(corpus.train)
    poem_train, poem_val = tok.encode(poems_text(train_poems)), tok.encode(poems_text(val_poems))
    teacher = profile.pick(
        ci=dict(n_layer=1, n_head=2, d_model=32, context_length=32),
        student=dict(n_layer=4, n_head=4, d_model=128, context_length=64),
        full=dict(n_layer=6, n_head=6, d_model=384, context_length=256),
    )
    student = profile.pick(
        ci=dict(n_layer=1, n_head=2, d_model=16),
        student=dict(n_layer=2, n_head=2, d_model=64),
        full=dict(n_layer=3, n_head=6, d_model=192),
    )
    steps = profile.pick(
        ci=dict(pretrain=30, poems=20, distill=20, poem_eval=20),
        student=dict(pretrain=300, poems=250, distill=300, poem_eval=25),
        full=dict(pretrain=5_000, poems=1_000, distill=5_000, poem_eval=50),
    )
    jit = profile.pick(ci=False, student=True, full=True)
    C = teacher["context_length"]

    def optimizer_for(model, n):
        schedule = warmup_cosine(2e-3, total_steps=n, warmup_steps=max(1, n // 10))
        return make_optimizer(model, schedule)

    def config(n, eval_every=None, checkpoints=False):
        return TrainConfig(
            steps=n,
            eval_every=eval_every or n,
            steps_per_execution=eval_every or n,
            jit_compile=jit,
            progress="none",
            checkpoint_dir="(temporary)" if checkpoints else None,
        )

    keras.utils.set_random_seed(0)
    english = GPT(GPTConfig(vocab_size=english_tok.vocab_size, dropout=0.0, **teacher))
    keras.utils.set_random_seed(1)
    poem_model = GPT(GPTConfig(vocab_size=tok.vocab_size, dropout=0.0, **teacher))
    keras.utils.set_random_seed(2)
    small = GPT(
        GPTConfig(vocab_size=english_tok.vocab_size, dropout=0.0, context_length=C, **student)
    )
    distill = make_distillation_task(
        small,
        english,
        optimizer_for(small, steps["distill"]),
        DistillationConfig(temperature=2.0, alpha=0.5),
    )
    return [
        Run(
            "pretrain",
            "08/03 cell 5 teacher",
            make_task(english, optimizer_for(english, steps["pretrain"])),
            lm_dataset(en_train, C, 32, seed=0),
            None,
            config(steps["pretrain"], checkpoints=True),
            skip=("spe",),
        ),
        Run(
            "poems",
            "08/03 cell 7 one arm",
            make_task(poem_model, optimizer_for(poem_model, steps["poems"])),
            lm_dataset(poem_train, C, 32, seed=0),
            lm_eval_dataset(poem_val, C, 256),
            config(steps["poems"], steps["poem_eval"]),
        ),
        Run(
            "distill",
            "08/03 cell 16 distilled",
            distill,
            lm_dataset(en_train, C, 32, seed=0),
            None,
            config(steps["distill"]),
            skip=("spe",),
        ),
    ]


def faq_run() -> list[Run]:
    """09/01 cell 9: GPT 4x4x128, 600 steps, eval_every 100, 5 steps per call, no XLA."""
    from course_lib.data import lm_dataset
    from course_lib.gpt import GPT, GPTConfig, make_optimizer, make_task
    from course_lib.training.schedules import warmup_cosine

    profile = get_profile()
    tok, train_ids, _ = _shakespeare()
    sizes = profile.pick(
        ci=dict(n_layer=2, n_head=2, d_model=64, context_length=64, dropout=0.0),
        student=dict(n_layer=4, n_head=4, d_model=128, context_length=64, dropout=0.0),
        full=dict(n_layer=6, n_head=6, d_model=384, context_length=256, dropout=0.2),
    )
    cfg = GPTConfig(vocab_size=tok.vocab_size, **sizes)
    model = GPT(cfg)
    steps = profile.pick(ci=45, student=600, full=2_000)
    every = profile.pick(ci=15, student=100, full=250)
    schedule = warmup_cosine(2e-3, total_steps=steps, warmup_steps=50, final_fraction=0.1)
    config = TrainConfig(
        steps=steps,
        eval_every=every,
        steps_per_execution=5,
        checkpoint_dir="(temporary)",
        checkpoint_every=2 * every,
    )
    return [
        Run(
            "faq",
            "09/01 cell 9 recipe GPT",
            make_task(model, make_optimizer(model, schedule)),
            lm_dataset(train_ids, cfg.context_length, 32, seed=0),
            None,
            config,
        )
    ]


BUILDERS = {
    "gan": gan_run,
    "gpt": gpt_run,
    "ladder": ladder_run,
    "pretrain": pretrain_runs,
    "faq": faq_run,
}


# ----------------------------------------------------------------------------- measuring
class _SaveCounter:
    """Counts Checkpointer.save calls (the Trainer's checkpoint writes)."""

    def __init__(self) -> None:
        self.count = 0
        self._original = Checkpointer.save

    def __enter__(self):
        counter = self

        def save(self_, *args, **kwargs):
            counter.count += 1
            return counter._original(self_, *args, **kwargs)

        Checkpointer.save = save
        return self

    def __exit__(self, *exc):
        Checkpointer.save = self._original


#: CPU seconds of the process (all threads) of the last _timed_calls, per step: on a shared
#: machine the wall time moves with the load, the work done much less
LAST_CPU: list[float] = [0.0]


def _timed_calls(trainer: Trainer, iterator, n: int, steps: int) -> float:
    """Wall seconds per step of compiled calls of ``n`` steps (about ``steps`` steps in all)."""
    calls = max(1, math.ceil(steps / n))
    began, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        out = trainer._run_steps(iterator, tf.constant(n, tf.int64))
        tf.nest.map_structure(np.asarray, out)
    LAST_CPU[0] = (time.process_time() - cpu) / (calls * n)
    return (time.perf_counter() - began) / (calls * n)


def _tracing_counts(trainer: Trainer) -> dict[str, int]:
    counts = {
        "run_steps": trainer._run_steps.experimental_get_tracing_count(),
        "eval_step": trainer._eval_step.experimental_get_tracing_count(),
        "eval_replica": trainer._eval_replica.experimental_get_tracing_count(),
    }
    for i, update in enumerate(trainer._updates):
        counts[f"gradients[{i}]"] = update._local_gradients.experimental_get_tracing_count()
    return counts


def measure(
    run: Run, records: int, variant_steps: int, variants: bool, max_steps: int = 10**9
) -> dict:
    """Train ``records`` record intervals, time the parts, project the whole run."""
    full_plan = plan_run(run.config, run.train, None, None)
    every = full_plan.eval_every
    short_steps = min(full_plan.total_steps, records * every, max_steps)
    tmp = tempfile.mkdtemp(prefix=f"breakdown-{run.name}-")
    checkpoints = run.config.checkpoint_dir is not None
    cfg = dataclasses.replace(
        run.config,
        steps=short_steps,
        progress="none",
        checkpoint_dir=tmp if checkpoints else None,
    )
    trainer = Trainer(run.task, cfg)
    with _SaveCounter() as saves:
        began, cpu = time.perf_counter(), time.process_time()
        history = trainer.fit(run.train, run.val, callbacks=run.callbacks)
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    t = dict(trainer.timings)
    first_steps = history.points[0][0]
    if t["calls"] > 1:
        steady_step = t["steps"] / (short_steps - first_steps)
    else:  # one compiled call did it all: time a few more steps warm
        n = min(run.config.steps_per_execution, every, 10)
        steady_step = _timed_calls(trainer, trainer._iterator, n, 20)
    n_records = len(history.records)
    # warm costs, timed once more
    val_warm = 0.0
    if run.val is not None:
        began = time.perf_counter()
        trainer.evaluate(run.val)
        val_warm = time.perf_counter() - began
    callbacks_warm = 0.0
    for callback in run.callbacks:
        began = time.perf_counter()
        callback(trainer, history.records[-1])
        callbacks_warm += time.perf_counter() - began
    save_each = t["checkpoints"] / saves.count if saves.count else 0.0
    # projection of the whole run
    total_steps = full_plan.total_steps
    full_records = math.ceil(total_steps / every)
    if checkpoints:
        cp_every = full_plan.checkpoint_every or every
        record_steps = set(range(every, total_steps + 1, every)) | {total_steps}
        full_saves = len(
            {s for s in record_steps if s % cp_every == 0}
            | set(range(cp_every, total_steps + 1, cp_every))
            | {total_steps}
        )
    else:
        full_saves = 0
    parts = {
        "first call (trace+compile)": t["first_call"] - first_steps * steady_step,
        "steady steps": steady_step * total_steps,
        "validation": (t["validation"] - n_records * val_warm) + full_records * val_warm,
        "callbacks": (t["callbacks"] - n_records * callbacks_warm) + full_records * callbacks_warm,
        "checkpoints": full_saves * save_each,
    }
    projected = sum(parts.values())
    result = {
        "run": run.name,
        "where": run.where,
        "config": {
            "steps": total_steps,
            "eval_every": every,
            "steps_per_execution": run.config.steps_per_execution,
            "jit_compile": run.config.jit_compile,
            "records": full_records,
            "checkpoints": full_saves,
        },
        "measured": {
            "steps": short_steps,
            "wall_s": wall,
            "cpu_s": cpu,
            "timings": t,
            "steady_step_ms": 1e3 * steady_step,
            "validation_warm_s": val_warm,
            "callbacks_warm_s": callbacks_warm,
            "checkpoint_write_s": save_each,
            "loop_other_s": wall
            - sum(t[p] for p in ("first_call", "steps", "validation", "checkpoints", "callbacks")),
        },
        "projected_s": projected,
        "parts_s": parts,
        "tracing_counts": _tracing_counts(trainer),
    }
    if variants:
        result["variants"] = measure_variants(run, trainer, steady_step, every, variant_steps)
        result["tracing_counts_after_variants"] = _tracing_counts(trainer)
    return result


def measure_variants(
    run: Run, trainer: Trainer, steady_step: float, every: int, steps: int
) -> dict:
    out: dict = {"notebook_step_ms": 1e3 * steady_step}
    iterator = trainer._iterator
    if "spe" not in run.skip:
        # host round-trips: the same compiled function, n steps per call (n is a tensor)
        spe = run.config.steps_per_execution
        for n in sorted({1, min(spe, steps), min(every, 5 * steps)}):
            out[f"spe_{n}_step_ms"] = 1e3 * _timed_calls(trainer, iterator, n, max(steps, n))
            out[f"spe_{n}_step_cpu_ms"] = 1e3 * LAST_CPU[0]
    # input pipeline alone
    pipeline = iter(run.train.repeat())
    next(pipeline)
    began = time.perf_counter()
    for _ in range(steps):
        tf.nest.map_structure(np.asarray, next(pipeline))
    out["pipeline_batches_per_s"] = steps / (time.perf_counter() - began)
    # the same steps fed from an in-memory tensor (no tf.data work per step)
    batches = [next(pipeline) for _ in range(20)]
    stacked = tf.nest.map_structure(lambda *b: tf.stack(b), *batches)
    memory = iter(tf.data.Dataset.from_tensor_slices(stacked).repeat())
    n = min(run.config.steps_per_execution, every, steps)
    _timed_calls(trainer, memory, n, n)  # trace for this iterator
    out["tfdata_step_ms"] = 1e3 * _timed_calls(trainer, iterator, n, steps)
    out["tfdata_step_cpu_ms"] = 1e3 * LAST_CPU[0]
    out["in_memory_step_ms"] = 1e3 * _timed_calls(trainer, memory, n, steps)
    out["in_memory_step_cpu_ms"] = 1e3 * LAST_CPU[0]
    # XLA on/off: a second Trainer on the same task with the other setting
    if "jit" not in run.skip:
        other = Trainer(
            run.task,
            dataclasses.replace(
                run.config,
                jit_compile=not run.config.jit_compile,
                progress="none",
                checkpoint_dir=None,
                checkpoint_every=None,
            ),
        )
        it2 = iter(run.train.repeat())
        began, cpu = time.perf_counter(), time.process_time()
        out_first = other._run_steps(it2, tf.constant(n, tf.int64))
        tf.nest.map_structure(np.asarray, out_first)
        first, first_cpu = time.perf_counter() - began, time.process_time() - cpu
        step_other = _timed_calls(other, it2, n, steps)
        cpu_other = LAST_CPU[0]
        again = _timed_calls(trainer, iterator, n, steps)
        label = "xla_off" if run.config.jit_compile else "xla_on"
        out[f"{label}_first_call_s"] = first - n * step_other
        out[f"{label}_first_call_cpu_s"] = first_cpu - n * cpu_other
        out[f"{label}_step_ms"] = 1e3 * step_other
        out[f"{label}_step_cpu_ms"] = 1e3 * cpu_other
        out["notebook_again_step_ms"] = 1e3 * again
        out["notebook_again_step_cpu_ms"] = 1e3 * LAST_CPU[0]
    return out


def report(result: dict) -> str:
    cfg, m, parts = result["config"], result["measured"], result["parts_s"]
    total = result["projected_s"]
    lines = [
        f"== {result['run']}: {result['where']}  ({cfg['steps']} steps, eval_every "
        f"{cfg['eval_every']}, steps_per_execution {cfg['steps_per_execution']}, jit "
        f"{cfg['jit_compile']}, {cfg['records']} records, {cfg['checkpoints']} checkpoints)",
        f"   measured {m['steps']} steps in {m['wall_s']:.1f} s ({m['cpu_s']:.1f} CPU s); "
        "steady step "
        f"{m['steady_step_ms']:.1f} ms; projected whole run {total:.0f} s",
    ]
    for name, seconds in parts.items():
        lines.append(f"   {name:28s} {seconds:8.1f} s  {seconds / total:6.1%}")
    lines.append(f"   tracing counts: {result['tracing_counts']}")
    variants = result.get("variants")
    if variants:
        base = {
            "_step_ms": variants.get("tfdata_step_ms"),
            "_step_cpu_ms": variants.get("tfdata_step_cpu_ms"),
        }
        lines.append(
            "   alternatives (wall and CPU ms per step; ratio to the notebook's setting, "
            "measured next to it):"
        )
        for key, value in variants.items():
            suffix = next((k for k in base if key.endswith(k)), None)
            if suffix and base[suffix]:
                lines.append(f"     {key:28s} {value:8.2f}  x{value / base[suffix]:5.2f}")
            else:
                lines.append(f"     {key:28s} {value:8.2f}")
        lines.append(f"   tracing counts after: {result['tracing_counts_after_variants']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", default=list(BUILDERS), choices=list(BUILDERS))
    parser.add_argument("--records", type=int, default=2, help="record intervals trained")
    parser.add_argument("--variant-steps", type=int, default=60, help="steps per alternative")
    parser.add_argument("--max-steps", type=int, default=10**9, help="cap on steps trained")
    parser.add_argument("--no-variants", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    print(
        f"profile {get_profile().name!r}; TensorFlow {tf.__version__}; load average "
        f"{os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs",
        flush=True,
    )
    results = []
    for name in args.runs:
        for run in BUILDERS[name]():
            result = measure(
                run, args.records, args.variant_steps, not args.no_variants, args.max_steps
            )
            results.append(result)
            print(report(result), f"\n   load average {os.getloadavg()[0]:.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
