"""Accelerators, ``tf.distribute`` strategy, precision policy, and a readable report.

Every *choice* is a pure function of a plain :class:`HardwareDescription`, so GPU and
multi-worker cases are unit-tested on a CPU with fake descriptions; only thin functions touch
TensorFlow, importing it lazily. TPUs are listed but not driven (a TPU needs a
``TPUClusterResolver`` this course cannot test): a TPU host is treated like a CPU host.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import warnings
from dataclasses import asdict, dataclass, replace
from typing import Any, ClassVar

from course_lib.runtime.validation import check_int

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGY_KINDS = ("default", "one_device", "mirrored", "multi_worker")
PRECISION_ENV = "COURSE_PRECISION"
# /proc/cpuinfo flags of x86 CPUs with bfloat16 arithmetic (oneDNN uses them for bfloat16)
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
COURSE_MODELS = ("classifier", "vae", "gan", "gpt")
# Training speed under mixed_bfloat16 over float32 on a CPU with AVX512-BF16, per course model:
# items per second of CPU time, median over rounds, one fresh process per policy, the course's
# Trainer at the student profile's sizes (benchmarks/mixed_precision_cpu.py; the wall-clock
# ratios, noisier on the shared machine, in comments). Where and when: CPU_BF16_MEASURED_ON.
CPU_BF16_SPEEDUP: dict[str, float | None] = {
    "classifier": 1.55,  # rounds 1.69, 1.45, 1.61; wall clock 2.27
    "vae": 1.12,  # rounds 1.11, 1.18, 1.06; wall clock 1.19 (timed with float32 outputs: see
    # benchmarks/mixed_precision_cpu.py, vae/model.py fails under mixed_bfloat16 as it stands)
    "gan": 1.40,  # rounds 1.38, 1.42; wall clock 1.45 (10 steps per compiled call, not 50)
    "gpt": 0.92,  # rounds 0.96, 0.88; wall clock 1.71 (rounds 1.23, 1.99); with XLA, as trained
}
CPU_BF16_MEASURED_ON = (
    "benchmarks/mixed_precision_cpu.py on the course's 2-core AMD EPYC virtual machine with "
    "avx512_bf16, TensorFlow 2.21.0, 2026-12-05, shared with other jobs (load average 12 to 20)"
)
# mixed_bfloat16 is used on such a CPU only for a model it trained at least this much faster
BF16_CLEAR_MARGIN = 1.25


@dataclass(frozen=True)
class DeviceInfo:
    """One physical device; ``compute_capability`` and ``memory_bytes`` are for GPUs."""

    name: str  # e.g. "/physical_device:GPU:0"
    device_type: str  # "CPU", "GPU" or "TPU"
    model: str = ""
    compute_capability: tuple[int, int] | None = None
    memory_bytes: int | None = None


@dataclass(frozen=True)
class HardwareDescription:
    """The devices of this process and the number of workers named by ``TF_CONFIG``."""

    devices: tuple[DeviceInfo, ...]
    num_workers: int = 1
    cpu_bf16_flags: tuple[str, ...] = ()  # those of CPU_BF16_FLAGS the CPU reports

    @property
    def cpu_has_bf16(self) -> bool:
        """Whether the CPU reports bfloat16 instructions (AVX512-BF16 or AMX-BF16)."""
        return bool(self.cpu_bf16_flags)

    @property
    def gpus(self) -> tuple[DeviceInfo, ...]:
        return tuple(d for d in self.devices if d.device_type == "GPU")

    @property
    def tpus(self) -> tuple[DeviceInfo, ...]:
        return tuple(d for d in self.devices if d.device_type == "TPU")


def parse_tf_config(text: str | None) -> int:
    """Workers in a ``TF_CONFIG`` JSON string: ``cluster.worker`` plus ``cluster.chief``
    (the chief trains too). 1 when unset/empty; ``ValueError`` when malformed."""
    if text is None or not text.strip():
        return 1
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON ({e}): {text[:80]!r}") from None
    cluster = cfg.get("cluster", {}) if isinstance(cfg, dict) else None
    if not isinstance(cluster, dict):
        raise ValueError(f"TF_CONFIG needs a 'cluster' object, got {text[:60]!r}")
    hosts = [cluster.get("chief", []), cluster.get("worker", [])]
    if not all(isinstance(h, list) for h in hosts):
        raise ValueError(
            f"TF_CONFIG needs cluster.worker as a list of 'host:port', got {text[:60]!r}"
        )
    return max(len(hosts[0]) + len(hosts[1]), 1)


def _gpu_memory(models: list[str]) -> list[int | None]:
    """Memory per TF GPU from ``nvidia-smi``, trusted only if its GPU names equal TF's models
    in order (CUDA and nvidia-smi may number GPUs differently); else ``None`` each."""
    unknown: list[int | None] = [None] * len(models)
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return unknown
    cmd = [exe, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"]
    try:
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=10).stdout
        rows = [line.rsplit(",", 1) for line in out.splitlines() if line.strip()]
        names = [name.strip() for name, _ in rows]
        memory = [int(float(mib)) * 1024**2 for _, mib in rows]  # nvidia-smi reports MiB
    except (OSError, ValueError, subprocess.SubprocessError):
        return unknown
    if names != models or os.environ.get("CUDA_VISIBLE_DEVICES"):
        return unknown
    return memory


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def cpu_bf16_flags(cpuinfo: str | None = None) -> tuple[str, ...]:
    """The flags of :data:`CPU_BF16_FLAGS` listed in ``cpuinfo`` (the text of
    ``/proc/cpuinfo``, read when ``None``; an unreadable file gives ``()``)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpuinfo = f.read()
        except OSError:
            return ()
    flags = set()
    for line in cpuinfo.splitlines():
        if line.split(":", 1)[0].strip() in ("flags", "Features"):
            flags.update(line.split(":", 1)[1].split())
    return tuple(f for f in CPU_BF16_FLAGS if f in flags)


