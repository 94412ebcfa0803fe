"""Published numbers of some accelerators and one server CPU, each with where it was checked.

Conventions (read them before comparing rows). Every field is in SI base units:

* ``peak_flops`` maps a precision to the vendor's peak in FLOP/s, **dense**. NVIDIA's data
  sheets print tensor-core rates *with 2:4 structured sparsity* and mark them with an
  asterisk ("* With sparsity"); the dense rate is half of that, and that half is what is
  stored here. A matrix product of ordinary (not 2:4-pruned) weights cannot reach the
  asterisked number. Google's TPU pages quote no sparse rate. A peak is an upper bound: it
  uses the highest clock the vendor specifies (the boost clock), never the base clock.
* ``"float32"`` on an NVIDIA GPU is the rate of the ordinary (non-tensor-core) FP32 units;
  ``"tf32"`` is the tensor-core rate for float32 inputs rounded to a 10-bit mantissa;
  ``"float16"``/``"bfloat16"`` are tensor-core rates **with FP32 accumulation** (what
  cuBLAS and the frameworks use by default); where a card is faster with FP16
  accumulation (the GeForce RTX 4090), ``notes`` gives that rate too.
* ``memory_bandwidth`` is the vendor's peak in bytes/s (1 GB/s = 1e9 B/s, 1 TB/s = 1e12 B/s).
* ``memory_bytes`` is the memory the device **really has, in bytes**: for an NVIDIA GPU the
  total that ``nvidia-smi`` reports (``memory.total`` in MiB, times 2**20), which is what
  the driver exposes to programs (a program gets somewhat less: the CUDA context and the
  framework take some of it); for a TPU the per-chip HBM that Google states.
  ``memory_marketed`` is the vendor's label ("80GB"), which is neither: an H100 "80GB"
  reports 81,559 MiB = 85.5e9 B = 79.6 GiB. ``None``: no fixed capacity (a CPU's DIMMs).
* ``power_watts`` is the maximum board power / TDP, or ``None`` where no source was found.
* ``source_url`` is the vendor's own document (data sheet, whitepaper, product page or
  documentation) when ``primary_source`` is true; ``read_from`` lists the copies in which
  that document's numbers were actually read when the vendor's page itself could not be
  opened, and ``other_sources`` the further evidence (e.g. ``nvidia-smi`` output in public
  issue threads). ``vendor_url`` is kept for compatibility: it equals ``source_url`` for a
  primary row. A row with ``primary_source=False`` says in its notes why no vendor document
  was used.
* ``cores`` is the number of cores of a CPU (``None`` for accelerators), so that a per-core
  peak can be compared with a measurement on one core.

A number that could not be verified is ``None`` (or absent from ``peak_flops``), never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from course_lib.runtime.validation import check_bool, check_choice, check_int, check_real

KINDS = ("cpu", "gpu", "tpu")
PRECISIONS = ("float64", "float32", "tf32", "bfloat16", "float16", "fp8")
TERA, GIGA = 1e12, 1e9
MIB = 2**20
# Domains of the vendors whose own documents a primary row must cite.
VENDOR_DOMAINS = ("nvidia.com", "amd.com", "cloud.google.com")


def _is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith("https://") and " " not in value


def _host(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0].lower()


def is_vendor_url(url: str) -> bool:
    """Whether ``url`` is on one of :data:`VENDOR_DOMAINS` (or a subdomain of one)."""
    host = _host(url)
    return any(host == d or host.endswith("." + d) for d in VENDOR_DOMAINS)


@dataclass(frozen=True)
class HardwareSpec:
    """One device: dense peak FLOP/s per precision, memory bandwidth, capacity, power, sources.

    Units: FLOP/s, bytes/s, bytes, watts (see the module docstring for what each field means)."""

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
    memory_marketed: str | None = None
    primary_source: bool = True
    read_from: tuple[str, ...] = ()
    cores: int | None = None

    def __post_init__(self) -> None:
        where = f"HardwareSpec {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"HardwareSpec.name must be a non-empty string, got {self.name!r}")
        check_choice(f"{where}: kind", self.kind, KINDS)
        if not isinstance(self.peak_flops, Mapping) or not self.peak_flops:
            raise ValueError(f"{where}: peak_flops must be a non-empty mapping precision -> FLOP/s")
        for precision, value in self.peak_flops.items():
            check_choice(f"{where}: a peak_flops precision", precision, PRECISIONS)
            check_real(f"{where}: peak_flops[{precision!r}]", value, minimum=0, strict=True)
        object.__setattr__(self, "peak_flops", MappingProxyType(dict(self.peak_flops)))
        check_real(f"{where}: memory_bandwidth", self.memory_bandwidth, minimum=0, strict=True)
        for name in ("memory_bytes", "power_watts"):
            value = getattr(self, name)
            if value is not None:
                check_real(f"{where}: {name} (or None)", value, minimum=0, strict=True)
        if self.cores is not None:
            check_int(f"{where}: cores (or None)", self.cores, minimum=1)
        urls = (
            self.source_url,
            *self.other_sources,
            *self.read_from,
            *((self.vendor_url,) if self.vendor_url else ()),
        )
        if not all(_is_url(u) for u in urls):
            raise ValueError(f"{where}: every source must be an https:// URL, got {urls!r}")
        if not isinstance(self.notes, str) or not self.notes.strip():
            raise ValueError(
                f"{where}: notes must say how the numbers were read (dense/sparse, derivations)"
            )
        check_bool(f"{where}: primary_source", self.primary_source)
        if self.primary_source and not is_vendor_url(self.source_url):
            raise ValueError(
                f"{where}: a primary source must be the vendor's own document "
                f"({', '.join(VENDOR_DOMAINS)}), got {self.source_url!r}"
            )
        if not self.primary_source and "no vendor document" not in self.notes.lower():
            raise ValueError(
                f"{where}: a row without a primary source must say in its notes why "
                "('No vendor document ...')"
            )

    def peak(self, precision: str) -> float:
        """Dense peak FLOP/s at ``precision``; ``ValueError`` naming the precisions on record."""
        if precision not in self.peak_flops:
            raise ValueError(
                f"{self.name} has no verified peak for {precision!r}; "
                f"on record: {', '.join(self.peak_flops)}"
            )
        return self.peak_flops[precision]

    def peak_per_core(self, precision: str) -> float:
        """``peak(precision) / cores`` for a CPU row (``ValueError`` where ``cores`` is unknown)."""
        if self.cores is None:
            raise ValueError(f"{self.name} has no core count on record")
        return self.peak(precision) / self.cores

    def ridge_point(self, precision: str) -> float:
        """``peak / bandwidth`` in FLOP/byte: the arithmetic intensity an operation needs to be
        compute-bound on this device."""
        return self.peak(precision) / self.memory_bandwidth


_NVIDIA_DENSE = (
    "Tensor-core rates are the dense halves of NVIDIA's asterisked 'with sparsity' numbers. "
)
_NVIDIA_MEMORY = (
    "memory_bytes is nvidia-smi's memory.total ({mib:,} MiB = {gb:.2f} GB = {gib:.2f} GiB, "
    "as printed in {where}); NVIDIA markets it as '{label}'. "
)


def _nvidia_memory(mib: int, label: str, where: str) -> str:
    return _NVIDIA_MEMORY.format(
        mib=mib, gb=mib * MIB / 1e9, gib=mib * MIB / 2**30, label=label, where=where
    )


_A100_DATASHEET = (
    "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/"
    "nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf"
)
_ADA_WHITEPAPER = (
    "https://images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf"
)
_H200_MLPERF = (
    "https://raw.githubusercontent.com/mlcommons/inference_results_v4.1/main/closed/NVIDIA/"
    "systems/H200-SXM-141GBx8_TRT_MaxQ.json"
)
_EPYC_9654 = (
    "https://www.amd.com/en/products/processors/server/epyc/4th-generation-9004-and-8004-series/"
    "amd-epyc-9654.html"
)
_ZEN4_SOG = "https://www.amd.com/content/dam/amd/en/documents/epyc-technical-docs/software-optimization-guides/57647.zip"

SPECS: tuple[HardwareSpec, ...] = (
    HardwareSpec(
        name="NVIDIA A100 SXM 80GB",
        kind="gpu",
        peak_flops={
            "float32": 19.5 * TERA,
            "tf32": 156 * TERA,
            "bfloat16": 312 * TERA,
            "float16": 312 * TERA,
        },
        memory_bandwidth=2039 * GIGA,
        memory_bytes=81920 * MIB,
        power_watts=400,
        memory_marketed="80GB HBM2e",
        source_url=_A100_DATASHEET,
        vendor_url=_A100_DATASHEET,
        read_from=("https://glennklockwood.com/garden/processors/A100",),
        other_sources=("https://github.com/modal-labs/modal-client/pull/2797",),
        notes=_NVIDIA_DENSE
        + "NVIDIA A100 data sheet (r4): 'BFLOAT16 Tensor Core 312 TFLOPS | 624 TFLOPS*', "
        "FP16 the same, 'TF32 Tensor Core 156 TFLOPS | 312 TFLOPS*', FP32 19.5 TFLOPS (no tensor "
        "cores), "
        "'* With sparsity'; A100 80GB SXM: 80GB HBM2e, 2,039 GB/s (the 80GB PCIe card: 1,935 "
        "GB/s), "
        "400 W max TDP. The data sheet was read in the copy of its table in read_from. "
        + _nvidia_memory(
            81920,
            "80GB",
            "modal-labs/modal-client pull request 2797, which lists "
            "nvidia-smi totals of the GPUs it runs",
        )
        + "This one is exactly 80 GiB.",
    ),
    HardwareSpec(
        name="NVIDIA H100 SXM",
        kind="gpu",
        peak_flops={
            "float32": 67 * TERA,
            "tf32": 989 / 2 * TERA,
            "bfloat16": 1979 / 2 * TERA,
            "float16": 1979 / 2 * TERA,
            "fp8": 3958 / 2 * TERA,
        },
        memory_bandwidth=3.35 * TERA,
        memory_bytes=81559 * MIB,
        power_watts=700,
        memory_marketed="80GB HBM3",
        source_url="https://www.nvidia.com/en-us/data-center/h100/",
        vendor_url="https://www.nvidia.com/en-us/data-center/h100/",
        read_from=("https://archive-lib.hpctech.co.jp/gpuproduct/nvidia-h100.html",),
        other_sources=(
            "https://github.com/NVIDIA/nccl/issues/1264",
            "https://glennklockwood.com/garden/processors/h100",
        ),
        notes=_NVIDIA_DENSE
        + "NVIDIA's H100 specification table (read in the verbatim copy in read_from): "
        "H100 SXM BF16/FP16 Tensor Core 1,979* TFLOPS, TF32 989*, FP8 3,958*, FP32 67 TFLOPS, "
        "'* Shown with sparsity. Specifications 1/2 lower without sparsity'; GPU memory 80GB HBM3 "
        "at "
        "3.35 TB/s; max TDP up to 700 W (configurable). Klockwood derives 989.4 dense BF16 TFLOPS "
        "from "
        "the clocks. "
        + _nvidia_memory(
            81559,
            "80GB",
            "the nvidia-smi output of NVIDIA/nccl issue 1264 (8 x 'NVIDIA H100 80GB HBM3')",
        )
        + "That is 0.4 % less than 80 GiB.",
    ),
    HardwareSpec(
        name="NVIDIA H200 SXM",
        kind="gpu",
        peak_flops={
            "float32": 67 * TERA,
            "tf32": 989 / 2 * TERA,
            "bfloat16": 1979 / 2 * TERA,
            "float16": 1979 / 2 * TERA,
            "fp8": 3958 / 2 * TERA,
        },
        memory_bandwidth=4.8 * TERA,
        memory_bytes=143771 * MIB,
        power_watts=700,
        memory_marketed="141GB HBM3e",
        source_url="https://www.nvidia.com/en-us/data-center/h200/",
        vendor_url="https://www.nvidia.com/en-us/data-center/h200/",
        read_from=(_H200_MLPERF,),
        other_sources=("https://github.com/sgl-project/sglang/issues/3196",),
        notes=_NVIDIA_DENSE
        + "NVIDIA's H200 specification table: H200 SXM 141GB HBM3e at 4.8 TB/s, the "
        "same Tensor Core rates as the H100 SXM (BF16/FP16 1,979*, FP8 3,958* TFLOPS, FP32 67), "
        "max TDP "
        "up to 700 W (configurable): it is the same GH100 GPU with more and faster memory. "
        "NVIDIA's own "
        "MLPerf Inference v4.1 system description (read_from) gives 'accelerator_memory_capacity': "
        "'141 GB', HBM3e, 'H200 TGP 700W'. "
        + _nvidia_memory(
            143771,
            "141GB",
            "the nvidia-smi output of sgl-project/sglang issue 3196 (8 x 'NVIDIA H200', 700 W cap)",
        )
        + "Some sellers print 1.97 PFLOPS BF16 as 'dense': that is the sparse number.",
    ),
    HardwareSpec(
        name="Google TPU v4",
        kind="tpu",
        peak_flops={"bfloat16": 275 * TERA},
        memory_bandwidth=1200 * GIGA,
        memory_bytes=32 * 2**30,
        power_watts=192,
        memory_marketed="32 GiB HBM2",
        source_url="https://cloud.google.com/tpu/docs/v4",
        vendor_url="https://cloud.google.com/tpu/docs/v4",
        notes="Google Cloud TPU v4 page, per chip (2 TensorCores, 4 MXUs each): 'Peak compute per "
        "chip 275 teraflops (bf16 or int8)', 'HBM2 capacity and bandwidth 32 GiB, 1200 GBps', "
        "'Measured min/mean/max power 90/170/192 W'. Google gives no TDP; 192 W is its measured "
        "maximum.",
    ),
    HardwareSpec(
        name="Google TPU v5e",
        kind="tpu",
        peak_flops={"bfloat16": 197 * TERA},
        memory_bandwidth=819 * GIGA,
        memory_bytes=16 * GIGA,
        power_watts=None,
        memory_marketed="16 GB HBM2",
        source_url="https://cloud.google.com/tpu/docs/v5e",
        vendor_url="https://cloud.google.com/tpu/docs/v5e",
        notes="Google Cloud TPU v5e page, per chip (1 TensorCore, 4 MXUs): 'Peak compute per chip "
        "(bf16) 197 TFLOPs' (393 TOPS int8), 'HBM2 capacity and bandwidth 16 GB, 819 GBps'. "
        "Another version of the page says 'HBM bandwidth per chip 800 GiBps' (= 859 GB/s, 5 % "
        "more); 819 GBps is used. Google does not say whether its '16 GB' is decimal or binary: "
        "the smaller reading, 16e9 B, is stored. No power figure found.",
    ),
    HardwareSpec(
        name="Google TPU v5p",
        kind="tpu",
        peak_flops={"bfloat16": 459 * TERA},
        memory_bandwidth=2765 * GIGA,
        memory_bytes=95 * GIGA,
        power_watts=None,
        memory_marketed="95 GB HBM2e",
        source_url="https://cloud.google.com/tpu/docs/v5p-training",
        vendor_url="https://cloud.google.com/tpu/docs/v5p-training",
        notes="Google Cloud TPU v5p page, per chip: 'Peak compute per chip (bf16) 459 TFLOPs', "
        "'HBM2e capacity and bandwidth 95GB, 2765 GBps'. Decimal or binary GB is not stated: 95e9 "
        "B (the smaller reading) is stored. No power figure found in Google's docs.",
    ),
    HardwareSpec(
        name="NVIDIA GeForce RTX 4090",
        kind="gpu",
        peak_flops={"float32": 82.6 * TERA, "bfloat16": 165.2 * TERA, "float16": 165.2 * TERA},
        memory_bandwidth=1008 * GIGA,
        memory_bytes=24564 * MIB,
        power_watts=450,
        memory_marketed="24 GB GDDR6X",
        source_url=_ADA_WHITEPAPER,
        vendor_url=_ADA_WHITEPAPER,
        read_from=("https://waredb.com/processor/nvidia-geforce-rtx-4090",),
        other_sources=(
            "https://github.com/vllm-project/vllm/issues/7553",
            "https://www.thefpsreview.com/gpu-family/nvidia-geforce-rtx-4090-gpu-family-specifications",
        ),
        notes="Consumer card. NVIDIA Ada GPU Architecture whitepaper, Appendix A (GeForce RTX "
        "4090), dense/sparse pairs: 'Peak FP16 Tensor TFLOPS with FP32 Accumulate 165.2/330.4', "
        "'Peak BF16 Tensor TFLOPS with FP32 Accumulate 165.2/330.4', 'Peak FP16 Tensor TFLOPS with "
        "FP16 Accumulate 330.3/660.6', Peak FP32 TFLOPS (non-Tensor) 82.6, memory bandwidth 1008 "
        "GB/sec (384-bit GDDR6X at 21 Gbps). float16/bfloat16 store the FP32-accumulate rates "
        "(165.2, what the frameworks use); with FP16 accumulation float16 runs at 330.3 TFLOPS "
        "dense on this card. The whitepaper's table was read as quoted in public repositories and "
        "in the database in read_from; 450 W is the card's total graphics power as given by the "
        "pages in other_sources. "
        + _nvidia_memory(24564, "24 GB", "vllm-project/vllm issue 7553 (4 x RTX 4090)"),
    ),
    HardwareSpec(
        name="AMD EPYC 9654 (Zen 4, 96 cores)",
        kind="cpu",
        peak_flops={"float32": 96 * 3.7e9 * 32, "float64": 96 * 3.7e9 * 16},
        memory_bandwidth=12 * 4800e6 * 8,
        memory_bytes=None,
        power_watts=360,
        cores=96,
        source_url=_EPYC_9654,
        vendor_url=_EPYC_9654,
        read_from=("https://www.hpctech.co.jp/product/amd-epyc-9004-series/",),
        other_sources=(
            _ZEN4_SOG,
            "https://www.numberworld.org/blogs/2024_8_7_zen5_avx512_teardown/",
        ),
        notes="Derived: AMD quotes no FLOP/s for this CPU. AMD's EPYC 9654 product page (its table "
        "read in the copy in read_from): 96 cores, base clock 2.40 GHz, max. boost clock up to "
        "3.70 GHz, 384 MB L3, 12 channels of DDR5-4800, 360 W default TDP. A roofline peak is an "
        "upper bound, so the boost clock is used: 96 cores x 3.7 GHz x 32 FP32 FLOP/cycle/core = "
        "11.4 TFLOP/s per socket, 118.4 GFLOP/s per core (at the 2.4 GHz base clock it would be "
        "76.8 GFLOP/s per core, less than one core of the course's machine measured); float64 half "
        "that. 32 FLOP/cycle: a Zen 4 core has two 256-bit FMA pipes (AMD's Software Optimization "
        "Guide for the Zen 4 microarchitecture, pub. 57647, in other_sources; the guide itself "
        "could not be opened from the course's tools) and executes a 512-bit AVX-512 instruction "
        "as two 256-bit halves (A. Yee's measurements, numberworld.org, in other_sources), so 2 "
        "FMA x 8 float32 lanes x 2 FLOP. A consistency check: 16 FLOP/cycle would allow at most "
        "59.2 GFLOP/s per core at 3.7 GHz, less than one core of the course's machine measured. "
        "Bandwidth: 12 channels x 4,800 MT/s x 8 bytes = 460.8 GB/s per socket. Capacity depends "
        "on the DIMMs fitted (None). The course's own machine reports CPU family 25, model 17 (Zen "
        "4 'Genoa'); which EPYC model it is, the VM does not say.",
    ),
)


def spec_names() -> tuple[str, ...]:
    """Names of the rows of :data:`SPECS`, in table order."""
    return tuple(s.name for s in SPECS)


def get_spec(name: str) -> HardwareSpec:
    """The row of :data:`SPECS` called ``name`` (case and surrounding spaces ignored);
    ``ValueError`` listing every name otherwise."""
    if not isinstance(name, str):
        raise TypeError(
            f"name must be a string, one of: {'; '.join(spec_names())}; got {type(name).__name__}"
        )
    key = name.strip().lower()
    for spec in SPECS:
        if spec.name.lower() == key:
            return spec
    raise ValueError(f"Unknown hardware {name!r}. Known: {'; '.join(spec_names())}")
