"""How good is a language model, or a translation? The numbers chapter 6 reports.

*Intrinsic* (how well a model predicts held-out text), from a mean cross-entropy ``H`` in nats
per token, ``H = -(1/N) sum_t log p(x_t | x_<t)``:

* :func:`bits_per_token` ``H / ln 2`` (bits per character for a character model);
* :func:`perplexity` ``exp(H)``: the size of a uniform choice that is as uncertain.

*Extrinsic* (how good an output is against a reference), through ``sacrebleu`` (Post 2018), the
standard implementation whose scores are comparable across papers:

* :func:`corpus_bleu` (Papineni et al. 2002): geometric mean of modified n-gram precisions
  (n = 1..4) times a brevity penalty, 0..100;
* :func:`corpus_chrf` (Popović 2015): F-score of character n-grams (n = 1..6), precision and
  recall averaged over the orders, with sacrebleu's default beta = 2, 0..100;
* :func:`corpus_rouge` (Lin 2004, "ROUGE: A Package for Automatic Evaluation of Summaries"),
  through ``rouge-score`` (Google's reimplementation of the original ROUGE-1.5.5 Perl
  script): ROUGE-N, the n-gram overlap counted against the reference (recall) and against the
  output (precision), and ROUGE-L, the same from the longest common subsequence; 0..1;
* :func:`exact_match`: the share of outputs equal to their reference, 0..1;
* :func:`token_f1` (the SQuAD answer metric, Rajpurkar et al. 2016, "SQuAD: 100,000+
  Questions for Machine Comprehension of Text", arXiv:1606.05250): F1 of the words two answers
  share, after :func:`normalise_answer`, 0..1.

:func:`bleu_by_hand` computes BLEU from its definition in plain Python so a notebook can show
every term; the tests check it against ``sacrebleu``. For Chinese, BLEU needs a tokenisation:
``tokenize="zh"`` (sacrebleu's Chinese tokeniser) splits every Chinese character into its own
token; it is the tokeniser sacrebleu itself picks when told the target language is Chinese
(``BLEU(trg_lang="zh")``), and it warns when another one is used for Chinese.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from course_lib.runtime.validation import check_choice, check_int, check_real

_WORD = re.compile(r"[a-z0-9]+")
ARTICLES = frozenset({"a", "an", "the"})


def _check_nats(nats: float) -> float:
    return check_real("nats", nats, minimum=0.0)


def bits_per_token(nats: float) -> float:
    """``H / ln 2``: a cross-entropy of ``H`` nats per token expressed in bits per token."""
    return _check_nats(nats) / math.log(2.0)


def perplexity(nats: float) -> float:
    """``exp(H)``: perplexity of a model whose mean cross-entropy is ``H`` nats per token."""
    return math.exp(_check_nats(nats))


def _check_pairs(
    hypotheses: Sequence[str], references: Sequence[str]
) -> tuple[list[str], list[str]]:
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise TypeError(
            "pass lists of strings (one hypothesis and one reference per example), "
            "not a single string"
        )
    hyps, refs = list(hypotheses), list(references)
    if len(hyps) != len(refs) or not hyps:
        raise ValueError(
            "need as many references as hypotheses (and at least one), "
            f"got {len(hyps)} and {len(refs)}"
        )
    if not all(isinstance(s, str) for s in hyps + refs):
        raise TypeError("hypotheses and references must be strings")
    return hyps, refs


def exact_match(
    hypotheses: Sequence[str], references: Sequence[str], *, strip: bool = True
) -> float:
    """Share of hypotheses identical to their reference (after ``str.strip`` if ``strip``),
    in 0..1."""
    hyps, refs = _check_pairs(hypotheses, references)
    if strip:
        hyps = [h.strip() for h in hyps]
        refs = [r.strip() for r in refs]
    return sum(h == r for h, r in zip(hyps, refs, strict=True)) / len(hyps)


def normalise_answer(text: str) -> str:
    """An answer reduced to what :func:`token_f1` compares: lower-case alphanumeric words,
    articles (a, an, the) dropped, joined by single spaces. ``"The Wolfram-Alpha engine!"``
    -> ``"wolfram alpha engine"``. (SQuAD's script also lower-cases and drops punctuation and
    articles; it keeps non-ASCII letters, which this course's English answers do not need.)"""
    if not isinstance(text, str):
        raise TypeError(f"an answer must be a string, got {type(text).__name__}")
    return " ".join(w for w in _WORD.findall(text.lower()) if w not in ARTICLES)


def token_f1(prediction: str, reference: str) -> float:
    """Word-overlap F1 of two answers, in 0..1 (the SQuAD answer metric).

    With ``P`` and ``R`` the words of the normalised prediction and reference
    (:func:`normalise_answer`) and ``overlap = |P ∩ R|`` counted as a multiset,
    ``precision = overlap / |P|``, ``recall = overlap / |R|`` and
    ``F1 = 2 precision recall / (precision + recall)``; 0 when nothing overlaps. Two answers
    that are both empty after normalisation score 1, one empty answer scores 0 (as in the
    SQuAD 2.0 evaluation script)."""
    pred = normalise_answer(prediction).split()
    ref = normalise_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    overlap = sum((Counter(pred) & Counter(ref)).values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred)
    recall = overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


def corpus_bleu(
    hypotheses: Sequence[str], references: Sequence[str], *, tokenize: str = "13a"
) -> float:
    """Corpus BLEU (0..100) of one hypothesis per reference, by ``sacrebleu.corpus_bleu``.

    ``tokenize``: ``"13a"`` (sacrebleu's default, for English and other languages with spaces)
    or ``"zh"`` (each Chinese character a token). Counts are pooled over the corpus before the
    precisions are taken, so corpus BLEU is not the mean of sentence BLEUs.
    """
    import sacrebleu

    hyps, refs = _check_pairs(hypotheses, references)
    return float(sacrebleu.corpus_bleu(hyps, [refs], tokenize=tokenize).score)


def corpus_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF (0..100): ``sacrebleu.corpus_chrf`` with its defaults, character n-grams up
    to 6, beta = 2.

    It needs no word tokenisation, so it suits Chinese as it is.
    """
    import sacrebleu

    hyps, refs = _check_pairs(hypotheses, references)
    return float(sacrebleu.corpus_chrf(hyps, [refs]).score)


@dataclass(frozen=True)
class BleuTerms:
    """The parts of BLEU: ``precisions[n-1] = matches_n / totals_n`` (modified n-gram precision),
    the brevity penalty ``bp = min(1, exp(1 - r / c))`` with ``c`` the hypotheses' and ``r`` the
    references' token count, and ``score = 100 * bp * exp(mean_n log precisions[n-1])``."""

    matches: tuple[int, ...]
    totals: tuple[int, ...]
    precisions: tuple[float, ...]
    hyp_len: int
    ref_len: int
    bp: float
    score: float


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bleu_by_hand(
    hypotheses: Sequence[str], references: Sequence[str], *, max_n: int = 4, tokenize: str = "chars"
) -> BleuTerms:
    """BLEU from its definition (Papineni et al. 2002), one reference per hypothesis, no
    smoothing.

    Tokens: ``"chars"`` (every non-space character a token, which is what sacrebleu's ``"zh"``
    does to text made only of Chinese characters) or ``"spaces"`` (``str.split``). For each
    ``n``, a hypothesis n-gram counts as matched at most as often as it occurs in the reference
    ("clipping"); matches and totals are summed over the corpus. A zero precision gives 0.
    """
    hyps, refs = _check_pairs(hypotheses, references)
    tokenize = check_choice("tokenize", tokenize, ("chars", "spaces"))
    max_n = check_int("max_n", max_n, minimum=1)

    def split(text: str) -> list[str]:
        if tokenize == "chars":
            return [c for c in text if not c.isspace()]
        return text.split()

    matches = [0] * max_n
    totals = [0] * max_n
    hyp_len = 0
    ref_len = 0
    for hyp, ref in zip(hyps, refs, strict=True):
        h = split(hyp)
        r = split(ref)
        hyp_len += len(h)
        ref_len += len(r)
        for n in range(1, max_n + 1):
            h_counts = _ngrams(h, n)
            r_counts = _ngrams(r, n)
            matches[n - 1] += sum(min(c, r_counts[g]) for g, c in h_counts.items())
            totals[n - 1] += max(len(h) - n + 1, 0)
    precisions = tuple(m / t if t else 0.0 for m, t in zip(matches, totals, strict=True))
    bp = 1.0 if hyp_len > ref_len else (math.exp(1.0 - ref_len / hyp_len) if hyp_len else 0.0)
    score = (
        100.0 * bp * math.exp(sum(math.log(p) for p in precisions) / max_n)
        if min(precisions) > 0
        else 0.0
    )
    return BleuTerms(tuple(matches), tuple(totals), precisions, hyp_len, ref_len, bp, score)


@dataclass(frozen=True)
class RougeScore:
    """One ROUGE score, each in 0..1, averaged over the pairs: ``precision`` (overlap / output
    length), ``recall`` (overlap / reference length) and their harmonic mean ``fmeasure``."""

    precision: float
    recall: float
    fmeasure: float


class _CharTokenizer:
    """Every non-space character a token (the ``rouge-score`` tokenizer interface)."""

    def tokenize(self, text: str) -> list[str]:
        return [c for c in text if not c.isspace()]


ROUGE_KINDS = ("rouge1", "rouge2", "rougeL")


def corpus_rouge(
    hypotheses: Sequence[str],
    references: Sequence[str],
    *,
    kinds: Sequence[str] = ROUGE_KINDS,
    tokenize: str = "words",
) -> dict[str, RougeScore]:
    """ROUGE (Lin 2004) of one hypothesis per reference by ``rouge_score.RougeScorer``, the mean
    over the pairs of each pair's precision, recall and F-measure.

    With ``H`` and ``R`` the token n-grams of a hypothesis and its reference counted as
    multisets, ``ROUGE-N recall = |H ∩ R| / |R|`` and ``precision = |H ∩ R| / |H|``; ROUGE-L
    uses ``LCS(h, r) / |r|`` and ``LCS(h, r) / |h|`` with ``LCS`` the length of the longest
    common subsequence of the two token sequences. ``kinds``: any of ``"rouge1"`` ..
    ``"rouge9"`` and ``"rougeL"``. ``tokenize``: ``"words"`` (``rouge-score``'s default: lower
    case, every run of characters other than ``a-z0-9`` a separator, no stemming) or
    ``"chars"`` (every non-space character a token; the default tokenizer would delete Chinese
    text entirely, because it keeps only ``a-z0-9``).
    """
    from rouge_score import rouge_scorer

    hyps, refs = _check_pairs(hypotheses, references)
    tokenize = check_choice("tokenize", tokenize, ("words", "chars"))
    kinds = list(kinds)
    allowed = {f"rouge{n}" for n in range(1, 10)} | {"rougeL"}
    if not kinds or any(k not in allowed for k in kinds):
        raise ValueError(f"kinds must be some of rouge1..rouge9, rougeL; got {kinds}")
    tokenizer: Any = _CharTokenizer() if tokenize == "chars" else None
    scorer = rouge_scorer.RougeScorer(kinds, use_stemmer=False, tokenizer=tokenizer)
    sums = {k: [0.0, 0.0, 0.0] for k in kinds}
    for hyp, ref in zip(hyps, refs, strict=True):
        scores = scorer.score(ref, hyp)  # rouge-score's order: (target, prediction)
        for k in kinds:
            sums[k][0] += scores[k].precision
            sums[k][1] += scores[k].recall
            sums[k][2] += scores[k].fmeasure
    return {k: RougeScore(*(v / len(hyps) for v in sums[k])) for k in kinds}
