"""Tokenisers: text -> integer ids -> text.

* :class:`CharTokenizer` -- one id per character, vocabulary = the sorted characters of a text.
* :func:`train_bpe` -> :class:`BPETokenizer` -- byte-level byte-pair encoding trained with
  Hugging Face's ``tokenizers`` library (imported when first used).
* :func:`bpe_merges` -- the first BPE merges done by hand in pure Python, to see the idea.

Every tokeniser has ``encode(text) -> int32 (n,)``, ``decode(ids) -> str`` and ``vocab_size``,
and ``decode(encode(text)) == text`` for every text it can encode.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from course_lib.runtime.validation import check_array, check_int


def _ids_1d(ids: Any, vocab_size: int) -> np.ndarray:
    """``ids`` (list, NumPy array or tensor with ``.numpy()``) as int64 ``(n,)`` in range.
    An empty list is accepted (it decodes to the empty string)."""
    arr = np.asarray(ids.numpy() if hasattr(ids, "numpy") else ids)
    if arr.size == 0 and arr.ndim == 1:
        return arr.astype(np.int64)
    arr = check_array("ids", arr, ndim=1, kind="int", dtype=np.int64)
    bad = arr[(arr < 0) | (arr >= vocab_size)]
    if bad.size:
        raise ValueError(f"ids {bad[:5].tolist()} are outside 0..{vocab_size - 1}")
    return arr


def _check_text(text: Any) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return text


# --- characters ----------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class CharTokenizer:
    """Character-level tokeniser: id ``i`` is the character ``chars[i]``.

    ``chars`` is the vocabulary, distinct characters in sorted (code point) order, so the
    same text always gives the same ids. Works for any Unicode text (English, Chinese, ...).
    Unknown-character policy: :meth:`encode` raises ``ValueError`` naming the characters that
    are not in the vocabulary; build the tokeniser from a text that contains them.
    """

    chars: tuple[str, ...]
    _index: dict[str, int] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if any(not isinstance(c, str) or len(c) != 1 for c in self.chars):
            raise ValueError("chars must be single characters")
        if list(self.chars) != sorted(set(self.chars)) or not self.chars:
            raise ValueError("chars must be non-empty, distinct and sorted")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.chars)})

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """The tokeniser whose vocabulary is the sorted set of characters of ``text``."""
        _check_text(text)
        if not text:
            raise ValueError("cannot build a vocabulary from an empty text")
        return cls(tuple(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        """Number of distinct characters, ``len(chars)``."""
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """``text`` -> int32 ``(len(text),)``, one id per character."""
        _check_text(text)
        index = self._index
        try:
            return np.fromiter((index[c] for c in text), dtype=np.int32, count=len(text))
        except KeyError:
            unknown = sorted(set(text) - set(index))
            shown = ", ".join(repr(c) for c in unknown[:10])
            more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
            raise ValueError(
                f"{len(unknown)} character(s) not in the vocabulary of {self.vocab_size}: "
                f"{shown}{more}. Build the tokenizer from a text that contains them, e.g. "
                "CharTokenizer.from_text(train + val)."
            ) from None

    def decode(self, ids: Any) -> str:
        """int ids ``(n,)`` -> the string of their characters (the inverse of :meth:`encode`)."""
        return "".join(self.chars[i] for i in _ids_1d(ids, self.vocab_size).tolist())

    def __repr__(self) -> str:
        preview = "".join(self.chars[:40])
        more = "..." if self.vocab_size > 40 else ""
        return f"CharTokenizer(vocab_size={self.vocab_size}, chars={preview!r}{more})"


# --- byte-level BPE with Hugging Face tokenizers -------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class BPETokenizer:
    """A trained byte-level BPE tokeniser (a ``tokenizers.Tokenizer`` inside).

    Text is first split into UTF-8 bytes, each byte shown as one printable character (GPT-2's
    mapping: a space is ``Ġ``, a newline ``Ċ``), so every text can be encoded -- the 256
    bytes are in the vocabulary -- and decoding gives back exactly the same text, spaces and
    newlines included. The ids of a multi-byte character (e.g. Chinese, 3 bytes in UTF-8) may
    be split across tokens; decoding part of such a sequence can give ``"\\ufffd"``."""

    tokenizer: Any  # a tokenizers.Tokenizer (the library is imported when first used)

    @property
    def vocab_size(self) -> int:
        """Number of tokens: 256 bytes plus one per learned merge."""
        return int(self.tokenizer.get_vocab_size())

    def encode(self, text: str) -> np.ndarray:
        """``text`` -> int32 ``(n,)`` token ids."""
        _check_text(text)
        return np.asarray(self.tokenizer.encode(text).ids, dtype=np.int32)

    def decode(self, ids: Any) -> str:
        """int ids ``(n,)`` -> text (the inverse of :meth:`encode`)."""
        return self.tokenizer.decode(_ids_1d(ids, self.vocab_size).tolist())

    def tokens(self, text: str) -> list[str]:
        """The tokens of ``text`` as the tokeniser stores them (byte characters, ``Ġ`` = space)."""
        return self.tokenizer.encode(text).tokens

    def save(self, path: str | Path) -> None:
        """Write the tokeniser as one JSON file (``tokenizers``' format)."""
        self.tokenizer.save(str(path))

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """Read a tokeniser written by :meth:`save`."""
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_file(str(path)))

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size})"


