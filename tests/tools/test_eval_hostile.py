"""tools/eval.py against hostile arguments and result folders (issue #19 items 4, 5 and --workers)."""
import os
import threading

import pytest

from test_test_py import make_otb_json, write_results
from tool_loader import load_tool


@pytest.fixture
def bench(tmp_path):
    data, results = str(tmp_path / "OTB"), str(tmp_path / "results" / "OTB100")
    meta = make_otb_json(data, num_videos=2, num_frames=3)
    write_results(os.path.join(results, "Perfect"), meta)
    with open(os.path.join(results, "Perfect", "run.json"), "w") as f:
        f.write('{"config": "x"}\n')
    return data, results


def snapshot(folder):
    out = {}
    for d, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(d, name), "rb") as f:
                out[os.path.relpath(os.path.join(d, name), folder)] = f.read()
    return out


@pytest.mark.parametrize("output", [
    ["--json", "{tracker}/Clip0.txt"],  # would replace a published result
    ["--json", "{tracker}/run.json"],  # would replace test.py's run record
    ["--json", "{results}/report.json"],  # inside the results being read
    ["--plot", "--plot-dir", "{tracker}"],  # the help says plots never go there
    ["--plot", "--json", "{tracker}/sub/x.json"],  # default plot folder beside --json: inside too
])
def test_eval_refuses_outputs_inside_the_tracker_path(bench, log_messages, output):
    data, results = bench
    tracker = os.path.join(results, "Perfect")
    before = snapshot(results)
    argv = ["--dataset", "OTB100", "--dataset-root", data, "--tracker-path", results, "--no-color"]
    argv += [a.format(tracker=tracker, results=results) for a in output]
    assert load_tool("eval").main(argv) == 2
    assert any("inside --tracker-path" in m for m in log_messages), log_messages
    assert snapshot(results) == before


def test_eval_refuses_a_symlinked_way_into_the_tracker_path(bench, tmp_path, log_messages):
    data, results = bench
    link = tmp_path / "elsewhere"
    os.symlink(os.path.join(results, "Perfect"), link)
    argv = ["--dataset", "OTB100", "--dataset-root", data, "--tracker-path", results, "--json", str(link / "Clip1.txt")]
    assert load_tool("eval").main(argv) == 2
    assert any("inside --tracker-path" in m for m in log_messages)


def test_eval_writes_outputs_beside_the_tracker_path(bench, tmp_path):
    data, results = bench
    out = str(tmp_path / "report.json")
    argv = ["--dataset", "OTB100", "--dataset-root", data, "--tracker-path", results, "--json", out, "--no-color"]
    assert load_tool("eval").main(argv) == 0
    assert os.path.isfile(out)


def test_eval_refuses_workers_below_one(bench, log_messages):
    data, results = bench
    argv = ["--dataset", "OTB100", "--dataset-root", data, "--tracker-path", results, "--workers", "0"]
    assert load_tool("eval").main(argv) == 2
    assert any("--workers 0: give at least 1" in m for m in log_messages)


def test_eval_skips_a_fifo_named_like_a_result_file_and_names_it(bench, log_messages):
    data, results = bench
    fifo = os.path.join(results, "Perfect", "Clip1.txt")
    os.remove(fifo)
    os.mkfifo(fifo)
    outcome = {}
    # On the old code the read blocks forever: run in a thread and give it a generous deadline.
    thread = threading.Thread(target=lambda: outcome.setdefault("code", load_tool("eval").main(
        ["--dataset", "OTB100", "--dataset-root", data, "--tracker-path", results, "--no-color"])), daemon=True)
    thread.start()
    thread.join(timeout=60)
    if thread.is_alive():
        with open(fifo, "w"):  # unblock the reader so the thread can end
            pass
        pytest.fail("eval.py blocked on a FIFO")
    assert outcome["code"] == 2  # the only tracker lacks Clip1's result
    assert any("neither regular files nor folders: Clip1.txt" in m for m in log_messages), log_messages
    assert any("no result file for video 'Clip1'" in m for m in log_messages)


def test_read_lines_refuses_a_fifo_without_blocking(tmp_path):
    from toolkit.utils.results import ResultFormatError, read_lines

    fifo = str(tmp_path / "ball_001_confidence.value")
    os.mkfifo(fifo)
    outcome = {}

    def read():
        try:
            read_lines(fifo)
        except ResultFormatError as e:
            outcome["error"] = str(e)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(timeout=60)
    if thread.is_alive():
        with open(fifo, "w"):
            pass
        pytest.fail("read_lines blocked on a FIFO")
    assert outcome["error"] == f"{fifo}: not a regular file (a FIFO); result files are plain text"
