"""tools/hp_search.py: bounded counts, said before any work (issue #19 item 6)."""
import os
import subprocess
import sys

import pytest

from test_test_py_hostile import TINY_CONFIG, make_otb
from tool_loader import load_tool
from toolkit.hp_search import MAX_SETTINGS, grid_settings, random_settings

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_a_huge_random_count_is_refused_at_once(tmp_path):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data)
    cmd = [sys.executable, os.path.join(REPO, "tools", "hp_search.py"), "--config", TINY_CONFIG, "--dataset", "OTB100",
           "--dataset-root", data, "--results-dir", results, "--device", "cpu", "--random", "1000000000"]
    try:  # the old code drew a billion settings silently for minutes before the first ran
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("hp_search.py --random 1000000000 was still running after 120 s")
    assert done.returncode == 2, done.stderr
    assert f"--random 1000000000: give a number of settings in [1, {MAX_SETTINGS}]" in done.stderr
    assert "Traceback" not in done.stderr and not os.path.exists(results)


def test_settings_are_bounded_in_the_library_too():
    with pytest.raises(ValueError, match=r"the grid has 27000 settings \(30 x 30 x 30 x 1\); at most 10000"):
        grid_settings([0.01 * i for i in range(30)], [0.01 * i for i in range(30)], [0.01 * i for i in range(30)])
    with pytest.raises(ValueError, match="--random 10001"):
        random_settings(MAX_SETTINGS + 1)
    assert len(random_settings(3)) == 3


def test_a_huge_grid_is_refused_naming_its_size(tmp_path, log_messages):
    data, results = str(tmp_path / "data"), str(tmp_path / "results")
    make_otb(data)
    values = [str(round(0.01 * i, 2)) for i in range(30)]
    argv = ["--config", TINY_CONFIG, "--dataset", "OTB100", "--dataset-root", data, "--results-dir", results,
            "--device", "cpu", "--penalty-k", *values, "--window-influence", *values, "--lr", *values]
    assert load_tool("hp_search").main(argv) == 2
    assert any("the grid has 27000 settings" in m for m in log_messages)
    assert not os.path.exists(results)
