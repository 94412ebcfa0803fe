"""MNIST and Fashion-MNIST from local files only (never downloads), scaling and binarisation.

Images are uint8 ``(N, 28, 28)``, labels uint8 ``(N,)`` in 0..9. MNIST is the database of
handwritten digits of LeCun, Cortes and Burges (http://yann.lecun.com/exdb/mnist/; LeCun et al.
1998, "Gradient-based learning applied to document recognition", Proc. IEEE 86(11));
Fashion-MNIST is Zalando's set of clothing images in the same format (Xiao, Rasul & Vollgraf
2017, arXiv:1708.07747; MIT licence, copyright 2017 Zalando SE). Where the files come from and
under which terms: data/README.md.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from course_lib.runtime import get_paths
from course_lib.runtime.validation import check_int

SHIPPED_MNIST_FILE = "mnist_subset.npz"
SHIPPED_MNIST_SHA256 = "364ee37dbf5313c12d0fd52e7c31de6d5b27b41a3c07fa161ae59b3b3d8ed8d9"
MNIST_DIR_ENV = "COURSE_MNIST_DIR"
FASHION_DIR_ENV = "COURSE_FASHION_MNIST_DIR"
FASHION_DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
MNIST_SOURCES = ("auto", "idx", "keras", "shipped")
DIGIT_NAMES = tuple(str(d) for d in range(10))
FASHION_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
IDX_STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
# IDX type byte -> big-endian NumPy dtype (the "IDX file format" on
# http://yann.lecun.com/exdb/mnist/).
IDX_DTYPES = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
MNIST_HOWTO = (
    "To get the full MNIST offline, copy ~/.keras/datasets/mnist.npz (Keras' cache, made by "
    "keras.datasets.mnist.load_data()) from a machine with internet to the same place here, or "
    f"put the four IDX files ({', '.join(IDX_STEMS.values())}, optionally .gz) in a folder and "
    f"set {MNIST_DIR_ENV}=/that/folder. The course's subset data/{SHIPPED_MNIST_FILE} comes "
    "with the repository (restore it with git). See data/README.md."
)


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is on none of the paths tried (``.tried``); the message says how to get it."""

    def __init__(self, dataset: str, tried: list[str], howto: str) -> None:
        self.dataset = dataset
        self.tried = list(tried)
        self.howto = howto
        lines = "\n".join(f"  - {t}" for t in tried)
        super().__init__(f"{dataset} not found. Looked for:\n{lines}\n{howto}")


