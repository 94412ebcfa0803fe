"""The GPT's architecture as data (:class:`GPTConfig`), and its size and cost in closed form.

Symbols used here and in the notebooks: ``V`` vocabulary size, ``C`` context length (the
largest ``T``), ``L`` number of blocks, ``H`` heads, ``d`` model width, ``d_ff`` MLP width,
``d_head = d / H``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _is_int(value: object, minimum: int = 1) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and value >= minimum


@dataclass(frozen=True)
class GPTConfig:
    """A decoder-only Transformer (GPT-2 layout, pre-LayerNorm).

    The defaults are the "baby GPT" that trains on characters on a CPU in minutes
    (``V = 65`` characters of Shakespeare, ``C = 64``, 4 blocks of 4 heads, ``d = 128``).

    Attributes:
        vocab_size: ``V``, number of distinct tokens; tokens are ints in ``0..V-1``.
        context_length: ``C``, the longest sequence the model reads (positions ``0..C-1``).
        n_layer: ``L``, number of Transformer blocks.
        n_head: ``H``, attention heads per block; must divide ``d_model``.
        d_model: ``d``, width of the residual stream.
        d_ff: width of the MLP's hidden layer; ``None`` means ``4 * d_model`` (and is
            replaced by that number, so ``cfg.d_ff`` is always an int).
        dropout: dropout rate on embeddings, attention weights and residual branches.
        bias: biases in the Dense layers and LayerNorms (``False``: LayerNorm scale only,
            as in nanoGPT's ``bias=False``).
        tie_weights: the output layer reuses the token-embedding matrix ``E`` (``V x d``):
            ``logits = h E^T``; ``False`` adds a separate ``d x V`` head.
        layer_norm_epsilon: the ``epsilon`` in ``(x - mean) / sqrt(var + epsilon)``.
    """

    vocab_size: int = 65
    context_length: int = 64
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 128
    d_ff: int | None = None
    dropout: float = 0.0
    bias: bool = True
    tie_weights: bool = True
    layer_norm_epsilon: float = 1e-5

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_length", "n_layer", "n_head", "d_model"):
            if not _is_int(getattr(self, name)):
                raise ValueError(
                    f"GPTConfig.{name} must be a positive int, got {getattr(self, name)!r}"
                )
        if self.d_model % self.n_head:
            raise ValueError(
                f"GPTConfig.d_model ({self.d_model}) must be divisible by n_head ({self.n_head}): "
                "each head gets d_model / n_head dimensions"
            )
        if self.d_ff is None:
            object.__setattr__(self, "d_ff", 4 * int(self.d_model))
        elif not _is_int(self.d_ff):
            raise ValueError(
                f"GPTConfig.d_ff must be a positive int or None (4 * d_model), got {self.d_ff!r}"
            )
        if isinstance(self.dropout, bool) or not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"GPTConfig.dropout must be in [0, 1), got {self.dropout!r}")
        for name in ("bias", "tie_weights"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"GPTConfig.{name} must be True or False, got {getattr(self, name)!r}"
                )
        eps = self.layer_norm_epsilon
        if isinstance(eps, bool) or not (math.isfinite(float(eps)) and eps > 0):
            raise ValueError(
                f"GPTConfig.layer_norm_epsilon must be a finite number > 0, got {eps!r}"
            )

    @property
    def d_head(self) -> int:
        """Width of one attention head, ``d / H``."""
        return self.d_model // self.n_head


def parameter_count(cfg: GPTConfig) -> int:
    """Number of parameters of ``GPT(cfg)``, in closed form; equals ``model.count_params()``.

    With ``b = 1`` if ``cfg.bias`` else ``0``, a LayerNorm has ``(1 + b) d`` parameters
    (scale, and shift if ``b``), and

    .. math::

        N = \\underbrace{V d + C d}_{\\text{token, position embeddings}}
          + L \\Big[\\underbrace{2 (1 + b) d}_{\\text{2 LayerNorms}}
          + \\underbrace{4 d^2 + 4 b d}_{\\text{attention: } q, k, v, \\text{ output}}
          + \\underbrace{2 d\\, d_{ff} + b (d_{ff} + d)}_{\\text{MLP}}\\Big]
          + \\underbrace{(1 + b) d}_{\\text{final LayerNorm}}
          + \\underbrace{[\\text{untied}] (V d + b V)}_{\\text{output head}}.

    With ``tie_weights`` the head is the embedding matrix itself and adds nothing.
    """
    V, C, L, d, d_ff = cfg.vocab_size, cfg.context_length, cfg.n_layer, cfg.d_model, cfg.d_ff
    b = int(cfg.bias)
    layer_norm = (1 + b) * d
    attention = 4 * d * d + 4 * b * d
    mlp = 2 * d * d_ff + b * (d_ff + d)
    head = 0 if cfg.tie_weights else V * d + b * V
    return V * d + C * d + L * (2 * layer_norm + attention + mlp) + layer_norm + head


def non_embedding_parameter_count(cfg: GPTConfig) -> int:
    """Parameters of the blocks and the final LayerNorm: ``N`` without the token and
    position embeddings and without an untied output head (Kaplan et al. 2020 count model
    size this way). For ``bias=False`` it is ``L (4 d^2 + 2 d d_ff + 2 d) + d``, about
    ``12 L d^2`` when ``d_ff = 4 d``."""
    head = 0 if cfg.tie_weights else cfg.vocab_size * cfg.d_model + int(cfg.bias) * cfg.vocab_size
    embeddings = (cfg.vocab_size + cfg.context_length) * cfg.d_model
    return parameter_count(cfg) - embeddings - head


def training_flops_per_token(cfg: GPTConfig, seq_len: int | None = None) -> int:
    """Floating-point operations to train on one token (forward and backward), the estimate
    of the PaLM paper's Appendix B (Chowdhery et al. 2022), which nanoGPT's ``estimate_mfu``
    uses; its ``6 N`` term is Kaplan et al. 2020's (``2 N`` forward, Table 1, times 3):

    .. math:: F = 6 N + 12 L T d,

    where ``N`` counts the weights a token is multiplied by -- the blocks' parameters
    (:func:`non_embedding_parameter_count`) plus the output head's ``V d`` (the embedding
    lookups are not multiplications) -- ``6 = 2`` (multiply and add) ``x 3`` (forward;
    backward to activations and to weights), and ``12 L T d`` is attention's ``q k^T`` and
    weights-times-``v`` for a sequence of ``T`` (default ``C``) tokens.
    """
    T = cfg.context_length if seq_len is None else int(seq_len)
    n = non_embedding_parameter_count(cfg) + cfg.vocab_size * cfg.d_model
    return 6 * n + 12 * cfg.n_layer * T * cfg.d_model
