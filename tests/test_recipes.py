"""Tests of course_lib.recipes: the chapters' sizes, builds, exact resume, the train command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from course_lib import cli, recipes
from course_lib.recipes import classifier, gan, gpt, translator, vae
from course_lib.recipes.run import MANIFEST, RunSummary, check_run_dir
from course_lib.runtime.paths import get_paths
from course_lib.runtime.profiles import PROFILES

CI = PROFILES["ci"]
REPO = get_paths().root


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Every test gets its own model cache and runs folder: nothing leaks into runs/."""
    monkeypatch.setenv("COURSE_MODEL_CACHE_DIR", str(tmp_path / "model_cache"))
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path / "runs"))
    policy = _policy()
    yield
    if "keras" in sys.modules:  # run() sets the precision policy it decides for the model:
        import keras  # the next test (maybe another module's, same process) gets the old one

        keras.mixed_precision.set_global_policy(policy)


def _policy() -> str:
    if "keras" not in sys.modules:
        return "float32"
    import keras

    return keras.mixed_precision.global_policy().name


# ----------------------------------------------------------------- sizes (no TensorFlow)
def test_registry_names_every_course_model():
    assert set(recipes.RECIPES) == {"gpt", "translator", "classifier", "vae", "gan"}
    assert set(recipes.TRAINABLE) <= set(recipes.RECIPES)
    with pytest.raises(ValueError, match="model must be one of"):
        recipes.get_recipe("bert")


def test_gpt_sizes_are_the_chapters():
    # chapters/06_applications/01_text_generation.ipynb, cells MODEL and RECIPE
    expected = {
        "ci": (2, 2, 64, 64, 0.0, 32, 300, 2e-3, 30, 50, 16_384),
        "student": (4, 4, 128, 64, 0.0, 32, 1_200, 2e-3, 100, 100, 32_768),
        "full": (6, 6, 384, 256, 0.2, 64, 5_000, 1e-3, 100, 250, None),
    }
    for name, values in expected.items():
        s = gpt.sizes(PROFILES[name])
        got = (s.n_layer, s.n_head, s.d_model, s.context_length, s.dropout, s.batch_size)
        got += (s.steps, s.learning_rate, s.warmup_steps, s.eval_every, s.val_chars)
        assert got == values, name
        assert (s.final_lr_fraction, s.weight_decay, s.beta_2, s.clipnorm) == (0.1, 0.1, 0.99, 1.0)
    # --steps keeps the warm-up's share of the run
    assert gpt.sizes(CI).with_steps(100).warmup_steps == 10
    assert gpt.sizes(CI).with_steps(4).warmup_steps == 0
    assert gpt.sizes(CI).with_steps(None) == gpt.sizes(CI)


def test_other_sizes_are_the_chapters():
    # 06/02 cells 13 and 15
    t = {p: translator.sizes(PROFILES[p]) for p in PROFILES}
    assert [(s.n_layer, s.n_head, s.d_model, s.batch_size) for s in t.values()] == [
        (2, 2, 64, 64),
        (3, 4, 64, 64),
        (4, 4, 128, 128),
    ]
    assert [(s.steps, s.learning_rate, s.eval_every, s.warmup_steps) for s in t.values()] == [
        (300, 3e-3, 30, 15),
        (1_500, 3e-3, 150, 75),
        (6_000, 1e-3, 600, 300),
    ]
    # 05/03 cell 20, and train_classifier(epochs=2) of cell 22
    g = {p: gan.sizes(PROFILES[p]) for p in PROFILES}
    assert [(s.filters, s.steps, s.eval_every, s.n_score) for s in g.values()] == [
        ((32, 64), 400, 100, 500),
        ((64, 128), 2000, 250, 1000),
        ((64, 128), 6000, 500, 2000),
    ]
    assert (g["ci"].batch_size, g["ci"].learning_rate, g["ci"].beta_1) == (64, 2e-4, 0.5)
    c = classifier.sizes(CI)
    assert (c.epochs, c.batch_size, c.learning_rate) == (2, 64, 1e-3)
    # 05/02 cells 3, 7 and 15
    v = [vae.sizes(PROFILES[p]) for p in PROFILES]
    assert [(s.epochs, s.batch_size, s.latent_dim, s.learning_rate) for s in v] == [
        (5, 64, 2, 1e-3),
        (20, 128, 2, 1e-3),
        (50, 128, 2, 1e-3),
    ]


