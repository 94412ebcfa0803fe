"""Fingerprints: SHA-256 digests of what a result depends on (data, settings, the library).

A cache is only as honest as its key. The course keeps two caches, the HTML build's executed
notebooks (:mod:`course_lib.book.cache`) and trained models
(:mod:`course_lib.training.model_cache`); both name what a result depends on with the digests
of this module, so "the same data", "the same settings" and "the same library" mean one thing
everywhere:

* :func:`digest` -- of a sequence of strings or bytes, each prefixed by its length, so that
  ``("ab", "c")`` and ``("a", "bc")`` differ;
* :func:`array_digest` -- of an array's dtype, shape and bytes (NumPy, or anything
  ``np.asarray`` accepts): the checksum of a training set;
* :func:`value_digest` -- of plain data (dicts, lists, numbers, strings, dataclasses), written
  as canonical JSON with sorted keys: the checksum of a configuration;
* :func:`library_digest` -- of every ``.py`` file of ``course_lib`` (path and content): any
  change to the library's code changes it.

No TensorFlow here; NumPy is imported only by :func:`array_digest`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

LIBRARY = Path(__file__).resolve().parents[1]  # the course_lib package


def digest(parts: Iterable[str | bytes]) -> str:
    """SHA-256 (hex) of ``parts``, each length-prefixed; strings are encoded as UTF-8."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, str):
            data = part.encode("utf-8")
        elif isinstance(part, (bytes, bytearray, memoryview)):
            data = bytes(part)
        else:
            raise TypeError(f"digest() takes str or bytes parts, got {type(part).__name__}")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def array_digest(array: Any) -> str:
    """SHA-256 (hex) of an array's dtype, shape and C-ordered bytes.

    Two arrays with equal values but another dtype or shape get different digests (an int32
    and an int64 copy of the same token ids are different training data for a cache key).
    """
    import numpy as np

    a = np.ascontiguousarray(np.asarray(array))
    if a.dtype == object:
        raise TypeError("array_digest() needs a numeric or string array, got dtype=object")
    return digest([str(a.dtype), json.dumps(list(a.shape)), a.tobytes()])


def _plain(value: Any, where: str) -> Any:
    """``value`` as JSON-ready plain data, or ``TypeError`` naming where it failed."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name), where) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: dict keys must be strings, got {key!r}")
            out[key] = _plain(item, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        return value
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "item") and callable(value.item):  # a NumPy scalar
        return _plain(value.item(), where)
    raise TypeError(
        f"{where}: cannot fingerprint a {type(value).__name__}; use plain data "
        "(numbers, strings, lists, dicts, dataclasses)"
    )


def value_digest(value: Any) -> str:
    """SHA-256 (hex) of plain data as canonical JSON (sorted keys, no spaces).

    Tuples count as lists and dataclasses as dicts of their fields; anything else that is not
    plain data (a function, a Keras object) raises ``TypeError`` rather than being skipped.
    """
    return digest([canonical_json(value)])


def canonical_json(value: Any) -> str:
    """``value`` as the canonical JSON :func:`value_digest` hashes."""
    return json.dumps(_plain(value, "value"), sort_keys=True, separators=(",", ":"))


def library_digest(package: str | Path = LIBRARY, *, exclude: Iterable[str] = ()) -> str:
    """SHA-256 (hex) of every ``.py`` file under ``package``: relative path and content.

    ``exclude`` names top-level sub-packages to leave out (the HTML build leaves out its own
    ``book/``, which no notebook imports). ``__pycache__`` is always left out.
    """
    package = Path(package)
    skip = set(exclude)
    parts: list[str | bytes] = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if rel.parts[0] in skip or "__pycache__" in rel.parts:
            continue
        parts += [rel.as_posix(), path.read_bytes()]
    return digest(parts)
