"""Compressing a trained model: int8 weight quantisation and magnitude pruning.

**Quantisation** (symmetric, per output channel, post-training). A Dense kernel ``W``
``(d_in, d_out)`` is stored as int8 ``q`` of the same shape and one float32 scale per column::

    s_j = max_i |W_ij| / 127,    q_ij = round(W_ij / s_j) in -127..127,    W_ij ~ q_ij s_j

Rounding to the nearest integer makes the error at most half a step:
``|W_ij - q_ij s_j| <= s_j / 2``.
A per-column scale commutes with the product, ``x (q diag(s)) = (x q) diag(s)``, so an int8
kernel can multiply first and scale the ``d_out`` results afterwards. Bytes: ``d_in d_out``
(int8) ``+ 4 d_out`` (scales) instead of ``4 d_in d_out`` (float32), a ratio
``4 d_in / (d_in + 4)``, just under 4. An embedding matrix ``(V, d)`` gets one scale per row
(per token; with tied weights a row is also an output channel of the logits).

Here the quantisation is **simulated**: :func:`apply_dequantized` writes ``q s`` back as float32
into a copy of the model, which measures the accuracy cost of int8 weights exactly, while
TensorFlow on a CPU still multiplies in float32 at the same speed. The speed gain needs kernels
that *read* int8 from memory and run at memory speed: :func:`matvec_int8_vs_float32` measures
what TensorFlow does, and :func:`int8_matvec_hlo` shows how XLA compiles it.

**Pruning** (unstructured, by magnitude, per layer): :func:`magnitude_prune` zeroes the
``round(sparsity n)`` entries of smallest ``|W_ij|`` in each Dense kernel of ``n`` entries.
Every layer loses the same fraction; :func:`global_threshold_sparsities` shows how unevenly one
threshold for all layers would prune instead. Zeros in a dense array are still multiplied, so
this saves no time by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from course_lib.runtime.validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_real,
)

# Symmetric range -127..127: -128 is unused, so that q and -q are both representable.
INT8_MAX = 127


def _channel_axis(channel_axis: int | None, ndim: int, shape: tuple[int, ...]) -> int | None:
    """``channel_axis`` as an axis in ``0..ndim-1`` (negative values count from the end)."""
    if channel_axis is None:
        return None
    axis = check_int("channel_axis", channel_axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"channel_axis {axis} is out of range for an array of shape {shape}")
    return axis % ndim


def quantize_int8(w, channel_axis: int | None = -1) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantisation of ``w`` with one scale per index of ``channel_axis``.

    For a Dense kernel ``(d_in, d_out)`` and ``channel_axis=-1``: ``scale (d_out,)``,
    ``scale_j = max_i |w_ij| / 127``, ``q = round(w / scale)`` int8 ``(d_in, d_out)``.
    ``channel_axis=None`` uses one scale for the whole tensor (``scale`` of shape ``()``).
    An all-zero channel gets scale 0 and ``q = 0``. Returns ``(q int8, scale float32)``;
    ``|w - dequantize(q, scale)| <= scale / 2`` elementwise.
    """
    w = np.asarray(w)
    if w.ndim == 0:
        raise ValueError(f"w must be an array with at least one axis, got shape {w.shape}")
    w = check_array("w", w, kind="float", finite=True, nonempty=True)
    axis = _channel_axis(channel_axis, w.ndim, w.shape)
    if axis is None:
        reduce_axes = tuple(range(w.ndim))
    else:
        reduce_axes = tuple(a for a in range(w.ndim) if a != axis)
    largest = np.max(np.abs(w), axis=reduce_axes, keepdims=True)
    scale = (largest / INT8_MAX).astype(np.float32)
    s64 = scale.astype(np.float64)
    ratio = np.divide(w.astype(np.float64), s64, out=np.zeros(w.shape), where=s64 > 0)
    q = np.clip(np.rint(ratio), -INT8_MAX, INT8_MAX).astype(np.int8)
    kept_shape = [n for a, n in enumerate(scale.shape) if a not in reduce_axes]
    return q, scale.reshape(kept_shape)


