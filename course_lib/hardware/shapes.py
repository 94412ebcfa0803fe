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

from course_lib.runtime.validation import check_bool, check_choice, check_int

NORMS = ("layernorm", "rmsnorm")


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
            value = check_int(f"ModelShape.{name}", getattr(self, name), minimum=1)
            object.__setattr__(self, name, value)
        if self.d_model % self.n_head:
            raise ValueError(
                f"ModelShape.d_model ({self.d_model}) must be divisible by n_head ({self.n_head})"
            )
        if self.n_kv_head is None:
            object.__setattr__(self, "n_kv_head", self.n_head)
        n_kv_head = check_int("ModelShape.n_kv_head", self.n_kv_head, minimum=1)
        object.__setattr__(self, "n_kv_head", n_kv_head)
        if self.n_head % n_kv_head:
            raise ValueError(
                f"ModelShape.n_kv_head ({n_kv_head}) must divide n_head ({self.n_head}): "
                "each key/value head serves a group of query heads"
            )
        if self.d_ff is None:
            object.__setattr__(self, "d_ff", 4 * self.d_model)
        object.__setattr__(self, "d_ff", check_int("ModelShape.d_ff", self.d_ff, minimum=1))
        for name in (
            "tied_embeddings",
            "gated_mlp",
            "bias",
            "norm_bias",
            "learned_positions",
            "lm_head_bias",
        ):
            check_bool(f"ModelShape.{name}", getattr(self, name))
        check_choice("ModelShape.norm", self.norm, NORMS)
        if not isinstance(self.name, str):
            raise TypeError(f"ModelShape.name must be a string, got {self.name!r}")

    @property
    def d_head(self) -> int:
        """Width of one attention head, ``d / H``."""
        return self.d_model // self.n_head

    @property
    def kv_dim(self) -> int:
        """Width of the keys (and of the values) of one token in one layer, ``H_kv d_head``."""
        return self.n_kv_head * self.d_head


def check_shape(shape: object) -> ModelShape:
    """``shape`` if it is a :class:`ModelShape`; else a ``TypeError`` that says how to get one."""
    if not isinstance(shape, ModelShape):
        raise TypeError(
            f"shape must be a ModelShape (a GPTConfig gives one as cfg.shape), "
            f"got {type(shape).__name__}"
        )
    return shape


def parameter_breakdown(shape: ModelShape) -> dict[str, int]:
    """Parameters by part, in closed form.

    With ``b = 1`` if ``shape.bias`` else 0, ``kv = H_kv d_head`` and ``k = 3`` for a gated
    MLP else 2:

    * ``embedding`` -- ``V d`` (the token embedding);
    * ``positions`` -- ``C d`` if the positions are learned, else 0;
    * ``attention`` -- ``L (2 d^2 + 2 d kv + b (2 d + 2 kv))``: the ``q`` and output
      projections ``d x d``, the ``k`` and ``v`` projections ``d x kv``, and their biases;
    * ``mlp`` -- ``L (k d d_ff + b ((k - 1) d_ff + d))``;
    * ``norms`` -- ``2 L + 1`` normalisations of ``d`` (RMSNorm, or LayerNorm without shift)
      or ``2 d`` (LayerNorm with shift) parameters each;
    * ``lm_head`` -- ``V d`` (plus ``V`` with ``lm_head_bias``) if untied, else 0.
    """
    shape = check_shape(shape)
    d = shape.d_model
    L = shape.n_layer
    kv = shape.kv_dim
    b = int(shape.bias)
    if shape.norm == "layernorm" and shape.norm_bias:
        per_norm = 2 * d
    else:
        per_norm = d
    mlp_matrices = 3 if shape.gated_mlp else 2
    mlp_bias = b * ((mlp_matrices - 1) * shape.d_ff + d)
    if shape.tied_embeddings:
        head = 0
    else:
        head = shape.vocab_size * d + int(shape.lm_head_bias) * shape.vocab_size
    if shape.learned_positions:
        positions = shape.context_length * d
    else:
        positions = 0
    return {
        "embedding": shape.vocab_size * d,
        "positions": positions,
        "attention": L * (2 * d * d + 2 * d * kv + b * (2 * d + 2 * kv)),
        "mlp": L * (mlp_matrices * d * shape.d_ff + mlp_bias),
        "norms": (2 * L + 1) * per_norm,
        "lm_head": head,
    }


def parameter_count(shape: ModelShape) -> int:
    """Total trainable parameters ``N``: the sum of :func:`parameter_breakdown`.

    For the course's GPT (``GPTConfig``, LayerNorms and Dense biases following ``bias``,
    ``b = 1`` or 0) this is

    .. math::

        N = V d + C d + L \\big[2 (1 + b) d + 4 d^2 + 4 b d + 2 d\\, d_{ff} + b (d_{ff} + d)\\big]
          + (1 + b) d + [\\text{untied}] (V d + b V),

    and ``parameter_count(cfg.shape) == GPT(cfg).count_params()``. For ``d_ff = 4 d`` the
    blocks hold about ``12 L d^2``.
    """
    return sum(parameter_breakdown(shape).values())


def non_embedding_parameter_count(shape: ModelShape) -> int:
    """``N`` without the token and position embeddings and without an untied output layer:
    the blocks and the final normalisation, the way Kaplan et al. 2020 (arXiv:2001.08361)
    count model size. For a GPT without biases and ``d_ff = 4 d`` this is
    ``L (12 d^2 + 2 d) + d``, about ``12 L d^2``."""
    parts = parameter_breakdown(shape)
    return parts["attention"] + parts["mlp"] + parts["norms"]


def matmul_parameter_count(shape: ModelShape) -> int:
    """The weights one token is *multiplied* by in a forward pass: the blocks' projection
    matrices and the ``V x d`` unembedding (tied or not). Embedding look-ups, biases and norms
    are excluded (a look-up moves a row, it does not multiply). ``2 x`` this is the
    matrix-multiply FLOPs per token, and these are the weights a decode step must stream."""
    shape = check_shape(shape)
    d = shape.d_model
    attention = 2 * d * d + 2 * d * shape.kv_dim
    mlp = (3 if shape.gated_mlp else 2) * d * shape.d_ff
    return shape.n_layer * (attention + mlp) + shape.vocab_size * d


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
    name="GPT-3 175B",
    n_layer=96,
    d_model=12288,
    n_head=96,
    vocab_size=50257,
    context_length=2048,
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
# Llama-2-70B: the config.json Meta released with meta-llama/Llama-2-70b-hf (80 layers, width
# 8192, 64 query heads sharing 8 key/value heads, MLP width 28672); grouped-query attention in
# the 70B model: Touvron et al. 2023, "Llama 2", arXiv:2307.09288, Table 1.
LLAMA2_70B = ModelShape(
    name="Llama-2-70B",
    n_layer=80,
    d_model=8192,
    n_head=64,
    n_kv_head=8,
    vocab_size=32000,
    context_length=4096,
    d_ff=28672,
    gated_mlp=True,
    bias=False,
    norm="rmsnorm",
    tied_embeddings=False,
    learned_positions=False,
)
PUBLISHED_SHAPES: tuple[ModelShape, ...] = (GPT2_SMALL, GPT3_175B, LLAMA2_7B, LLAMA2_70B)