def test_summary_line_names_metric_steps_time_device_precision():
    s = RunSummary(
        model="gpt",
        profile="ci",
        step=300,
        total_steps=300,
        start_step=100,
        seconds=40.0,
        eval_seconds=2.0,
        items_per_second=10240.0,
        unit="tokens",
        device="CPU",
        precision="float32",
        stop_reason="completed",
        metric="loss",
        metric_label="val loss",
        metric_unit="nats/char",
        run_dir="runs/x",
        metrics={"loss": 2.123456},
    )
    line = s.line()
    assert line.startswith("train gpt (ci): val loss 2.1235 nats/char after 300/300 steps")
    assert "resumed at 100" in line and "5.00 steps/s" in line and "10,240 tokens/s" in line
    assert line.endswith("CPU, float32; run dir runs/x") and "\n" not in line
    s.metrics = {"loss": 2.0, "bits_per_token": 2.885390}
    assert "val loss 2.0000 nats/char (bits_per_token 2.885) after" in s.line()
    s.metrics = {}
    s.stop_reason = "interrupted"
    assert "interrupted (no metric)" in s.line()


def test_run_dir_of_another_model_or_settings_is_refused(tmp_path):
    expected = {"model": "gpt", "profile": "ci", "config": {"a": 1}, "data": "d", "steps": 4}
    expected["seed"] = 0
    check_run_dir(tmp_path / "missing", expected)  # nothing there: fine
    (tmp_path / MANIFEST).write_text(json.dumps({**expected, "model": "vae"}))
    with pytest.raises(ValueError, match="checkpoints of model 'vae', not 'gpt'"):
        check_run_dir(tmp_path, expected)
    (tmp_path / MANIFEST).write_text(json.dumps({**expected, "steps": 8}))
    with pytest.raises(ValueError, match=r"other settings.*steps 8 -> 4"):
        check_run_dir(tmp_path, expected)
    (tmp_path / MANIFEST).write_text(json.dumps(expected))
    check_run_dir(tmp_path, expected)  # the same run: resumes
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "checkpoint").write_text("")
    with pytest.raises(ValueError, match="did not write"):
        check_run_dir(foreign, expected)


# ----------------------------------------------------------------- the command, bad input
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "bert", "--profile", "ci"], "model must be one of"),
        (["train", "gpt", "--profile", "huge"], "Unknown course profile 'huge'"),
        (["train", "gpt", "--profile", "ci", "--steps", "0"], "--steps must be"),
        (["train", "gpt", "--profile", "ci", "--workers", "0"], "--workers must be"),
    ],
)
def test_train_command_bad_input_is_one_line_and_exit_1(argv, message, capsys):
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("train: error: ") and message in err and "\n" not in err


def test_train_command_refuses_another_models_run_dir(tmp_path, capsys):
    (tmp_path / MANIFEST).write_text(json.dumps({"model": "vae"}))
    argv = ["train", "classifier", "--profile", "ci", "--steps", "2", "--run-dir", str(tmp_path)]
    assert cli.main(argv) == 1
    assert "checkpoints of model 'vae', not 'classifier'" in capsys.readouterr().err


def test_train_command_interrupted_exits_130(monkeypatch, tmp_path, capsys):
    def interrupted(name, profile, **kwargs):
        return RunSummary(
            **{**_summary_fields(), "model": name, "stop_reason": "interrupted", "step": 7}
        )

    monkeypatch.setattr(recipes, "run", interrupted)
    assert cli.main(["train", "gpt", "--profile", "ci", "--run-dir", str(tmp_path)]) == 130
    out = capsys.readouterr().out
    assert "interrupted at step 7/300" in out and "rerun the same command to resume" in out


