"""course_lib.ngram: counts, the three estimates, sampling, against brute-force Python."""

import math
from collections import Counter

import numpy as np
import pytest

from course_lib.ngram import METHODS, NGramCounts

TEXT = "abracadabra cadabra abra"
CHARS = sorted(set(TEXT))
IDS = np.array([CHARS.index(c) for c in TEXT])
V = len(CHARS)


@pytest.fixture(scope="module")
def model():
    return NGramCounts(IDS, V, 3)


def brute_counts(ids, n):
    return Counter(tuple(ids[i : i + n]) for i in range(len(ids) - n + 1))


def test_counts_equal_python_counters_for_every_order(model):
    for n in (1, 2, 3):
        expected = brute_counts(IDS.tolist(), n)
        table = model.tables[n]
        assert table.counts.sum() == len(IDS) - n + 1
        assert len(table.keys) == len(expected)
        for gram, count in expected.items():
            code = model.codes(np.array(gram), n)[0]
            assert model.lookup(n, [code])[0][0] == count
        contexts = Counter()
        followers: dict[tuple, set] = {}
        for gram, count in expected.items():
            contexts[gram[:-1]] += count
            followers.setdefault(gram[:-1], set()).add(gram[-1])
        for ctx, count in contexts.items():
            code = model.codes(np.array((*ctx, 0)), n)[0]
            _, ctx_count, ctx_types = model.lookup(n, [code])
            assert ctx_count[0] == count and ctx_types[0] == len(followers[ctx])
        n1 = sum(c == 1 for c in expected.values())
        n2 = sum(c == 2 for c in expected.values())
        assert math.isclose(table.discount, n1 / (n1 + 2 * n2))


def test_unseen_ngrams_have_count_zero(model):
    code = model.codes(np.array([CHARS.index("d"), CHARS.index("d")]), 2)
    assert model.lookup(2, code)[0][0] == 0


def test_mle_is_the_ratio_of_counts(model):
    bigrams, unigrams = brute_counts(IDS.tolist(), 2), brute_counts(IDS.tolist(), 1)
    q = model.probs(IDS, 2, "mle")
    for t in range(1, len(IDS)):
        a, b = IDS[t - 1], IDS[t]
        context_total = sum(c for g, c in bigrams.items() if g[0] == a)
        assert math.isclose(q[2, t], bigrams[(a, b)] / context_total)
    assert math.isclose(q[1, 0], unigrams[(IDS[0],)] / len(IDS))  # position 0 uses order 1


def test_interpolated_bigram_equals_the_formula_by_hand(model):
    unigram = np.bincount(IDS, minlength=V) / len(IDS)
    D1 = model.tables[1].discount
    q1 = (np.maximum(np.bincount(IDS, minlength=V) - D1, 0) + D1 * V / V) / len(IDS)
    bigrams = brute_counts(IDS.tolist(), 2)
    D = model.tables[2].discount
    a = CHARS.index("a")
    after_a = {g[1]: c for g, c in bigrams.items() if g[0] == a}
    n_ctx = sum(after_a.values())
    expected = np.array(
        [(max(after_a.get(b, 0) - D, 0) + D * len(after_a) * q1[b]) / n_ctx for b in range(V)]
    )
    np.testing.assert_allclose(model.next_token_probs([a], 2), expected, rtol=1e-12)
    assert unigram.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("method", ["add-k", "interpolated"])
def test_conditionals_sum_to_one_and_agree_with_probs_position_by_position(model, method):
    probe = np.array([CHARS.index(c) for c in "cabra dab"])
    q = model.probs(probe, 3, method)
    for t in range(len(probe)):
        for order in (0, 1, 2, 3):
            full = model.next_token_probs(probe[:t], order, method)
            assert full.sum() == pytest.approx(1.0, rel=1e-12)
            assert full[probe[t]] == pytest.approx(q[order, t], rel=1e-12)


def test_add_one_on_an_unseen_context_is_uniform(model):
    unseen = [CHARS.index("d"), CHARS.index("d")]
    np.testing.assert_allclose(model.next_token_probs(unseen, 3, "add-k"), np.full(V, 1 / V))


def test_training_entropy_equals_scoring_the_training_text(model):
    for n in (1, 2, 3):
        q = model.probs(IDS, n, "mle")[n, n - 1 :]
        assert model.training_entropy(n) == pytest.approx(-np.log(q).mean(), rel=1e-12)
    assert model.training_entropy(0) == pytest.approx(math.log(V))


def test_cross_entropy_is_the_mean_negative_log_probability_and_uniform_is_ln_v(model):
    probe = np.array([CHARS.index(c) for c in "dab ra"])
    ce = model.cross_entropy(probe, 3)
    q = model.probs(probe, 3)
    np.testing.assert_allclose(ce, -np.log(q).mean(axis=1))
    assert ce[0] == pytest.approx(math.log(V))
    assert np.isinf(model.cross_entropy([CHARS.index("d")] * 3, 2, "mle")[2])


def test_reused_counts_give_the_same_probabilities(model):
    counts = model.position_counts(IDS, 3)
    for method in METHODS:
        np.testing.assert_array_equal(
            model.probs(IDS, 3, method, counts=counts), model.probs(IDS, 3, method)
        )


def test_sampling_is_reproducible_in_range_and_cold_sampling_is_greedy(model):
    prompt = [CHARS.index("a")]
    a = model.sample(prompt, 3, 30, np.random.default_rng(0))
    b = model.sample(prompt, 3, 30, np.random.default_rng(0))
    assert a == b and len(a) == 31 and a[0] == prompt[0]
    assert all(0 <= i < V for i in a)
    cold = model.sample(prompt, 2, 1, np.random.default_rng(1), temperature=1e-3)
    assert cold[1] == int(np.argmax(model.next_token_probs(prompt, 2)))


def test_bad_inputs_raise_clear_errors(model):
    with pytest.raises(ValueError, match=f"ids must be token ids in 0..{V - 1}"):
        NGramCounts([0, V], V, 2)
    with pytest.raises(TypeError, match="ids must have a int dtype"):
        NGramCounts([0.5, 1.0], V, 2)
    with pytest.raises(ValueError, match="ids must have 1 dimension"):
        NGramCounts([[0, 1]], V, 2)
    with pytest.raises(TypeError, match="max_order must be an integer"):
        NGramCounts(IDS, V, True)
    with pytest.raises(ValueError, match="int64"):
        NGramCounts(IDS, 77, 11)
    with pytest.raises(ValueError, match="order must be an integer >= 0 and <= 3"):
        model.probs(IDS, 4)
    with pytest.raises(ValueError, match="method must be one of"):
        model.probs(IDS, 2, "kneser-ney")
    with pytest.raises(ValueError, match="temperature must be > 0"):
        model.sample([0], 2, 5, np.random.default_rng(0), temperature=0.0)
    with pytest.raises(TypeError, match="rng must be a numpy"):
        model.sample([0], 2, 5, 0)
    with pytest.raises(ValueError, match="every token probability 0"):
        model.sample([CHARS.index("d"), CHARS.index("d")], 3, 1, np.random.default_rng(0), "mle")
