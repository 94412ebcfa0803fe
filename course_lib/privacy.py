"""What a language model remembers: canaries and their exposure (Carlini et al. 2019).

A *canary* is a made-up secret planted in the training text, a fixed template with a random
filling, here ``"my secret number is "`` followed by ``k`` random digits. The fillings form the
*randomness space* ``R`` of all ``|R| = 10^k`` digit strings. After training, every filling
``r`` gets the model's log-likelihood ``log p(prefix + r)``; the **rank** of a canary is the
number of fillings at least as likely as it (the canary itself included, so ``rank >= 1``;
ties count against it) and its **exposure**, in bits, is

    exposure(r) = log2 |R| - log2 rank(r)            (0 <= exposure <= log2 |R|)

(Carlini, Liu, Erlingsson, Kos and Song, "The Secret Sharer: Evaluating and Testing Unintended
Memorization in Neural Networks", USENIX Security 2019, arXiv:1802.08232; they rank by
log-perplexity ``-log2 p``, which orders the fillings the same way). A canary the model never
saw has a rank uniform on ``1..|R|`` (the model does not depend on it), so its expected
exposure is ``log2 |R| - log2(|R|!) / |R|``, about ``1 / ln 2 = 1.44`` bits
(:func:`chance_exposure`); a memorised canary ranks first and reaches ``log2 |R|``.

This module knows nothing about the model: the caller passes a scoring function
``log_prob(texts) -> (n,) array`` (natural log-likelihoods). :func:`text_log_prob_fn` builds one
from any function mapping token ids ``(B, T)`` to next-token logits ``(B, T, V)``, such as a
``course_lib.gpt.GPT``. :func:`exposures` enumerates every filling exactly (``k <= 6``, in
batches); :func:`sampled_exposure` estimates the exposure from a uniform sample of fillings, the
paper's estimate ``-log2 Pr_r'[log p(r') >= log p(r)]`` with the probability replaced by a
sample fraction (it cannot show more than about ``log2`` of the sample size).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from course_lib.runtime.validation import check_array, check_int

DIGITS = "0123456789"
DEFAULT_PREFIX = "my secret number is "
MAX_ENUMERATED_DIGITS = 6  # 10^6 fillings: the largest space scored exactly

LogProbFn = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Canary:
    """One canary: the line ``prefix + secret``, planted ``repetitions`` times
    (``0``: a reference canary, never planted, that measures chance)."""

    secret: str
    repetitions: int
    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        if not self.secret or any(c not in DIGITS for c in self.secret):
            raise ValueError(
                f"a canary's secret must be a non-empty digit string, got {self.secret!r}"
            )
        check_int("Canary.repetitions", self.repetitions, minimum=0)
        if "\n" in self.prefix:
            raise ValueError("a canary is one line: its prefix must not contain a newline")

    @property
    def text(self) -> str:
        """The canary's line, without the newline: ``prefix + secret``."""
        return self.prefix + self.secret

    @property
    def index(self) -> int:
        """The secret as an integer: its position among the fillings ``00..0 .. 99..9``."""
        return int(self.secret)


def make_canaries(
    repetitions: Sequence[int], num_digits: int, *, seed: int, prefix: str = DEFAULT_PREFIX
) -> list[Canary]:
    """One canary per entry of ``repetitions`` (e.g. ``[1, 10, 100, 0, 0]``), with distinct
    secrets of ``num_digits`` digits drawn uniformly without replacement from all
    ``10**num_digits`` fillings by ``numpy.random.default_rng(seed)``."""
    num_digits = check_int("num_digits", num_digits, minimum=1, maximum=18)
    seed = check_int("seed", seed, minimum=0)
    reps = [check_int("repetitions[i]", r, minimum=0) for r in repetitions]
    space = 10**num_digits
    if len(reps) > space:
        raise ValueError(f"{len(reps)} distinct canaries do not fit in {space} fillings")
    rng = np.random.default_rng(seed)
    if space <= 10**7:
        indices = rng.choice(space, size=len(reps), replace=False)
    else:  # too many fillings to permute: draw until distinct
        chosen: set[int] = set()
        while len(chosen) < len(reps):
            chosen.add(int(rng.integers(0, space)))
        indices = np.array(sorted(chosen))
        rng.shuffle(indices)
    return [
        Canary(f"{int(i):0{num_digits}d}", r, prefix) for i, r in zip(indices, reps, strict=True)
    ]


