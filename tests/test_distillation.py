"""Tests of course_lib.gpt.distillation: the loss against an independent NumPy computation,
no gradient when the student equals the teacher, the tau^2 scaling of the soft term's
gradient, the frozen teacher inside a training step, shapes and bad input."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.gpt import GPT, GPTConfig, next_token_loss
from course_lib.gpt.distillation import (
    DistillationConfig,
    distillation_loss,
    distillation_terms,
    make_distillation_task,
    softened_probabilities,
)
from course_lib.training import TrainConfig, Trainer

B, T, V = 3, 5, 7


def random_case(seed: int = 0, scale: float = 2.0):
    rng = np.random.default_rng(seed)
    student = (scale * rng.normal(size=(B, T, V))).astype(np.float32)
    teacher = (scale * rng.normal(size=(B, T, V))).astype(np.float32)
    y = rng.integers(0, V, size=(B, T)).astype(np.int32)
    return student, teacher, y


def numpy_softmax(z: np.ndarray, tau: float) -> np.ndarray:
    z = z.astype(np.float64) / tau
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def numpy_distillation(student, teacher, y, tau, alpha) -> np.ndarray:
    """Hinton et al.'s loss per sequence, written out with float64 NumPy, position by position."""
    out = np.zeros(student.shape[0])
    for b in range(student.shape[0]):
        total = 0.0
        for t in range(student.shape[1]):
            p_t = numpy_softmax(teacher[b, t], tau)
            p_s = numpy_softmax(student[b, t], tau)
            kl = float(np.sum(p_t * (np.log(p_t) - np.log(p_s))))
            ce = -float(np.log(numpy_softmax(student[b, t], 1.0)[y[b, t]]))
            total += alpha * tau**2 * kl + (1 - alpha) * ce
        out[b] = total / student.shape[1]
    return out


def test_softened_probabilities_sum_to_one_and_flatten_with_temperature():
    z = np.array([[3.0, 1.0, 0.0, -2.0]], np.float32)
    p1 = softened_probabilities(z, 1.0).numpy()
    p4 = softened_probabilities(z, 4.0).numpy()
    np.testing.assert_allclose(p1, numpy_softmax(z, 1.0), rtol=1e-6)
    np.testing.assert_allclose(p4, numpy_softmax(z, 4.0), rtol=1e-6)
    np.testing.assert_allclose(p4.sum(), 1.0, rtol=1e-6)
    assert p4.max() < p1.max() and p4.min() > p1.min()  # flatter at a higher temperature
    np.testing.assert_allclose(softened_probabilities(z, 1e4).numpy(), 0.25, atol=1e-3)


@pytest.mark.parametrize(("tau", "alpha"), [(1.0, 0.5), (2.0, 0.7), (4.0, 1.0), (3.0, 0.0)])
def test_loss_equals_an_independent_numpy_computation(tau, alpha):
    student, teacher, y = random_case(seed=int(10 * tau + alpha * 3))
    loss = distillation_loss(student, teacher, y, DistillationConfig(tau, alpha)).numpy()
    assert loss.shape == (B,)
    np.testing.assert_allclose(loss, numpy_distillation(student, teacher, y, tau, alpha), rtol=2e-5)


def test_alpha_zero_is_the_ordinary_next_token_loss():
    student, teacher, y = random_case(seed=3)
    loss = distillation_loss(student, teacher, y, DistillationConfig(5.0, 0.0))
    np.testing.assert_allclose(loss.numpy(), next_token_loss(student, y).numpy(), rtol=1e-6)


def test_soft_term_is_zero_with_zero_gradient_when_the_student_equals_the_teacher():
    _, teacher, y = random_case(seed=4)
    z = tf.Variable(teacher)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(distillation_loss(z, teacher, y, DistillationConfig(3.0, 1.0)))
    grad = tape.gradient(loss, z).numpy()
    assert abs(float(loss)) < 1e-5
    assert np.max(np.abs(grad)) < 1e-6
    # and moving away from the teacher costs: KL > 0
    soft, _ = distillation_terms(teacher + 0.5, teacher * 0.5, y, 3.0)
    assert np.all(soft.numpy() > 0)


def test_soft_gradient_is_scaled_back_by_tau_squared():
    """d/dz_S of tau^2 KL is tau (p_S - p_T); for large tau it tends to (z_S - z_T) / V with
    zero-mean logits, whatever tau: the tau^2 factor keeps the soft term's gradient from
    vanishing like 1 / tau^2 (Hinton et al. 2015, Section 2.1)."""
    student, teacher, y = random_case(seed=5, scale=1.0)
    student = student - student.mean(axis=-1, keepdims=True)
    teacher = teacher - teacher.mean(axis=-1, keepdims=True)
    grads = {}
    for tau in (1.0, 2.0, 50.0, 200.0):
        z = tf.Variable(student)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(distillation_loss(z, teacher, y, DistillationConfig(tau, 1.0)))
        grads[tau] = tape.gradient(loss, z).numpy() * T  # undo the mean over positions
        exact = tau * (numpy_softmax(student, tau) - numpy_softmax(teacher, tau))
        np.testing.assert_allclose(grads[tau], exact, rtol=1e-3, atol=5e-5)
    limit = (student - teacher) / V
    np.testing.assert_allclose(grads[200.0], limit, rtol=0.02, atol=1e-3)
    # without the factor the gradient at tau = 50 would be 2,500 times smaller
    assert np.max(np.abs(grads[50.0])) > 0.5 * np.max(np.abs(limit))


