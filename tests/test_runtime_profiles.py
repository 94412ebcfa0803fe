"""Tests of course_lib.runtime: profiles, seeding and paths."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_lib.runtime import PROFILES, get_paths, get_profile, set_seed


def test_default_profile_is_student_when_the_variable_is_unset(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert get_profile().name == "student"


def test_profile_comes_from_the_environment_case_insensitively(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", " Full ")
    assert get_profile().name == "full"


def test_unknown_profile_is_an_error_listing_the_valid_ones(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "fast")
    with pytest.raises(ValueError, match=r"'fast'.*ci, student, full"):
        get_profile()


def test_profiles_grow_from_ci_to_full():
    ci, student, full = PROFILES["ci"], PROFILES["student"], PROFILES["full"]
    assert ci.epochs < student.epochs < full.epochs
    assert ci.max_train_examples < student.max_train_examples and full.max_train_examples is None
    assert not ci.show_progress and student.show_progress and full.show_progress


def test_pick_returns_the_value_of_the_active_profile():
    assert [p.pick(ci=1, student=2, full=3) for p in PROFILES.values()] == [1, 2, 3]


def test_subset_caps_train_and_eval_counts():
    ci = get_profile("ci")
    assert ci.subset(60_000) == 2_000 and ci.subset(100) == 100
    assert ci.subset(60_000, eval=True) == 500
    assert get_profile("full").subset(60_000) == 60_000


def test_set_seed_makes_tensorflow_and_numpy_repeat():
    set_seed(3)
    a = (tf.random.normal([4]).numpy(), np.random.rand(3))  # noqa: NPY002 (the legacy global one)
    set_seed(3)
    b = (tf.random.normal([4]).numpy(), np.random.rand(3))  # noqa: NPY002
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_set_seed_rejects_negative_seeds():
    with pytest.raises(ValueError, match="non-negative"):
        set_seed(-1)


def test_paths_point_at_this_checkout_and_honour_overrides(monkeypatch, tmp_path):
    paths = get_paths()
    assert (paths.root / "course_lib" / "runtime" / "paths.py").exists()
    assert paths.data == paths.root / "data"
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    run = get_paths().run_dir("demo", fresh=False)
    assert run == tmp_path / "demo" and run.is_dir()
    with pytest.raises(ValueError, match="plain folder name"):
        get_paths().run_dir("../escape", fresh=False)


def test_run_dir_fresh_empties_the_folder_and_resume_keeps_it(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_RUNS_DIR", str(tmp_path))
    run = get_paths().run_dir("demo", fresh=True)
    (run / "ckpt-1.index").write_text("old checkpoint")
    assert (get_paths().run_dir("demo", fresh=False) / "ckpt-1.index").exists()
    assert list(get_paths().run_dir("demo", fresh=True).iterdir()) == []
    with pytest.raises(TypeError, match="fresh"):
        get_paths().run_dir("demo")  # the caller must say whether the run resumes
    with pytest.raises(TypeError, match="fresh must be True or False"):
        get_paths().run_dir("demo", fresh="yes")


def test_chapter_notebooks_are_sorted_and_skip_jupyterlab_checkpoint_copies(tmp_path):
    from course_lib.runtime.paths import chapter_notebooks

    for rel in ("b/2.ipynb", "a/1.ipynb", "a/.ipynb_checkpoints/1-checkpoint.ipynb", "a/x.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    found = [p.relative_to(tmp_path).as_posix() for p in chapter_notebooks(tmp_path)]
    assert found == ["a/1.ipynb", "b/2.ipynb"]
    assert len(chapter_notebooks(get_paths().root / "chapters")) >= 14
