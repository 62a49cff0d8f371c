"""tools/benchmark.py smoke test (tiny iteration counts) and the timing helpers. Timings are never asserted."""
import json
import os

import pytest
import torch

from pysot.apps.benchmark import count_flops, interleaved_times, median_ratio
from tool_loader import load_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_interleaving_and_ratio():
    order = []
    times = interleaved_times({"a": lambda i: order.append(("a", i)), "b": lambda i: order.append(("b", i))},
                              warmup=1, rounds=3)
    # the order rotates each round: each step follows the other equally often
    assert order == [("a", 0), ("b", 0), ("b", 1), ("a", 1), ("a", 2), ("b", 2), ("b", 3), ("a", 3)]
    assert len(times["a"]) == len(times["b"]) == 3
    assert median_ratio([2.0, 4.0, 9.0], [1.0, 1.0, 3.0]) == 3.0


def test_count_flops_of_a_convolution():
    conv = torch.nn.Conv2d(3, 8, 3)
    x = torch.randn(1, 3, 10, 10)
    # 8 x 8 x 8 outputs, each 3 x 3 x 3 multiply-adds = 2 FLOPs.
    assert count_flops(lambda: conv(x)) == 2 * 8 * 8 * 8 * 27


def _tool():
    return load_tool("benchmark")


@pytest.mark.slow
def test_benchmark_tool_smoke(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = _tool().main(["--configs", "siamrpn_alex_tiny", "--device", "cpu", "--iters", "1", "--warmup", "1",
                         "--batch-sizes", "1", "2", "--batch-iters", "1", "--peak-size", "256",
                         "--pipeline-pairs", "2", "--workers", "1", "2", "--workers-config", "siamrpn_alex_tiny",
                         "--workers-videos", "2", "--workers-frames", "2", "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    machine = report["machine"]
    assert machine["cpu"] and machine["cpu_capability"] and machine["threads"] >= 1  # figures name their CPU
    cpu = report["devices"]["cpu"]
    exp = cpu["experiments"]["siamrpn_alex_tiny"]
    peaks = cpu["matmul_peak_gflops"]
    assert peaks["peak"] == max(peaks["torch_mm"], peaks["conv_gemm"]) > 0 and exp["gflop_per_frame"] > 0
    assert exp["parity_max_rel_err"] < 1e-4
    for path in ("plain", "fast"):
        assert exp[path]["fps"] > 0 and 0 < exp[path]["peak_fraction"]
    assert set(exp["batched"]) == {"1", "2"} and exp["batched"]["2"]["target_frames_per_s"] > 0
    assert exp["batched"]["2"]["network_target_frames_per_s"] > 0
    assert report["data_pipeline"]["pairs_per_s"] > 0
    assert {"1", "2"} <= set(report["test_workers"]["runs"])
    assert "speed-up" in capsys.readouterr().out


def test_benchmark_tool_bf16_fast_path(tmp_path):
    out = tmp_path / "bench.json"
    assert _tool().main(["--configs", "siamrpn_alex_tiny", "--device", "cpu", "--iters", "1", "--warmup", "0",
                         "--batch-sizes", "2", "--batch-iters", "1", "--peak-size", "128", "--amp", "bf16",
                         "--pipeline-pairs", "0", "--workers", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    exp = report["devices"]["cpu"]["experiments"]["siamrpn_alex_tiny"]
    assert report["fast_path"]["amp"] == "bf16"
    # bf16 is not parity-exact, but close: a float32 fast path would be below 1e-4.
    assert 1e-4 < exp["parity_max_rel_err"] < 0.1


def test_benchmark_tool_rejects_unknown_config():
    with pytest.raises(SystemExit, match="no_such_experiment"):
        _tool().main(["--configs", "no_such_experiment", "--json", ""])
