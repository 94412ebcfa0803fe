"""How long training an LLM takes: ``6 N D`` FLOPs over the FLOP/s a cluster achieves.

The estimator of the FAQ's Q5 (``09_faq/01_questions_1_to_5.ipynb``)::

    t = 6 N D / (n P u)

with ``N`` parameters, ``D`` training tokens, ``n`` devices of peak ``P`` FLOP/s each, and ``u``
the model FLOPs utilisation (MFU) the run reaches. :func:`implied_utilisation` inverts it: the
``u`` that a reported training time or a reported number of device-hours implies. The FLOPs of one
training token of a given model shape, attention included, are
:func:`course_lib.hardware.cost_model.training_flops_per_token`.
"""

from __future__ import annotations

from course_lib.runtime.validation import check_int, check_positive, check_real


def training_flops(n_params: float, n_tokens: float) -> float:
    """``C = 6 N D``: 2 FLOPs per weight per token forward, 4 backward (gradients with
    respect to activations and to weights). GPT-3: ``6 x 175e9 x 300e9 = 3.15e23``."""
    return 6.0 * check_positive("n_params", n_params) * check_positive("n_tokens", n_tokens)


def training_time(flops: float, *, n_devices: int, peak_flops: float, utilisation: float) -> float:
    """Seconds to do ``flops`` on ``n_devices`` each reaching ``utilisation x peak_flops``.

    ``utilisation`` is the model FLOPs utilisation (MFU): the FLOPs the model needs (``6 N D``,
    no recomputation) per second, over the devices' peak. Published large runs: GPT-3 21.3 %,
    Gopher 32.5 %, Megatron-Turing NLG 30.2 %, PaLM 46.2 % (Chowdhery et al. 2022, "PaLM",
    arXiv:2204.02311, Table 3). Counting recomputed activations gives the larger *hardware*
    FLOPs utilisation (PaLM: 57.8 %)."""
    utilisation = check_real("utilisation", utilisation, minimum=0, maximum=1)
    if utilisation == 0:
        raise ValueError("utilisation must be > 0 and <= 1, got 0.0")
    n_devices = check_int("n_devices", n_devices, minimum=1)
    rate = n_devices * check_positive("peak_flops", peak_flops) * utilisation
    return check_positive("flops", flops) / rate


def training_seconds(
    n_params: float,
    n_tokens: float,
    *,
    n_devices: int,
    peak_flops: float,
    utilisation: float,
) -> float:
    """The training-time estimator: seconds to train ``N = n_params`` parameters on
    ``D = n_tokens`` tokens on ``n`` devices of peak ``P`` FLOP/s each at model FLOPs
    utilisation ``u`` (MFU): ``t = 6 N D / (n P u)``.

    It is :func:`training_time` of :func:`training_flops`. ``6 N D`` leaves out attention's
    ``12 L T d`` FLOPs per token (see :func:`training_flops_per_token`; a few % for GPT-3 at
    ``T = 2048``, more for long contexts and small models), recomputed activations, restarts
    and idle time: read ``t`` as the time of an uninterrupted run at utilisation ``u``.
    GPT-3 (``N = 175e9``, ``D = 300e9``) on 1,024 A100s (312e12 FLOP/s in bfloat16) at
    ``u = 0.4`` takes 2.47e6 s, about 29 days."""
    return training_time(
        training_flops(n_params, n_tokens),
        n_devices=n_devices,
        peak_flops=peak_flops,
        utilisation=utilisation,
    )


def implied_utilisation(
    flops: float, *, seconds: float, n_devices: int, peak_flops: float
) -> float:
    """The model FLOPs utilisation a reported run implies, the inverse of
    :func:`training_time`: ``u = F / (n P t)``, with ``F`` the FLOPs the model needs
    (``6 N D``, or the reported compute) and ``t`` the wall-clock ``seconds`` on
    ``n = n_devices`` devices of peak ``P = peak_flops``. A paper that reports device-hours
    ``H`` instead gives ``u`` with ``seconds = 3600 H`` and ``n_devices = 1``.

    Time lost to restarts, evaluation or checkpoints, and FLOPs the count leaves out (attention
    in ``6 N D``, recomputation), all lower ``u``. A result above 1 means ``P`` is not the peak
    the run used (for example a float32 peak for a bfloat16 run): it is returned, not refused,
    so you can see it."""
    f = check_positive("flops", flops)
    t = check_positive("seconds", seconds)
    n = check_int("n_devices", n_devices, minimum=1)
    return f / (n * check_positive("peak_flops", peak_flops) * t)
