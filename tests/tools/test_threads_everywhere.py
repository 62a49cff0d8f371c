"""Issue 18 item 2: every tool takes --threads, and every way in gets the fast thread behaviour:
the tools, a notebook importing pysot first and one importing torch first (checked in fresh
processes: the OpenMP wait policy is fixed when torch is imported)."""
import os

import pytest

from tool_loader import load_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_CONFIG = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")

TOOL_ARGS = {
    "demo": [],
    "test": ["--config", "X.yaml", "--dataset", "OTB100", "--dataset-root", "d"],
    "train": ["--cfg", "X.yaml"],
    "hp_search": ["--config", "X.yaml", "--dataset", "OTB100", "--dataset-root", "d"],
    "export_onnx": ["--config", "X.yaml"],
    "convert_checkpoint": None,  # parses inside main: checked below
    "benchmark": [],
}


@pytest.mark.parametrize("tool", sorted(t for t, a in TOOL_ARGS.items() if a is not None))
def test_every_tool_takes_threads(tool):
    assert load_tool(tool).parse_args(TOOL_ARGS[tool] + ["--threads", "3"]).threads == 3


def test_convert_checkpoint_and_synthetic_eval_take_threads(capsys):
    for module in (load_tool("convert_checkpoint"), __import__("pysot.training.synthetic_eval", fromlist=["main"])):
        with pytest.raises(SystemExit):
            module.main(["--help"])
        assert "--threads" in capsys.readouterr().out


def test_hp_search_has_the_fast_switch():
    hp = load_tool("hp_search")
    assert hp.parse_args(TOOL_ARGS["hp_search"]).fast is None
    assert hp.parse_args(TOOL_ARGS["hp_search"] + ["--no-fast"]).fast is False


def test_train_refuses_zero_threads(capsys):
    with pytest.raises(SystemExit) as stop:
        load_tool("train").parse_args(["--cfg", "X.yaml", "--threads", "0"])
    assert stop.value.code == 2 and "--threads 0: give at least 1" in capsys.readouterr().err


def test_dataloader_workers_are_capped_at_the_cores(monkeypatch):
    from pysot.utils import threads

    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    assert threads.loader_workers(8) == 2 and threads.loader_workers(1) == 1 and threads.loader_workers(0) == 0


def test_each_way_in_gets_the_fast_thread_behaviour():
    """Fresh processes, as a user starts them: a notebook that imports torch first tracks on one
    thread (OpenMP spins; before issue 18 it kept torch's count), one that imports pysot first and
    the tools get sleeping idle threads and one thread per core."""
    from pysot.apps.entry_speed import entry_point_speed
    from pysot.utils.threads import usable_cores

    report = entry_point_speed(rounds=1, frames=2, busy=0, progress=False,
                               setups=["notebook", "notebook_pysot_first", "tool"])["setups"]
    assert report["notebook"]["threads"] == 1 and report["notebook"]["wait_policy"] == "spinning"
    for name in ("notebook_pysot_first", "tool"):
        assert report[name]["threads"] == usable_cores() and report[name]["wait_policy"] == "passive"
    assert all(r["fps_median"] > 0 for r in report.values())


def test_synthetic_eval_starts_like_the_tools():
    from pysot.apps.entry_speed import run_setup
    from pysot.utils.threads import usable_cores

    now = run_setup("synthetic_eval", 1)
    assert now["threads"] == usable_cores() and now["wait_policy"] == "passive" and now["fps"] > 0