@dataclass(frozen=True, eq=False, repr=False)
class ImageData:
    """A train/test split of greyscale images: ``x_*`` uint8 ``(N, 28, 28)`` with intensities
    0..255, ``y_*`` uint8 ``(N,)`` indices into ``class_names``; ``name`` e.g. ``"MNIST"``;
    ``source`` says which file or folder the arrays came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    source: str
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        """Validate the shapes, dtypes and labels of both splits."""
        for split in ("train", "test"):
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            if x.dtype != np.uint8 or x.ndim != 3 or y.dtype != np.uint8 or y.ndim != 1:
                got = f"{x.dtype}{x.shape}, {y.dtype}{y.shape}"
                raise ValueError(f"{split}: need uint8 x (N,H,W) and y (N,), got {got}")
            if len(x) != len(y):
                raise ValueError(f"{split}: {len(x)} images but {len(y)} labels")
            if len(y) and int(y.max()) >= len(self.class_names):
                raise ValueError(f"{split}: label {int(y.max())} >= {self.num_classes} classes")

    @property
    def num_classes(self) -> int:
        """Number of classes, ``len(class_names)``."""
        return len(self.class_names)

    def subset(
        self, n_train: int | None = None, n_test: int | None = None, seed: int = 0
    ) -> ImageData:
        """A class-balanced (stratified) random subset; ``None`` keeps a whole split.

        Each class gets ``n // num_classes`` rows plus at most one of the remainder; a class
        with too few gives all it has and the others make up the rest. Rows come shuffled;
        the same seed gives the same subset.
        """
        seed = check_int("seed", seed, minimum=0)
        rng = np.random.default_rng(seed)
        train_rows = _stratified_indices(self.y_train, n_train, self.num_classes, rng, "n_train")
        test_rows = _stratified_indices(self.y_test, n_test, self.num_classes, rng, "n_test")
        arrays = {
            "x_train": self.x_train[train_rows],
            "y_train": self.y_train[train_rows],
            "x_test": self.x_test[test_rows],
            "y_test": self.y_test[test_rows],
        }
        note = f"; subset(n_train={n_train}, n_test={n_test}, seed={seed})"
        return replace(self, **arrays, source=self.source + note)

    def summary(self) -> str:
        """One line: name, split sizes, number of classes and source."""
        sizes = f"train {len(self.x_train):,} / test {len(self.x_test):,} images"
        return f"{self.name}: {sizes}, {self.num_classes} classes, from {self.source}"

    def __repr__(self) -> str:
        return f"ImageData({self.summary()})"


def _stratified_indices(
    y: np.ndarray, n: int | None, num_classes: int, rng: np.random.Generator, what: str
) -> np.ndarray:
    """Indices of ``n`` rows of ``y`` spread as evenly as possible over the classes."""
    if n is None:
        return np.arange(len(y))
    n = check_int(what, n, minimum=0, maximum=len(y))
    pools = [rng.permutation(np.flatnonzero(y == c)) for c in range(num_classes)]
    take = np.zeros(num_classes, dtype=int)
    # Water-filling: share what is left among the classes that still have spare rows.
    while take.sum() < n:
        open_ = [c for c in range(num_classes) if take[c] < len(pools[c])]
        share, extra = divmod(n - int(take.sum()), len(open_))
        lucky = set(rng.choice(open_, size=extra, replace=False).tolist())
        for c in open_:
            take[c] = min(len(pools[c]), take[c] + share + (c in lucky))
    return rng.permutation(np.concatenate([p[:k] for p, k in zip(pools, take, strict=True)]))


def read_idx(path: str | Path) -> np.ndarray:
    """Parse one IDX file (the MNIST format), gzipped or not, into a native-endian array.

    Layout: bytes 0, 0, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
    0x0E float64), ``ndim``; then ``ndim`` big-endian uint32 sizes; then the data, C order.
    A bad magic number or type, or a data length other than the sizes' product: ``ValueError``.
    """
    path = Path(path)
    # A missing file raises FileNotFoundError, as it should.
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{path}: corrupt or truncated gzip data: {err}") from err
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise ValueError(f"{path}: bad IDX magic number {raw[:4].hex() or '(empty)'}")
    code = raw[2]
    ndim = raw[3]
    if code not in IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type byte 0x{code:02x}")
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, ndim={ndim})")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[code])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        found = f"{expected} data bytes for shape {dims}, found {len(raw) - header}"
        raise ValueError(f"{path}: truncated or corrupt IDX file: expected {found}")
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _find_idx_files(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """The four IDX files in ``folder`` (``.gz`` or plain, ``-idx`` or ``.idx`` names)."""
    found = {}
    missing = []
    for key, stem in IDX_STEMS.items():
        names = [stem, stem.replace("-idx", ".idx")]
        cands = [folder / f"{n}{ext}" for n in names for ext in ("", ".gz")]
        hit = next((c for c in cands if c.is_file()), None)
        if hit is None:
            missing.append(" or ".join(str(c) for c in cands[::2]) + " (optionally .gz)")
        else:
            found[key] = hit
    return found, missing


def _from_idx(
    files: dict[str, Path], folder: Path, name: str, class_names: tuple[str, ...]
) -> ImageData:
    arrays = _labels_as_uint8({k: read_idx(p) for k, p in files.items()})
    return ImageData(**arrays, name=name, source=f"IDX files in {folder}", class_names=class_names)


def _labels_as_uint8(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Integer labels in 0..255 as uint8 (IDX and npz files may store them wider)."""
    for k in ("y_train", "y_test"):
        y = arrays[k]
        if not np.issubdtype(y.dtype, np.integer) or (y.size and (y.min() < 0 or y.max() > 255)):
            raise ValueError(f"{k}: labels must be integers in 0..255, got {y.dtype}")
        arrays[k] = y.astype(np.uint8)
    return arrays


