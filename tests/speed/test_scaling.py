"""--workers auto (one worker per idle core), the idle-core count behind it, and
tools/benchmark.py --scaling (tools/test.py / hp_search.py throughput per worker count).
Timings are never asserted."""
import json
import os

import pytest

from pysot.apps.workers import resolve_workers
from pysot.utils import threads
from tool_loader import load_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_CONFIG = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")


def test_free_cores_counts_the_idle_share_of_each_usable_cpu(monkeypatch):
    samples = iter([{0: (100, 1000), 1: (500, 1000)},      # idle, total jiffies before
                    {0: (100, 1100), 1: (575, 1100)}])     # cpu0 fully busy, cpu1 75 % idle
    monkeypatch.setattr(threads, "_cpu_times", lambda cpus: next(samples))
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    assert threads.free_cores(0.0) == pytest.approx(0.75)


def test_free_cores_of_this_machine_is_within_the_usable_cores():
    assert 0.0 <= threads.free_cores(0.05) <= threads.usable_cores()


@pytest.mark.parametrize("idle, jobs, expected", [(0.0, None, 1), (0.4, None, 1), (2.6, None, 3), (7.8, 3, 3)])
def test_auto_workers_is_one_per_idle_core(monkeypatch, idle, jobs, expected):
    monkeypatch.setattr(threads, "free_cores", lambda sample_seconds=0.3: idle)
    assert threads.auto_workers(jobs) == expected


def test_resolve_workers(monkeypatch, log_messages):
    from pysot.utils.log import get_logger

    monkeypatch.setattr(threads, "free_cores", lambda sample_seconds=0.3: 1.0)
    logger = get_logger("test")
    assert resolve_workers("3", logger) == 3
    assert any("only 1.0 core(s) are idle" in m for m in log_messages)  # more workers than idle cores: said
    monkeypatch.setattr(threads, "free_cores", lambda sample_seconds=0.3: 4.2)
    assert resolve_workers("auto", logger, jobs=10) == 4 and resolve_workers("AUTO", None, jobs=2) == 2
    for bad, message in (("0", "--workers 0: give at least 1"), ("two", "--workers two: give a count >= 1 or 'auto'")):
        with pytest.raises(ValueError, match=message):
            resolve_workers(bad)


def test_test_py_refuses_a_bad_workers_value(tmp_path, log_messages):
    args = ["--config", TINY_CONFIG, "--dataset", "OTB100", "--dataset-root", str(tmp_path),
            "--results-dir", str(tmp_path / "results"), "--device", "cpu", "--workers", "many"]
    assert load_tool("test").main(args) == 2
    assert log_messages[-1] == "--workers many: give a count >= 1 or 'auto'"
    assert load_tool("hp_search").main(args) == 2
    assert log_messages[-1] == "--workers many: give a count >= 1 or 'auto'"
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_benchmark_scaling_mode(tmp_path, capsys):
    out = tmp_path / "scaling.json"
    code = load_tool("benchmark").main(["--scaling", "2", "--scaling-config", "siamrpn_alex_tiny",
                                        "--scaling-videos", "2", "--scaling-frames", "3", "--scaling-settings", "2",
                                        "--scaling-repeats", "1", "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())["scaling"]
    assert report["load_before"]["usable_cores"] >= 1 and report["load_after"]["load_avg"] is not None
    results = report["results"]
    assert set(results) == {"test_1", "test_2", "hp_search_1", "hp_search_2"}
    assert results["test_2"]["runs"][0]["frames"] == 2 * 3  # every frame of the dataset
    assert results["hp_search_2"]["runs"][0]["frames"] == 2 * 2 * 3
    assert results["test_1"]["speedup"] == 1.0
    for r in results.values():
        assert r["frames_per_s"] > 0 and r["efficiency"] == pytest.approx(r["speedup"] / r["workers"])
    assert "efficiency" in capsys.readouterr().out


def test_benchmark_scaling_arguments(capsys):
    with pytest.raises(SystemExit) as stop:  # a usage error: exit 2 before anything is measured
        load_tool("benchmark").main(["--scaling", "0"])
    assert stop.value.code == 2 and "--scaling 0: give counts of at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="go together"):
        load_tool("benchmark").main(["--scaling", "2", "--scaling-dataset", "OTB100"])


def test_loader_workers_default_to_the_machines_cores(monkeypatch):
    from pysot.config import get_cfg

    monkeypatch.setattr(threads, "usable_cores", lambda: 8)
    assert get_cfg().TRAIN.NUM_WORKERS == -1
    assert threads.loader_workers(-1) == 8 and threads.loader_workers(-1, processes=4) == 2
    assert threads.loader_workers(-1, processes=16) == 1
    assert threads.loader_workers(0) == 0 and threads.loader_workers(3) == 3


def test_test_py_workers_auto_on_a_busy_machine_tracks_in_one_process(tmp_path, monkeypatch, log_messages):
    monkeypatch.syspath_prepend(os.path.join(REPO, "tests", "tools"))
    from test_test_py_hostile import base_args, make_otb

    monkeypatch.setattr(threads, "free_cores", lambda sample_seconds=0.3: 0.0)  # every core busy
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data, names=("Clip0", "Clip1"), num_frames=3)
    assert load_tool("test").main(base_args(data, results, "--workers", "auto")) == 0
    assert any(m.startswith("--workers auto: 1 worker(s)") for m in log_messages)
    assert sorted(os.listdir(os.path.join(results, "OTB100", "tiny"))) == ["Clip0.txt", "Clip1.txt", "run.json"]