def insert_canaries(text: str, canaries: Sequence[Canary], *, seed: int) -> str:
    """``text`` with each canary's line inserted ``repetitions`` times, each copy as a line of
    its own before a line of ``text`` chosen uniformly at random (with replacement) by
    ``numpy.random.default_rng(seed)``. Removing the inserted lines gives ``text`` back."""
    if not isinstance(text, str) or not text:
        raise ValueError("text must be a non-empty str")
    seed = check_int("seed", seed, minimum=0)
    lines = text.split("\n")  # n pieces; a canary goes before piece i, i in 0..n-1
    rng = np.random.default_rng(seed)
    before: list[list[str]] = [[] for _ in lines]
    for canary in canaries:
        for i in rng.integers(0, len(lines), size=canary.repetitions):
            before[int(i)].append(canary.text)
    out: list[str] = []
    for planted, line in zip(before, lines, strict=True):
        out.extend(planted)
        out.append(line)
    return "\n".join(out)


def all_fillings(num_digits: int) -> list[str]:
    """Every filling ``00..0`` to ``99..9`` of ``num_digits`` digits, in order (``10**k``)."""
    num_digits = check_int("num_digits", num_digits, minimum=1, maximum=MAX_ENUMERATED_DIGITS)
    return [f"{i:0{num_digits}d}" for i in range(10**num_digits)]


def ranks(scores: np.ndarray, indices: Sequence[int]) -> np.ndarray:
    """``rank[i] = |{r' : scores[r'] >= scores[indices[i]]}|`` (1 = the most likely; a tie
    counts against the canary, as in the paper's ``Px(r') <= Px(r)``). ``scores`` ``(|R|,)``
    are log-likelihoods of all fillings; returns int64 ``(len(indices),)``."""
    scores = check_array("scores", scores, ndim=1, kind="number", nonempty=True)
    idx = np.asarray(indices, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= len(scores)):
        raise ValueError(f"indices must lie in 0..{len(scores) - 1}")
    ordered = np.sort(scores)
    # number of scores >= s = n - (number of scores < s)
    return len(scores) - np.searchsorted(ordered, scores[idx], side="left")


def exposure_from_rank(rank, space_size: int) -> np.ndarray:
    """``log2 |R| - log2 rank`` in bits, for ranks ``1..|R|`` (array or scalar)."""
    space_size = check_int("space_size", space_size, minimum=1)
    rank = np.asarray(rank, dtype=np.float64)
    if np.any(rank < 1) or np.any(rank > space_size):
        raise ValueError(f"a rank lies in 1..{space_size}")
    return np.log2(space_size) - np.log2(rank)


def chance_exposure(space_size: int) -> float:
    """Expected exposure of a canary whose rank is uniform on ``1..|R|`` (a canary the model
    never saw): ``log2 |R| - log2(|R|!) / |R|``, which tends to ``1 / ln 2`` bits."""
    space_size = check_int("space_size", space_size, minimum=1)
    return math.log2(space_size) - math.lgamma(space_size + 1) / math.log(2) / space_size


@dataclass(frozen=True)
class ExposureResult:
    """The exact exposure of some canaries over all ``|R| = 10^k`` fillings.

    Attributes:
        canaries: the canaries, in the order of ``ranks`` and ``exposures``.
        scores: float64 ``(|R|,)``, ``log p(prefix + filling)`` of every filling, in order.
        ranks: int64 ``(n,)``, each canary's rank (1 = the most likely filling).
        exposures: float64 ``(n,)``, bits.
    """

    canaries: tuple[Canary, ...]
    scores: np.ndarray
    ranks: np.ndarray
    exposures: np.ndarray

    @property
    def space_size(self) -> int:
        """``|R|``, the number of fillings."""
        return len(self.scores)

    @property
    def max_exposure(self) -> float:
        """``log2 |R|``: the exposure of a canary ranked first."""
        return math.log2(self.space_size)

    def by_repetitions(self) -> dict[int, np.ndarray]:
        """Exposures grouped by how often the canary was planted (``0``: never)."""
        groups: dict[int, list[float]] = {}
        for canary, e in zip(self.canaries, self.exposures, strict=True):
            groups.setdefault(canary.repetitions, []).append(float(e))
        return {r: np.array(groups[r]) for r in sorted(groups)}


def _check_canaries(canaries: Sequence[Canary]) -> tuple[Canary, ...]:
    canaries = tuple(canaries)
    if not canaries or not all(isinstance(c, Canary) for c in canaries):
        raise ValueError("canaries must be a non-empty sequence of Canary")
    if len({(c.prefix, len(c.secret)) for c in canaries}) != 1:
        raise ValueError("all canaries must share one prefix and one number of digits")
    return canaries


