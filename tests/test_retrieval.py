"""Tests of course_lib.text.retrieval beyond the BM25 checks in test_text_metrics.py: passage
lengths stay bounded whatever the markdown looks like, and the evaluation metrics (success@k,
recall@k, mean reciprocal rank) follow their definitions on hand-made rankings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib.text.retrieval import (
    BM25Index,
    Passage,
    bm25_by_hand,
    evaluate_retrieval,
    first_relevant_rank,
    mean_reciprocal_rank,
    ranking,
    recall_at_k,
    split_markdown,
    success_at_k,
    words,
)


# --------------------------------------------------------------------------- passages
def test_a_single_line_longer_than_max_words_is_cut_between_words():
    line = " ".join(f"w{i}" for i in range(130))  # one paragraph, one line, 130 words
    parts = split_markdown(f"# Long\n\n{line}\n\nshort tail", "doc.md", max_words=50)
    lengths = [len(words(p.text)) for p in parts]
    assert all(n < 2 * 50 for n in lengths), lengths
    assert sum(lengths) == 1 + 130 + 2  # the heading word, the line, the tail: nothing lost
    assert all(p.heading == "Long" for p in parts)


def test_pieces_close_once_they_reach_max_words():
    paragraphs = "\n\n".join(" ".join(["word"] * 15) for _ in range(10))  # 150 words
    parts = split_markdown("## S\n\n" + paragraphs, "doc.md", max_words=40)
    lengths = [len(words(p.text)) for p in parts]
    assert all(40 <= n < 80 for n in lengths[:-1]) and sum(lengths) == 151, lengths


def test_split_markdown_rejects_tiny_max_words():
    with pytest.raises(ValueError, match="max_words"):
        split_markdown("text", "doc.md", max_words=5)


# --------------------------------------------------------------------------- metrics
def test_ranking_drops_zero_scores_and_keeps_ties_in_collection_order():
    np.testing.assert_array_equal(ranking(np.array([0.0, 2.0, 1.0, 2.0, 0.0])), [1, 3, 2])


def test_first_relevant_rank_counts_from_one_and_is_inf_when_not_returned():
    scores = np.array([0.5, 3.0, 0.0, 1.0])
    assert first_relevant_rank(scores, np.array([False, True, False, False])) == 1
    assert (
        first_relevant_rank(scores, np.array([True, False, False, True])) == 2
    )  # passage 3 ranks 2nd
    assert first_relevant_rank(scores, np.array([False, False, True, False])) == math.inf  # score 0
    with pytest.raises(ValueError, match="shape"):
        first_relevant_rank(scores, np.array([True]))


def test_success_at_k_is_the_share_of_questions_answered_in_the_top_k():
    ranks = [1, 2, 5, math.inf]
    assert [success_at_k(ranks, k) for k in (1, 2, 5, 100)] == [0.25, 0.5, 0.75, 0.75]
    with pytest.raises(ValueError):
        success_at_k(ranks, 0)


def test_recall_at_k_differs_from_success_when_a_question_has_several_relevant_passages():
    scores = np.array([4.0, 3.0, 2.0, 1.0])
    relevant = np.array([True, False, False, True])  # two relevant passages, at ranks 1 and 4
    assert first_relevant_rank(scores, relevant) == 1  # success@1 = 1 for this question...
    assert recall_at_k(scores, relevant, 1) == 0.5  # ...but it found half of what is relevant
    assert recall_at_k(scores, relevant, 3) == 0.5 and recall_at_k(scores, relevant, 4) == 1.0
    with pytest.raises(ValueError, match="undefined"):
        recall_at_k(scores, np.zeros(4, dtype=bool), 3)


def test_mean_reciprocal_rank_follows_its_definition():
    assert mean_reciprocal_rank([1, 2, 4, math.inf]) == pytest.approx((1 + 0.5 + 0.25 + 0) / 4)
    with pytest.raises(ValueError, match="1-based"):
        mean_reciprocal_rank([0, 1])


def test_metrics_agree_with_an_index_ranking():
    docs = [["gan", "loss"], ["memory", "wall"], ["memory", "bandwidth", "memory"], ["kv", "cache"]]
    index = BM25Index([Passage("x", "", " ".join(d)) for d in docs])
    scores = index.scores("memory wall")
    np.testing.assert_allclose(scores, bm25_by_hand(["memory", "wall"], docs), rtol=1e-5)
    assert first_relevant_rank(scores, np.array([False, True, False, False])) == 1
    assert first_relevant_rank(scores, np.array([False, False, True, False])) == 2
    assert [p.text for p, _ in index.search("memory wall", k=2)] == [
        " ".join(docs[i]) for i in ranking(scores)[:2]
    ]


def test_evaluate_retrieval_summarises_hand_made_rankings():
    # three passages; scores fixed per question
    table = {
        "q1": np.array([3.0, 2.0, 1.0]),  # relevant passage 0: rank 1
        "q2": np.array([1.0, 3.0, 2.0]),  # relevant passages 0 and 2: ranks 3 and 2
        "q3": np.array([0.0, 1.0, 0.0]),  # relevant passage 2 has score 0: never returned
    }
    questions = [
        ("q1", np.array([True, False, False])),
        ("q2", np.array([True, False, True])),
        ("q3", np.array([False, False, True])),
    ]
    results, summary = evaluate_retrieval(table.__getitem__, questions, ks=(1, 2), recall_k=2)
    assert [r.rank for r in results] == [1, 2, math.inf]
    assert [r.num_relevant for r in results] == [1, 2, 1]
    assert [r.recall for r in results] == [1.0, 0.5, 0.0]
    assert summary == pytest.approx(
        {"success@1": 1 / 3, "success@2": 2 / 3, "recall@2": 0.5, "MRR": (1 + 0.5 + 0) / 3}
    )
    with pytest.raises(ValueError, match="no passage is judged relevant"):
        evaluate_retrieval(table.__getitem__, [("q1", np.zeros(3, bool))])
    with pytest.raises(ValueError, match="no questions"):
        evaluate_retrieval(table.__getitem__, [])


def test_bad_arguments_are_named():
    index = BM25Index([Passage("x", "", "memory wall")])
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        index.search("memory", k=0)
    with pytest.raises(TypeError, match="k must be an integer"):
        index.search("memory", k=1.5)
    with pytest.raises(ValueError, match=r"b must be >= 0\.0 and <= 1\.0"):
        BM25Index([Passage("x", "", "memory")], b=2.0)
    with pytest.raises(TypeError, match="text must be a str"):
        words(None)
