"""Knowledge distillation of a GPT: a small *student* learns from a large *teacher*.

Hinton, Vinyals & Dean (2015, *Distilling the Knowledge in a Neural Network*,
arXiv:1503.02531) train the student on the teacher's **soft targets**: the teacher's
probabilities softened by a temperature :math:`\\tau`,

.. math:: p^{\\tau}_i = \\frac{\\exp(z_i / \\tau)}{\\sum_j \\exp(z_j / \\tau)},

for logits :math:`z` (teacher :math:`z^T`, student :math:`z^S`). At :math:`\\tau > 1` the
distribution is flatter, so the small probabilities the teacher gives to the *wrong* tokens
(which tokens it finds similar) weigh more. The loss of one position mixes the soft term and
the usual cross-entropy with the data's next token :math:`y`:

.. math:: \\ell = \\alpha\\, \\tau^2\\, \\mathrm{KL}\\big(p^{\\tau}(z^T) \\| p^{\\tau}(z^S)\\big)
          + (1 - \\alpha)\\, \\big(-\\log p^{1}_y(z^S)\\big).

The gradient of the KL term with respect to :math:`z^S` is
:math:`(p^{\\tau}(z^S) - p^{\\tau}(z^T)) / \\tau`, which shrinks like :math:`1/\\tau^2` for
large :math:`\\tau` (it tends to :math:`(z^S - z^T)/(V\\tau^2)` for zero-mean logits);
the factor :math:`\\tau^2` keeps the soft term's share of the gradient roughly independent of
the temperature, as the paper recommends. The KL term differs from the cross-entropy with
the soft targets by the teacher's entropy, a constant for the student, so both give the
same gradients; the KL is 0 when the student equals the teacher.

A batch is ``(x, y)``, token ids ``(B, T)`` each, as for :func:`course_lib.gpt.make_task`.
The teacher is frozen: its logits are computed inside each training step, in inference mode,
and no gradient reaches it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import tensorflow as tf

from course_lib.gpt.loss import LN_2, lm_eval_fn
from course_lib.gpt.model import GPT, check_tokens
from course_lib.runtime.validation import check_real
from course_lib.training import Objective, Task

TeacherFn = Callable[[tf.Tensor], tf.Tensor]


@dataclass(frozen=True)
class DistillationConfig:
    """The two numbers of the distillation loss.

    Attributes:
        temperature: :math:`\\tau > 0`, the softening of both distributions in the soft term
            (Hinton et al. used values from 1 to 20; 1 means no softening).
        alpha: :math:`\\alpha \\in [0, 1]`, the weight of the soft term; ``1 - alpha`` is the
            weight of the data's cross-entropy (``alpha = 0``: ordinary training).
    """

    temperature: float = 2.0
    alpha: float = 0.5

    def __post_init__(self) -> None:
        check_real("DistillationConfig.temperature", self.temperature, minimum=0.0, strict=True)
        check_real("DistillationConfig.alpha", self.alpha, minimum=0.0, maximum=1.0)


def softened_probabilities(logits: tf.Tensor, temperature: float) -> tf.Tensor:
    """``softmax(logits / tau)`` over the last axis: ``(..., V) -> (..., V)``, float32."""
    temperature = check_real("temperature", temperature, minimum=0.0, strict=True)
    return tf.nn.softmax(tf.cast(logits, tf.float32) / temperature, axis=-1)


def _check_logits(student_logits: tf.Tensor, teacher_logits: tf.Tensor, y: tf.Tensor) -> None:
    s, t, labels = student_logits.shape, teacher_logits.shape, y.shape
    if s.rank != 3 or t.rank != 3 or labels.rank != 2:
        raise ValueError(
            "distillation needs student and teacher logits (B, T, V) and targets y (B, T), got "
            f"shapes {tuple(s)}, {tuple(t)} and {tuple(labels)}"
        )
    if not (s.is_compatible_with(t) and s[:2].is_compatible_with(labels)):
        raise ValueError(
            "student logits, teacher logits (B, T, V) and y (B, T) must agree in B, T and V, got "
            f"{tuple(s)}, {tuple(t)} and {tuple(labels)}"
        )


def distillation_terms(
    student_logits: tf.Tensor,
    teacher_logits: tf.Tensor,
    y: tf.Tensor,
    temperature: float,
) -> tuple[tf.Tensor, tf.Tensor]:
    """The two terms of the loss, each the mean over the ``T`` positions: ``(soft, hard)``,
    both ``(B,)`` in nats.

    ``soft`` is :math:`\\mathrm{KL}(p^{\\tau}(z^T) \\| p^{\\tau}(z^S))` (without the factor
    :math:`\\tau^2`), ``hard`` the cross-entropy :math:`-\\log p^1_y(z^S)` with the data.
    ``student_logits`` and ``teacher_logits`` ``(B, T, V)``, ``y`` ``(B, T)`` int."""
    temperature = check_real("temperature", temperature, minimum=0.0, strict=True)
    student_logits = tf.cast(tf.convert_to_tensor(student_logits), tf.float32)
    teacher_logits = tf.cast(tf.convert_to_tensor(teacher_logits), tf.float32)
    y = tf.convert_to_tensor(y)
    _check_logits(student_logits, teacher_logits, y)
    log_p_teacher = tf.nn.log_softmax(teacher_logits / temperature, axis=-1)  # (B, T, V)
    log_p_student = tf.nn.log_softmax(student_logits / temperature, axis=-1)  # (B, T, V)
    # (B, T): sum_i p_i^T (log p_i^T - log p_i^S)
    kl = tf.reduce_sum(tf.exp(log_p_teacher) * (log_p_teacher - log_p_student), axis=-1)
    # (B, T)
    hard = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=student_logits)
    return tf.reduce_mean(kl, axis=1), tf.reduce_mean(hard, axis=1)


def distillation_loss(
    student_logits: tf.Tensor,
    teacher_logits: tf.Tensor,
    y: tf.Tensor,
    config: DistillationConfig,
) -> tf.Tensor:
    """:math:`\\alpha \\tau^2\\, \\mathrm{soft} + (1 - \\alpha)\\, \\mathrm{hard}` per sequence,
    ``(B,)`` nats, with the terms of :func:`distillation_terms`."""
    if not isinstance(config, DistillationConfig):
        raise TypeError(f"config must be a DistillationConfig, got {type(config).__name__}")
    soft, hard = distillation_terms(student_logits, teacher_logits, y, config.temperature)
    return config.alpha * config.temperature**2 * soft + (1.0 - config.alpha) * hard


def make_distillation_task(
    student: GPT,
    teacher: GPT | TeacherFn,
    optimizer: keras.optimizers.Optimizer,
    config: DistillationConfig,
) -> Task:
    """A :class:`~course_lib.training.Task` that trains ``student`` on :func:`distillation_loss`.

    ``teacher`` is a trained :class:`~course_lib.gpt.GPT` with the student's vocabulary, or
    any function ``x (B, T) -> logits (B, T, V)`` (for example a GPT whose logits are cut to
    the student's vocabulary). It is called in inference mode inside every step, behind
    ``tf.stop_gradient``; it is not in the task's models, so it is neither trained nor
    checkpointed. Training metrics: ``soft`` (the KL, nats), ``hard`` (the data's
    cross-entropy, nats) and ``bits_per_token`` of the hard term. Validation reports the
    student's cross-entropy with the data per token, ``loss`` and ``bits_per_token``
    (:func:`course_lib.gpt.lm_eval_fn`), the same numbers :func:`course_lib.gpt.make_task`
    reports, so a distilled student and one trained on the data alone compare directly."""
    if not isinstance(student, GPT):
        raise TypeError(f"student must be a course_lib.gpt.GPT, got {type(student).__name__}")
    if not isinstance(config, DistillationConfig):
        raise TypeError(f"config must be a DistillationConfig, got {type(config).__name__}")
    if isinstance(teacher, GPT):
        if teacher.cfg.vocab_size != student.cfg.vocab_size:
            raise ValueError(
                f"teacher and student need the same vocabulary, got V = {teacher.cfg.vocab_size} "
                f"and {student.cfg.vocab_size}; pass a function that maps the teacher's logits "
                "to the student's vocabulary instead"
            )
        if teacher.cfg.context_length < student.cfg.context_length:
            raise ValueError(
                f"the teacher reads at most {teacher.cfg.context_length} tokens, the student "
                f"{student.cfg.context_length}: the teacher cannot score the student's windows"
            )
        model = teacher

        def teacher_fn(x: tf.Tensor) -> tf.Tensor:
            return model(x, training=False)

    elif callable(teacher):
        teacher_fn = teacher
    else:
        raise TypeError(
            f"teacher must be a GPT or a function x -> logits, got {type(teacher).__name__}"
        )

    @tf.autograph.experimental.do_not_convert
    def loss_fn(batch, training: bool):
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise ValueError("a distillation batch is (x, y): token ids (B, T) each")
        x, y = batch
        check_tokens(x, student.cfg, "x")
        check_tokens(y, student.cfg, "y")
        student_logits = student(x, training=training)  # (B, T, V)
        teacher_logits = tf.stop_gradient(tf.cast(teacher_fn(x), tf.float32))  # (B, T, V)
        soft, hard = distillation_terms(student_logits, teacher_logits, y, config.temperature)
        loss = config.alpha * config.temperature**2 * soft + (1.0 - config.alpha) * hard
        return loss, {"soft": soft, "hard": hard, "bits_per_token": hard / LN_2}

    return Task(
        objectives=[Objective("loss", loss_fn, student, optimizer)],
        models={"student": student},
        eval_fn=lm_eval_fn(student),
    )