def score_fillings(
    log_prob: LogProbFn, prefix: str, num_digits: int, *, batch_size: int = 4096
) -> np.ndarray:
    """float64 ``(10**num_digits,)``: ``log_prob([prefix + r])`` for every filling ``r`` in
    order, scored ``batch_size`` texts per call."""
    batch_size = check_int("batch_size", batch_size, minimum=1)
    texts = [prefix + r for r in all_fillings(num_digits)]
    parts = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        scores = check_array("log_prob(texts)", log_prob(chunk), shape=(len(chunk),), kind="number")
        parts.append(scores.astype(np.float64))
    return np.concatenate(parts)


def exposures(
    log_prob: LogProbFn, canaries: Sequence[Canary], *, batch_size: int = 4096
) -> ExposureResult:
    """The exact exposure of each canary: every one of the ``10^k`` fillings of the canaries'
    common prefix is scored by ``log_prob`` (:func:`score_fillings`), then ranked
    (:func:`ranks`, :func:`exposure_from_rank`). ``k <= 6``."""
    canaries = _check_canaries(canaries)
    num_digits = len(canaries[0].secret)
    if num_digits > MAX_ENUMERATED_DIGITS:
        raise ValueError(
            f"{num_digits} digits make 10^{num_digits} fillings, too many to score exactly "
            f"(at most {MAX_ENUMERATED_DIGITS} digits); use sampled_exposure"
        )
    scores = score_fillings(log_prob, canaries[0].prefix, num_digits, batch_size=batch_size)
    canary_ranks = ranks(scores, [c.index for c in canaries])
    return ExposureResult(
        canaries, scores, canary_ranks, exposure_from_rank(canary_ranks, len(scores))
    )


def sampled_exposure(log_prob: LogProbFn, canary: Canary, num_samples: int, *, seed: int) -> float:
    """Estimate of the exposure from ``num_samples`` fillings drawn uniformly (with
    replacement) by ``numpy.random.default_rng(seed)``: ``-log2`` of the fraction of draws at
    least as likely as the canary, counting the canary itself once,
    ``(1 + #{draws >= canary}) / (1 + num_samples)``, so the estimate never exceeds
    ``log2(1 + num_samples)``."""
    num_samples = check_int("num_samples", num_samples, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    k = len(canary.secret)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, 10, size=(num_samples, k))
    texts = [canary.prefix + "".join(DIGITS[d] for d in row) for row in draws]
    scores = check_array(
        "log_prob(texts)", log_prob([canary.text, *texts]), shape=(num_samples + 1,), kind="number"
    )
    at_least = int(np.sum(scores[1:] >= scores[0]))
    return -math.log2((1 + at_least) / (1 + num_samples))


def text_log_prob_fn(
    logits_fn: Callable[[np.ndarray], object],
    encode: Callable[[str], np.ndarray],
    *,
    context: str = "\n",
    batch_size: int = 4096,
) -> LogProbFn:
    """A scorer ``log_prob(texts) -> float64 (n,)``: ``log p(text | context)``, the sum over
    the text's tokens of ``log softmax(logits)`` at the token that follows.

    ``logits_fn`` maps int32 token ids ``(B, T)`` to next-token logits ``(B, T, V)`` (a
    ``course_lib.gpt.GPT`` does; ``logits[:, t]`` scores token ``t + 1``); ``encode`` maps a
    string to token ids ``(n,)``. Each text is scored after ``context`` (for a canary: the
    newline that starts its line), which must not be empty: the first token of the text needs
    a position to be predicted from. Texts are grouped by encoded length and run
    ``batch_size`` at a time; the log-softmax is taken in float64."""
    if not isinstance(context, str) or not context:
        raise ValueError("context must be a non-empty str (e.g. the newline before a line)")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    n_context = len(encode(context))

    def log_prob(texts: Sequence[str]) -> np.ndarray:
        encoded = [np.asarray(encode(context + t), dtype=np.int32) for t in texts]
        out = np.empty(len(encoded), dtype=np.float64)
        by_length: dict[int, list[int]] = {}
        for i, ids in enumerate(encoded):
            by_length.setdefault(len(ids), []).append(i)
        for length, members in by_length.items():
            for start in range(0, len(members), batch_size):
                rows = members[start : start + batch_size]
                tokens = np.stack([encoded[i] for i in rows])  # (b, n)
                logits = np.asarray(logits_fn(tokens[:, :-1]), dtype=np.float64)  # (b, n-1, V)
                logits = logits - logits.max(axis=-1, keepdims=True)
                log_softmax = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
                targets = tokens[:, 1:]  # (b, n-1): the token each position predicts
                picked = np.take_along_axis(log_softmax, targets[..., None], axis=-1)[..., 0]
                # positions n_context-1 .. n-2 predict the text's tokens
                out[rows] = picked[:, n_context - 1 : length - 1].sum(axis=1)
        return out

    return log_prob
