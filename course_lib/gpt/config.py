"""The GPT's architecture as data (:class:`GPTConfig`).

Its size and cost in closed form are computed by :mod:`course_lib.hardware` from
``cfg.shape`` (a :class:`~course_lib.hardware.shapes.ModelShape`):
``parameter_count(cfg.shape)``, ``non_embedding_parameter_count(cfg.shape)`` and
``training_flops_per_token(cfg.shape)``.

Symbols used here and in the notebooks: ``V`` vocabulary size, ``C`` context length (the
largest ``T``), ``L`` number of blocks, ``H`` heads, ``d`` model width, ``d_ff`` MLP width,
``d_head = d / H``.
"""

from __future__ import annotations

from dataclasses import dataclass

from course_lib.hardware.shapes import ModelShape
from course_lib.runtime.validation import check_bool, check_int, check_real


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
            check_int(f"GPTConfig.{name}", getattr(self, name), minimum=1)
        if self.d_model % self.n_head:
            raise ValueError(
                f"GPTConfig.d_model ({self.d_model}) must be divisible by n_head ({self.n_head}): "
                "each head gets d_model / n_head dimensions"
            )
        if self.d_ff is None:
            object.__setattr__(self, "d_ff", 4 * int(self.d_model))
        else:
            check_int("GPTConfig.d_ff (or None for 4 * d_model)", self.d_ff, minimum=1)
        check_real("GPTConfig.dropout", self.dropout, minimum=0.0)
        if self.dropout >= 1.0:
            raise ValueError(f"GPTConfig.dropout must be in [0, 1), got {self.dropout!r}")
        for name in ("bias", "tie_weights"):
            check_bool(f"GPTConfig.{name}", getattr(self, name))
        check_real(
            "GPTConfig.layer_norm_epsilon", self.layer_norm_epsilon, minimum=0.0, strict=True
        )

    @property
    def d_head(self) -> int:
        """Width of one attention head, ``d / H``."""
        return self.d_model // self.n_head

    @property
    def shape(self) -> ModelShape:
        """The :class:`~course_lib.hardware.shapes.ModelShape` of ``GPT(self)``: learned
        positions, LayerNorms whose shift and the Dense biases follow ``bias``, an untied
        output layer with a bias when ``bias``. Its size and cost come from
        :mod:`course_lib.hardware` (one formula for every model of the course):
        ``parameter_count(cfg.shape) == GPT(cfg).count_params()``, and
        ``training_flops_per_token(cfg.shape)`` is nanoGPT's ``6 N + 12 L T d``."""
        return ModelShape(
            n_layer=self.n_layer,
            d_model=self.d_model,
            n_head=self.n_head,
            vocab_size=self.vocab_size,
            context_length=self.context_length,
            d_ff=self.d_ff,
            tied_embeddings=self.tie_weights,
            bias=self.bias,
            norm="layernorm",
            norm_bias=self.bias,
            learned_positions=True,
            lm_head_bias=self.bias and not self.tie_weights,
            name=f"GPTConfig(L={self.n_layer}, d={self.d_model})",
        )
