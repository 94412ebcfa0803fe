"""The GPT: causal self-attention, the MLP, the pre-LayerNorm block, and the model.

For tokens ``x`` ``(B, T)`` (``T <= C``), with ``E`` the token embedding ``(V, d)`` and
``P`` the learned position embedding ``(C, d)``::

    h_0 = E[x] + P[0:T]                                  (B, T, d)
    h_l = h_{l-1} + Attention(LN(h_{l-1}))               for l = 1..L, then
    h_l = h_l     + MLP(LN(h_l))                         (both in block l)
    logits = LN(h_L) E^T   (or a separate head W_out)    (B, T, V), float32

One head's attention, with ``q, k, v`` ``(T, d_head)`` and the causal mask ``M`` (``0`` where
``j <= i``, ``-inf`` where ``j > i``, so position ``i`` never sees a later token)::

    Attention(q, k, v) = softmax(q k^T / sqrt(d_head) + M) v

The model also runs *incrementally* with a key/value cache (:meth:`GPT.prefill`,
:meth:`GPT.decode_step`): keys and values of earlier positions never change (the mask
keeps later tokens out of them), so they are computed once and kept in ``K, V`` caches of
shape ``(B, L, H, C, d_head)``; one new token then costs ``O(1)`` projections and ``O(C)``
attention. Under a mixed-precision policy the matrix products run in the compute dtype
(``float16``/``bfloat16``), LayerNorm statistics, the softmax and the logits in ``float32``.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from course_lib.gpt.config import GPTConfig

INIT_STD = 0.02  # GPT-2's initialisation: weights ~ N(0, 0.02^2), biases 0


def check_tokens(
    tokens, cfg: GPTConfig, name: str = "tokens", max_length: int | None = None
) -> None:
    """Raise a clear error unless ``tokens`` is an int batch ``(B, T)`` with ``T <= max_length``
    (default ``C``) and values in ``0..V-1``. Shapes are checked when static; values only for
    NumPy or eager input (inside a compiled function an out-of-range id cannot be seen)."""
    shape = tuple(tokens.shape if hasattr(tokens, "shape") else np.shape(tokens))
    if len(shape) != 2:
        raise ValueError(
            f"{name} must have shape (B, T), got {shape}"
            + (" (add a batch axis: tokens[None])" if len(shape) == 1 else "")
        )
    dtype = tf.as_dtype(tokens.dtype if hasattr(tokens, "dtype") else np.asarray(tokens).dtype)
    if not dtype.is_integer:
        raise TypeError(f"{name} must be integer token ids, got dtype {dtype.name}")
    limit = cfg.context_length if max_length is None else max_length
    if shape[1] is not None and shape[1] > limit:
        raise ValueError(
            f"{name} has {shape[1]} positions but the context length is {limit}: "
            f"crop to the last {limit} tokens, e.g. tokens[:, -{limit}:]"
        )
    if isinstance(tokens, np.ndarray) or (tf.is_tensor(tokens) and hasattr(tokens, "numpy")):
        values = np.asarray(tokens)
        if values.size and (values.min() < 0 or values.max() >= cfg.vocab_size):
            raise ValueError(
                f"{name} must be ids in 0..{cfg.vocab_size - 1} (vocab_size={cfg.vocab_size}), "
                f"got values in [{values.min()}, {values.max()}]"
            )


def _dense(units: int, cfg: GPTConfig, std: float = INIT_STD, **kwargs) -> keras.layers.Dense:
    return keras.layers.Dense(
        units,
        use_bias=cfg.bias,
        kernel_initializer=keras.initializers.RandomNormal(0.0, std),
        **kwargs,
    )


def _layer_norm(cfg: GPTConfig, name: str) -> keras.layers.LayerNormalization:
    return keras.layers.LayerNormalization(
        epsilon=cfg.layer_norm_epsilon, center=cfg.bias, name=name
    )


def _dropout(cfg: GPTConfig) -> keras.layers.Dropout | None:
    return keras.layers.Dropout(cfg.dropout) if cfg.dropout > 0 else None


def causal_mask(
    t_q: int | tf.Tensor, t_k: int | tf.Tensor, offset: int | tf.Tensor = 0
) -> tf.Tensor:
    """Boolean ``(t_q, t_k)``: query ``i`` (at absolute position ``offset + i``) may attend to
    key ``j`` iff ``j <= offset + i``."""
    return tf.range(t_k)[None, :] <= (tf.range(t_q) + offset)[:, None]  # (t_q, t_k)


class CausalSelfAttention(keras.layers.Layer):
    """Multi-head causal self-attention with one fused ``q, k, v`` projection ``d -> 3d``
    and an output projection ``d -> d`` (initialised with std ``0.02 / sqrt(2 L)``, GPT-2's
    scaling for layers that add to the residual stream)."""

    def __init__(self, cfg: GPTConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cfg = cfg
        self.qkv = _dense(3 * cfg.d_model, cfg, name="qkv")
        self.proj = _dense(cfg.d_model, cfg, INIT_STD / math.sqrt(2 * cfg.n_layer), name="proj")
        self.attn_dropout = _dropout(cfg)
        self.resid_dropout = _dropout(cfg)

    def build(self, input_shape) -> None:
        self.qkv.build(input_shape)
        self.proj.build(input_shape)

    def heads(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """``x (B, T, d) -> q, k, v``, each ``(B, H, T, d_head)``."""
        q, k, v = tf.split(self.qkv(x), 3, axis=-1)  # (B, T, 3d) -> (B, T, d) x 3
        # (Splitting is cheaper to differentiate than slicing one (3, B, H, T, d_head) tensor.)
        return self._split_heads(q), self._split_heads(k), self._split_heads(v)

    def _split_heads(self, t: tf.Tensor) -> tf.Tensor:
        B, T = tf.shape(t)[0], tf.shape(t)[1]
        t = tf.reshape(t, [B, T, self.cfg.n_head, self.cfg.d_head])  # (B, T, H, d_head)
        return tf.transpose(t, [0, 2, 1, 3])  # (B, H, T, d_head)

    def attend(
        self, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, mask: tf.Tensor, training: bool = False
    ) -> tf.Tensor:
        """``softmax(q k^T / sqrt(d_head), masked) v``, heads merged and projected:
        ``q (B, H, T_q, d_head)``, ``k, v (B, H, T_k, d_head)``, ``mask`` bool broadcastable
        to ``(B, H, T_q, T_k)`` (``True`` = may attend) -> ``(B, T_q, d)``."""
        scale = tf.cast(1.0 / math.sqrt(self.cfg.d_head), q.dtype)
        # (B, H, T_q, T_k): q k^T / sqrt(d_head), with q scaled before the product, which
        # keeps float16 scores in range
        scores = tf.matmul(q * scale, k, transpose_b=True)
        scores = tf.where(mask, tf.cast(scores, tf.float32), -np.inf)  # softmax in float32
        weights = tf.cast(tf.nn.softmax(scores, axis=-1), v.dtype)  # (B, H, T_q, T_k)
        if self.attn_dropout is not None:
            weights = self.attn_dropout(weights, training=training)
        y = tf.matmul(weights, v)  # (B, H, T_q, d_head)
        y = tf.transpose(y, [0, 2, 1, 3])  # (B, T_q, H, d_head)
        y = tf.reshape(y, [tf.shape(y)[0], tf.shape(y)[1], self.cfg.d_model])  # (B, T_q, d)
        y = self.proj(y)  # (B, T_q, d)
        return self.resid_dropout(y, training=training) if self.resid_dropout is not None else y

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        """``x (B, T, d) -> (B, T, d)``, each position attending to itself and earlier ones."""
        q, k, v = self.heads(x)  # (B, H, T, d_head) each
        T = tf.shape(x)[1]
        return self.attend(q, k, v, causal_mask(T, T), training)

    def prefill(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Like ``call`` (inference), also returning this layer's ``k, v`` ``(B, H, T, d_head)``."""
        q, k, v = self.heads(x)
        T = tf.shape(x)[1]
        return self.attend(q, k, v, causal_mask(T, T)), k, v

    def decode(
        self, x: tf.Tensor, k_cache: tf.Tensor, v_cache: tf.Tensor, layer: int, pos: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """One new position: ``x (B, 1, d)`` at position ``pos`` (a scalar int tensor); its
        ``k, v`` are written into slot ``pos`` of layer ``layer`` of the caches
        ``(B, L, H, C, d_head)``, then ``q`` attends to slots ``0..pos``. Returns
        ``(y (B, 1, d), k_cache, v_cache)``."""
        q, k, v = self.heads(x)  # (B, H, 1, d_head) each
        B, H = tf.shape(x)[0], self.cfg.n_head
        b, h = tf.meshgrid(tf.range(B), tf.range(H), indexing="ij")  # (B, H) each
        index = tf.stack([b, tf.fill([B, H], layer), h, tf.fill([B, H], pos)], axis=-1)  # (B, H, 4)
        k_cache = tf.tensor_scatter_nd_update(k_cache, index, k[:, :, 0])  # (B, L, H, C, d_head)
        v_cache = tf.tensor_scatter_nd_update(v_cache, index, v[:, :, 0])  # (B, L, H, C, d_head)
        mask = tf.range(self.cfg.context_length) <= pos  # (C,): filled slots only
        return self.attend(q, k_cache[:, layer], v_cache[:, layer], mask), k_cache, v_cache


class MLP(keras.layers.Layer):
    """``x -> GELU(x W_1 + b_1) W_2 + b_2``: ``(B, T, d) -> (B, T, d_ff) -> (B, T, d)``."""

    def __init__(self, cfg: GPTConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fc = _dense(cfg.d_ff, cfg, activation="gelu", name="fc")
        self.proj = _dense(cfg.d_model, cfg, INIT_STD / math.sqrt(2 * cfg.n_layer), name="proj")
        self.dropout = _dropout(cfg)

    def build(self, input_shape) -> None:
        self.fc.build(input_shape)
        self.proj.build((*input_shape[:-1], self.fc.units))

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        y = self.proj(self.fc(x))  # (B, T, d_ff) -> (B, T, d)
        return self.dropout(y, training=training) if self.dropout is not None else y


class Block(keras.layers.Layer):
    """A pre-LayerNorm Transformer block: ``x + Attention(LN_1(x))``, then ``x + MLP(LN_2(x))``."""

    def __init__(self, cfg: GPTConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ln_1 = _layer_norm(cfg, "ln_1")
        self.attn = CausalSelfAttention(cfg, name="attn")
        self.ln_2 = _layer_norm(cfg, "ln_2")
        self.mlp = MLP(cfg, name="mlp")

    def build(self, input_shape) -> None:
        for layer in (self.ln_1, self.attn, self.ln_2, self.mlp):
            layer.build(input_shape)

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        x = x + self.attn(self.ln_1(x), training=training)  # (B, T, d)
        return x + self.mlp(self.ln_2(x), training=training)  # (B, T, d)

    def prefill(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """``call`` in inference mode, also returning the attention's ``k, v``, each
        ``(B, H, T, d_head)``."""
        y, k, v = self.attn.prefill(self.ln_1(x))
        x = x + y  # (B, T, d)
        return x + self.mlp(self.ln_2(x)), k, v

    def decode(
        self, x: tf.Tensor, k_cache: tf.Tensor, v_cache: tf.Tensor, layer: int, pos: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """One position ``x (B, 1, d)`` through the block with the caches (see
        :meth:`CausalSelfAttention.decode`): ``(y (B, 1, d), k_cache, v_cache)``."""
        y, k_cache, v_cache = self.attn.decode(self.ln_1(x), k_cache, v_cache, layer, pos)
        x = x + y  # (B, 1, d)
        return x + self.mlp(self.ln_2(x)), k_cache, v_cache


class GPT(keras.Model):
    """Decoder-only Transformer: ``tokens (B, T) -> logits (B, T, V)`` (float32), where
    ``logits[:, t]`` scores the token at position ``t + 1`` given tokens ``0..t``.

    The weights are created in ``__init__``, so creating the model inside
    ``strategy.scope()`` places them for ``tf.distribute``, and ``count_params()`` works at
    once. Weights follow GPT-2's initialisation (normal, std 0.02; residual projections
    ``0.02 / sqrt(2 L)``; LayerNorm scale 1, shifts and biases 0).
    """

    def __init__(self, cfg: GPTConfig | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cfg = cfg = cfg or GPTConfig()
        init = keras.initializers.RandomNormal(0.0, INIT_STD)
        self.token_embedding = keras.layers.Embedding(
            cfg.vocab_size, cfg.d_model, embeddings_initializer=init, name="token_embedding"
        )
        self.position_embedding = keras.layers.Embedding(
            cfg.context_length, cfg.d_model, embeddings_initializer=init, name="position_embedding"
        )
        self.embedding_dropout = _dropout(cfg)
        self.blocks = [Block(cfg, name=f"block_{i}") for i in range(cfg.n_layer)]
        self.final_norm = _layer_norm(cfg, "final_norm")
        self.head = (
            None
            if cfg.tie_weights
            else keras.layers.Dense(
                cfg.vocab_size, use_bias=cfg.bias, kernel_initializer=init, name="head"
            )
        )
        self.build((None, None))

    def build(self, input_shape) -> None:
        self.token_embedding.build(input_shape)
        self.position_embedding.build(input_shape)
        hidden = (None, None, self.cfg.d_model)
        for layer in [*self.blocks, self.final_norm] + (
            [self.head] if self.head is not None else []
        ):
            layer.build(hidden)

    def embed(
        self, tokens: tf.Tensor, start: int | tf.Tensor = 0, training: bool = False
    ) -> tf.Tensor:
        """``h_0 = E[tokens] + P[start : start + T]``: ``(B, T) -> (B, T, d)``."""
        positions = tf.range(tf.shape(tokens)[1]) + start  # (T,)
        h = self.token_embedding(tokens) + self.position_embedding(positions)  # (B, T, d)
        return (
            self.embedding_dropout(h, training=training)
            if self.embedding_dropout is not None
            else h
        )

    def to_logits(self, h: tf.Tensor) -> tf.Tensor:
        """Output layer on final features: ``h (..., d) -> logits (..., V)``, float32."""
        if self.head is not None:
            return tf.cast(self.head(h), tf.float32)
        E = tf.cast(self.token_embedding.embeddings, h.dtype)  # (V, d), tied
        # One 2-D product (einsum's batched form is ~40x slower to differentiate on a CPU).
        # (N, V), N = B*T
        logits = tf.matmul(tf.reshape(h, [-1, self.cfg.d_model]), E, transpose_b=True)
        # (..., V)
        return tf.cast(
            tf.reshape(logits, tf.concat([tf.shape(h)[:-1], [self.cfg.vocab_size]], 0)), tf.float32
        )

    def features(self, tokens: tf.Tensor, training: bool = False) -> tf.Tensor:
        """``LN(h_L)``, the final features: ``(B, T) -> (B, T, d)``."""
        check_tokens(tokens, self.cfg)
        h = self.embed(tokens, training=training)  # (B, T, d)
        for block in self.blocks:
            h = block(h, training=training)  # (B, T, d)
        return self.final_norm(h)

    def call(self, tokens: tf.Tensor, training: bool = False) -> tf.Tensor:
        """``tokens (B, T)``, ``T <= C`` -> ``logits (B, T, V)``, float32."""
        return self.to_logits(self.features(tokens, training))

    # ----------------------------------------------------------- incremental decoding
    def empty_cache(self, batch_size: int | tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Zero ``K, V`` caches, each ``(B, L, H, C, d_head)`` in the compute dtype."""
        cfg = self.cfg
        shape = [batch_size, cfg.n_layer, cfg.n_head, cfg.context_length, cfg.d_head]
        return tf.zeros(shape, self.compute_dtype), tf.zeros(shape, self.compute_dtype)

    def prefill(self, tokens: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Run ``tokens (B, T)`` (positions ``0..T-1``) once and keep their keys and values.

        Returns ``(features (B, T, d), K, V)`` with ``K, V`` ``(B, L, H, C, d_head)``, slots
        ``0..T-1`` filled and the rest zero; ``to_logits(features)`` equals ``self(tokens)``.
        """
        check_tokens(tokens, self.cfg)
        h = self.embed(tokens)  # (B, T, d)
        keys = []
        values = []
        pad = [[0, 0], [0, 0], [0, self.cfg.context_length - tf.shape(tokens)[1]], [0, 0]]
        for block in self.blocks:
            h, k, v = block.prefill(h)  # (B, T, d), (B, H, T, d_head) x 2
            keys.append(tf.pad(k, pad))  # (B, H, C, d_head)
            values.append(tf.pad(v, pad))
        # K, V (B, L, H, C, d_head)
        return (
            self.final_norm(h),
            tf.stack(keys, axis=1),
            tf.stack(values, axis=1),
        )

    def decode_step(
        self, tokens: tf.Tensor, k_cache: tf.Tensor, v_cache: tf.Tensor, pos: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """One token per sequence, ``tokens (B,)`` at position ``pos < C`` (scalar int32), given
        caches with slots ``0..pos-1`` filled. Returns ``(features (B, d), K, V)`` with slot
        ``pos`` filled; ``to_logits(features)`` are the logits for position ``pos``."""
        pos = tf.convert_to_tensor(pos, tf.int32)
        h = self.embed(tokens[:, None], start=pos)  # (B, 1, d)
        for layer, block in enumerate(self.blocks):
            h, k_cache, v_cache = block.decode(h, k_cache, v_cache, layer, pos)  # (B, 1, d)
        return self.final_norm(h)[:, 0], k_cache, v_cache  # (B, d)
