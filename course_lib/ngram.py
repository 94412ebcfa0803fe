"""Count-based n-gram language models: the baselines a neural language model has to beat.

An n-gram model assumes that the next token depends only on the last ``n - 1`` tokens,
``q(x_t | x_<t) = q(x_t | x_{t-n+1} .. x_{t-1})``. :class:`NGramCounts` counts every n-gram
(``n = 1 .. max_order``) of a training sequence of ids in ``0 .. V-1`` and turns the counts into
conditionals with one of three estimates (``METHODS``):

* ``"mle"`` -- maximum likelihood, ``n(ctx, b) / n(ctx)``; zero for an n-gram never seen;
* ``"add-k"`` -- ``(n(ctx, b) + k) / (n(ctx) + k V)`` (``k = 1``: Laplace, add-one);
* ``"interpolated"`` -- interpolated absolute discounting (Ney, Essen & Kneser 1994):

  .. math:: q_n(b \\mid \\text{ctx}) = \\frac{\\max(n(\\text{ctx}, b) - D, 0)
            + D\\, T(\\text{ctx})\\, q_{n-1}(b \\mid \\text{ctx}')}{n(\\text{ctx})},

  with ``T(ctx)`` the number of distinct tokens seen after ``ctx``, ``ctx'`` the context
  without its oldest token, and the discount ``D = n_1 / (n_1 + 2 n_2)`` (``n_1``, ``n_2``: the
  numbers of n-grams of that order seen once and twice). A context never seen falls back to
  ``q_{n-1}``; the recursion ends at the uniform model ``q_0 = 1 / V``.

The first ``n - 1`` positions of a text have fewer than ``n - 1`` predecessors; position ``t``
(0-based) uses the model of order ``t + 1`` there, so every position gets a probability.

**Counting, vectorised.** The n-gram ``(a_1, ..., a_n)`` gets the integer code
``a_1 V^(n-1) + ... + a_n`` (base ``V``) and its context the code divided by ``V``.
``np.unique`` on the codes of all n-grams of the text gives the sorted distinct n-grams and
their counts; ``np.searchsorted`` looks other n-grams up in them. Codes are int64, so
``V ** max_order`` must stay below ``2 ** 63``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from course_lib.runtime.validation import check_array, check_choice, check_int, check_real

METHODS = ("mle", "add-k", "interpolated")


@dataclass(frozen=True)
class NGramTable:
    """The counts of one order ``n``, every array sorted by code.

    Attributes:
        keys: codes of the distinct n-grams seen, ``(K,)`` int64, sorted.
        counts: ``n(ctx, b)`` of each, ``(K,)`` int64.
        ctx_keys: codes of the distinct contexts (``key // V``), ``(K_ctx,)`` int64, sorted.
        ctx_counts: ``n(ctx) = sum_b n(ctx, b)`` of each context, ``(K_ctx,)`` int64.
        ctx_types: ``T(ctx)``, distinct tokens seen after each context, ``(K_ctx,)`` int64.
        discount: ``D = n_1 / (n_1 + 2 n_2)`` for interpolation (``0.5`` if no n-gram was
            seen once or twice, a value that keeps every probability positive).
    """

    keys: np.ndarray
    counts: np.ndarray
    ctx_keys: np.ndarray
    ctx_counts: np.ndarray
    ctx_types: np.ndarray
    discount: float


def _find(keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``values`` at the positions of ``queries`` in the sorted ``keys``; 0 where absent."""
    if len(keys) == 0:
        return np.zeros(np.shape(queries), np.int64)
    i = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    return np.where(keys[i] == queries, values[i], 0)


class NGramCounts:
    """The n-gram counts of a sequence of token ids, for orders ``1 .. max_order``.

    Args:
        ids: the training sequence, ints in ``0 .. vocab_size - 1``, shape ``(N,)``.
        vocab_size: ``V``.
        max_order: the longest n-gram counted (``>= 1``).

    Attributes:
        V, max_order: as given.
        tables: ``{n: NGramTable}`` for ``n = 1 .. max_order``.
    """

    def __init__(self, ids, vocab_size: int, max_order: int) -> None:
        self.V = check_int("vocab_size", vocab_size, minimum=1)
        self.max_order = check_int("max_order", max_order, minimum=1)
        if self.V**self.max_order >= 2**63:
            raise ValueError(
                f"vocab_size ** max_order = {self.V}**{self.max_order} does not fit the int64 "
                "codes of the n-grams: lower max_order"
            )
        ids = self._check_ids("ids", ids)
        self.tables: dict[int, NGramTable] = {}
        for n in range(1, self.max_order + 1):
            keys, counts = np.unique(self.codes(ids, n), return_counts=True)
            ctx_keys, which = np.unique(keys // self.V, return_inverse=True)
            n1 = int(np.sum(counts == 1))
            n2 = int(np.sum(counts == 2))
            discount = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
            self.tables[n] = NGramTable(
                keys=keys.astype(np.int64),
                counts=counts.astype(np.int64),
                ctx_keys=ctx_keys.astype(np.int64),
                ctx_counts=np.bincount(which, weights=counts).astype(np.int64),
                ctx_types=np.bincount(which).astype(np.int64),
                discount=float(discount),
            )

    def _check_ids(self, name: str, ids) -> np.ndarray:
        ids = check_array(name, ids, ndim=1, kind="int", dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= self.V):
            raise ValueError(
                f"{name} must be token ids in 0..{self.V - 1} (vocab_size={self.V}), "
                f"got values in [{ids.min()}, {ids.max()}]"
            )
        return ids

    def _check_order(self, order: int) -> int:
        return check_int("order", order, minimum=0, maximum=self.max_order)

    def codes(self, ids, n: int) -> np.ndarray:
        """Base-``V`` codes of the n-grams ending at positions ``n-1 .. len(ids)-1``:
        ``(max(len(ids) - n + 1, 0),)`` int64. ``n = 0`` gives one code 0 per position + 1."""
        ids = np.asarray(ids, np.int64)
        n = check_int("n", n, minimum=0)
        m = max(len(ids) - n + 1, 0)
        code = np.zeros(m, np.int64)
        for k in range(n):
            code = code * self.V + ids[k : k + m]
        return code

    def lookup(self, n: int, codes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For n-gram codes ``(M,)`` of order ``n``: ``n(ctx, b)``, ``n(ctx)`` and ``T(ctx)``,
        each ``(M,)`` int64, 0 for an n-gram or context never seen."""
        table = self.tables[check_int("n", n, minimum=1, maximum=self.max_order)]
        codes = np.asarray(codes, np.int64)
        ctx = codes // self.V
        return (
            _find(table.keys, table.counts, codes),
            _find(table.ctx_keys, table.ctx_counts, ctx),
            _find(table.ctx_keys, table.ctx_types, ctx),
        )

    def update(
        self,
        method: str,
        n: int,
        counts: np.ndarray,
        ctx_counts: np.ndarray,
        ctx_types: np.ndarray,
        lower: np.ndarray,
        k: float = 1.0,
    ) -> np.ndarray:
        """``q_n`` elementwise from the counts of order ``n`` and ``q_{n-1}`` (``lower``);
        every array ``(M,)``. The three formulas of the module docstring."""
        if method == "mle":
            return np.divide(
                counts,
                ctx_counts,
                out=np.zeros(len(counts)),
                where=ctx_counts > 0,
            )
        if method == "add-k":
            return (counts + k) / (ctx_counts + k * self.V)
        discount = self.tables[n].discount
        kept = np.maximum(counts - discount, 0.0)
        handed_down = discount * ctx_types * lower
        mixed = (kept + handed_down) / np.maximum(ctx_counts, 1)
        return np.where(ctx_counts > 0, mixed, lower)

    def position_counts(self, ids, order: int) -> list[tuple[np.ndarray, ...]]:
        """For ``n = 1 .. order``, the training counts behind positions ``t >= n - 1`` of
        ``ids``: ``[(n(ctx, b), n(ctx), T(ctx)), ...]``, each array ``(len(ids) - n + 1,)``.
        Pass the result to :meth:`probs` to score one text with several methods."""
        ids = self._check_ids("ids", ids)
        order = self._check_order(order)
        return [self.lookup(n, self.codes(ids, n)) for n in range(1, order + 1)]

    def probs(
        self,
        ids,
        order: int,
        method: str = "interpolated",
        k: float = 1.0,
        counts: list | None = None,
    ) -> np.ndarray:
        """``q(x_t | x_<t)`` at every position ``t`` of ``ids`` for the models of order
        ``0 .. order``: ``(order + 1, len(ids))``. Row ``n`` uses order ``min(n, t + 1)`` at
        position ``t``; row 0 is the uniform model. ``counts``: :meth:`position_counts` of
        the same ``ids`` and an order ``>= order``, to reuse a lookup."""
        ids = self._check_ids("ids", ids)
        order = self._check_order(order)
        method = check_choice("method", method, METHODS)
        k = check_real("k", k, minimum=0.0, strict=True)
        if counts is None:
            counts = self.position_counts(ids, order)
        elif len(counts) < order:
            raise ValueError(f"counts covers orders 1..{len(counts)}, need 1..{order}")
        q = [np.full(len(ids), 1.0 / self.V)]
        for n in range(1, order + 1):
            new = self.update(method, n, *counts[n - 1], q[-1][n - 1 :], k)
            # the first n - 1 positions keep the lower order
            q.append(np.concatenate([q[-1][: n - 1], new]))
        return np.array(q)

    def cross_entropy(
        self,
        ids,
        order: int,
        method: str = "interpolated",
        k: float = 1.0,
        counts: list | None = None,
    ) -> np.ndarray:
        """Mean ``-ln q(x_t | x_<t)`` over all positions of ``ids``, in nats per token, for
        the models of order ``0 .. order``: ``(order + 1,)``. ``inf`` where a model gives a
        position probability 0 (an unsmoothed model on unseen n-grams)."""
        q = self.probs(ids, order, method, k, counts)
        with np.errstate(divide="ignore"):
            return -np.log(q).mean(axis=1)

    def next_token_probs(
        self, context, order: int, method: str = "interpolated", k: float = 1.0
    ) -> np.ndarray:
        """``q(b | context)`` for all ``V`` tokens ``b``, from the last ``order - 1`` tokens of
        ``context`` (fewer if it is shorter): ``(V,)``, sums to 1 (``"mle"``: 0 everywhere if
        the context was never seen)."""
        context = self._check_ids("context", context)
        order = self._check_order(order)
        method = check_choice("method", method, METHODS)
        k = check_real("k", k, minimum=0.0, strict=True)
        candidates = np.arange(self.V)
        q = np.full(self.V, 1.0 / self.V)
        for n in range(1, min(order, len(context) + 1) + 1):
            ctx = context[len(context) - (n - 1) :] if n > 1 else context[:0]
            ctx_code = int(self.codes(ctx, n - 1)[0]) if n > 1 else 0
            found = self.lookup(n, ctx_code * self.V + candidates)
            q = self.update(method, n, *found, q, k)
        return q

    def training_entropy(self, n: int) -> float:
        """Cross-entropy of the unsmoothed model of order ``n`` on its own training text
        (positions ``t >= n - 1``), in nats per token, straight from the count table:
        ``-(1/N) sum n(ctx, b) log(n(ctx, b) / n(ctx))``; ``ln V`` for ``n = 0``."""
        n = self._check_order(n)
        if n == 0:
            return math.log(self.V)
        table = self.tables[n]
        ctx_of_key = np.searchsorted(table.ctx_keys, table.keys // self.V)
        counts = table.counts
        conditional = counts / table.ctx_counts[ctx_of_key]
        return float(-np.sum(counts * np.log(conditional)) / counts.sum())

    def sample(
        self,
        prompt,
        order: int,
        num_tokens: int,
        rng: np.random.Generator,
        method: str = "interpolated",
        temperature: float = 1.0,
    ) -> list[int]:
        """Ancestral sampling: ``x_t ~ q_tau(. | x_<t)``, one token at a time, where ``q_tau``
        is ``q^(1/tau)`` renormalised (``tau = temperature > 0``). Returns the ids of the
        prompt followed by ``num_tokens`` drawn ones."""
        ids = [int(i) for i in self._check_ids("prompt", prompt)]
        num_tokens = check_int("num_tokens", num_tokens, minimum=0)
        temperature = check_real("temperature", temperature, minimum=0.0, strict=True)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        for _ in range(num_tokens):
            q = self.next_token_probs(ids, order, method)
            if not q.sum() > 0:
                raise ValueError(
                    f"the {method!r} model gives every token probability 0 after this context: "
                    "use a smoothed method"
                )
            if temperature != 1.0:
                with np.errstate(divide="ignore"):
                    logits = np.log(q) / temperature
                q = np.exp(logits - logits.max())
                q = q / q.sum()
            ids.append(int(rng.choice(self.V, p=q)))
        return ids