def train_bpe(text: str, vocab_size: int, *, min_frequency: int = 2) -> BPETokenizer:
    """Train byte-level BPE on ``text`` until ``vocab_size`` tokens (256 bytes + merges).

    No normaliser, no special tokens; the pre-tokeniser is ``ByteLevel(add_prefix_space=
    False)``, which also splits text into words, numbers and punctuation (GPT-2's regular
    expression) so merges never cross those boundaries. A pair must occur ``min_frequency``
    times to be merged, so a short text can stop below ``vocab_size`` (check
    ``.vocab_size``). Deterministic: the same text and settings give the same merges.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    vocab_size = check_int("vocab_size", vocab_size, minimum=256)
    min_frequency = check_int("min_frequency", min_frequency, minimum=1)
    _check_text(text)
    if not text:
        raise ValueError("cannot train on an empty text")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    tok.train_from_iterator([text], trainer=trainer)
    return BPETokenizer(tok)


# --- BPE by hand ---------------------------------------------------------------------------


class Merge(NamedTuple):
    """One BPE step: the adjacent pair ``(left, right)`` seen ``count`` times became one symbol."""

    left: str
    right: str
    count: int

    @property
    def merged(self) -> str:
        """The new symbol, ``left + right``."""
        return self.left + self.right


def merge_pair(symbols: list[str], left: str, right: str) -> list[str]:
    """Replace every occurrence of ``left, right`` in ``symbols``, scanning left to right."""
    out = []
    i = 0
    while i < len(symbols):
        if i + 1 < len(symbols) and symbols[i] == left and symbols[i + 1] == right:
            out.append(left + right)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def bpe_merges(text: str, num_merges: int) -> tuple[list[Merge], list[str]]:
    """The first ``num_merges`` steps of byte-pair encoding on the characters of ``text``.

    Start from the characters; each step counts every adjacent pair of symbols (at every
    position, so "aaa" holds the pair ("a", "a") twice), takes the most frequent, and merges
    its occurrences left to right. Ties go to the pair that occurs first in the current
    symbols. Stops early when no pair occurs at least twice. No pre-tokenisation: merges may
    cross spaces. Returns the merges in order and the symbols after the last one, so
    ``"".join(symbols) == text``.
    """
    num_merges = check_int("num_merges", num_merges, minimum=0)
    _check_text(text)
    symbols = list(text)
    merges = []
    for _ in range(num_merges):
        # adjacent pairs, in order of first sight
        counts = Counter(pairwise(symbols))
        if not counts:
            break
        (left, right), count = max(counts.items(), key=lambda kv: kv[1])  # first max wins
        if count < 2:
            break
        merges.append(Merge(left, right, count))
        symbols = merge_pair(symbols, left, right)
    return merges, symbols
