"""Published numbers of some accelerators and one server CPU, each with where it was checked.

Conventions (read them before comparing rows):

* ``peak_flops`` maps a precision to the vendor's peak in FLOP/s, **dense**. NVIDIA's data
  sheets print tensor-core rates *with 2:4 structured sparsity* and mark them with an
  asterisk ("* With sparsity"); the dense rate is half of that, and that half is what is
  stored here. A matrix product of ordinary (not 2:4-pruned) weights cannot reach the
  asterisked number. Google's TPU pages quote no sparse rate.
* ``"float32"`` on an NVIDIA GPU is the rate of the ordinary (non-tensor-core) FP32 units;
  ``"tf32"`` is the tensor-core rate for float32 inputs rounded to a 10-bit mantissa.
* ``memory_bandwidth`` is the vendor's peak in bytes/s (1 GB/s = 1e9 B/s), ``memory_bytes``
  the capacity as the vendor quotes it (GB = 1e9 B, GiB = 2**30 B; vendors mix the two).
* ``power_watts`` is the maximum board power / TDP, or ``None`` where no source was found.
* ``source_url`` is the page whose numbers were actually read when this table was written;
  ``vendor_url`` is the vendor's own document when known (cited by those pages).

A number that could not be verified is ``None`` (or absent from ``peak_flops``), never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

KINDS = ("cpu", "gpu", "tpu")
PRECISIONS = ("float64", "float32", "tf32", "bfloat16", "float16", "fp8")
TERA, GIGA = 1e12, 1e9


def _is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith("https://") and " " not in value


@dataclass(frozen=True)
class HardwareSpec:
    """One device: dense peak FLOP/s per precision, memory bandwidth, capacity, power, sources."""

    name: str
    kind: str
    peak_flops: Mapping[str, float] = field(hash=False)
    memory_bandwidth: float
    memory_bytes: float | None
    power_watts: float | None
    source_url: str
    notes: str
    vendor_url: str | None = None
    other_sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = f"HardwareSpec {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"HardwareSpec.name must be a non-empty string, got {self.name!r}")
        if self.kind not in KINDS:
            raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not isinstance(self.peak_flops, Mapping) or not self.peak_flops:
            raise ValueError(f"{where}: peak_flops must be a non-empty mapping precision -> FLOP/s")
        for precision, value in self.peak_flops.items():
            if precision not in PRECISIONS:
                raise ValueError(f"{where}: unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
            if isinstance(value, bool) or not (isinstance(value, (int, float))
                                               and math.isfinite(value) and value > 0):
                raise ValueError(f"{where}: peak_flops[{precision!r}] must be a number > 0, got {value!r}")
        object.__setattr__(self, "peak_flops", MappingProxyType(dict(self.peak_flops)))
        for name in ("memory_bandwidth", "memory_bytes", "power_watts"):
            value = getattr(self, name)
            if value is None and name != "memory_bandwidth":
                continue
            if isinstance(value, bool) or not (isinstance(value, (int, float))
                                               and math.isfinite(value) and value > 0):
                allowed = "a number > 0" + ("" if name == "memory_bandwidth" else " or None")
                raise ValueError(f"{where}: {name} must be {allowed}, got {value!r}")
        urls = (self.source_url, *self.other_sources, *((self.vendor_url,) if self.vendor_url else ()))
        if not all(_is_url(u) for u in urls):
            raise ValueError(f"{where}: every source must be an https:// URL, got {urls!r}")
        if not isinstance(self.notes, str) or not self.notes.strip():
            raise ValueError(f"{where}: notes must say how the numbers were read (dense/sparse, derivations)")

    def peak(self, precision: str) -> float:
        """Dense peak FLOP/s at ``precision``; ``ValueError`` naming the precisions on record."""
        if precision not in self.peak_flops:
            raise ValueError(f"{self.name} has no verified peak for {precision!r}; "
                             f"on record: {', '.join(self.peak_flops)}")
        return self.peak_flops[precision]

    def ridge_point(self, precision: str) -> float:
        """``peak / bandwidth`` in FLOP/byte: the arithmetic intensity an operation needs to be
        compute-bound on this device."""
        return self.peak(precision) / self.memory_bandwidth


_NVIDIA_DENSE = ("Tensor-core rates are the dense halves of the data sheet's asterisked "
                 "'with sparsity' numbers. ")

SPECS: tuple[HardwareSpec, ...] = (
    HardwareSpec(
        name="NVIDIA A100 SXM 80GB", kind="gpu",
        peak_flops={"float32": 19.5 * TERA, "tf32": 156 * TERA, "bfloat16": 312 * TERA, "float16": 312 * TERA},
        memory_bandwidth=2039 * GIGA, memory_bytes=80 * GIGA, power_watts=400,
        source_url="https://glennklockwood.com/garden/processors/A100",
        other_sources=("https://www.thundercompute.com/blog/nvidia-a100-specs-full-guide",),
        vendor_url="https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/"
                   "nvidia-a100-datasheet-nvidia-us-2188504-web.pdf",
        notes=_NVIDIA_DENSE + "Data sheet: BF16/FP16 tensor 312 | 624* TFLOPS, TF32 156 | 312*, FP32 "
              "19.5 (no tensor cores). 80GB HBM2e at 2,039 GB/s on SXM (the 80GB PCIe card has 1,935 GB/s); "
              "400 W max TDP on SXM."),
    HardwareSpec(
        name="NVIDIA H100 SXM", kind="gpu",
        peak_flops={"float32": 67 * TERA, "tf32": 989 / 2 * TERA, "bfloat16": 1979 / 2 * TERA,
                    "float16": 1979 / 2 * TERA, "fp8": 3958 / 2 * TERA},
        memory_bandwidth=3.35 * TERA, memory_bytes=80 * GIGA, power_watts=700,
        source_url="https://archive-lib.hpctech.co.jp/gpuproduct/nvidia-h100.html",
        other_sources=("https://glennklockwood.com/garden/processors/h100",),
        vendor_url="https://www.nvidia.com/en-us/data-center/h100/",
        notes=_NVIDIA_DENSE + "The reseller's copy of NVIDIA's table: BF16/FP16 1,979*, TF32 989*, FP8 "
              "3,958* TFLOPS, '* Shown with sparsity. Specifications 1/2 lower without sparsity'; FP32 67. "
              "Klockwood derives 989.4 dense BF16 from clocks. 80 GB HBM3, 3,350 GB/s, 700 W TDP."),
    HardwareSpec(
        name="NVIDIA H200 SXM", kind="gpu",
        peak_flops={"float32": 67 * TERA, "tf32": 989 / 2 * TERA, "bfloat16": 1979 / 2 * TERA,
                    "float16": 1979 / 2 * TERA, "fp8": 3958 / 2 * TERA},
        memory_bandwidth=4.8 * TERA, memory_bytes=141 * GIGA, power_watts=700,
        source_url="https://www.aiminingco.com/gpu/h200/specs",
        other_sources=("https://lzwjava.github.io/nvidia-h200-gpu-specs-en",
                       "https://hmc-tech.com/gpu/nvidia-h100-vs-nvidia-h200-sxm-vs-nvidia-gb200"),
        vendor_url="https://www.nvidia.com/en-us/data-center/h200/",
        notes=_NVIDIA_DENSE + "Same GH100 die and clocks as the H100 SXM, so the same compute (FP8 "
              "3,958* identical, FP32 66.9 TFLOPS); only the memory differs: 141 GB HBM3e at 4.8 TB/s. "
              "700 W TDP. Some sellers print 1.97 PFLOPS BF16 as 'dense': that is the sparse number."),
    HardwareSpec(
        name="Google TPU v4", kind="tpu",
        peak_flops={"bfloat16": 275 * TERA},
        memory_bandwidth=1200 * GIGA, memory_bytes=32 * 2**30, power_watts=192,
        source_url="https://cloud.google.com/tpu/docs/v4",
        notes="Per chip (2 TensorCores, 4 MXUs each): 275 TFLOPS (bf16 or int8), 32 GiB HBM2 at 1,200 GBps. "
              "Google gives no TDP; 192 W is its *measured* maximum power (min/mean/max 90/170/192 W)."),
    HardwareSpec(
        name="Google TPU v5e", kind="tpu",
        peak_flops={"bfloat16": 197 * TERA},
        memory_bandwidth=819 * GIGA, memory_bytes=16 * GIGA, power_watts=None,
        source_url="https://cloud.google.com/tpu/docs/v5e",
        notes="Per chip (1 TensorCore, 4 MXUs): 197 TFLOPS bf16 (393 TOPS int8), 16 GB HBM2 at 819 GBps. "
              "Another version of the page says '800 GiBps' (= 859 GB/s, 5 % more); 819 GBps is used. "
              "No power figure found."),
    HardwareSpec(
        name="Google TPU v5p", kind="tpu",
        peak_flops={"bfloat16": 459 * TERA},
        memory_bandwidth=2765 * GIGA, memory_bytes=95 * GIGA, power_watts=None,
        source_url="https://cloud.google.com/tpu/docs/v5p-training",
        notes="Per chip: 459 TFLOPS bf16, 95 GB HBM2e at 2,765 GBps. No power figure found in Google's docs."),
    HardwareSpec(
        name="NVIDIA GeForce RTX 4090", kind="gpu",
        peak_flops={"float32": 82.6 * TERA, "bfloat16": 165.2 * TERA, "float16": 165.2 * TERA},
        memory_bandwidth=1008 * GIGA, memory_bytes=24 * GIGA, power_watts=450,
        source_url="https://waredb.com/processor/nvidia-geforce-rtx-4090",
        other_sources=("https://www.thefpsreview.com/gpu-family/nvidia-geforce-rtx-4090-gpu-family-specifications",),
        notes="Consumer card. Tensor-core BF16 and FP16 165.15 TFLOPS dense (330.3 with sparsity); "
              "FP32 82.6 TFLOPS (non-tensor). 24 GB GDDR6X, 384-bit at 21 Gbps = 1,008 GB/s; 450 W TGP. "
              "No vendor document was read for this row (third-party databases only)."),
    HardwareSpec(
        name="AMD EPYC 9654 (Zen 4, 96 cores)", kind="cpu",
        peak_flops={"float32": 96 * 2.4e9 * 32, "float64": 96 * 2.4e9 * 16},
        memory_bandwidth=12 * 4800e6 * 8, memory_bytes=None, power_watts=360,
        source_url="https://www.hpctech.co.jp/product/amd-epyc-9004-series/",
        other_sources=("https://stackoverflow.com/questions/76195232",
                       "https://llmperf.net/categories/cpu/AMD-EPYC-9000-Genoa-Turin-CPUs"),
        notes="Derived, not quoted by AMD (FLOP/cycle from a Stack Overflow answer, question 76195232, "
              "read in a mirror): 96 cores x 2.4 GHz base clock x 32 FP32 FLOP/cycle/core "
              "(2 FMA pipes x 8 float32 lanes of 256 bit x 2 FLOP; AVX-512 runs on a 256-bit data path) "
              "= 7.37 TFLOP/s; float64 half that. All-core clocks above base raise it, AVX-512 "
              "down-clocking may lower it. Bandwidth: 12 DDR5-4800 channels x 8 bytes = 460.8 GB/s. "
              "360 W default TDP. Capacity depends on the DIMMs fitted (None). The course's own machine "
              "reports the same CPU family 25, model 17 (Zen 4 'Genoa')."),
)


def spec_names() -> tuple[str, ...]:
    """Names of the rows of :data:`SPECS`, in table order."""
    return tuple(s.name for s in SPECS)


def get_spec(name: str) -> HardwareSpec:
    """The row of :data:`SPECS` called ``name`` (case and surrounding spaces ignored);
    ``ValueError`` listing every name otherwise."""
    key = str(name).strip().lower()
    for spec in SPECS:
        if spec.name.lower() == key:
            return spec
    raise ValueError(f"Unknown hardware {name!r}. Known: {'; '.join(spec_names())}")