def test_train_command_workers_delegates_to_the_launcher(monkeypatch, tmp_path):
    from course_lib.runtime import workers

    calls = []
    monkeypatch.setattr(workers, "launch", lambda argv, n: calls.append((argv, n)) or 0)
    argv = ["train", "gpt", "--profile", "ci", "--steps", "5", "--workers", "2"]
    assert cli.main([*argv, "--run-dir", "rel_dir"]) == 0
    ((sent, n),) = calls
    assert n == 2 and "--workers" not in sent
    assert sent[:6] == ["train", "gpt", "--profile", "ci", "--steps", "5"]
    assert Path(sent[sent.index("--run-dir") + 1]).is_absolute()


def _summary_fields() -> dict:
    return dict(
        model="gpt",
        profile="ci",
        step=0,
        total_steps=300,
        start_step=0,
        seconds=1.0,
        eval_seconds=0.0,
        items_per_second=0.0,
        unit="tokens",
        device="CPU",
        precision="float32",
        stop_reason="completed",
        metric="loss",
        metric_label="val loss",
        metric_unit="nats/char",
        run_dir="runs/x",
    )


# ----------------------------------------------------------------- builds (TensorFlow)
def test_gpt_build_has_the_chapters_model_data_and_cost():
    from course_lib.hardware import parameter_count, training_flops_per_token

    built = recipes.build("gpt", "ci")
    model = built.models["gpt"]
    cfg = built.extras["config"]
    assert (cfg.vocab_size, cfg.n_layer, cfg.d_model, cfg.context_length) == (77, 2, 64, 64)
    assert model.count_params() == parameter_count(cfg.shape)
    assert built.steps == 300 and built.train_config.eval_every == 50
    assert built.train_config.jit_compile and built.train_config.progress == "none"
    x, y = next(iter(built.train_data))
    assert x.shape == y.shape == (32, 64) and np.array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])
    assert built.items_per_batch == 32 * 64 and built.unit == "tokens"
    assert built.training_flops_per_item == training_flops_per_token(cfg.shape)
    assert built.training_flops_per_step == 2048 * built.training_flops_per_item
    # one pass of the first 16,384 validation characters: 16,383 targets in windows of 64
    weights = sum(float(w.numpy().sum()) for _, _, w in built.val_data)
    assert weights == 16_383


def test_cache_keys_change_with_what_changes_the_weights():
    key = recipes.cache_key("gpt", "ci")
    assert key.name == "shakespeare_gpt" and key.steps == 300 and key.seed == 0
    assert recipes.cache_key("gpt", "ci").digest == key.digest
    assert recipes.cache_key("gpt", "ci", steps=301).digest != key.digest
    assert recipes.cache_key("gpt", "ci", seed=1).digest != key.digest
    assert recipes.cache_key("gpt", "student").digest != key.digest
    names = {n: recipes.cache_key(n, "ci").name for n in recipes.RECIPES if n != "gpt"}
    assert names == {
        "translator": "number_translator",
        "classifier": "mnist_classifier",
        "vae": "mnist_vae_2d",
        "gan": "mnist_dcgan",
    }


def test_translator_build_has_the_chapters_shapes():
    built = translator.build(CI)
    data, cfg = built.extras["data"], built.extras["config"]
    assert (cfg.vocab_size, cfg.context_length, data.train_length) == (37, 61, 50)
    assert (len(data.train[0]), len(data.held_out[0]), len(data.ood[0])) == (8_000, 1_000, 1_000)
    x, _, w = next(iter(built.train_data))
    assert x.shape == w.shape == (64, 50) and built.items_per_batch == 64 * 50
    assert built.models["gpt"].count_params() == 106_368  # 2 blocks of d = 64, V = 37, C = 61