def _load_npz(path: Path, name: str, source: str) -> ImageData:
    with np.load(path, allow_pickle=False) as f:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
        if missing:
            raise ValueError(f"{path}: missing arrays {sorted(missing)} (has {f.files})")
        arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    return ImageData(**_labels_as_uint8(arrays), name=name, source=source, class_names=DIGIT_NAMES)


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (what ``sha256sum`` prints)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_mnist(source: str = "auto") -> ImageData:
    """Load MNIST digits without network access.

    ``source``: ``"idx"`` = the four IDX files in ``$COURSE_MNIST_DIR``; ``"keras"`` =
    ``$KERAS_HOME/datasets/mnist.npz`` or ``~/.keras/datasets/mnist.npz``; ``"shipped"`` = the
    course's subset ``data/mnist_subset.npz`` (8,000 train / 2,000 test, checked against its
    SHA-256); ``"auto"`` = the first of those that exists, in that order. A
    ``$COURSE_MNIST_DIR`` that is set but lacks the files is an error, never skipped silently.
    The result's ``source`` attribute says which file or folder was used.
    """
    if source not in MNIST_SOURCES:
        raise ValueError(f"unknown MNIST source {source!r}; valid: {', '.join(MNIST_SOURCES)}")
    tried: list[str] = []
    if source in ("auto", "idx"):
        folder = os.environ.get(MNIST_DIR_ENV, "").strip()
        if folder:
            path = Path(folder).expanduser()
            files, missing = _find_idx_files(path)
            if missing:
                where = f"MNIST (${MNIST_DIR_ENV}={folder})"
                raise DatasetNotFoundError(where, missing, MNIST_HOWTO)
            return _from_idx(files, path, "MNIST", DIGIT_NAMES)
        tried.append(f"${MNIST_DIR_ENV} (not set): folder with the four MNIST IDX files")
    if source in ("auto", "keras"):
        keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
        # Where Keras' get_file caches it.
        path = Path(keras_home) / "datasets" / "mnist.npz"
        if path.is_file():
            return _load_npz(path, "MNIST", f"Keras cache {path}")
        tried.append(str(path))
    if source in ("auto", "shipped"):
        path = get_paths().data / SHIPPED_MNIST_FILE
        if path.is_file():
            digest = file_sha256(path)
            if digest != SHIPPED_MNIST_SHA256:
                fix = "restore it with `git checkout -- data/mnist_subset.npz`"
                raise ValueError(
                    f"{path} is damaged: SHA-256 {digest} != {SHIPPED_MNIST_SHA256}; {fix}"
                )
            return _load_npz(path, "MNIST (shipped subset)", f"shipped subset {path}")
        tried.append(str(path))
    raise DatasetNotFoundError("MNIST", tried, MNIST_HOWTO)


def load_fashion_mnist() -> ImageData:
    """Fashion-MNIST (60,000 train / 10,000 test) from ``$COURSE_FASHION_MNIST_DIR`` or
    ``/usr/share/datasets/fashion-mnist`` (Debian package ``dataset-fashion-mnist``)."""
    folder = Path(os.environ.get(FASHION_DIR_ENV, "").strip() or FASHION_DEFAULT_DIR).expanduser()
    files, missing = _find_idx_files(folder)
    if missing:
        howto = "Install it: `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or "
        howto += f"put the four IDX files in a folder and set {FASHION_DIR_ENV}=/that/folder."
        raise DatasetNotFoundError("Fashion-MNIST", missing, howto)
    return _from_idx(files, folder, "Fashion-MNIST", FASHION_NAMES)


def _unit_interval(x: np.ndarray) -> np.ndarray:
    """Float32 intensities in [0, 1]: uint8 is divided by 255, floats must lie in [0, 1]."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"expected uint8 or float intensities, got {x.dtype}")
    if x.size and not ((x >= 0) & (x <= 1)).all():  # also rejects NaN
        raise ValueError("float intensities must lie in [0, 1]")
    return x.astype(np.float32, copy=False)


def to_float(x: np.ndarray) -> np.ndarray:
    """uint8 ``(N, H, W)`` -> float32 ``(N, H, W, 1)`` with ``x / 255`` in [0, 1] (channel axis
    added; an input already ``(N, H, W, 1)`` keeps its shape)."""
    x = _unit_interval(x)
    if x.ndim == 3:
        return x[..., None]
    if x.ndim == 4 and x.shape[-1] == 1:
        return x
    raise ValueError(f"expected images (N, H, W) or (N, H, W, 1), got shape {x.shape}")


def binarize_static(x: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Deterministic binarisation ``x_bin = 1[x > threshold]`` for ``x`` in [0, 1] (uint8 is
    scaled by 1/255 first); float32 0/1, same shape as ``x``."""
    return (_unit_interval(x) > threshold).astype(np.float32)


def binarize_dynamic(x: np.ndarray, seed: int | np.random.Generator) -> np.ndarray:
    """Stochastic binarisation: each pixel ``x_bin ~ Bernoulli(x)``, independently, ``x`` in
    [0, 1] (uint8 scaled by 1/255); so ``E[x_bin] = x``. Float32 0/1, same shape as ``x``.

    ``seed`` is an int or a ``numpy.random.Generator`` (pass a Generator and call again to get
    a fresh sample, e.g. each epoch). Burda et al. (2016, IWAE, in a footnote) sample the
    binary observations like this, following Salakhutdinov & Murray (2008), and warn that
    papers binarise MNIST in different ways that give considerably different log-likelihoods:
    compare likelihoods only between models evaluated on identically binarised data. In
    tf.data use :func:`course_lib.data.pipelines.binarize_dynamic_tf`."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    x = _unit_interval(x)
    return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)
