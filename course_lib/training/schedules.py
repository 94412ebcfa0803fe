"""Learning-rate schedules: linear warm-up, then a cosine decay.

The course trains its GPTs (and, in chapter 05, its GANs) with the schedule of GPT-style
training (Radford et al. 2018; Loshchilov and Hutter 2017, "SGDR", for the cosine): for
``t < t_w`` the rate rises linearly from 0 to its peak ``eta``, then it follows half a cosine
down to ``alpha * eta`` at step ``T``:

    eta_t = eta * t / t_w                                                  for t < t_w
    eta_t = eta * (alpha + (1 - alpha) * (1 + cos(pi * (t - t_w) / (T - t_w))) / 2)   for t >= t_w

Keras' ``CosineDecay`` with ``warmup_steps`` computes exactly this; :func:`warmup_cosine`
builds it from the four numbers a recipe states, and checks them.
"""

from __future__ import annotations

import keras

from course_lib.runtime.validation import check_int, check_real


def warmup_cosine(
    peak: float, *, total_steps: int, warmup_steps: int = 0, final_fraction: float = 0.1
) -> keras.optimizers.schedules.LearningRateSchedule:
    """The warm-up + cosine schedule ``eta_t`` above, as a Keras schedule.

    Args:
        peak: the peak learning rate ``eta`` (> 0), reached at step ``warmup_steps``.
        total_steps: ``T``, the step at which the rate reaches ``final_fraction * peak``
            (it stays there afterwards).
        warmup_steps: ``t_w``, steps of linear warm-up from 0 (0: start at the peak).
        final_fraction: ``alpha``, the final rate as a fraction of the peak, in [0, 1].

    Returns:
        A ``keras.optimizers.schedules.CosineDecay``: pass it to an optimizer as its
        ``learning_rate``; ``schedule(t)`` is ``eta_t``.
    """
    peak = check_real("peak", peak, minimum=0.0, strict=True)
    total_steps = check_int("total_steps", total_steps, minimum=1)
    warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0, maximum=total_steps - 1)
    alpha = check_real("final_fraction", final_fraction, minimum=0.0, maximum=1.0)
    if warmup_steps == 0:
        return keras.optimizers.schedules.CosineDecay(peak, total_steps, alpha=alpha)
    return keras.optimizers.schedules.CosineDecay(
        0.0,
        total_steps - warmup_steps,
        alpha=alpha,
        warmup_target=peak,
        warmup_steps=warmup_steps,
    )
