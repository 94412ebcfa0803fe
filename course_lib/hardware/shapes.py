"""The shape of a decoder-only Transformer, and its parameter count in closed form.

Symbols (the same as ``course_lib.gpt``): ``V`` vocabulary, ``C`` context length,
``L`` blocks, ``H`` query heads, ``H_kv`` key/value heads (``H_kv < H`` is grouped-query
attention), ``d`` model width, ``d_head = d / H``, ``d_ff`` MLP width.

A block has an attention layer (``q`` and output projections ``d x d``, ``k`` and ``v``
projections ``d x H_kv d_head``), an MLP (two ``d x d_ff`` matrices, or three for a gated
SwiGLU MLP as in Llama), and two normalisations. Published configurations are kept below
with the numbers they must reproduce (see ``tests/test_hardware.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NORMS = ("layernorm", "rmsnorm")


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"ModelShape.{name} must be a positive int, got {value!r}")
    return value


@dataclass(frozen=True, kw_only=True)
class ModelShape:
    """Everything that sets the size and the cost of a decoder-only Transformer.

    Attributes:
        n_layer, d_model, n_head, vocab_size, context_length: ``L, d, H, V, C``.
        n_kv_head: ``H_kv`` (``None``: ``H``, plain multi-head attention); must divide ``H``.
        d_ff: MLP width (``None``: ``4 d``).
        tied_embeddings: the output layer reuses the ``V x d`` token embedding.
        gated_mlp: SwiGLU-style MLP with three ``d x d_ff`` matrices instead of two.
        bias: biases in the attention and MLP projections.
        norm: ``"layernorm"`` (scale, and shift if ``norm_bias``) or ``"rmsnorm"`` (scale).
        norm_bias: LayerNorm has a shift vector.
        learned_positions: a learned ``C x d`` position embedding (GPT-2/3); ``False`` for
            rotary positions (Llama), which have no parameters.
        lm_head_bias: an untied output layer has a ``V`` bias.
        name: for printing.
    """

    n_layer: int
    d_model: int
    n_head: int
    vocab_size: int
    context_length: int
    n_kv_head: int | None = None
    d_ff: int | None = None
    tied_embeddings: bool = True
    gated_mlp: bool = False
    bias: bool = True
    norm: str = "layernorm"
    norm_bias: bool = True
    learned_positions: bool = True
    lm_head_bias: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        for name in ("n_layer", "d_model", "n_head", "vocab_size", "context_length"):
            _positive_int(name, getattr(self, name))
        if self.d_model % self.n_head:
            raise ValueError(
                f"ModelShape.d_model ({self.d_model}) must be divisible by n_head ({self.n_head})"
            )
        if self.n_kv_head is None:
            object.__setattr__(self, "n_kv_head", self.n_head)
        elif (
            _positive_int("n_kv_head", self.n_kv_head) > self.n_head or self.n_head % self.n_kv_head
        ):
            raise ValueError(
                f"ModelShape.n_kv_head ({self.n_kv_head}) must divide n_head ({self.n_head}): "
                "each key/value head serves a group of query heads"
            )
        if self.d_ff is None:
            object.__setattr__(self, "d_ff", 4 * self.d_model)
        else:
            _positive_int("d_ff", self.d_ff)
        for name in (
            "tied_embeddings",
            "gated_mlp",
            "bias",
            "norm_bias",
            "learned_positions",
            "lm_head_bias",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"ModelShape.{name} must be True or False, got {getattr(self, name)!r}"
                )
        if self.norm not in NORMS:
            raise ValueError(
                f"ModelShape.norm must be one of {', '.join(NORMS)}, got {self.norm!r}"
            )

    @property
    def d_head(self) -> int:
        """Width of one attention head, ``d / H``."""
        return self.d_model // self.n_head

    @property
    def kv_dim(self) -> int:
        """Width of the keys (and of the values) of one token in one layer, ``H_kv d_head``."""
        return self.n_kv_head * self.d_head


def parameter_breakdown(shape: ModelShape) -> dict[str, int]:
    """Parameters by part: ``embedding`` (``V d``), ``positions`` (``C d`` if learned),
    ``attention`` (``L (2 d^2 + 2 d kv_dim)`` plus biases), ``mlp`` (``L k d d_ff`` with
    ``k = 3`` gated else ``2``, plus biases), ``norms`` (``2 L + 1`` of them), ``lm_head``
    (``V d`` (+ ``V``) if untied, else 0)."""
    d, L, kv = shape.d_model, shape.n_layer, shape.kv_dim
    b = int(shape.bias)
    per_norm = d * (2 if shape.norm == "layernorm" and shape.norm_bias else 1)
    mlp_mats = 3 if shape.gated_mlp else 2
    mlp_bias = b * ((2 if shape.gated_mlp else 1) * shape.d_ff + d)
    head = (
        0
        if shape.tied_embeddings
        else shape.vocab_size * d + int(shape.lm_head_bias) * shape.vocab_size
    )
    return {
        "embedding": shape.vocab_size * d,
        "positions": shape.context_length * d if shape.learned_positions else 0,
        "attention": L * (2 * d * d + 2 * d * kv + b * (2 * d + 2 * kv)),
        "mlp": L * (mlp_mats * d * shape.d_ff + mlp_bias),
        "norms": (2 * L + 1) * per_norm,
        "lm_head": head,
    }


def parameter_count(shape: ModelShape) -> int:
    """Total trainable parameters ``N``: the sum of :func:`parameter_breakdown`. For a
    GPT with ``d_ff = 4 d`` and no biases this is ``12 L d^2 + V d (+ C d)`` up to the norms."""
    return sum(parameter_breakdown(shape).values())


def matmul_parameter_count(shape: ModelShape) -> int:
    """The weights one token is *multiplied* by in a forward pass: the blocks' projection
    matrices and the ``V x d`` unembedding (tied or not). Embedding look-ups, biases and norms
    are excluded (a look-up moves a row, it does not multiply). ``2 x`` this is the
    matrix-multiply FLOPs per token, and these are the weights a decode step must stream."""
    d, L = shape.d_model, shape.n_layer
    attention = 2 * d * d + 2 * d * shape.kv_dim
    mlp = (3 if shape.gated_mlp else 2) * d * shape.d_ff
    return L * (attention + mlp) + shape.vocab_size * d


def from_gpt_config(cfg: Any) -> ModelShape:
    """The :class:`ModelShape` of ``course_lib.gpt``'s ``GPT(cfg)``, read from the
    attributes of ``cfg`` only (no import): learned positions, LayerNorms whose shift and
    the Dense biases follow ``cfg.bias``, an untied head with a bias when ``cfg.bias``.
    Then ``parameter_count(from_gpt_config(cfg)) == GPT(cfg).count_params()``."""
    try:
        d_ff = cfg.d_ff if cfg.d_ff is not None else 4 * cfg.d_model
        return ModelShape(
            n_layer=cfg.n_layer,
            d_model=cfg.d_model,
            n_head=cfg.n_head,
            vocab_size=cfg.vocab_size,
            context_length=cfg.context_length,
            d_ff=d_ff,
            tied_embeddings=cfg.tie_weights,
            bias=cfg.bias,
            norm="layernorm",
            norm_bias=cfg.bias,
            learned_positions=True,
            lm_head_bias=cfg.bias and not cfg.tie_weights,
            name=getattr(cfg, "name", "") or "GPTConfig",
        )
    except AttributeError as e:
        raise ValueError(f"from_gpt_config needs a GPTConfig-like object ({e})") from None


# Published configurations. Sources are cited where each count is tested.
GPT2_SMALL = ModelShape(
    name="GPT-2 small (124M)",
    n_layer=12,
    d_model=768,
    n_head=12,
    vocab_size=50257,
    context_length=1024,
)
GPT3_175B = ModelShape(
    name="GPT-3 175B", n_layer=96, d_model=12288, n_head=96, vocab_size=50257, context_length=2048
)
LLAMA2_7B = ModelShape(
    name="Llama-2-7B",
    n_layer=32,
    d_model=4096,
    n_head=32,
    vocab_size=32000,
    context_length=4096,
    d_ff=11008,
    gated_mlp=True,
    bias=False,
    norm="rmsnorm",
    tied_embeddings=False,
    learned_positions=False,
)
PUBLISHED_SHAPES: tuple[ModelShape, ...] = (GPT2_SMALL, GPT3_175B, LLAMA2_7B)