def test_config_and_input_checks():
    with pytest.raises(ValueError, match="temperature"):
        DistillationConfig(temperature=0.0)
    with pytest.raises(ValueError, match="alpha"):
        DistillationConfig(alpha=1.5)
    with pytest.raises(TypeError, match="alpha"):
        DistillationConfig(alpha=True)
    student, teacher, y = random_case()
    with pytest.raises(ValueError, match="must agree"):
        distillation_terms(student, teacher[..., :-1], y, 2.0)
    with pytest.raises(ValueError, match="must agree"):
        distillation_terms(student, teacher, y[:, :-1], 2.0)
    with pytest.raises(ValueError, match=r"\(B, T, V\)"):
        distillation_terms(student[0], teacher[0], y, 2.0)
    with pytest.raises(TypeError, match="DistillationConfig"):
        distillation_loss(student, teacher, y, {"temperature": 2.0})
    with pytest.raises(ValueError, match="temperature"):
        softened_probabilities(student, -1.0)


CFG = GPTConfig(vocab_size=9, context_length=8, n_layer=1, n_head=2, d_model=16)


def test_task_trains_the_student_and_leaves_the_teacher_frozen():
    keras.utils.set_random_seed(0)
    teacher = GPT(GPTConfig(vocab_size=9, context_length=8, n_layer=2, n_head=2, d_model=32))
    student = GPT(CFG)
    before_teacher = [w.numpy().copy() for w in teacher.weights]
    before_student = [w.numpy().copy() for w in student.weights]
    x = np.random.default_rng(0).integers(0, 9, size=(4, 8)).astype(np.int32)
    y = np.roll(x, -1, axis=1)
    task = make_distillation_task(
        student, teacher, keras.optimizers.Adam(1e-2), DistillationConfig(2.0, 0.5)
    )
    assert list(task.models) == ["student"]
    # the task's loss equals distillation_loss on the two models' logits
    loss, metrics = task.objectives[0].loss_fn((x, y), False)
    want = distillation_loss(student(x), teacher(x), y, DistillationConfig(2.0, 0.5))
    np.testing.assert_allclose(loss.numpy(), want.numpy(), rtol=1e-5)
    assert set(metrics) == {"soft", "hard", "bits_per_token"}
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    history = Trainer(task, TrainConfig(steps=10, jit_compile=False, progress="none")).fit(data)
    assert history.stop_reason == "completed"
    assert all(
        np.array_equal(a, w.numpy()) for a, w in zip(before_teacher, teacher.weights, strict=True)
    )
    assert not all(
        np.array_equal(a, w.numpy()) for a, w in zip(before_student, student.weights, strict=True)
    )
    # validation reports the student's data cross-entropy per token
    values = task.evaluate((x, y))
    total, count = values["loss"]
    np.testing.assert_allclose(
        float(total) / float(count), float(np.mean(next_token_loss(student(x), y))), rtol=1e-5
    )


def test_task_accepts_a_teacher_function_and_rejects_mismatched_teachers():
    keras.utils.set_random_seed(1)
    student = GPT(CFG)
    wide = GPT(GPTConfig(vocab_size=12, context_length=8, n_layer=1, n_head=2, d_model=16))
    short = GPT(GPTConfig(vocab_size=9, context_length=4, n_layer=1, n_head=2, d_model=16))
    optimizer = keras.optimizers.Adam(1e-3)
    config = DistillationConfig()
    with pytest.raises(ValueError, match="same vocabulary"):
        make_distillation_task(student, wide, optimizer, config)
    with pytest.raises(ValueError, match="cannot score"):
        make_distillation_task(student, short, optimizer, config)
    with pytest.raises(TypeError, match="teacher"):
        make_distillation_task(student, "teacher", optimizer, config)
    with pytest.raises(TypeError, match="student"):
        make_distillation_task(wide.layers[0], wide, optimizer, config)
    # a function that cuts the wider teacher's logits to the student's 9 tokens
    task = make_distillation_task(student, lambda x: wide(x)[..., :9], optimizer, config)
    x = np.zeros((2, 8), np.int32)
    loss, _ = task.objectives[0].loss_fn((x, x), False)
    want = distillation_loss(student(x), wide(x)[..., :9], x, config)
    np.testing.assert_allclose(loss.numpy(), want.numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match=r"\(x, y\)"):
        task.objectives[0].loss_fn((x,), False)
