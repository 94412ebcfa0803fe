"""Finding duplicate and near-duplicate documents: what "cleaning" an LLM's training data means.

Two documents are **exact duplicates** when their normalised text is equal
(:func:`normalise_text`: Unicode NFKC, lower case, runs of white space collapsed); hashing the
normalised text (:func:`exact_duplicate_groups`) finds all of them in one pass.

Two documents are **near duplicates** when their sets of shingles (:func:`shingles`: the
overlapping runs of ``k`` words or characters) overlap a lot. The overlap is the Jaccard index,
Broder's *resemblance* (Broder 1997, "On the resemblance and containment of documents"),

    ``J(A, B) = |A ∩ B| / |A ∪ B|``  (:func:`jaccard`).

Comparing every pair costs ``n(n - 1)/2`` comparisons, so large corpora use two tricks:

* **MinHash** (:class:`MinHasher`, Broder 1997): for a random hash function ``h`` the smallest
  hash value of a set is the same for ``A`` and ``B`` with probability exactly ``J(A, B)``
  (the minimum of ``A ∪ B`` is equally likely to be any of its elements, and both minima agree
  exactly when it lies in ``A ∩ B``). A *signature* of ``m`` such minima, one per hash
  function, estimates ``J`` by the share of agreeing entries (:func:`signature_similarity`),
  with standard error ``sqrt(J (1 - J) / m)``.
* **LSH banding** (:func:`lsh_candidate_pairs`): cut each signature into ``b`` bands of ``r``
  rows (``b r <= m``); two documents become a *candidate pair* when all ``r`` rows of at least
  one band agree. For a pair with Jaccard ``s`` that happens with probability
  ``1 - (1 - s^r)^b`` (:func:`lsh_collision_probability`), an S-curve that is steep around
  ``(1/b)^(1/r)``: near duplicates almost always collide, dissimilar pairs almost never, and
  only the candidates are compared exactly (:func:`near_duplicate_pairs`).

The hash functions are the universal family ``h_i(x) = (a_i x + b_i) mod p`` with the Mersenne
prime ``p = 2^31 - 1`` applied to a stable 31-bit hash of each shingle (BLAKE2b; Python's own
``hash`` of a string changes from one process to the next), so every product fits in 64 bits
and the arithmetic is exact in NumPy.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from course_lib.runtime.validation import check_choice, check_int

MERSENNE_PRIME = (1 << 31) - 1  # p: every hash value lies in 0 .. p - 1
_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """``text`` as exact deduplication compares it: Unicode NFKC, lower case, every run of
    white space one space, no space at either end. ``"To be,\\n  or NOT"`` -> ``"to be, or not"``.
    Punctuation is kept: two documents that differ in punctuation are not exact duplicates."""
    if not isinstance(text, str):
        raise TypeError(f"a document must be a string, got {type(text).__name__}")
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def _check_documents(documents: Sequence[str]) -> list[str]:
    if isinstance(documents, str):
        raise TypeError("pass a list of documents, not a single string")
    docs = list(documents)
    if not all(isinstance(d, str) for d in docs):
        raise TypeError("every document must be a string")
    return docs


def exact_duplicate_groups(documents: Sequence[str]) -> list[list[int]]:
    """Groups of indices of documents whose :func:`normalise_text` is equal (SHA-256 of the
    UTF-8 bytes), each group sorted, groups ordered by their first index; only groups of two or
    more documents are returned."""
    groups: dict[bytes, list[int]] = {}
    for i, doc in enumerate(_check_documents(documents)):
        key = hashlib.sha256(normalise_text(doc).encode("utf-8")).digest()
        groups.setdefault(key, []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])


def shingles(text: str, k: int, *, unit: str = "words") -> frozenset[str]:
    """The set of overlapping runs of ``k`` units of :func:`normalise_text` ``(text)``.

    ``unit="words"``: runs of ``k`` white-space separated words, joined by one space;
    ``unit="chars"``: runs of ``k`` characters (for Chinese, or to be robust to word edits).
    A text shorter than ``k`` units gives one shingle (the whole text), an empty text none.
    ``shingles("a rose is a rose", 2)`` -> ``{"a rose", "rose is", "is a"}``.
    """
    k = check_int("k", k, minimum=1)
    unit = check_choice("unit", unit, ("words", "chars"))
    norm = normalise_text(text)
    if not norm:
        return frozenset()
    if unit == "words":
        tokens = norm.split(" ")
        return frozenset(" ".join(tokens[i : i + k]) for i in range(max(len(tokens) - k + 1, 1)))
    return frozenset(norm[i : i + k] for i in range(max(len(norm) - k + 1, 1)))


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    """Jaccard index ``|A ∩ B| / |A ∪ B|`` of two sets (1.0 for two empty sets)."""
    sa, sb = set(a), set(b)
    union = len(sa | sb)
    return len(sa & sb) / union if union else 1.0


def shingle_hash(shingle: str) -> int:
    """A stable hash of a shingle in ``0 .. p - 2`` (``p = 2^31 - 1``): the first 8 bytes of its
    BLAKE2b digest modulo ``p - 1``. The same in every process, unlike ``hash(shingle)``."""
    digest = hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % (MERSENNE_PRIME - 1)


@dataclass(frozen=True)
class MinHasher:
    """``num_perm`` hash functions ``h_i(x) = (a_i x + b_i) mod p`` drawn with ``seed``
    (``1 <= a_i < p``, ``0 <= b_i < p``, ``p = 2^31 - 1``); :meth:`signatures` keeps, for each
    document and each ``i``, the smallest ``h_i`` over the document's shingles."""

    num_perm: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("num_perm", self.num_perm, minimum=1)
        check_int("seed", self.seed, minimum=0)

    def coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """``(a, b)``, two int64 arrays of shape ``(num_perm,)``."""
        rng = np.random.default_rng(self.seed)
        a = rng.integers(1, MERSENNE_PRIME, self.num_perm, dtype=np.int64)
        b = rng.integers(0, MERSENNE_PRIME, self.num_perm, dtype=np.int64)
        return a, b

    def signature(self, shingle_set: Iterable[str]) -> np.ndarray:
        """The MinHash signature of one set of shingles: int64 ``(num_perm,)``. An empty set
        gets ``p`` in every entry (larger than any hash value, so it matches only other empty
        sets)."""
        x = np.fromiter((shingle_hash(s) for s in set(shingle_set)), dtype=np.int64)
        if x.size == 0:
            return np.full(self.num_perm, MERSENNE_PRIME, dtype=np.int64)
        a, b = self.coefficients()
        # (num_perm, 1) * (1, n) < 2^62: exact in int64
        return ((a[:, None] * x[None, :] + b[:, None]) % MERSENNE_PRIME).min(axis=1)

    def signatures(self, shingle_sets: Sequence[Iterable[str]]) -> np.ndarray:
        """Signatures of many documents: int64 ``(n_documents, num_perm)``, row ``d`` equal to
        :meth:`signature` of document ``d``. All shingles of all documents are hashed in one
        ``(num_perm, total shingles)`` product, cut into documents by ``np.minimum.reduceat``."""
        sets = [set(s) for s in shingle_sets]
        out = np.full((len(sets), self.num_perm), MERSENNE_PRIME, dtype=np.int64)
        sizes = np.array([len(s) for s in sets], dtype=np.int64)
        filled = np.flatnonzero(sizes)
        if filled.size == 0:
            return out
        x = np.fromiter(
            (shingle_hash(sh) for d in filled for sh in sets[d]),
            dtype=np.int64,
            count=int(sizes.sum()),
        )
        starts = np.concatenate([[0], np.cumsum(sizes[filled])[:-1]])
        a, b = self.coefficients()
        chunk = max(1, 2_000_000 // self.num_perm)  # documents per block: bounded memory
        for lo in range(0, filled.size, chunk):
            docs = filled[lo : lo + chunk]
            first = starts[lo]
            last = starts[lo + chunk] if lo + chunk < filled.size else x.size
            values = (a[:, None] * x[None, first:last] + b[:, None]) % MERSENNE_PRIME
            out[docs] = np.minimum.reduceat(values, starts[lo : lo + chunk] - first, axis=1).T
        return out


def signature_similarity(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The MinHash estimate of ``J(A, B)``: the share of entries where two signatures agree."""
    sig_a, sig_b = np.asarray(sig_a), np.asarray(sig_b)
    if sig_a.shape != sig_b.shape or sig_a.ndim != 1 or sig_a.size == 0:
        raise ValueError(
            f"need two signatures of the same length, got shapes {sig_a.shape} and {sig_b.shape}"
        )
    return float(np.mean(sig_a == sig_b))


def lsh_collision_probability(s: float | np.ndarray, bands: int, rows: int) -> float | np.ndarray:
    """``1 - (1 - s^r)^b``: the probability that a pair of Jaccard ``s`` agrees on all ``r``
    rows of at least one of ``b`` bands (each row agrees with probability ``s``, independently)."""
    bands = check_int("bands", bands, minimum=1)
    rows = check_int("rows", rows, minimum=1)
    s_arr = np.asarray(s, dtype=float)
    if np.any((s_arr < 0) | (s_arr > 1)):
        raise ValueError("a Jaccard index lies in [0, 1]")
    p = 1.0 - (1.0 - s_arr**rows) ** bands
    return float(p) if np.ndim(s) == 0 else p


def lsh_candidate_pairs(signatures: np.ndarray, bands: int, rows: int) -> set[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of documents whose signatures agree on every row of at least
    one band. ``signatures``: ``(n_documents, num_perm)`` with ``bands * rows <= num_perm``
    (band ``k`` is columns ``k r .. k r + r - 1``)."""
    bands = check_int("bands", bands, minimum=1)
    rows = check_int("rows", rows, minimum=1)
    sig = np.asarray(signatures)
    if sig.ndim != 2 or bands * rows > sig.shape[1]:
        raise ValueError(
            f"need signatures of shape (n, num_perm) with bands * rows <= num_perm, got "
            f"{sig.shape} for {bands} bands of {rows} rows"
        )
    pairs: set[tuple[int, int]] = set()
    for k in range(bands):
        buckets: dict[bytes, list[int]] = {}
        for i, key in enumerate(np.ascontiguousarray(sig[:, k * rows : (k + 1) * rows])):
            buckets.setdefault(key.tobytes(), []).append(i)
        for members in buckets.values():
            pairs.update(
                (members[x], members[y])
                for x in range(len(members))
                for y in range(x + 1, len(members))
            )
    return pairs


def near_duplicate_pairs(
    shingle_sets: Sequence[Iterable[str]],
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    bands: int = 32,
    rows: int = 4,
    seed: int = 0,
) -> list[tuple[int, int, float]]:
    """Near-duplicate pairs ``(i, j, J)``: the LSH candidates of :class:`MinHasher` signatures
    whose exact Jaccard ``J`` is at least ``threshold``, sorted by ``(-J, i, j)``.

    A pair whose Jaccard is above the threshold is missed only if no band collides, which has
    probability ``(1 - J^r)^b`` (``< 1e-4`` for ``J >= 0.8`` with the defaults ``b = 32``,
    ``r = 4``)."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
    sets = [frozenset(s) for s in shingle_sets]
    sig = MinHasher(num_perm, seed).signatures(sets)
    found = []
    for i, j in lsh_candidate_pairs(sig, bands, rows):
        score = jaccard(sets[i], sets[j])
        if score >= threshold:
            found.append((i, j, score))
    return sorted(found, key=lambda t: (-t[2], t[0], t[1]))


def duplicate_clusters(n_documents: int, pairs: Iterable[tuple[int, ...]]) -> list[list[int]]:
    """Connected components (union-find) of the graph whose edges are ``pairs`` (only the first
    two entries of each tuple are used); only components of two or more documents, each sorted,
    ordered by their first index. Deduplication keeps one document per cluster."""
    n_documents = check_int("n_documents", n_documents, minimum=0)
    parent = list(range(n_documents))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for pair in pairs:
        ri, rj = root(pair[0]), root(pair[1])
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    clusters: dict[int, list[int]] = {}
    for i in range(n_documents):
        clusters.setdefault(root(i), []).append(i)
    return sorted((c for c in clusters.values() if len(c) > 1), key=lambda c: c[0])


def keep_one_per_cluster(n_documents: int, clusters: Iterable[Sequence[int]]) -> list[int]:
    """Indices of the documents deduplication keeps: every document outside the clusters and
    the first (smallest index) of each cluster, in order."""
    n_documents = check_int("n_documents", n_documents, minimum=0)
    dropped = {i for c in clusters for i in sorted(c)[1:]}
    return [i for i in range(n_documents) if i not in dropped]