def dequantize(q: np.ndarray, scale: np.ndarray, channel_axis: int | None = -1) -> np.ndarray:
    """``q * scale`` as float32, ``scale`` broadcast along ``channel_axis`` (inverse of
    :func:`quantize_int8`): ``scale`` has one value per index of that axis of ``q``, or is a
    single number when ``channel_axis`` is ``None``."""
    q = np.asarray(q)
    if q.dtype != np.int8:
        raise TypeError(f"q must be an int8 array, got dtype {q.dtype}")
    scale = check_array("scale", scale, kind="float", finite=True, dtype=np.float32)
    axis = _channel_axis(channel_axis, q.ndim, q.shape)
    if axis is None:
        if scale.size != 1:
            raise ValueError(
                f"scale must be one number when channel_axis is None, got shape {scale.shape}"
            )
        return q.astype(np.float32) * scale.reshape(())
    if scale.shape != (q.shape[axis],):
        raise ValueError(
            f"scale must have shape ({q.shape[axis]},): one value per index of axis {axis} "
            f"of q {q.shape}, got {scale.shape}"
        )
    shape = [1] * q.ndim
    shape[axis] = -1
    return q.astype(np.float32) * scale.reshape(shape)


# ------------------------------------------------------------------- a whole model
def _matrices(model: keras.Model, kinds: tuple[type, ...]) -> dict[int, tuple[str, int]]:
    """``{index in model.weights: (path, channel_axis)}`` for every Dense kernel (channel axis
    -1) and, if ``keras.layers.Embedding`` is in ``kinds``, every embedding matrix (axis 0)."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    wanted = {}
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.Dense) and keras.layers.Dense in kinds:
            wanted[id(layer.kernel)] = -1
        elif isinstance(layer, keras.layers.Embedding) and keras.layers.Embedding in kinds:
            wanted[id(layer.embeddings)] = 0
    found = {
        i: (v.path.split("/", 1)[-1], wanted[id(v)])
        for i, v in enumerate(model.weights)
        if id(v) in wanted
    }
    if not any(axis == -1 for _, axis in found.values()):
        raise ValueError(
            f"{type(model).__name__} has no keras.layers.Dense layer: nothing to quantise or prune "
            "(this module handles Dense kernels and Embedding matrices)"
        )
    return found


@dataclass(frozen=True, eq=False)
class QuantizedTensor:
    """One matrix in int8: ``q`` (its shape), ``scale`` float32 per channel along
    ``channel_axis``."""

    path: str
    q: np.ndarray
    scale: np.ndarray
    channel_axis: int

    @property
    def nbytes(self) -> int:
        """Bytes stored: one per weight plus four per scale."""
        return self.q.nbytes + self.scale.nbytes

    @property
    def float32_bytes(self) -> int:
        return 4 * self.q.size

    def dequantize(self) -> np.ndarray:
        return dequantize(self.q, self.scale, self.channel_axis)


@dataclass(frozen=True, eq=False)
class QuantizedWeights:
    """All weights of a model: ``quantized`` matrices by index in ``model.weights``, and the
    rest (biases, LayerNorm scales and shifts) ``kept`` in float32."""

    quantized: dict[int, QuantizedTensor]
    kept: dict[int, np.ndarray]

    @property
    def size_bytes(self) -> int:
        """Bytes of the compressed model: int8 matrices, their scales, the float32 rest."""
        return sum(t.nbytes for t in self.quantized.values()) + sum(
            a.nbytes for a in self.kept.values()
        )

    @property
    def float32_bytes(self) -> int:
        """Bytes of the same weights all in float32 (4 per parameter)."""
        return sum(t.float32_bytes for t in self.quantized.values()) + sum(
            a.nbytes for a in self.kept.values()
        )

    @property
    def ratio(self) -> float:
        """``float32_bytes / size_bytes``: how many times smaller (at most 4)."""
        return self.float32_bytes / self.size_bytes

    def errors(self, model: keras.Model) -> dict[str, dict[str, float]]:
        """Per matrix: ``max_abs`` ``max|W - q s|``, ``half_step`` ``max(s) / 2`` (its bound) and
        ``relative`` ``||W - q s||_F / ||W||_F``, against ``model``'s current weights."""
        weights = model.weights
        out = {}
        for i, t in self.quantized.items():
            w = np.asarray(weights[i].numpy(), np.float64)
            diff = w - t.dequantize()
            out[t.path] = {
                "max_abs": float(np.max(np.abs(diff))),
                "half_step": float(np.max(t.scale)) / 2,
                "relative": float(np.linalg.norm(diff) / max(np.linalg.norm(w), 1e-30)),
            }
        return out