def list_devices() -> tuple[DeviceInfo, ...]:
    """Physical devices as :class:`DeviceInfo` (does not initialise TF's runtime)."""
    import tensorflow as tf

    out = []
    for d in tf.config.list_physical_devices():  # TF's stable order: CPU:0, GPU:0, GPU:1, ...
        if d.device_type == "GPU":
            det = tf.config.experimental.get_device_details(d)
            cc = det.get("compute_capability")
            out.append(
                DeviceInfo(d.name, "GPU", det.get("device_name", ""), tuple(cc) if cc else None)
            )
        else:
            out.append(
                DeviceInfo(d.name, d.device_type, _cpu_model() if d.device_type == "CPU" else "")
            )
    gpus = [d for d in out if d.device_type == "GPU"]
    memory = dict(zip(gpus, _gpu_memory([g.model for g in gpus]), strict=True)) if gpus else {}
    return tuple(replace(d, memory_bytes=memory[d]) if d in memory else d for d in out)


def describe_hardware() -> HardwareDescription:
    """This process's devices and ``$TF_CONFIG`` workers (``ValueError`` if malformed)."""
    return HardwareDescription(
        list_devices(), parse_tf_config(os.environ.get("TF_CONFIG")), cpu_bf16_flags()
    )


def explain_strategy(hw: HardwareDescription) -> tuple[str, str]:
    """``(kind, reason)``; see :func:`choose_strategy_kind`."""
    n = len(hw.gpus)
    if hw.num_workers > 1:
        return "multi_worker", f"TF_CONFIG names {hw.num_workers} workers"
    if n > 1:
        return "mirrored", f"{n} GPUs: one replica each"
    if n == 1:
        return "one_device", "one GPU"
    reason = "no GPU: TensorFlow's default strategy"
    if hw.tpus:
        reason += " (TPUs are not driven here)"
    return "default", reason


def choose_strategy_kind(hw: HardwareDescription) -> str:
    """``"multi_worker"`` if ``num_workers > 1``, ``"mirrored"`` with >= 2 GPUs,
    ``"one_device"`` with 1 GPU, else ``"default"`` (CPU-only and TPU hosts)."""
    return explain_strategy(hw)[0]


def _bf16_measured(model: str | None) -> str:
    """The measured bfloat16 / float32 training speeds, for a reason (one model or all)."""
    names = COURSE_MODELS if model is None else (model,)
    parts = []
    for name in names:
        ratio = CPU_BF16_SPEEDUP.get(name)
        parts.append(f"{name} {'not measured' if ratio is None else f'{ratio:.2f}x'}")
    return ", ".join(parts)


