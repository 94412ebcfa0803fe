"""Attention maps: the attention probabilities of every layer and head of a :class:`GPT`.

For tokens ``x`` ``(B, T)`` the model computes, in block ``l`` (``l = 1..L``), from the
residual stream ``h_{l-1}`` ``(B, T, d)``::

    q, k, v = heads(LN_1(h_{l-1}))                      each (B, H, T, d_head)
    A_l     = softmax(q k^T / sqrt(d_head) + M)         (B, H, T, T), M the causal mask
    y_l     = proj(merge(A_l v))                        (B, T, d), the attention sub-layer

``A_l[b, h, i, j]`` is how much position ``i`` of sequence ``b`` draws, in head ``h``, on the
*value vector* of position ``j``: each row sums to 1 over ``j <= i`` and is 0 for ``j > i``.
The maps are recomputed from the model's own layers (``ln_1``, ``attn.heads``, the scale
``1 / sqrt(d_head)``, the causal mask), in inference mode, so they are the probabilities the
model uses; :func:`attention_trace` also returns each layer's values ``v`` and its attention
output ``y_l`` from the layer's own ``call``, which lets a test check that ``A_l v`` reproduces it.

What a map does not say: position ``j``'s vector in layer ``l > 1`` already mixes earlier
positions (through earlier layers' attention), a large weight on a value vector of small norm
moves little, and the MLPs and the residual stream do the rest of the computation. A map shows
where a head reads from, not why the model predicts what it does (Jain & Wallace 2019,
arXiv:1902.10186; Wiegreffe & Pinter 2019, arXiv:1908.04626).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from course_lib.gpt.model import GPT, causal_mask, check_tokens


@dataclass(frozen=True)
class AttentionTrace:
    """What the attention of every layer did on one batch.

    Attributes:
        probs: float32 ``(L, B, H, T, T)``, the attention probabilities ``A_l``.
        values: float32 ``(L, B, H, T, d_head)``, the value vectors ``v`` each row mixes.
        outputs: float32 ``(L, B, T, d)``, each attention sub-layer's output ``y_l`` as the
            layer's own ``call`` computes it (after the output projection).
    """

    probs: np.ndarray
    values: np.ndarray
    outputs: np.ndarray


def attention_trace(model: GPT, tokens) -> AttentionTrace:
    """Run ``tokens`` ``(B, T)`` through ``model`` (inference mode) and keep, for every block,
    the attention probabilities, the value vectors and the attention output (see the module
    docstring). The residual stream is advanced with each block's own ``call``."""
    check_tokens(tokens, model.cfg)
    tokens = tf.convert_to_tensor(tokens)
    T = int(tokens.shape[1])
    mask = causal_mask(T, T)  # (T, T), True where j <= i
    scale = 1.0 / math.sqrt(model.cfg.d_head)
    h = model.embed(tokens)  # (B, T, d)
    probs, values, outputs = [], [], []
    for block in model.blocks:
        x = block.ln_1(h)  # (B, T, d)
        q, k, v = block.attn.heads(x)  # (B, H, T, d_head) each
        scores = tf.matmul(tf.cast(q, tf.float32) * scale, tf.cast(k, tf.float32), transpose_b=True)
        scores = tf.where(mask, scores, -np.inf)  # (B, H, T, T)
        probs.append(tf.nn.softmax(scores, axis=-1).numpy())
        values.append(tf.cast(v, tf.float32).numpy())
        outputs.append(tf.cast(block.attn(x, training=False), tf.float32).numpy())  # (B, T, d)
        h = block(h, training=False)  # (B, T, d): the next block's input
    return AttentionTrace(np.stack(probs), np.stack(values), np.stack(outputs))


def attention_maps(model: GPT, tokens) -> np.ndarray:
    """float32 ``(L, B, H, T, T)``: ``softmax(q k^T / sqrt(d_head) + M)`` of every layer and
    head of ``model`` for ``tokens`` ``(B, T)``; entry ``[l, b, h, i, j]`` is the weight
    position ``i`` gives position ``j`` (0 for ``j > i``; each row sums to 1)."""
    return attention_trace(model, tokens).probs
