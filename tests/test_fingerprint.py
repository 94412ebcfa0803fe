"""Tests of course_lib.runtime.fingerprint: digests that change exactly when their input does."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

from course_lib.runtime import fingerprint


def test_digest_is_sha256_of_length_prefixed_parts():
    expected = hashlib.sha256()
    for part in (b"ab", b"c"):
        expected.update(len(part).to_bytes(8, "little") + part)
    assert fingerprint.digest(["ab", b"c"]) == expected.hexdigest()


def test_digest_separates_parts():
    assert fingerprint.digest(["ab", "c"]) != fingerprint.digest(["a", "bc"])


def test_digest_rejects_other_types():
    with pytest.raises(TypeError, match="str or bytes"):
        fingerprint.digest([1])


def test_array_digest_sees_values_dtype_and_shape():
    a = np.arange(6, dtype=np.int32)
    base = fingerprint.array_digest(a)
    assert fingerprint.array_digest(a.copy()) == base
    assert fingerprint.array_digest(a.astype(np.int64)) != base
    assert fingerprint.array_digest(a.reshape(2, 3)) != base
    b = a.copy()
    b[5] = 7
    assert fingerprint.array_digest(b) != base
    # a non-contiguous view hashes its values, not its memory
    assert fingerprint.array_digest(np.arange(12, dtype=np.int32)[::2]) == fingerprint.array_digest(
        np.arange(0, 12, 2, dtype=np.int32)
    )


def test_array_digest_refuses_object_arrays():
    with pytest.raises(TypeError, match="dtype=object"):
        fingerprint.array_digest(np.array([{}, 1], dtype=object))


@dataclasses.dataclass(frozen=True)
class Sizes:
    layers: int
    width: int


def test_value_digest_is_canonical_and_sees_nested_changes():
    one = {"model": Sizes(2, 64), "lr": 2e-3, "steps": [1, 2]}
    same = {"steps": (1, 2), "lr": 2e-3, "model": {"width": 64, "layers": 2}}
    assert fingerprint.value_digest(one) == fingerprint.value_digest(same)
    assert fingerprint.value_digest(one) != fingerprint.value_digest({**one, "model": Sizes(4, 64)})
    assert fingerprint.value_digest({"x": np.float32(0.5)}) == fingerprint.value_digest({"x": 0.5})


def test_value_digest_refuses_what_it_cannot_write():
    with pytest.raises(TypeError, match=r"value\.f: cannot fingerprint a function"):
        fingerprint.value_digest({"f": test_digest_separates_parts})
    with pytest.raises(TypeError, match="keys must be strings"):
        fingerprint.value_digest({1: 2})


def test_library_digest_follows_the_source(tmp_path):
    package = tmp_path / "pkg"
    (package / "book").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "book" / "b.py").write_text("y = 1\n")
    base = fingerprint.library_digest(package)
    without_book = fingerprint.library_digest(package, exclude=("book",))
    (package / "book" / "b.py").write_text("y = 2\n")
    assert fingerprint.library_digest(package) != base
    assert fingerprint.library_digest(package, exclude=("book",)) == without_book
    (package / "a.py").write_text("x = 2\n")
    assert fingerprint.library_digest(package, exclude=("book",)) != without_book


def test_the_course_library_has_a_digest():
    assert len(fingerprint.library_digest()) == 64
