"""course_lib.privacy: canaries, their ranks and exposures (Carlini et al. 2019), checked on
hand-built scorers with known ranks, and end to end on a tiny GPT that memorises a planted
canary."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib.privacy import (
    DEFAULT_PREFIX,
    DIGITS,
    Canary,
    all_fillings,
    chance_exposure,
    exposure_from_rank,
    exposures,
    insert_canaries,
    make_canaries,
    ranks,
    sampled_exposure,
    score_fillings,
    text_log_prob_fn,
)

TARGET = 4242  # the hand-built scorer's most likely filling


def distance_scorer(texts):
    """log p = -|filling - 4242|: fillings at equal distance tie (4241 and 4243, ...)."""
    return np.array([-abs(int(t[len(DEFAULT_PREFIX) :]) - TARGET) for t in texts], float)


def test_make_canaries_are_distinct_seeded_and_keep_their_repetitions():
    canaries = make_canaries([1, 10, 100, 0, 0, 0], 4, seed=3)
    assert [c.repetitions for c in canaries] == [1, 10, 100, 0, 0, 0]
    assert len({c.secret for c in canaries}) == 6
    assert all(len(c.secret) == 4 and set(c.secret) <= set(DIGITS) for c in canaries)
    assert all(c.text == DEFAULT_PREFIX + c.secret for c in canaries)
    assert make_canaries([1, 10, 100, 0, 0, 0], 4, seed=3) == canaries
    assert make_canaries([1, 10, 100, 0, 0, 0], 4, seed=4) != canaries
    with pytest.raises(ValueError, match="do not fit"):
        make_canaries([0] * 11, 1, seed=0)


def test_make_canaries_draw_every_filling_uniformly():
    firsts = [make_canaries([0], 1, seed=s)[0].secret for s in range(2000)]
    counts = np.array([firsts.count(d) for d in DIGITS])
    # 200 expected per digit, standard deviation about 13.4
    assert counts.min() > 150 and counts.max() < 250


def test_canary_rejects_a_non_digit_secret_and_a_multiline_prefix():
    with pytest.raises(ValueError, match="digit"):
        Canary("12a4", 1)
    with pytest.raises(ValueError, match="newline"):
        Canary("1234", 1, prefix="two\nlines ")
    with pytest.raises(ValueError):
        Canary("1234", -1)


def test_insert_canaries_plants_each_copy_as_a_line_and_nothing_else():
    text = "first line\nsecond line\n\nthird line\nlast"
    canaries = [Canary("0042", 3), Canary("9999", 1), Canary("1234", 0)]
    planted = insert_canaries(text, canaries, seed=0)
    lines = planted.split("\n")
    for canary in canaries:
        assert lines.count(canary.text) == canary.repetitions
    kept = [line for line in lines if line not in {c.text for c in canaries}]
    assert "\n".join(kept) == text
    assert insert_canaries(text, canaries, seed=0) == planted
    spots = {
        insert_canaries(text, [Canary("0042", 1)], seed=s)
        .split("\n")
        .index("my secret number is 0042")
        for s in range(40)
    }
    assert spots == set(range(5))  # before each of the 5 lines


def test_ranks_count_the_fillings_at_least_as_likely_ties_against_the_canary():
    scores = np.array([-3.0, -1.0, -2.0, -1.0, -5.0])
    assert ranks(scores, [1, 3, 2, 0, 4]).tolist() == [2, 2, 3, 4, 5]
    with pytest.raises(ValueError):
        ranks(scores, [5])


def test_exposure_from_rank_known_values():
    assert exposure_from_rank(1, 1024) == pytest.approx(10.0)
    assert exposure_from_rank(1024, 1024) == pytest.approx(0.0)
    np.testing.assert_allclose(exposure_from_rank([1, 2, 8], 16), [4.0, 3.0, 1.0])
    with pytest.raises(ValueError):
        exposure_from_rank(0, 16)


def test_chance_exposure_is_the_mean_over_uniform_ranks_and_tends_to_one_over_ln2():
    for size in (1, 2, 10, 1000):
        direct = np.mean(exposure_from_rank(np.arange(1, size + 1), size))
        assert chance_exposure(size) == pytest.approx(direct, rel=1e-9, abs=1e-12)
    assert chance_exposure(2) == pytest.approx(0.5)
    assert chance_exposure(10**6) == pytest.approx(1 / math.log(2), abs=1e-4)


def test_exposures_on_a_hand_built_scorer_with_known_ranks():
    canaries = [Canary("4242", 100), Canary("4243", 10), Canary("0000", 1), Canary("9999", 0)]
    result = exposures(distance_scorer, canaries, batch_size=999)
    # 4242 is first; 4243 ties with 4241 behind 4242; 0000 is at distance 4242: the fillings
    # 0..8484 are at least as close; 9999 is at distance 5757: all fillings are.
    assert result.ranks.tolist() == [1, 3, 8485, 10_000]
    np.testing.assert_allclose(
        result.exposures, [math.log2(1e4), math.log2(1e4 / 3), math.log2(1e4 / 8485), 0.0]
    )
    assert result.space_size == 10_000 and result.max_exposure == pytest.approx(math.log2(1e4))
    assert set(result.by_repetitions()) == {0, 1, 10, 100}
    assert result.scores[TARGET] == 0.0 and result.scores[0] == -TARGET


def test_score_fillings_is_in_order_and_independent_of_the_batch_size():
    calls = []

    def scorer(texts):
        calls.append(len(texts))
        return distance_scorer(texts)

    a = score_fillings(scorer, DEFAULT_PREFIX, 3, batch_size=7)
    assert max(calls) == 7 and sum(calls) == 1000
    b = score_fillings(distance_scorer, DEFAULT_PREFIX, 3, batch_size=4096)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, -np.abs(np.arange(1000) - TARGET))
    assert all_fillings(2)[:3] == ["00", "01", "02"] and len(all_fillings(2)) == 100


def test_exposures_refuse_mixed_canaries_and_too_many_digits():
    with pytest.raises(ValueError, match="one prefix"):
        exposures(distance_scorer, [Canary("12", 1), Canary("123", 1)])
    with pytest.raises(ValueError, match="too many"):
        exposures(distance_scorer, [Canary("1234567", 1)])


def test_sampled_exposure_estimates_the_exact_exposure():
    canary = Canary("4000", 0)  # distance 242: fillings 4000..4484 are as close -> rank 485
    exact = exposures(distance_scorer, [canary]).exposures[0]
    estimate = sampled_exposure(distance_scorer, canary, 20_000, seed=0)
    # fraction 0.0485: standard error of the fraction 0.0015, i.e. 0.045 bits
    assert abs(estimate - exact) < 0.2
    top = sampled_exposure(distance_scorer, Canary("4242", 0), 1000, seed=0)
    assert top == pytest.approx(math.log2(1001))  # never more than log2(1 + samples)


def test_text_log_prob_fn_sums_the_log_probabilities_of_the_text_after_the_context():
    vocab = "\nab"
    encode = lambda s: np.array([vocab.index(c) for c in s], np.int32)  # noqa: E731
    rng = np.random.default_rng(0)
    table = rng.normal(size=(3, 3))  # bigram logits: next-token logits given the current token

    def logits_fn(tokens):
        return table[np.asarray(tokens)]  # (B, T) -> (B, T, V)

    log_p = np.log(np.exp(table) / np.exp(table).sum(1, keepdims=True))  # (3, 3)

    def by_hand(text, context):
        ids = encode(context + text)
        return sum(log_p[ids[t - 1], ids[t]] for t in range(len(context), len(ids)))

    texts = ["ab", "ba", "aab", "b", "bbab"]
    for context in ("\n", "a\n"):
        scorer = text_log_prob_fn(logits_fn, encode, context=context, batch_size=2)
        np.testing.assert_allclose(scorer(texts), [by_hand(t, context) for t in texts], rtol=1e-12)
    with pytest.raises(ValueError, match="context"):
        text_log_prob_fn(logits_fn, encode, context="")


def test_canaries_planted_100_times_in_a_tiny_gpt_are_exposed_and_unseen_ones_are_not():
    """The seeded ci-size experiment of chapter 8, part 2: a 1-layer GPT trained for 150 steps
    on 20,000 characters of Shakespeare with canaries planted 1, 10 and 100 times. Never-planted
    canaries have a uniform rank, so their exposure has mean about 1.44 bits and
    P(exposure >= x) = 2^-x: their mean over 8 has standard deviation about 0.5 bits."""
    import keras

    from course_lib.data import lm_dataset, load_shakespeare
    from course_lib.gpt import GPT, GPTConfig, make_optimizer, make_task
    from course_lib.text.tokenization import CharTokenizer
    from course_lib.training import TrainConfig, Trainer
    from course_lib.training.schedules import warmup_cosine

    keras.utils.set_random_seed(0)
    corpus = load_shakespeare()
    canaries = make_canaries([1, 10, 100] + [0] * 8, 4, seed=0)
    text = insert_canaries(corpus.train[:20_000], canaries, seed=0)
    tok = CharTokenizer.from_text(corpus.text + DIGITS)
    cfg = GPTConfig(
        vocab_size=tok.vocab_size,
        context_length=32,
        n_layer=1,
        n_head=2,
        d_model=32,
        dropout=0.0,
    )
    model = GPT(cfg)
    steps = 150
    schedule = warmup_cosine(3e-3, total_steps=steps, warmup_steps=15, final_fraction=0.1)
    trainer = Trainer(
        make_task(model, make_optimizer(model, schedule)),
        TrainConfig(steps=steps, steps_per_execution=50, progress="none"),
    )
    history = trainer.fit(lm_dataset(tok.encode(text), 32, 32, seed=0))
    assert history.stop_reason == "completed"

    result = exposures(text_log_prob_fn(model, tok.encode), canaries)
    by_reps = result.by_repetitions()
    unseen = by_reps[0]
    assert len(unseen) == 8
    assert unseen.mean() < chance_exposure(10**4) + 2.0, unseen  # near chance (1.44 bits)
    assert unseen.max() < 8.0, unseen  # P(one of 8 >= 8 bits) = 8 * 2^-8 = 3 %
    assert by_reps[100][0] > 11.0, by_reps  # rank <= 4 among 10,000 fillings
    assert by_reps[100][0] > unseen.max() + 3.0, by_reps
