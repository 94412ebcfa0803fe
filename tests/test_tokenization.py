"""Tests of course_lib.text.tokenization: character and byte-level BPE tokenisers and BPE by hand.
Each test's name states the fact it checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from course_lib.data import TextCorpus, load_shakespeare, load_tang_poems, poems_text
from course_lib.text.tokenization import (
    BPETokenizer,
    CharTokenizer,
    Merge,
    bpe_merges,
    merge_pair,
    train_bpe,
)

MIXED = "Hello,  world!\n\n\tTabs, CRLF\r\n床前明月光，疑是地上霜。\n  trailing  \n"


@pytest.fixture(scope="module")
def corpus() -> TextCorpus:
    return load_shakespeare()


@pytest.fixture(scope="module")
def bpe(corpus: TextCorpus) -> BPETokenizer:
    return train_bpe(corpus.train[:300_000], vocab_size=512)


# --- characters ----------------------------------------------------------------------------


def test_char_vocabulary_is_the_sorted_distinct_characters_of_the_text() -> None:
    tok = CharTokenizer.from_text("hello world\n")
    assert tok.chars == ("\n", " ", "d", "e", "h", "l", "o", "r", "w")
    assert tok.vocab_size == 9
    np.testing.assert_array_equal(tok.encode("hello"), [4, 3, 5, 5, 6])


def test_char_encode_gives_int32_ids_and_decode_inverts_it_for_english_and_chinese() -> None:
    tok = CharTokenizer.from_text(MIXED)
    ids = tok.encode(MIXED)
    assert ids.dtype == np.int32 and ids.shape == (len(MIXED),)
    assert tok.decode(ids) == MIXED and tok.decode(ids.tolist()) == MIXED


def test_char_tokenizer_round_trips_the_whole_shakespeare_corpus_with_77_symbols(
    corpus: TextCorpus,
) -> None:
    tok = CharTokenizer.from_text(corpus.text)
    assert tok.vocab_size == 77
    assert tok.decode(tok.encode(corpus.val)) == corpus.val
    assert len(tok.encode(corpus.train)) == 1_003_854


def test_char_tokenizer_round_trips_all_tang_poems_with_their_vocabulary() -> None:
    text = poems_text(load_tang_poems())
    tok = CharTokenizer.from_text(text)
    assert tok.vocab_size == 2533
    assert tok.decode(tok.encode(text)) == text


def test_char_encode_of_an_unknown_character_raises_naming_it_and_the_fix() -> None:
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"1 character\(s\) not in the vocabulary.*'z'.*from_text"):
        tok.encode("abz")


def test_char_decode_rejects_ids_outside_the_vocabulary_and_2d_input() -> None:
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"outside 0\.\.2"):
        tok.decode([0, 3])
    with pytest.raises(ValueError, match="ids must have 1 dimension"):
        tok.decode(np.zeros((2, 2), np.int32))
    with pytest.raises(TypeError, match="ids must have a int dtype"):
        tok.decode([0.0, 1.0])
    with pytest.raises(TypeError, match="ids must have a int dtype"):
        tok.decode([True, False])
    assert tok.decode([]) == ""
    with pytest.raises(TypeError, match="text must be a str"):
        tok.encode(["a", "b"])
    with pytest.raises(TypeError, match="text must be a str"):
        CharTokenizer.from_text(None)


def test_char_tokenizer_refuses_unsorted_or_empty_vocabularies() -> None:
    with pytest.raises(ValueError, match="sorted"):
        CharTokenizer(("b", "a"))
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer.from_text("")


# --- byte-level BPE ------------------------------------------------------------------------


def test_bpe_reaches_the_requested_vocab_size_of_256_bytes_plus_merges(bpe: BPETokenizer) -> None:
    assert bpe.vocab_size == 512


def test_bpe_round_trips_spaces_newlines_tabs_crlf_and_chinese_exactly(bpe: BPETokenizer) -> None:
    ids = bpe.encode(MIXED)
    assert ids.dtype == np.int32 and ids.ndim == 1
    assert bpe.decode(ids) == MIXED
    assert bpe.decode(bpe.encode("")) == ""


def test_bpe_round_trips_the_whole_shakespeare_validation_split_with_fewer_tokens_than_chars(
    bpe: BPETokenizer, corpus: TextCorpus
) -> None:
    ids = bpe.encode(corpus.val)
    assert bpe.decode(ids) == corpus.val
    assert len(ids) < 0.6 * len(corpus.val)  # merges compress: about 2 characters per token


def test_bpe_training_is_deterministic(corpus: TextCorpus) -> None:
    a = train_bpe(corpus.train[:100_000], vocab_size=400)
    b = train_bpe(corpus.train[:100_000], vocab_size=400)
    assert a.tokenizer.to_str() == b.tokenizer.to_str()
    np.testing.assert_array_equal(a.encode(corpus.val[:5000]), b.encode(corpus.val[:5000]))


def test_bpe_tokens_show_a_space_as_the_byte_character_g_dot(bpe: BPETokenizer) -> None:
    assert "".join(bpe.tokens("to be")).replace("Ġ", " ") == "to be"


def test_bpe_trained_on_chinese_round_trips_and_saves_and_loads(tmp_path: Path) -> None:
    text = poems_text(load_tang_poems())
    tok = train_bpe(text, vocab_size=600)
    assert tok.decode(tok.encode(text)) == text
    tok.save(tmp_path / "bpe.json")
    again = BPETokenizer.load(tmp_path / "bpe.json")
    np.testing.assert_array_equal(again.encode(text[:500]), tok.encode(text[:500]))


def test_train_bpe_rejects_a_vocab_smaller_than_the_byte_alphabet() -> None:
    with pytest.raises(ValueError, match="vocab_size must be an integer >= 256"):
        train_bpe("abc", vocab_size=100)
    with pytest.raises(TypeError, match="vocab_size must be an integer"):
        train_bpe("abc", vocab_size=300.0)
    with pytest.raises(TypeError, match="text must be a str"):
        train_bpe(["abc"], vocab_size=300)
    with pytest.raises(ValueError, match="num_merges must be an integer >= 0"):
        bpe_merges("abc", -1)


# --- BPE by hand ---------------------------------------------------------------------------


def test_first_hand_merge_of_aaabdaaabac_is_a_a_counted_4_times() -> None:
    # Pairs by hand: aa aa ab bd da aa aa ab ba ac -> ("a","a") 4, ("a","b") 2, the rest 1.
    merges, symbols = bpe_merges("aaabdaaabac", 1)
    assert merges == [Merge("a", "a", 4)]
    assert symbols == ["aa", "a", "b", "d", "aa", "a", "b", "a", "c"]


def test_bpe_merge_ties_go_to_the_pair_that_occurs_first() -> None:
    merges, _ = bpe_merges("abcdcdab", 1)  # ("a","b") and ("c","d") both occur twice
    assert merges[0] == Merge("a", "b", 2)


def test_bpe_merges_stop_when_no_pair_repeats_and_symbols_join_back_to_the_text() -> None:
    text = "low lower lowest"
    merges, symbols = bpe_merges(text, 50)
    assert len(merges) < 50 and "".join(symbols) == text
    assert [m.merged for m in merges[:2]] == ["lo", "low"]
    assert bpe_merges("abc", 5) == ([], ["a", "b", "c"])


def test_merge_pair_replaces_non_overlapping_occurrences_left_to_right() -> None:
    assert merge_pair(list("aaa"), "a", "a") == ["aa", "a"]