def bf16_cpu_models() -> tuple[str, ...]:
    """The course models that train in ``mixed_bfloat16`` on a CPU with bfloat16 instructions:
    those measured at least :data:`BF16_CLEAR_MARGIN` times as fast as in float32."""
    return tuple(
        m
        for m in COURSE_MODELS
        if CPU_BF16_SPEEDUP.get(m) is not None and CPU_BF16_SPEEDUP[m] >= BF16_CLEAR_MARGIN
    )


def _explain_cpu_precision(hw: HardwareDescription, model: str | None) -> tuple[str, str]:
    """The CPU branch of :func:`explain_precision`."""
    if not hw.cpu_has_bf16:
        return "float32", (
            f"no GPU, and this CPU has no bfloat16 instructions ({'/'.join(CPU_BF16_FLAGS)}): "
            "float32"
        )
    flags = "/".join(hw.cpu_bf16_flags)
    where = f"{BF16_CLEAR_MARGIN:.2f}x needed; {CPU_BF16_MEASURED_ON}"
    if model is None:
        faster = bf16_cpu_models()
        uses = (
            f"so mixed_bfloat16 is used for {' and '.join(faster)} where a command names the "
            f"model (bench, train; {PRECISION_ENV}=float32 keeps float32)"
            if faster
            else "so float32 is kept for all"
        )
        return "float32", (
            f"no GPU; float32 unless a course model is named. This CPU has {flags}; "
            f"mixed_bfloat16 trained the course's models at these speeds relative to float32: "
            f"{_bf16_measured(None)} ({where}), {uses}"
        )
    ratio = CPU_BF16_SPEEDUP.get(model)
    if ratio is not None and ratio >= BF16_CLEAR_MARGIN:
        return "mixed_bfloat16", (
            f"no GPU; this CPU has {flags}, and mixed_bfloat16 trained the {model} "
            f"{ratio:.2f}x as fast as float32 ({where}); {PRECISION_ENV}=float32 keeps float32"
        )
    return "float32", (
        f"no GPU; this CPU has {flags}, but mixed_bfloat16 trained the {model} at "
        f"{_bf16_measured(model).split(' ', 1)[1]} the speed of float32 ({where}): float32 kept"
    )


def explain_precision(
    hw: HardwareDescription, override: str | None = None, model: str | None = None
) -> tuple[str, str]:
    """``(policy, reason)``; see :func:`choose_precision`."""
    if model is not None and model not in COURSE_MODELS:
        raise ValueError(
            f"Unknown course model {model!r}. Valid: {', '.join(COURSE_MODELS)} (or None)"
        )
    if override is not None:
        key = str(override).strip().lower()
        if key not in PRECISIONS:
            raise ValueError(
                f"Unknown precision policy {override!r} (argument or ${PRECISION_ENV}). "
                f"Valid: {', '.join(PRECISIONS)}"
            )
        return key, f"chosen explicitly (argument or ${PRECISION_ENV})"
    caps = [g.compute_capability for g in hw.gpus]
    if not caps:
        return _explain_cpu_precision(hw, model)
    if None in caps:
        return "float32", "a GPU's compute capability is unknown"
    cc = "{}.{}".format(*min(caps))
    if min(caps) >= (8, 0):
        return "mixed_bfloat16", f"every GPU has compute capability >= 8.0 (lowest {cc})"
    if min(caps) >= (7, 0):
        return "mixed_float16", f"every GPU has tensor cores; lowest capability {cc} < 8.0"
    return "float32", f"a GPU has compute capability {cc} < 7.0 (no tensor cores)"