def quantize_model_weights(model: keras.Model, include_embeddings: bool = True) -> QuantizedWeights:
    """Quantise every Dense kernel (per column) and, with ``include_embeddings``, every
    Embedding matrix (per row) of ``model`` to int8; keep every other weight in float32."""
    check_bool("include_embeddings", include_embeddings)
    if include_embeddings:
        kinds = (keras.layers.Dense, keras.layers.Embedding)
    else:
        kinds = (keras.layers.Dense,)
    matrices = _matrices(model, kinds)
    quantized, kept = {}, {}
    for i, v in enumerate(model.weights):
        if i in matrices:
            path, axis = matrices[i]
            q, scale = quantize_int8(v.numpy(), axis)
            quantized[i] = QuantizedTensor(path, q, scale, axis)
        else:
            kept[i] = np.asarray(v.numpy(), np.float32)
    return QuantizedWeights(quantized, kept)


def copy_model(model: keras.Model) -> keras.Model:
    """A new model of the same class and configuration (``type(model)(model.cfg)``, as for
    :class:`~course_lib.gpt.GPT`) holding a copy of ``model``'s weights."""
    if not hasattr(model, "cfg"):
        raise ValueError(
            f"copy_model needs a model built from a config (model.cfg), got {type(model).__name__}"
        )
    twin = type(model)(model.cfg)
    twin.set_weights(model.get_weights())
    return twin


def apply_dequantized(model: keras.Model, qweights: QuantizedWeights) -> keras.Model:
    """A copy of ``model`` whose quantised matrices are replaced by ``q s`` (float32): the
    model as int8 weights would compute it, run by float32 kernels (simulated quantisation)."""
    twin = copy_model(model)
    for i, t in qweights.quantized.items():
        if tuple(twin.weights[i].shape) != t.q.shape:
            raise ValueError(
                f"{t.path}: quantised shape {t.q.shape} does not match the model's "
                f"{tuple(twin.weights[i].shape)}; quantise this model, not another one"
            )
        twin.weights[i].assign(t.dequantize())
    return twin


# ------------------------------------------------------------------- pruning
def _sparsity(value: float, meaning: str) -> float:
    """``value`` as a float in ``[0, 1)``; ``meaning`` goes into the message."""
    sparsity = check_real(f"sparsity ({meaning})", value, minimum=0.0, maximum=1.0)
    if sparsity == 1.0:
        raise ValueError(f"sparsity ({meaning}) must be < 1: a layer needs a weight left")
    return sparsity


def magnitude_prune(model: keras.Model, sparsity: float) -> dict[str, np.ndarray]:
    """Zero, **in place**, the ``round(sparsity n)`` smallest-``|W|`` entries of every Dense
    kernel of ``n`` entries (per layer; ties broken by position). Returns ``{path: mask}``,
    float32 masks of the kernels' shapes, 1 = kept, 0 = pruned. Embeddings, biases and
    LayerNorms are untouched. ``sparsity`` must be in ``[0, 1)``."""
    sparsity = _sparsity(sparsity, "the fraction of each kernel set to zero")
    masks = {}
    for i, (path, _) in _matrices(model, (keras.layers.Dense,)).items():
        v = model.weights[i]
        w = v.numpy()
        k = round(sparsity * w.size)
        mask = np.ones(w.size, np.float32)
        mask[np.argsort(np.abs(w), axis=None, kind="stable")[:k]] = 0.0
        mask = mask.reshape(w.shape)
        v.assign(w * mask)
        masks[path] = mask
    return masks


