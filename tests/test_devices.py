"""course_lib.runtime.devices: choices tested on fake hardware, runtime functions on this CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from course_lib.runtime import devices
from course_lib.runtime.devices import DeviceInfo, HardwareDescription

ROOT = Path(__file__).resolve().parent.parent
GIB = 1024**3


def cpu() -> DeviceInfo:
    return DeviceInfo("/physical_device:CPU:0", "CPU", "Fake CPU")


def gpu(
    index: int, model: str, cc: tuple[int, int] | None, memory_gib: float | None = None
) -> DeviceInfo:
    memory = None if memory_gib is None else int(memory_gib * GIB)
    return DeviceInfo(f"/physical_device:GPU:{index}", "GPU", model, cc, memory)


def machine(*gpus: DeviceInfo, workers: int = 1) -> HardwareDescription:
    return HardwareDescription((cpu(), *gpus), num_workers=workers)


A100 = gpu(0, "NVIDIA A100-SXM4-40GB", (8, 0), 40)
V100 = gpu(0, "Tesla V100-SXM2-16GB", (7, 0), 16)
T4 = gpu(0, "Tesla T4", (7, 5), 15)
K80 = gpu(0, "Tesla K80", (3, 7), 12)
CPU_ONLY = machine()


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (TF's devices can only be configured at startup)."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "COURSE_PRECISION")}
    full_env.update(PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2", **env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        check=False,
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("TF_CONFIG", "COURSE_PRECISION", "COURSE_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def restore_policy():
    import keras

    yield
    keras.mixed_precision.set_global_policy("float32")


# --- pure choices on fake hardware -------------------------------------------------------


def test_a100_gets_mixed_bfloat16_and_one_device_strategy():
    hw = machine(A100)
    assert devices.choose_precision(hw) == "mixed_bfloat16"
    assert devices.choose_strategy_kind(hw) == "one_device"


def test_v100_gets_mixed_float16():
    assert devices.choose_precision(machine(V100)) == "mixed_float16"


def test_two_h100_get_mirrored_strategy_and_mixed_bfloat16():
    hw = machine(gpu(0, "NVIDIA H100 80GB HBM3", (9, 0)), gpu(1, "NVIDIA H100 80GB HBM3", (9, 0)))
    assert devices.choose_strategy_kind(hw) == "mirrored"
    assert devices.choose_precision(hw) == "mixed_bfloat16"


def test_t4_with_a100_gets_mixed_float16_which_both_support():
    hw = machine(T4, gpu(1, A100.model, (8, 0)))
    assert devices.choose_precision(hw) == "mixed_float16"
    assert (
        devices.choose_precision(machine(gpu(0, A100.model, (8, 0)), gpu(1, T4.model, (7, 5))))
        == "mixed_float16"
    )


def test_k80_gets_float32():
    assert devices.choose_precision(machine(K80)) == "float32"


def test_gpu_with_unknown_compute_capability_gets_float32():
    assert devices.choose_precision(machine(A100, gpu(1, "mystery", None))) == "float32"


def test_cpu_only_gets_default_strategy_and_float32():
    assert devices.choose_strategy_kind(CPU_ONLY) == "default"
    assert devices.choose_precision(CPU_ONLY) == "float32"


def test_tpu_host_is_treated_like_cpu_host():
    hw = HardwareDescription((cpu(), DeviceInfo("/physical_device:TPU:0", "TPU")))
    assert hw.tpus and not hw.gpus
    assert (devices.choose_strategy_kind(hw), devices.choose_precision(hw)) == (
        "default",
        "float32",
    )


def test_two_workers_give_multi_worker_even_with_gpus():
    assert devices.choose_strategy_kind(machine(workers=2)) == "multi_worker"
    assert (
        devices.choose_strategy_kind(machine(A100, gpu(1, A100.model, (8, 0)), workers=2))
        == "multi_worker"
    )


def test_tf_config_with_two_workers_counts_two():
    config = {
        "cluster": {"worker": ["host1:2222", "host2:2222"]},
        "task": {"type": "worker", "index": 0},
    }
    assert devices.parse_tf_config(json.dumps(config)) == 2


def test_tf_config_chief_counts_as_a_worker():
    config = {
        "cluster": {"chief": ["c:1"], "worker": ["w:1", "w:2"]},
        "task": {"type": "chief", "index": 0},
    }
    assert devices.parse_tf_config(json.dumps(config)) == 3


@pytest.mark.parametrize("text", [None, "", "  "])
def test_unset_or_empty_tf_config_means_one_worker(text):
    assert devices.parse_tf_config(text) == 1


@pytest.mark.parametrize(
    "text", ["{not json", "[1, 2]", '{"cluster": []}', '{"cluster": {"worker": "h:1"}}']
)
def test_malformed_tf_config_raises_value_error(text):
    with pytest.raises(ValueError, match="TF_CONFIG"):
        devices.parse_tf_config(text)


def test_describe_hardware_reads_tf_config_from_environment(clean_env):
    clean_env.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:1"]}}))
    hw = devices.describe_hardware()
    assert hw.num_workers == 2
    assert devices.choose_strategy_kind(hw) == "multi_worker"


def test_describe_hardware_rejects_malformed_tf_config(clean_env):
    clean_env.setenv("TF_CONFIG", "{oops")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        devices.describe_hardware()


def test_precision_override_wins_over_hardware():
    assert devices.choose_precision(CPU_ONLY, "mixed_bfloat16") == "mixed_bfloat16"
    assert devices.choose_precision(machine(A100), "float32") == "float32"
    assert devices.choose_precision(machine(K80), " Mixed_Float16 ") == "mixed_float16"


@pytest.mark.parametrize("bad", ["fp16", "bfloat16", "mixed", ""])
def test_invalid_precision_override_raises_listing_valid_values(bad):
    with pytest.raises(ValueError, match="float32, mixed_float16, mixed_bfloat16"):
        devices.choose_precision(machine(A100), bad)


def test_course_precision_environment_variable_is_read_and_validated(clean_env):
    assert devices.precision_override_from_env() is None
    clean_env.setenv("COURSE_PRECISION", "mixed_float16")
    assert (
        devices.choose_precision(CPU_ONLY, devices.precision_override_from_env()) == "mixed_float16"
    )
    clean_env.setenv("COURSE_PRECISION", "half")
    with pytest.raises(ValueError, match="COURSE_PRECISION"):
        devices.RuntimeSetup.setup()


def test_gpu_memory_comes_from_nvidia_smi_only_when_names_match_tf(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(devices.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    out = "NVIDIA A100-SXM4-40GB, 40960\nTesla T4, 15360\n"
    monkeypatch.setattr(
        devices.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, out, "")
    )
    assert devices._gpu_memory(["NVIDIA A100-SXM4-40GB", "Tesla T4"]) == [40 * GIB, 15 * GIB]
    assert devices._gpu_memory(["Tesla T4", "NVIDIA A100-SXM4-40GB"]) == [None, None]


# --- report ---------------------------------------------------------------------------------


def test_report_contains_tf_version_and_float32(clean_env):
    import tensorflow as tf

    text = devices.report()
    assert f"TensorFlow  {tf.__version__}" in text
    assert "float32" in text


def test_report_shows_each_gpu_with_model_capability_and_memory_in_gib(clean_env):
    text = devices.report(machine(A100, gpu(1, "Tesla T4", (7, 5), 15)))
    assert (
        "GPU | /physical_device:GPU:0 | NVIDIA A100-SXM4-40GB | compute capability 8.0 | 40.0 GiB"
        in text
    )
    assert "compute capability 7.5 | 15.0 GiB" in text
    assert "mixed_float16" in text and "mirrored, 2 replica(s)" in text


def test_report_is_deterministic_and_matches_report_dict(clean_env):
    hw = machine(A100)
    assert devices.report(hw) == devices.report(hw) == devices.report(devices.report_dict(hw))
    facts = devices.report_dict(hw)
    assert [d["name"] for d in facts["devices"]] == [
        "/physical_device:CPU:0",
        "/physical_device:GPU:0",
    ]
    assert (facts["precision"], facts["strategy_kind"], facts["num_replicas"]) == (
        "mixed_bfloat16",
        "one_device",
        1,
    )


def test_report_dict_expects_one_replica_per_gpu_per_worker(clean_env):
    assert (
        devices.report_dict(machine(A100, gpu(1, A100.model, (8, 0)), workers=3))["num_replicas"]
        == 6
    )


def test_report_dict_lists_invalid_profile_and_precision_as_errors_instead_of_raising(clean_env):
    clean_env.setenv("COURSE_PROFILE", "huge")
    clean_env.setenv("COURSE_PRECISION", "fp8")
    facts = devices.report_dict(CPU_ONLY)
    assert facts["profile"] is None and facts["precision"] == "float32"
    assert len(facts["errors"]) == 2
    assert "Valid profiles: ci, student, full" in devices.report(facts)


def test_report_dict_of_this_machine_survives_malformed_tf_config(clean_env):
    clean_env.setenv("TF_CONFIG", "{oops")
    facts = devices.report_dict()
    assert facts["num_workers"] == 1 and any("TF_CONFIG" in e for e in facts["errors"])


# --- runtime on this machine ----------------------------------------------------------------


def test_describe_hardware_on_this_machine_finds_a_cpu_and_no_gpu(clean_env):
    hw = devices.describe_hardware()
    assert [d.device_type for d in hw.devices].count("CPU") >= 1
    assert hw.gpus == () and hw.num_workers == 1


def test_default_strategy_has_one_replica():
    assert devices.make_strategy("default").num_replicas_in_sync == 1


def test_one_device_strategy_on_cpu_only_hardware_uses_the_cpu():
    strategy = devices.make_strategy("one_device", CPU_ONLY)
    assert strategy.num_replicas_in_sync == 1
    assert strategy.extended.worker_devices[0].endswith("CPU:0")


def test_unknown_strategy_kind_raises_listing_valid_kinds():
    with pytest.raises(ValueError, match="default, one_device, mirrored, multi_worker"):
        devices.make_strategy("parameter_server")


def test_runtime_setup_on_cpu_is_float32_default_and_safe_to_call_twice(clean_env, restore_policy):
    import keras

    first, second = devices.RuntimeSetup.setup(), devices.RuntimeSetup.setup()
    assert (first.precision, first.strategy_kind) == ("float32", "default")
    assert second.strategy is first.strategy and first.strategy.num_replicas_in_sync == 1
    assert keras.mixed_precision.global_policy().name == "float32"
    assert "default, 1 replica(s)" in devices.report(first)


def test_runtime_setup_sets_the_global_keras_policy(clean_env, restore_policy):
    import keras

    setup = devices.RuntimeSetup.setup(precision="mixed_bfloat16")
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert keras.layers.Dense(2).dtype_policy.compute_dtype == "bfloat16"
    assert setup.precision == "mixed_bfloat16"


def test_mirrored_over_two_logical_cpus_has_two_replicas_in_a_fresh_process():
    result = run_python("""
        import tensorflow as tf
        from course_lib.runtime.devices import make_strategy, split_cpu
        split_cpu(2)
        split_cpu(2)  # same count again: no-op
        strategy = make_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
        ids = strategy.run(lambda: tf.distribute.get_replica_context().replica_id_in_sync_group + 1)
        total = int(strategy.reduce("SUM", ids, axis=None))
        print("replicas", strategy.num_replicas_in_sync, "sum", total)
        split_cpu(2)  # still a no-op after initialisation
        try:
            split_cpu(3)
        except RuntimeError as e:
            print("RuntimeError:", e)
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas 2 sum 3" in result.stdout  # both replicas ran (ids 1 + 2)
    assert "RuntimeError:" in result.stdout and "Restart the kernel/process" in result.stdout


