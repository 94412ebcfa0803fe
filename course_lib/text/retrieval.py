"""Question answering by retrieval: find the passage of the course that best answers a question.

The passages are the course's own text: the markdown cells of every chapter notebook and the
README, cut at headings (:func:`course_passages`). A question and each passage become bags of
lower-case words (:func:`words`), and passages are ranked by BM25 (Robertson & Zaragoza 2009,
"The Probabilistic Relevance Framework: BM25 and Beyond", Foundations and Trends in Information
Retrieval 3(4), https://doi.org/10.1561/1500000019) through the ``bm25s`` library (Lù 2024,
arXiv:2407.03618). BM25 is the default similarity of the Lucene search library since version
6.0 and the default of Elasticsearch, OpenSearch and Solr, which are built on Lucene (the
documentation of each is cited in chapter 06, part 3); web search engines do not publish their
ranking functions.

With ``N`` passages, ``df(w)`` the number that contain word ``w``, ``tf(w, d)`` its count in
passage ``d``, ``|d|`` the passage's length in words and ``avgdl`` the mean length, ``bm25s``'
default variant (``method="lucene"``: the idf and the term-frequency factor of Lucene's
``BM25Similarity`` since Lucene 8.0, which dropped the constant ``k1 + 1`` from the numerator,
LUCENE-8563) scores

.. math:: \\mathrm{score}(q, d) = \\sum_{w \\in q}
          \\log\\Big(1 + \\frac{N - df(w) + 0.5}{df(w) + 0.5}\\Big)
          \\frac{tf(w, d)}{tf(w, d) + k_1 (1 - b + b\\,|d| / \\mathrm{avgdl})}

with ``bm25s``' defaults ``k1 = 1.5`` and ``b = 0.75`` (Lucene's own defaults are ``k1 = 1.2``,
``b = 0.75``, and Lucene stores ``|d|`` in one byte, with some precision loss; ``bm25s`` and
this module use it exactly). A question
word that occurs twice counts twice. :func:`bm25_by_hand` computes the same formula in NumPy so
the notebook can show it and the tests can check the library against it. Rare words weigh
more (the log factor); repeating a word helps less and less (the saturating fraction); long
passages are penalised (``b``).

Evaluation (:func:`first_relevant_rank`, :func:`success_at_k`, :func:`recall_at_k`,
:func:`mean_reciprocal_rank`): *success@k* is the share of questions with at least one
relevant passage among the first ``k`` (trec_eval's ``success`` measure; Karpukhin et al. 2020
call it top-k retrieval accuracy); *recall@k* is the share of a question's relevant passages
that are among the first ``k`` (recall as defined by Manning, Raghavan & Schütze 2008,
*Introduction to Information Retrieval*, section 8.3, applied to the top ``k``), averaged
over questions; the *mean reciprocal rank* averages ``1 / rank`` of the first relevant passage
(Voorhees 1999, The TREC-8 Question Answering Track Report, which cut the list at rank 5;
here the whole ranking counts, and a question with no relevant passage scores 0).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from course_lib.runtime.paths import chapter_notebooks
from course_lib.runtime.validation import check_int, check_real

_WORD = re.compile(r"[a-z0-9]+")
_HEADING = re.compile(r"^(#{1,4})\s+(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Passage:
    """One retrievable piece of text: ``source`` (a file relative to the course root),
    ``heading`` (the nearest heading above it) and its ``text``."""

    source: str
    heading: str
    text: str


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words of ``text``:
    ``"The KV-cache!"`` -> ``["the", "kv", "cache"]``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _WORD.findall(text.lower())


def _units(section: str, max_words: int) -> list[str]:
    """The section's paragraphs; a paragraph longer than ``max_words`` words is split at its
    line breaks (a table, a list), and a single line longer than that into runs of
    ``max_words`` words, so that no unit is longer than ``max_words`` words."""
    units: list[str] = []
    for paragraph in section.split("\n\n"):
        if len(words(paragraph)) <= max_words:
            units.append(paragraph)
            continue
        for line in paragraph.split("\n"):
            if len(words(line)) <= max_words:
                units.append(line)
                continue
            tokens = line.split()
            piece = []
            count = 0
            for token in tokens:  # whitespace tokens; each holds zero or more words
                n = len(words(token))
                if piece and count + n > max_words:
                    units.append(" ".join(piece))
                    piece = []
                    count = 0
                piece.append(token)
                count += n
            if piece:
                units.append(" ".join(piece))
    return units


def split_markdown(markdown: str, source: str, max_words: int = 250) -> list[Passage]:
    """Cut markdown at headings (``#`` to ``####``), then cut any section longer than
    ``max_words`` words into pieces at paragraph breaks (a paragraph that is longer by itself
    at its line breaks, a line that is longer by itself between words); empty sections are
    dropped. A piece closes as soon as it has ``max_words`` words or more, so every passage's
    text has fewer than ``2 * max_words`` words (unless a single run of characters without
    whitespace is longer than ``max_words`` words by itself)."""
    max_words = check_int("max_words", max_words, minimum=20)
    passages: list[Passage] = []
    heading = ""
    starts = list(_HEADING.finditer(markdown))
    bounds = [0] + [m.start() for m in starts] + [len(markdown)]
    for begin, end in pairwise(bounds):
        section = markdown[begin:end].strip()
        match = _HEADING.match(section)
        if match:
            heading = match.group(2).strip()
        piece: list[str] = []
        for paragraph in _units(section, max_words):
            piece.append(paragraph)
            if len(words("\n\n".join(piece))) >= max_words:
                passages.append(Passage(source, heading, "\n\n".join(piece).strip()))
                piece = []
        if piece and words("\n\n".join(piece)):
            passages.append(Passage(source, heading, "\n\n".join(piece).strip()))
    return passages


def course_passages(root: str | Path, max_words: int = 250) -> list[Passage]:
    """Passages of ``root/README.md`` and the markdown cells of ``root/chapters/**/*.ipynb``, in
    sorted file order. ``root`` is the course's folder (the one holding ``chapters/``)."""
    root = Path(root)
    chapters = root / "chapters"
    if not chapters.is_dir():
        raise FileNotFoundError(
            f"{chapters} does not exist: pass the course's root folder (the one with chapters/)"
        )
    passages = (
        split_markdown((root / "README.md").read_text(encoding="utf-8"), "README.md", max_words)
        if (root / "README.md").is_file()
        else []
    )
    for path in chapter_notebooks(chapters):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        markdown = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        passages += split_markdown(markdown, path.relative_to(root).as_posix(), max_words)
    return passages


class BM25Index:
    """A BM25 index (``bm25s``, Lucene variant, ``k1``, ``b``) over passages.

    ``BM25Index(passages).search("what is the memory wall?", k=3)`` returns the ``k`` best
    ``(passage, score)`` pairs, best first; a question with no word in common with any passage
    returns an empty list rather than arbitrary passages.
    """

    def __init__(self, passages: Sequence[Passage], k1: float = 1.5, b: float = 0.75) -> None:
        import bm25s

        if not passages:
            raise ValueError("no passages to index")
        k1 = check_real("k1", k1, minimum=0.0)
        b = check_real("b", b, minimum=0.0, maximum=1.0)
        self.passages = list(passages)
        self.k1, self.b = k1, b
        self._bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        self._bm25.index(
            [words(p.heading + " " + p.text) for p in self.passages], show_progress=False
        )

    def scores(self, question: str) -> np.ndarray:
        """BM25 score of every passage for ``question``, ``(N,)`` float."""
        return np.asarray(self._bm25.get_scores(words(question)), dtype=np.float64)

    def search(self, question: str, k: int = 3) -> list[tuple[Passage, float]]:
        """The ``k`` highest-scoring passages with a score > 0, best first."""
        k = check_int("k", k, minimum=1)
        scores = self.scores(question)
        best = np.argsort(-scores, kind="stable")[:k]
        return [(self.passages[i], float(scores[i])) for i in best if scores[i] > 0]


def bm25_by_hand(
    query: Sequence[str], documents: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75
) -> np.ndarray:
    """The module docstring's formula in plain Python/NumPy: scores ``(N,)`` of ``documents``
    (lists of words) for ``query`` (a list of words; a repeated query word counts once per
    occurrence, as in ``bm25s``)."""
    n = len(documents)
    if n == 0:
        raise ValueError("no documents")
    lengths = np.array([len(d) for d in documents], dtype=np.float64)
    avgdl = lengths.mean()
    counts = [Counter(d) for d in documents]
    scores = np.zeros(n)
    for w in query:
        df = sum(w in c for c in counts)
        idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        tf = np.array([c[w] for c in counts], dtype=np.float64)
        scores += idf * tf / (tf + k1 * (1.0 - b + b * lengths / avgdl))
    return scores


# --------------------------------------------------------------------------- evaluation
def ranking(scores: np.ndarray) -> np.ndarray:
    """Indices of the passages a search returns, best first: those with a score > 0, sorted by
    decreasing score (ties keep the collection's order, as in :meth:`BM25Index.search`)."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    return order[scores[order] > 0]


def first_relevant_rank(scores: np.ndarray, relevant: np.ndarray) -> float:
    """1-based rank of the first relevant passage in :func:`ranking` of ``scores``;
    ``math.inf`` if no relevant passage has a score > 0. ``relevant``: ``(N,)`` bool."""
    relevant = np.asarray(relevant, dtype=bool)
    if relevant.shape != np.shape(scores):
        raise ValueError(f"relevant has shape {relevant.shape}, scores {np.shape(scores)}")
    hits = np.flatnonzero(relevant[ranking(scores)])
    return float(hits[0] + 1) if hits.size else math.inf


def success_at_k(ranks: Sequence[float], k: int) -> float:
    """Share of questions whose first relevant passage has rank <= ``k`` (success@k, also
    called hit rate or top-k retrieval accuracy)."""
    k = check_int("k", k, minimum=1)
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        raise ValueError("no questions")
    return float(np.mean(ranks <= k))


def recall_at_k(scores: np.ndarray, relevant: np.ndarray, k: int) -> float:
    """Share of one question's relevant passages that are among the first ``k`` of
    :func:`ranking` (recall of the top-``k`` set). A question with no relevant passage is an
    error: its recall is undefined."""
    k = check_int("k", k, minimum=1)
    relevant = np.asarray(relevant, dtype=bool)
    if not relevant.any():
        raise ValueError("recall is undefined for a question without relevant passages")
    return float(relevant[ranking(scores)[:k]].sum() / relevant.sum())


def mean_reciprocal_rank(ranks: Sequence[float]) -> float:
    """Mean of ``1 / rank`` over questions; a question whose relevant passage was not
    returned (rank ``inf``) contributes 0."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        raise ValueError("no questions")
    if np.any(ranks < 1):
        raise ValueError("ranks are 1-based")
    return float(np.mean(1.0 / ranks))


@dataclass(frozen=True)
class QuestionResult:
    """How one question fared: ``rank`` of its first relevant passage (``inf`` if none was
    returned), ``num_relevant`` passages judged relevant, and ``recall`` at ``recall_k``."""

    question: str
    rank: float
    num_relevant: int
    recall: float


def evaluate_retrieval(
    scores_fn,
    questions: Sequence[tuple[str, np.ndarray]],
    *,
    ks: Sequence[int] = (1, 3, 10),
    recall_k: int = 10,
) -> tuple[list[QuestionResult], dict[str, float]]:
    """Score a retriever on judged questions.

    Args:
        scores_fn: ``scores_fn(question) -> (N,)`` scores of the collection's passages (e.g.
            :meth:`BM25Index.scores`).
        questions: ``(question, relevant)`` pairs, ``relevant`` a ``(N,)`` bool mask with at
            least one ``True``.
        ks: the cut-offs of success@k.
        recall_k: the cut-off of recall@k.

    Returns:
        One :class:`QuestionResult` per question, and the summary ``{"success@k": ...,
        "recall@<recall_k>": mean recall, "MRR": mean reciprocal rank}``.
    """
    recall_k = check_int("recall_k", recall_k, minimum=1)
    ks = [check_int("ks", k, minimum=1) for k in ks]
    if not questions:
        raise ValueError("no questions to evaluate")
    results = []
    for question, relevant in questions:
        relevant = np.asarray(relevant, dtype=bool)
        if not relevant.any():
            raise ValueError(f"no passage is judged relevant for {question!r}")
        scores = scores_fn(question)
        rank = first_relevant_rank(scores, relevant)
        recall = recall_at_k(scores, relevant, recall_k)
        results.append(QuestionResult(question, rank, int(relevant.sum()), recall))
    ranks = [r.rank for r in results]
    summary = {f"success@{k}": success_at_k(ranks, k) for k in ks}
    summary[f"recall@{recall_k}"] = float(np.mean([r.recall for r in results]))
    summary["MRR"] = mean_reciprocal_rank(ranks)
    return results, summary
