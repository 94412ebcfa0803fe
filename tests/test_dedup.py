"""Tests of course_lib.text.dedup: normalised exact duplicates, shingles and Jaccard by hand,
the MinHash estimate against the exact Jaccard, identical documents always colliding, and the
LSH banding probability 1 - (1 - s^r)^b against a simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib.text.dedup import (
    MERSENNE_PRIME,
    MinHasher,
    duplicate_clusters,
    exact_duplicate_groups,
    jaccard,
    keep_one_per_cluster,
    lsh_candidate_pairs,
    lsh_collision_probability,
    near_duplicate_pairs,
    normalise_text,
    shingle_hash,
    shingles,
    signature_similarity,
)


def test_normalise_text_folds_case_and_white_space_but_keeps_punctuation():
    assert normalise_text("  To be,\n\tor NOT  ") == "to be, or not"
    assert normalise_text("ﬁne") == "fine"  # NFKC folds the ligature
    assert normalise_text("to be") != normalise_text("to be.")
    with pytest.raises(TypeError, match="string"):
        normalise_text(3)


def test_exact_duplicate_groups_find_normalised_copies_only():
    docs = ["To be or not", "something else", "to  be OR not", "to be or not.", "TO BE OR NOT"]
    assert exact_duplicate_groups(docs) == [[0, 2, 4]]
    assert exact_duplicate_groups(["a", "b"]) == []
    with pytest.raises(TypeError, match="list of documents"):
        exact_duplicate_groups("abc")


def test_word_and_character_shingles_by_hand():
    assert shingles("A rose is a rose", 2) == {"a rose", "rose is", "is a"}
    assert shingles("A rose is a rose", 1) == {"a", "rose", "is"}
    assert shingles("two words", 5) == {"two words"}  # shorter than k: the whole text
    assert shingles("", 3) == frozenset()
    assert shingles("春眠不觉晓", 2, unit="chars") == {"春眠", "眠不", "不觉", "觉晓"}
    with pytest.raises(ValueError, match="unit"):
        shingles("x", 1, unit="lines")


def test_jaccard_by_hand():
    assert jaccard({"a", "b", "c"}, {"b", "c", "d"}) == pytest.approx(2 / 4)
    assert jaccard(set(), set()) == 1.0
    assert jaccard({"a"}, set()) == 0.0


def test_shingle_hash_is_stable_and_in_range():
    # a fixed value: the same in every process (Python's hash() of a str is salted per process)
    assert shingle_hash("to be or not") == shingle_hash("to be or not")
    values = [shingle_hash(f"shingle {i}") for i in range(1000)]
    assert all(0 <= v < MERSENNE_PRIME - 1 for v in values)
    assert len(set(values)) == 1000


def _sets_with_jaccard(n_common: int, n_only: int, offset: int = 0):
    common = {f"c{i}" for i in range(n_common)}
    a = common | {f"a{offset}_{i}" for i in range(n_only)}
    b = common | {f"b{offset}_{i}" for i in range(n_only)}
    return a, b


def test_minhash_estimate_is_within_three_standard_errors_of_the_exact_jaccard():
    hasher = MinHasher(num_perm=512, seed=1)
    for n_common, n_only in ((80, 10), (50, 25), (20, 40), (5, 60)):
        a, b = _sets_with_jaccard(n_common, n_only)
        exact = jaccard(a, b)
        sig = hasher.signatures([a, b])
        estimate = signature_similarity(sig[0], sig[1])
        se = math.sqrt(exact * (1 - exact) / hasher.num_perm)
        assert abs(estimate - exact) < 3 * se + 1e-9, (n_common, n_only, estimate, exact)


def test_minhash_estimate_is_unbiased_over_many_seeds():
    a, b = _sets_with_jaccard(30, 20)  # J = 30 / 70
    exact = jaccard(a, b)
    estimates = [
        signature_similarity(*MinHasher(num_perm=64, seed=s).signatures([a, b])) for s in range(60)
    ]
    se = math.sqrt(exact * (1 - exact) / (64 * 60))
    assert abs(np.mean(estimates) - exact) < 4 * se


def test_identical_documents_always_collide_and_disjoint_ones_rarely_agree():
    text = "shall i compare thee to a summer's day thou art more lovely and more temperate"
    other = "completely other words here"
    sets = [shingles(text, 3), shingles(text.upper(), 3), shingles(other, 3)]
    for seed in range(5):
        sig = MinHasher(num_perm=64, seed=seed).signatures(sets)
        assert np.array_equal(sig[0], sig[1])
        assert signature_similarity(sig[0], sig[1]) == 1.0
        assert (0, 1) in lsh_candidate_pairs(sig, bands=16, rows=4)
        assert signature_similarity(sig[0], sig[2]) < 0.2


def test_minhasher_validates_and_handles_empty_sets():
    with pytest.raises(ValueError, match="num_perm"):
        MinHasher(num_perm=0)
    sig = MinHasher(num_perm=8).signatures([set(), set(), {"x"}])
    assert sig.shape == (3, 8) and sig.dtype == np.int64
    assert np.all(sig[0] == MERSENNE_PRIME) and np.all(sig[2] < MERSENNE_PRIME)
    assert MinHasher(4).signatures([]).shape == (0, 4)


def test_lsh_collision_probability_formula_and_s_curve():
    assert lsh_collision_probability(0.0, 20, 5) == 0.0
    assert lsh_collision_probability(1.0, 20, 5) == 1.0
    assert lsh_collision_probability(0.5, 1, 1) == pytest.approx(0.5)
    assert lsh_collision_probability(0.8, 20, 5) == pytest.approx(1 - (1 - 0.8**5) ** 20)
    s = np.linspace(0, 1, 11)
    p = lsh_collision_probability(s, 20, 5)
    assert p.shape == (11,) and np.all(np.diff(p) >= 0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        lsh_collision_probability(1.5, 2, 2)


def test_lsh_banding_probability_matches_a_simulation():
    # pairs with Jaccard exactly 0.5 (and 0.7): the share that becomes candidates under b bands
    # of r rows should be 1 - (1 - s^r)^b within the binomial standard error
    bands, rows, n_pairs = 8, 4, 300
    for n_common, n_only, s in ((40, 20, 0.5), (70, 15, 0.7)):
        hits = 0
        for k in range(n_pairs):
            a, b = _sets_with_jaccard(n_common, n_only, offset=k)
            assert jaccard(a, b) == pytest.approx(s)
            sig = MinHasher(num_perm=bands * rows, seed=k).signatures([a, b])
            hits += (0, 1) in lsh_candidate_pairs(sig, bands, rows)
        expected = lsh_collision_probability(s, bands, rows)
        se = math.sqrt(expected * (1 - expected) / n_pairs)
        assert abs(hits / n_pairs - expected) < 4 * se + 0.01, (s, hits / n_pairs, expected)


def test_lsh_candidate_pairs_checks_the_band_layout():
    with pytest.raises(ValueError, match="bands \\* rows"):
        lsh_candidate_pairs(np.zeros((3, 8), np.int64), bands=3, rows=3)


def test_near_duplicate_pairs_finds_an_edited_copy_and_not_unrelated_text():
    base = (
        "now is the winter of our discontent made glorious summer by this sun of york "
        "and all the clouds that lour'd upon our house in the deep bosom of the ocean buried"
    )
    edited = base.replace("glorious", "golden")
    other = "friends romans countrymen lend me your ears i come to bury caesar not to praise him"
    sets = [shingles(d, 3) for d in (base, other, edited)]
    found = near_duplicate_pairs(sets, threshold=0.7)
    assert [(i, j) for i, j, _ in found] == [(0, 2)]
    assert found[0][2] == pytest.approx(jaccard(sets[0], sets[2]))
    with pytest.raises(ValueError, match="threshold"):
        near_duplicate_pairs(sets, threshold=1.5)


def test_clusters_are_connected_components_and_keep_one_per_cluster():
    clusters = duplicate_clusters(7, [(0, 3), (3, 5, 0.9), (2, 6)])
    assert clusters == [[0, 3, 5], [2, 6]]
    assert keep_one_per_cluster(7, clusters) == [0, 1, 2, 4]
    assert duplicate_clusters(3, []) == []


def test_batched_signatures_equal_one_signature_at_a_time():
    sets = [{"a b", "b c"}, set(), {"x"}, shingles("to be or not to be that is the question", 2)]
    hasher = MinHasher(num_perm=32, seed=3)
    batched = hasher.signatures(sets)
    for row, s in zip(batched, sets, strict=True):
        assert np.array_equal(row, hasher.signature(s))