def test_image_builds_count_their_flops():
    from course_lib.recipes.base import forward_flops

    c = classifier.build(CI)
    # conv 3x3x1x32 at 28x28, conv 3x3x32x64 at 14x14, Dense 3136x128, Dense 128x10; x 2 FLOPs
    by_hand = 2 * (9 * 32 * 784 + 9 * 32 * 64 * 196 + 3136 * 128 + 128 * 10)
    assert forward_flops(c.models["model"]) == by_hand
    assert c.training_flops_per_item == 3 * by_hand and c.unit == "images"
    assert c.steps == 2 * 32  # two epochs of 2,000 images in batches of 64 (the last one 16)
    v = vae.build(CI)
    weights = v.models["encoder"].count_params() + v.models["decoder"].count_params()
    biases = 512 + 256 + 4 + 256 + 512 + 784
    # 6 N over the weights of the Dense kernels (biases are not counted)
    assert v.training_flops_per_item == 6 * (weights - biases)
    assert v.train_config.epochs == 5 and v.steps == 5 * 32
    g = gan.build(CI)
    assert set(g.models) == {"generator", "discriminator"}
    assert g.train_config.steps_per_execution == 50 and g.steps == 400
    assert next(iter(g.train_data)).shape == (64, 28, 28, 1)


# ----------------------------------------------------------------- training and resume
def test_resume_continues_at_the_right_step_and_equals_an_uninterrupted_run(tmp_path):
    whole = recipes.run("classifier", CI, steps=6, run_dir=tmp_path / "whole")
    assert (whole.stop_reason, whole.start_step, whole.step) == ("completed", 0, 6)
    first = recipes.run("classifier", CI, steps=6, run_dir=tmp_path / "split", stop_at=3)
    assert (first.stop_reason, first.step, first.metrics) == ("stopped", 3, {})
    second = recipes.run("classifier", CI, steps=6, run_dir=tmp_path / "split")
    assert (second.stop_reason, second.start_step, second.step) == ("completed", 3, 6)
    assert second.metrics == whole.metrics  # exact: same data position, optimizer, weights
    summary = json.loads((tmp_path / "split" / "summary.json").read_text())
    assert summary["metrics"] == second.metrics and summary["step"] == 6
    # the finished run is in the model cache under the recipe's key: a notebook loads it
    from course_lib.training.model_cache import ModelCache

    assert Path(second.cache_entry).is_dir() and first.cache_entry == ""
    fresh = classifier.build(CI, steps=6)
    loaded = ModelCache().load(recipes.cache_key("classifier", CI, steps=6), fresh.models)
    assert loaded is not None and loaded.hit
    assert classifier.evaluate(fresh) == second.metrics


def test_train_command_trains_and_resumes_in_process(tmp_path, capsys):
    argv = ["train", "vae", "--profile", "ci", "--steps", "3", "--run-dir", str(tmp_path)]
    assert cli.main(argv) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("train vae (ci): held-out ELBO -") and "after 3/3 steps" in line
    assert json.loads((tmp_path / MANIFEST).read_text())["model"] == "vae"
    assert cli.main(argv) == 0  # again: resumes at the end, trains nothing, same metric
    again = capsys.readouterr().out.strip().splitlines()[-1]
    assert "resumed at 3" in again


def test_train_gpt_from_the_terminal(tmp_path):
    env = {**os.environ, "COURSE_PROFILE": "student"}  # --profile must win over the variable
    cmd = [sys.executable, "-m", "course_lib", "train", "gpt", "--profile", "ci", "--steps", "4"]
    done = subprocess.run(
        [*cmd, "--run-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("train gpt (ci): val loss ") and "after 4/4 steps" in line
    assert "nats/char" in line and "CPU" in line
    loss = float(line.split("val loss ")[1].split()[0])
    assert 3.0 < loss < 4.4  # 4 steps from ln 77 = 4.34 nats/char
    assert sorted(p.name for p in tmp_path.glob("ckpt-4.index")) == ["ckpt-4.index"]