def choose_precision(
    hw: HardwareDescription, override: str | None = None, model: str | None = None
) -> str:
    """The Keras mixed-precision policy for ``hw``: ``"mixed_bfloat16"`` when every GPU has
    compute capability >= (8, 0), ``"mixed_float16"`` when every GPU has >= (7, 0), else
    ``"float32"`` (also with unknown capability). GPUs of different generations get what
    *all* support. Compute capability 7.0 (Volta) brought tensor cores, 8.0 (Ampere) tensor
    cores for bfloat16 (NVIDIA, developer.nvidia.com/cuda-gpus and "NVIDIA Ampere Architecture
    In-Depth").

    On a CPU: ``"float32"``, unless the CPU has bfloat16 instructions (:data:`CPU_BF16_FLAGS`
    in ``hw.cpu_bf16_flags``) *and* ``model`` (one of :data:`COURSE_MODELS`) trained at least
    :data:`BF16_CLEAR_MARGIN` times as fast under ``mixed_bfloat16`` on such a CPU
    (:data:`CPU_BF16_SPEEDUP`, measured by ``benchmarks/mixed_precision_cpu.py``). Without a
    ``model`` a CPU gets float32. ``override`` (one of :data:`PRECISIONS`, e.g. from
    ``$COURSE_PRECISION``) wins, so ``COURSE_PRECISION=float32`` always gives float32; others
    raise ``ValueError``."""
    return explain_precision(hw, override, model)[0]


def precision_override_from_env() -> str | None:
    """``$COURSE_PRECISION`` (validated where used), or ``None`` when unset or empty."""
    return os.environ.get(PRECISION_ENV, "").strip() or None


def make_strategy(
    kind: str, hw: HardwareDescription | None = None, devices: list[str] | None = None
):
    """The ``tf.distribute.Strategy`` of ``kind`` (one of :data:`STRATEGY_KINDS`). ``devices``:
    the replicas for ``"mirrored"`` (e.g. ``["/cpu:0", "/cpu:1"]`` after :func:`split_cpu`), or
    the device for ``"one_device"`` (default ``/gpu:0``, ``/cpu:0`` if ``hw`` has no GPU)."""
    if kind not in STRATEGY_KINDS:
        raise ValueError(f"Unknown strategy kind {kind!r}. Valid: {', '.join(STRATEGY_KINDS)}")
    import tensorflow as tf

    if kind == "one_device":
        if devices:
            device = devices[0]
        elif hw is not None and not hw.gpus:
            device = "/cpu:0"
        else:
            device = "/gpu:0"
        return tf.distribute.OneDeviceStrategy(device)
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    if kind == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def split_cpu(n: int) -> None:
    """Split the physical CPU into ``n`` logical devices (for ``MirroredStrategy`` demos).
    Call it before anything runs on TensorFlow; again with the same ``n`` it does nothing;
    a different ``n`` once TF is initialised raises ``RuntimeError`` (restart the process)."""
    n = check_int("n", n, minimum=1)
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * n
        )
    except RuntimeError as e:
        have = len(tf.config.list_logical_devices("CPU"))
        if have != n:
            raise RuntimeError(
                f"Cannot split the CPU into {n} logical devices: TensorFlow is already initialised "
                f"with {have}. Restart the kernel/process and call split_cpu({n}) first."
            ) from e


