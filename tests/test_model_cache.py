"""Tests of course_lib.training.model_cache: a changed key retrains, an unchanged one loads."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.runtime import fingerprint
from course_lib.training import TrainConfig, Trainer, supervised_task
from course_lib.training.history import History
from course_lib.training.model_cache import CacheKey, ModelCache, key_differences

X = np.random.default_rng(0).normal(size=(256, 3)).astype("float32")
Y = X @ np.array([[1.0], [2.0], [-1.0]], dtype="float32")


def build_model(width: int = 8) -> keras.Model:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(width), keras.layers.Dense(1)])
    model(X[:1])
    return model


def key(**changes) -> CacheKey:
    fields = {
        "name": "tiny_regression",
        "config": {"width": 8, "learning_rate": 0.05},
        "data": fingerprint.array_digest(X),
        "steps": 20,
        "seed": 0,
        "library": "library-v1",
    }
    fields.update(changes)
    return CacheKey(**fields)


class CountingTraining:
    """A train() function for load_or_train that counts its calls."""

    def __init__(self, model: keras.Model, steps: int = 20, *, real: bool = True):
        self.model, self.steps, self.real, self.calls = model, steps, real, 0

    def __call__(self) -> History:
        self.calls += 1
        if not self.real:  # only whether training ran matters to the caller
            return History()
        keras.utils.set_random_seed(0)
        task = supervised_task(
            self.model, keras.losses.mean_squared_error, keras.optimizers.Adam(0.05)
        )
        data = tf.data.Dataset.from_tensor_slices((X, Y)).batch(32)
        return Trainer(task, TrainConfig(steps=self.steps, progress="none")).fit(data)


def test_unchanged_key_loads_and_changed_key_retrains(tmp_path):
    cache = ModelCache(tmp_path, enabled=True)
    first = build_model()
    train = CountingTraining(first)
    miss = cache.load_or_train(key(), {"net": first}, train)
    assert not miss.hit and train.calls == 1 and miss.path.is_dir()
    assert "no entry" in str(miss)

    second = build_model()  # fresh random weights
    assert not np.allclose(second.get_weights()[0], first.get_weights()[0])
    again = CountingTraining(second)
    hit = cache.load_or_train(key(), {"net": second}, again)
    assert hit.hit and again.calls == 0
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert hit.history.records[-1].train == miss.history.records[-1].train
    assert "loaded tiny_regression" in str(hit)

    for changed in (
        key(steps=21),
        key(seed=1),
        key(config={"width": 8, "learning_rate": 0.01}),
        key(data=fingerprint.array_digest(X[:-1])),
        key(library="library-v2"),
    ):
        model = build_model()
        retrain = CountingTraining(model, real=False)
        result = cache.load_or_train(changed, {"net": model}, retrain)
        assert not result.hit and retrain.calls == 1, changed
        assert "other settings" in result.note
    assert len(cache.entries("tiny_regression")) == 6


def test_a_miss_says_what_changed():
    old = key().as_dict()
    new = key(steps=30, config={"width": 16, "learning_rate": 0.05}, library="v2").as_dict()
    assert key_differences(old, new) == [
        "config.width 8 -> 16",
        "the library's code changed",
        "steps 20 -> 30",
    ]


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_MODEL_CACHE", "0")
    cache = ModelCache(tmp_path)
    assert not cache.enabled
    model = build_model()
    train = CountingTraining(model, real=False)
    for _ in range(2):
        result = cache.load_or_train(key(), {"net": model}, train)
        assert not result.hit and result.path is None
    assert train.calls == 2 and not any(tmp_path.iterdir())
    assert "cache off" in str(result)


def test_default_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_MODEL_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.delenv("COURSE_MODEL_CACHE", raising=False)
    cache = ModelCache()
    assert cache.directory == tmp_path / "c" and cache.enabled


def test_store_is_atomic_and_keeps_the_first_entry(tmp_path):
    cache = ModelCache(tmp_path, enabled=True)
    model = build_model()
    history = History()
    first = cache.store(key(), {"net": model}, history, 1.0)
    entry = json.loads((first / "entry.json").read_text())
    assert entry["key"] == key().as_dict() and entry["trained_seconds"] == 1.0
    assert cache.store(key(), {"net": build_model()}, history, 2.0) == first
    assert json.loads((first / "entry.json").read_text())["trained_seconds"] == 1.0
    assert [p.name for p in tmp_path.iterdir()] == [key().folder]  # no temporary folder left


def test_bad_input_is_refused_clearly(tmp_path):
    cache = ModelCache(tmp_path, enabled=True)
    unbuilt = keras.Sequential([keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="not built"):
        cache.load_or_train(key(), {"net": unbuilt}, lambda: History())
    with pytest.raises(TypeError, match="must return the run's History"):
        cache.load_or_train(key(), {"net": build_model()}, lambda: None)
    with pytest.raises(ValueError, match="letters, digits"):
        key(name="../x")
    with pytest.raises(ValueError, match="checksum"):
        key(data="")
    with pytest.raises(TypeError, match="cannot fingerprint"):
        key(config={"f": print})


def test_weights_that_do_not_fit_give_a_clear_error(tmp_path):
    cache = ModelCache(tmp_path, enabled=True)
    cache.store(key(), {"net": build_model(width=8)}, History(), 1.0)
    with pytest.raises(ValueError, match="do not fit"):
        cache.load(key(), {"net": build_model(width=4)})
