"""Question answering by retrieval: find the passage of the course that best answers a question.

The passages are the course's own text: the markdown cells of every chapter notebook and the
README, cut at headings (:func:`course_passages`). A question and each passage become bags of
lower-case words (:func:`words`), and passages are ranked by BM25 (Robertson & Zaragoza 2009),
the scoring function of most search engines, through the ``bm25s`` library (Lù 2024). With
``N`` passages, ``df(w)`` the number that contain word ``w``, ``tf(w, d)`` its count in passage
``d``, ``|d|`` the passage's length in words and ``avgdl`` the mean length, the variant used
here (Lucene's, ``bm25s``' default) scores

.. math:: \\mathrm{score}(q, d) = \\sum_{w \\in q} \\log\\Big(1 + \\frac{N - df(w) + 0.5}{df(w) + 0.5}\\Big)
          \\frac{tf(w, d)}{tf(w, d) + k_1 (1 - b + b\\,|d| / \\mathrm{avgdl})}

with ``k1 = 1.5`` and ``b = 0.75``. :func:`bm25_by_hand` computes the same formula in NumPy so
the notebook can show it and the tests can check the library against it. Rare words weigh
more (the log factor); repeating a word helps less and less (the saturating fraction); long
passages are penalised (``b``).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

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
    """Lower-case alphanumeric words of ``text``: ``"The KV-cache!"`` -> ``["the", "kv", "cache"]``."""
    return _WORD.findall(text.lower())


def split_markdown(markdown: str, source: str, max_words: int = 250) -> list[Passage]:
    """Cut markdown at headings (``#`` to ``####``), then cut any section longer than
    ``max_words`` words into pieces at paragraph breaks (at line breaks inside a paragraph,
    such as a table, that is longer by itself); empty sections are dropped."""
    if max_words < 20:
        raise ValueError(f"max_words must be >= 20, got {max_words}")
    passages: list[Passage] = []
    heading, starts = "", [m for m in _HEADING.finditer(markdown)]
    bounds = [0] + [m.start() for m in starts] + [len(markdown)]
    for begin, end in zip(bounds[:-1], bounds[1:]):
        section = markdown[begin:end].strip()
        match = _HEADING.match(section)
        if match:
            heading = match.group(2).strip()
        piece: list[str] = []
        units = [u for paragraph in section.split("\n\n")
                 for u in ([paragraph] if len(words(paragraph)) <= max_words else paragraph.split("\n"))]
        for paragraph in units:
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
        raise FileNotFoundError(f"{chapters} does not exist: pass the course's root folder (the one with chapters/)")
    passages = split_markdown((root / "README.md").read_text(encoding="utf-8"), "README.md", max_words) \
        if (root / "README.md").is_file() else []
    for path in sorted(chapters.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
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
        if not (k1 >= 0 and 0 <= b <= 1):
            raise ValueError(f"need k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.passages = list(passages)
        self.k1, self.b = k1, b
        self._bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        self._bm25.index([words(p.heading + " " + p.text) for p in self.passages], show_progress=False)

    def scores(self, question: str) -> np.ndarray:
        """BM25 score of every passage for ``question``, ``(N,)`` float."""
        return np.asarray(self._bm25.get_scores(words(question)), dtype=np.float64)

    def search(self, question: str, k: int = 3) -> list[tuple[Passage, float]]:
        """The ``k`` highest-scoring passages with a score > 0, best first."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        scores = self.scores(question)
        best = np.argsort(-scores, kind="stable")[:k]
        return [(self.passages[i], float(scores[i])) for i in best if scores[i] > 0]


def bm25_by_hand(query: Sequence[str], documents: Sequence[Sequence[str]], k1: float = 1.5,
                 b: float = 0.75) -> np.ndarray:
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