def enable_memory_growth() -> None:
    """Let every GPU allocate memory on demand; only warns if TF is already initialised."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except (RuntimeError, ValueError) as e:
            warnings.warn(f"memory growth not set for {gpu.name}: {e}", stacklevel=2)


@dataclass
class RuntimeSetup:
    """What :meth:`setup` chose and built, with the reasons (shown by :func:`report`)."""

    hw: HardwareDescription
    strategy_kind: str
    strategy: Any  # tf.distribute.Strategy
    precision: str
    precision_reason: str = ""
    strategy_reason: str = ""
    _strategies: ClassVar[dict[str, Any]] = {}  # one strategy per kind per process

    @classmethod
    def setup(
        cls, precision: str | None = None, strategy: str | None = None, model: str | None = None
    ) -> RuntimeSetup:
        """Memory growth, global Keras precision policy, strategy (built once per kind per
        process, so calling twice is cheap). ``precision`` defaults to ``$COURSE_PRECISION``,
        then :func:`choose_precision` for ``model`` (a course model's name, or ``None``);
        ``strategy`` (a kind) to :func:`choose_strategy_kind`."""
        import keras

        hw = describe_hardware()
        policy, p_why = explain_precision(
            hw, precision if precision is not None else precision_override_from_env(), model
        )
        kind, s_why = explain_strategy(hw) if strategy is None else (strategy, "chosen explicitly")
        enable_memory_growth()
        if kind not in cls._strategies:  # make_strategy rejects unknown kinds
            cls._strategies[kind] = make_strategy(kind, hw)
        keras.mixed_precision.set_global_policy(policy)
        return cls(hw, kind, cls._strategies[kind], policy, p_why, s_why)


def report_dict(setup_or_hw: RuntimeSetup | HardwareDescription | None = None) -> dict[str, Any]:
    """The facts of :func:`report` as a dict; problems are listed in ``"errors"``, not raised.
    Without a :class:`RuntimeSetup` no strategy is built: ``num_replicas`` is the count the
    chosen strategy would have (safe with a ``TF_CONFIG`` whose cluster is not up)."""
    import keras
    import numpy
    import tensorflow as tf

    from course_lib.runtime import profiles as config

    errors: list[str] = []
    setup = setup_or_hw if isinstance(setup_or_hw, RuntimeSetup) else None
    hw = setup.hw if setup else setup_or_hw
    if hw is None:
        workers = 1
        try:
            workers = parse_tf_config(os.environ.get("TF_CONFIG"))
        except ValueError as e:
            errors.append(str(e))
        hw = HardwareDescription(list_devices(), workers, cpu_bf16_flags())
    if setup:
        precision, precision_why = setup.precision, setup.precision_reason
        kind, kind_why = setup.strategy_kind, setup.strategy_reason
        replicas = setup.strategy.num_replicas_in_sync
    else:
        try:
            precision, precision_why = explain_precision(hw, precision_override_from_env())
        except ValueError as e:
            errors.append(str(e))
            precision, precision_why = explain_precision(hw)
        kind, kind_why = explain_strategy(hw)
        replicas = 1
        if kind in ("mirrored", "multi_worker"):
            replicas = max(len(hw.gpus), 1) * hw.num_workers
    try:
        profile = "{0.name} ({0.description})".format(config.get_profile())
    except ValueError as e:
        profile = None
        errors.append(str(e))
    if tf.test.is_built_with_xla():
        xla = "built with XLA (jit_compile=True)"
    else:
        xla = "not built with XLA"
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "xla": xla,
        "devices": [asdict(d) for d in hw.devices],
        "num_workers": hw.num_workers,
        "precision": precision,
        "precision_reason": precision_why,
        "cpu_bf16_flags": list(hw.cpu_bf16_flags),
        "cpu_bf16_speedup": dict(CPU_BF16_SPEEDUP),
        "strategy_kind": kind,
        "strategy_reason": kind_why,
        "num_replicas": replicas,
        "profile": profile,
        "errors": errors,
    }


def report(setup_or_hw: RuntimeSetup | HardwareDescription | dict | None = None) -> str:
    """The facts of :func:`report_dict` (or a dict it returned) as readable lines."""
    f = setup_or_hw if isinstance(setup_or_hw, dict) else report_dict(setup_or_hw)
    rows = [
        ("Python", f["python"]),
        ("TensorFlow", f["tensorflow"]),
        ("Keras", f["keras"]),
        ("NumPy", f["numpy"]),
        ("Platform", f["platform"]),
        ("CPUs", f"{f['cpu_count']} (usable by this process: {f['usable_cpus']})"),
        ("XLA", f["xla"]),
        ("Workers", f"{f['num_workers']} (from TF_CONFIG)"),
        ("Precision", f"{f['precision']} -- {f['precision_reason']}"),
        (
            "Strategy",
            f"{f['strategy_kind']}, {f['num_replicas']} replica(s) -- {f['strategy_reason']}",
        ),
        ("Profile", f["profile"] or "INVALID (see ERROR below)"),
    ]
    devices = []
    for d in f["devices"]:
        cc, mem = d["compute_capability"], d["memory_bytes"]
        parts = [
            d["device_type"],
            d["name"],
            d["model"],
            cc and "compute capability {}.{}".format(*cc),
            mem and f"{mem / 1024**3:.1f} GiB",
        ]
        devices.append("  " + " | ".join(p for p in parts if p))
    lines = [f"{k:<11} {v}" for k, v in rows]
    lines[7:7] = ["Devices:", *devices]  # after "XLA", before "Workers"
    return "\n".join(lines + [f"ERROR: {e}" for e in f["errors"]])