def apply_masks(model: keras.Model, masks: dict[str, np.ndarray | tf.Tensor]) -> None:
    """Multiply each Dense kernel by its mask from :func:`magnitude_prune` (keeps pruned
    weights at zero after an optimiser step; usable inside a ``tf.function``). Every path of
    ``masks`` must name a Dense kernel of ``model`` and have its shape; kernels without a mask
    are left alone."""
    kernels = {path: i for i, (path, _) in _matrices(model, (keras.layers.Dense,)).items()}
    unknown = sorted(set(masks) - set(kernels))
    if unknown:
        raise ValueError(
            f"masks name no Dense kernel of this model: {unknown}; kernels: {sorted(kernels)}"
        )
    for path, mask in masks.items():
        v = model.weights[kernels[path]]
        if tuple(mask.shape) != tuple(v.shape):
            raise ValueError(
                f"the mask of {path} has shape {tuple(mask.shape)}, its kernel {tuple(v.shape)}"
            )
        v.assign(v * tf.cast(mask, v.dtype))


def global_threshold_sparsities(model: keras.Model, sparsity: float) -> dict[str, float]:
    """The fraction of each Dense kernel that **one** magnitude threshold for all kernels would
    zero, if it removed the fraction ``sparsity`` of all their weights together (the model is
    not changed). Compare with :func:`magnitude_prune`, which zeroes ``sparsity`` of every kernel:
    with one threshold, kernels whose weights are small overall lose much more than the rest."""
    sparsity = _sparsity(sparsity, "the fraction of all kernel weights set to zero")
    kernels = {
        path: np.abs(model.weights[i].numpy()).ravel()
        for i, (path, _) in _matrices(model, (keras.layers.Dense,)).items()
    }
    everything = np.concatenate(list(kernels.values()))
    k = round(sparsity * everything.size)
    if k == 0:
        return dict.fromkeys(kernels, 0.0)
    # the k-th smallest |w|: zero everything <= it
    threshold = np.sort(everything, kind="stable")[k - 1]
    return {path: float(np.mean(w <= threshold)) for path, w in kernels.items()}


def sparsity_of(model: keras.Model) -> float:
    """Fraction of exact zeros over all Dense kernels of ``model``."""
    kernels = [model.weights[i].numpy() for i in _matrices(model, (keras.layers.Dense,))]
    zeros = sum(np.count_nonzero(w == 0) for w in kernels)
    return float(zeros / sum(w.size for w in kernels))


# ------------------------------------------------------------------- speed, measured
@dataclass(frozen=True)
class MatvecTiming:
    """Median seconds of ``y = x W`` (``x`` ``(1, d_in)``) with ``W`` read as float32, and as
    int8 dequantised on the fly (``(x cast(q)) s``), and the bytes of each weight array."""

    d_in: int
    d_out: int
    float32_seconds: float
    int8_seconds: float

    @property
    def float32_bytes(self) -> int:
        return 4 * self.d_in * self.d_out

    @property
    def int8_bytes(self) -> int:
        return self.d_in * self.d_out + 4 * self.d_out

    @property
    def speedup(self) -> float:
        """``float32_seconds / int8_seconds`` (> 1: int8 faster)."""
        return self.float32_seconds / self.int8_seconds

    @property
    def float32_bytes_per_second(self) -> float:
        """Weight bytes read per second by the float32 product."""
        return self.float32_bytes / self.float32_seconds

    @property
    def int8_bytes_per_second(self) -> float:
        """Weight bytes (int8 and scales) read per second by the int8 product."""
        return self.int8_bytes / self.int8_seconds

    @property
    def float32_weights_per_second(self) -> float:
        """Weights processed (multiplied and added) per second by the float32 product."""
        return self.d_in * self.d_out / self.float32_seconds

    @property
    def int8_weights_per_second(self) -> float:
        """Weights processed per second by the int8 product (cast, multiply, add)."""
        return self.d_in * self.d_out / self.int8_seconds


