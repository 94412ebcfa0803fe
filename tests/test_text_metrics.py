"""Tests of course_lib.text.metrics and course_lib.text.retrieval: BLEU by hand against sacrebleu,
chrF and exact match on known pairs, bits and perplexity, BM25 by hand against bm25s, and the
course's own passages."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import sacrebleu

from course_lib.runtime.paths import chapter_notebooks
from course_lib.text.metrics import (
    bits_per_token,
    bleu_by_hand,
    corpus_bleu,
    corpus_chrf,
    exact_match,
    normalise_answer,
    perplexity,
    token_f1,
)
from course_lib.text.retrieval import (
    BM25Index,
    Passage,
    bm25_by_hand,
    course_passages,
    split_markdown,
    words,
)

ROOT = Path(__file__).resolve().parents[1]
HYPS = ["三百四十二", "一千零五", "二万", "七十"]
REFS = ["三百四十二", "一千零五十", "二万零一", "十七"]


def test_bits_per_token_and_perplexity_of_ln_v_nats_are_log2_v_and_v():
    assert bits_per_token(math.log(65)) == pytest.approx(math.log2(65))
    assert perplexity(math.log(65)) == pytest.approx(65)
    assert perplexity(0.0) == 1.0
    with pytest.raises(ValueError, match="finite"):
        perplexity(float("nan"))
    with pytest.raises(ValueError, match="nats must be >= 0"):
        bits_per_token(-0.1)
    with pytest.raises(TypeError, match="nats must be a real number"):
        perplexity("1.0")


def test_bleu_by_hand_equals_sacrebleu_zh_on_chinese_numerals():
    terms = bleu_by_hand(HYPS, REFS)
    reference = sacrebleu.corpus_bleu(HYPS, [REFS], tokenize="zh")
    assert terms.matches == tuple(reference.counts) and terms.totals == tuple(reference.totals)
    assert (terms.hyp_len, terms.ref_len) == (reference.sys_len, reference.ref_len)
    assert terms.bp == pytest.approx(reference.bp)
    assert terms.score == pytest.approx(reference.score, rel=1e-9)
    assert corpus_bleu(HYPS, REFS, tokenize="zh") == pytest.approx(reference.score)


def test_bleu_by_hand_clips_repeated_ngrams_and_applies_the_brevity_penalty():
    # "the the the" vs "the cat": unigram matches clipped to 1 of 3; hypothesis longer, so bp = 1.
    terms = bleu_by_hand(["the the the"], ["the cat"], max_n=1, tokenize="spaces")
    assert terms.matches == (1,) and terms.totals == (3,) and terms.bp == 1.0
    assert terms.score == pytest.approx(100 / 3)
    short = bleu_by_hand(["a b"], ["a b c d"], max_n=2, tokenize="spaces")
    assert short.bp == pytest.approx(math.exp(1 - 4 / 2)) and short.precisions == (1.0, 1.0)


def test_bleu_of_identical_text_is_100_and_of_disjoint_text_is_0():
    assert corpus_bleu(["一千二百三十四"], ["一千二百三十四"], tokenize="zh") == pytest.approx(
        100.0
    )
    assert bleu_by_hand(["甲乙丙丁"], ["子丑寅卯"]).score == 0.0


def test_chrf_matches_sacrebleu_and_is_100_for_identical_strings():
    assert corpus_chrf(HYPS, REFS) == pytest.approx(sacrebleu.corpus_chrf(HYPS, [REFS]).score)
    assert corpus_chrf(["三百"], ["三百"]) == pytest.approx(100.0)


def test_exact_match_counts_identical_pairs_after_strip():
    assert exact_match(HYPS, REFS) == 0.25
    assert (
        exact_match([" 十 "], ["十"]) == 1.0 and exact_match([" 十 "], ["十"], strip=False) == 0.0
    )


def test_metrics_reject_mismatched_or_single_string_inputs():
    with pytest.raises(ValueError, match="as many references"):
        corpus_bleu(["a"], ["a", "b"])
    with pytest.raises(TypeError, match="lists of strings"):
        exact_match("abc", "abc")
    with pytest.raises(TypeError, match="must be strings"):
        corpus_chrf([1], ["1"])
    with pytest.raises(ValueError, match="at least one"):
        exact_match([], [])
    with pytest.raises(ValueError, match="tokenize must be one of"):
        bleu_by_hand(["a"], ["a"], tokenize="words")
    with pytest.raises(ValueError, match="max_n must be an integer >= 1"):
        bleu_by_hand(["a"], ["a"], max_n=0)


# --------------------------------------------------------------------------- answers (SQuAD F1)
def squad_f1_by_hand(prediction: str, reference: str) -> float:
    """An independent version: strip punctuation and articles word by word, then count."""
    import string

    def clean(text):
        text = "".join(" " if c in string.punctuation else c for c in text.lower())
        return [w for w in text.split() if w not in ("a", "an", "the")]

    pred, ref = clean(prediction), clean(reference)
    common = 0
    remaining = list(ref)
    for w in pred:
        if w in remaining:
            remaining.remove(w)
            common += 1
    if common == 0:
        return 0.0
    p, r = common / len(pred), common / len(ref)
    return 2 * p * r / (p + r)


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("pytest", "pytest", 1.0),
        ("run pytest", "pytest", 2 / 3),
        ("binarise again every epoch", "a fresh random binarisation every epoch", 4 / 9),
        ("The Wolfram Alpha engine", "Wolfram Alpha", 0.8),
        ("a large language model", "Wolfram Alpha", 0.0),
        ("the the cat", "The cat, the cat!", 2 / 3),
    ],
)
def test_token_f1_known_values_and_an_independent_computation(prediction, reference, expected):
    assert token_f1(prediction, reference) == pytest.approx(expected, rel=1e-12)
    assert token_f1(prediction, reference) == pytest.approx(
        squad_f1_by_hand(prediction, reference), rel=1e-12
    )
    assert token_f1(reference, prediction) == pytest.approx(expected, rel=1e-12)  # symmetric


def test_normalise_answer_and_empty_answers():
    assert normalise_answer("The Wolfram-Alpha engine!") == "wolfram alpha engine"
    assert normalise_answer("  A   an THE ") == ""
    assert token_f1("the", "a") == 1.0  # both empty after normalisation
    assert token_f1("", "pytest") == 0.0
    with pytest.raises(TypeError, match="must be a string"):
        token_f1(None, "pytest")


# --------------------------------------------------------------------------- retrieval
DOCS = [
    ["the", "memory", "wall", "limits", "decoding"],
    ["the", "gan", "has", "two", "players"],
    ["memory", "bandwidth", "and", "memory", "capacity", "of", "a", "gpu"],
    ["kv", "cache", "memory"],
]


def test_bm25s_scores_equal_the_formula_by_hand():
    passages = [Passage("x", "", " ".join(d)) for d in DOCS]
    index = BM25Index(passages)
    for query in (["memory"], ["memory", "wall"], ["gan", "players", "cache"], ["absent"]):
        np.testing.assert_allclose(
            index.scores(" ".join(query)), bm25_by_hand(query, DOCS), rtol=1e-5, atol=1e-6
        )


def test_bm25_ranks_the_rare_query_word_first_and_returns_nothing_without_overlap():
    index = BM25Index([Passage("x", "", " ".join(d)) for d in DOCS])
    best = index.search("why is decoding limited by the memory wall", k=2)
    assert best[0][0].text.startswith("the memory wall") and best[0][1] > best[1][1]
    assert index.search("zebra quokka") == []


def test_split_markdown_cuts_at_headings_and_keeps_the_heading():
    md = "# Title\n\nintro words here\n\n## Part A\n\nalpha beta\n\n## Part B\n\ngamma"
    parts = split_markdown(md, "doc.md")
    assert [p.heading for p in parts] == ["Title", "Part A", "Part B"]
    assert "gamma" in parts[-1].text and all(p.source == "doc.md" for p in parts)


def test_course_passages_cover_the_readme_and_every_chapter_notebook():
    passages = course_passages(ROOT)
    sources = {p.source for p in passages}
    notebooks = {p.relative_to(ROOT).as_posix() for p in chapter_notebooks(ROOT / "chapters")}
    assert "README.md" in sources and notebooks <= sources
    assert all(
        len(words(p.text)) <= 2 * 250 for p in passages
    )  # a piece closes once it reaches 250 words
    with pytest.raises(FileNotFoundError, match="chapters"):
        course_passages(ROOT / "data")


def test_words_lowercases_and_splits_on_non_alphanumerics():
    assert words("The KV-cache, 2x!") == ["the", "kv", "cache", "2x"]


# ROUGE (Lin 2004) through rouge-score, against counts done by hand on tiny strings.
def test_rouge1_and_rougeL_of_a_tiny_pair_equal_the_hand_counts():
    from course_lib.text.metrics import corpus_rouge

    # reference "the cat sat on the mat" (6 words), output "the cat lay on the red mat" (7):
    # unigram overlap as multisets: the x2, cat, on, mat = 5 -> recall 5/6, precision 5/7;
    # longest common subsequence "the cat on the mat" = 5 -> the same values for ROUGE-L.
    scores = corpus_rouge(["the cat lay on the red mat"], ["the cat sat on the mat"])
    for kind in ("rouge1", "rougeL"):
        assert scores[kind].recall == pytest.approx(5 / 6)
        assert scores[kind].precision == pytest.approx(5 / 7)
        assert scores[kind].fmeasure == pytest.approx(2 * (5 / 6) * (5 / 7) / (5 / 6 + 5 / 7))
    # bigrams: reference has 5 (the cat, cat sat, sat on, on the, the mat), output 6; shared:
    # "the cat", "on the" -> recall 2/5, precision 2/6
    assert scores["rouge2"].recall == pytest.approx(2 / 5)
    assert scores["rouge2"].precision == pytest.approx(2 / 6)


def test_rougeL_rewards_order_and_rouge1_does_not():
    from course_lib.text.metrics import corpus_rouge

    # the same words reversed: ROUGE-1 is perfect, the longest common subsequence is 1 word
    scores = corpus_rouge(["c b a"], ["a b c"])
    assert scores["rouge1"].fmeasure == pytest.approx(1.0)
    assert scores["rougeL"].recall == pytest.approx(1 / 3)


def test_rouge_on_chinese_needs_the_character_tokenizer():
    from course_lib.text.metrics import corpus_rouge

    # the default tokenizer keeps only a-z0-9, so Chinese text has no tokens and scores 0
    assert corpus_rouge(["三百四十"], ["三百四十"])["rouge1"].fmeasure == 0.0
    # per character: 三百四十 vs 三百零四: unigrams 三 百 四 shared (3 of 4); LCS 三百四 = 3
    chars = corpus_rouge(["三百四十"], ["三百零四"], tokenize="chars")
    assert chars["rouge1"].recall == pytest.approx(3 / 4)
    assert chars["rougeL"].recall == pytest.approx(3 / 4)
    assert chars["rouge2"].recall == pytest.approx(1 / 3)  # 三百 of 三百, 百零, 零四


def test_corpus_rouge_is_the_mean_over_pairs_and_checks_its_arguments():
    from course_lib.text.metrics import corpus_rouge

    both = corpus_rouge(["a b", "x y"], ["a b", "a b"], kinds=("rouge1",))
    assert both["rouge1"].recall == pytest.approx(0.5)  # (1 + 0) / 2
    with pytest.raises(ValueError, match="kinds"):
        corpus_rouge(["a"], ["a"], kinds=("meteor",))
    with pytest.raises(ValueError, match="tokenize"):
        corpus_rouge(["a"], ["a"], tokenize="bytes")
    with pytest.raises(TypeError, match="lists of strings"):
        corpus_rouge("a", "a")