def test_multi_worker_strategy_without_cluster_is_a_single_worker_in_a_fresh_process():
    result = run_python("""
        import tensorflow as tf
        from course_lib.runtime.devices import make_strategy
        strategy = make_strategy("multi_worker")
        is_multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        print(is_multi_worker, strategy.num_replicas_in_sync)
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["True", "1"]


def test_importing_devices_does_not_import_tensorflow():
    result = run_python("""
        import sys
        import course_lib.runtime.devices
        print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------- bfloat16 on CPUs
BF16_CPU = HardwareDescription((cpu(),), cpu_bf16_flags=("avx512_bf16",))
PLAIN_CPU = HardwareDescription((cpu(),))


def test_cpu_bf16_flags_are_read_from_cpuinfo_text():
    text = "processor : 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 avx512_vnni\n\nprocessor : 1\n"
    assert devices.cpu_bf16_flags(text) == ("avx512_bf16",)
    both = "flags : amx_tile amx_bf16 avx512_bf16\n"
    assert devices.cpu_bf16_flags(both) == ("avx512_bf16", "amx_bf16")
    assert devices.cpu_bf16_flags("flags : fpu sse2 avx2 avx512f\n") == ()
    assert devices.cpu_bf16_flags("Features : fp asimd bf16\n") == ()  # an Arm CPU: not these
    assert devices.cpu_bf16_flags("") == ()
    assert BF16_CPU.cpu_has_bf16 and not PLAIN_CPU.cpu_has_bf16


def test_cpu_without_bf16_instructions_trains_in_float32_for_every_model():
    for model in (None, *devices.COURSE_MODELS):
        policy, reason = devices.explain_precision(PLAIN_CPU, model=model)
        assert policy == "float32" and "no bfloat16 instructions" in reason


def test_cpu_bf16_rule_uses_the_measured_speedup_and_its_margin(monkeypatch):
    speedup = {"classifier": 1.6, "vae": 1.1, "gan": 0.4, "gpt": None}
    monkeypatch.setattr(devices, "CPU_BF16_SPEEDUP", speedup)
    monkeypatch.setattr(devices, "BF16_CLEAR_MARGIN", 1.25)
    policy, reason = devices.explain_precision(BF16_CPU, model="classifier")
    assert policy == "mixed_bfloat16" and "1.60x" in reason and "COURSE_PRECISION=float32" in reason
    assert devices.choose_precision(BF16_CPU, model="vae") == "float32"  # 1.1 < 1.25: not clear
    assert devices.choose_precision(BF16_CPU, model="gan") == "float32"
    assert devices.choose_precision(BF16_CPU, model="gpt") == "float32"  # not measured
    policy, reason = devices.explain_precision(BF16_CPU)  # no model: float32, all ratios listed
    assert policy == "float32"
    assert all(s in reason for s in ("classifier 1.60x", "vae 1.10x", "gan 0.40x", "gpt not"))
    assert "so mixed_bfloat16 is used for classifier where a command names" in reason
    assert devices.bf16_cpu_models() == ("classifier",)
    # COURSE_PRECISION=float32 (an override) always wins, so CPU runs stay reproducible
    assert devices.choose_precision(BF16_CPU, "float32", model="classifier") == "float32"
    # GPUs follow their own rule, whatever the model
    assert devices.choose_precision(machine(V100), model="classifier") == "mixed_float16"


def test_cpu_bf16_decision_table_matches_the_measurements():
    for model in devices.COURSE_MODELS:
        ratio = devices.CPU_BF16_SPEEDUP[model]
        faster = ratio is not None and ratio >= devices.BF16_CLEAR_MARGIN
        expected = "mixed_bfloat16" if faster else "float32"
        assert devices.choose_precision(BF16_CPU, model=model) == expected, model
    assert "benchmarks/mixed_precision_cpu.py" in devices.CPU_BF16_MEASURED_ON
    assert devices.BF16_CLEAR_MARGIN > 1


def test_unknown_model_name_for_the_precision_choice_raises():
    with pytest.raises(ValueError, match="classifier, vae, gan, gpt"):
        devices.explain_precision(BF16_CPU, model="resnet")


def test_report_of_a_bf16_cpu_says_what_was_measured_and_what_is_used(clean_env):
    facts = devices.report_dict(BF16_CPU)
    assert facts["cpu_bf16_flags"] == ["avx512_bf16"]
    assert facts["cpu_bf16_speedup"] == devices.CPU_BF16_SPEEDUP
    line = next(ln for ln in devices.report(facts).splitlines() if ln.startswith("Precision"))
    assert "avx512_bf16" in line and "benchmarks/mixed_precision_cpu.py" in line
    assert all(model in line for model in devices.COURSE_MODELS)