def _matvec_functions(d_in: int, d_out: int, jit_compile: bool, seed: int):
    """The two products timed by :func:`matvec_int8_vs_float32`, as ``tf.function`` s:
    ``x W`` with float32 ``W``, and ``(x cast(q)) s`` with int8 ``q`` and float32 scales."""
    d_in = check_int("d_in", d_in, minimum=1)
    d_out = check_int("d_out", d_out, minimum=1)
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 0.02, (d_in, d_out)).astype(np.float32)
    q_np, s_np = quantize_int8(w)
    x = tf.constant(rng.normal(size=(1, d_in)).astype(np.float32))
    w_t = tf.constant(w)
    q = tf.constant(q_np)
    s = tf.constant(s_np)
    f32 = tf.function(lambda: tf.matmul(x, w_t), jit_compile=jit_compile)
    i8 = tf.function(lambda: tf.matmul(x, tf.cast(q, tf.float32)) * s, jit_compile=jit_compile)
    return f32, i8


def matvec_int8_vs_float32(
    d_in: int, d_out: int, *, jit_compile: bool = True, repeats: int = 7, seed: int = 0
) -> MatvecTiming:
    """Time a memory-bound matrix-vector product (2 FLOPs per weight, 1 read per weight) with
    float32 weights and with int8 weights plus per-column scales, in TensorFlow on this device.
    Whether int8 is faster depends on how the ``cast`` is compiled: fused into the product
    (reading 1 byte per weight, see :func:`int8_matvec_hlo`) or first writing a float32 copy of
    ``W``, and on how fast the compiled loop runs: measure, don't assume."""
    from course_lib.hardware.microbench import time_op

    f32, i8 = _matvec_functions(d_in, d_out, jit_compile, seed)
    exact = f32().numpy()
    np.testing.assert_allclose(i8().numpy(), exact, atol=0.05 * float(np.abs(exact).max()))
    float32_seconds = time_op(f32, warmup=2, repeats=repeats).median
    int8_seconds = time_op(i8, warmup=2, repeats=repeats).median
    return MatvecTiming(d_in, d_out, float32_seconds, int8_seconds)


def int8_matvec_hlo(d_in: int = 512, d_out: int = 256, *, precision: str = "int8") -> str:
    """The optimised HLO that XLA compiles for the product of :func:`matvec_int8_vs_float32`
    (``precision`` ``"int8"`` or ``"float32"``) on this device: the program that actually runs,
    after XLA's fusion passes. See :func:`convert_fused_into_dot` to read it."""
    check_choice("precision", precision, ("int8", "float32"))
    f32, i8 = _matvec_functions(d_in, d_out, True, 0)
    fn = i8 if precision == "int8" else f32
    return fn.experimental_get_compiler_ir()(stage="optimized_hlo")


def convert_fused_into_dot(hlo: str) -> bool:
    """Whether an optimised HLO module (:func:`int8_matvec_hlo`) converts int8 (``s8``) values
    to float inside the same fused computation as a ``dot``: then the product reads the int8
    array directly and no float32 copy of the weights is written to memory."""
    if not isinstance(hlo, str):
        raise TypeError(f"hlo must be the text of an HLO module, got {type(hlo).__name__}")
    # one block per computation (their bodies are indented)
    computations = re.split(r"\n(?=\S)", hlo)
    return any(
        re.search(r"=\s*f32\[[^\]]*\][^=]*\bconvert\(", block)
        and " dot(" in block
        and re.search(r"\bs8\[", block)
        and block.lstrip().startswith("%fused")
        for block in computations
    )
