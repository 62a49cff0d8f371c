"""tools/benchmark.py usage errors: exit 2 with one line before anything is measured (issue #19 item 7)."""
import os

import pytest

from tool_loader import load_tool


@pytest.mark.parametrize("argv, message", [
    (["--iters", "-5"], "--iters -5: give at least 1"),
    (["--iters", "0"], "--iters 0: give at least 1"),
    (["--warmup", "-1"], "--warmup -1: give at least 0"),
    (["--batch-sizes", "4", "0"], "--batch-sizes 0: give counts of at least 1"),
    (["--batch-iters", "0"], "--batch-iters 0: give at least 1"),
    (["--workers", "0"], "--workers 0: give counts of at least 1"),
    (["--pipeline-pairs", "-3"], "--pipeline-pairs -3: give at least 0"),
])
def test_counts_out_of_range_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        load_tool("benchmark").parse_args(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_an_unwritable_json_is_refused_before_measuring(tmp_path, capsys):
    benchmark = load_tool("benchmark")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    for path, message in [(str(tmp_path), "is a folder"), (str(blocker / "out.json"), "is a file, not a folder")]:
        with pytest.raises(SystemExit) as e:
            benchmark.parse_args(["--json", path])
        assert e.value.code == 2
        assert f"--json {path}: " in capsys.readouterr().err
    args = benchmark.parse_args(["--json", str(tmp_path / "new" / "b.json"), "--iters", "3"])
    assert args.iters == 3 and not os.path.exists(tmp_path / "new")  # checking writes nothing


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_for_json_is_refused(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(SystemExit):
            load_tool("benchmark").parse_args(["--json", str(folder / "b.json")])
    finally:
        folder.chmod(0o755)
    assert "cannot write in" in capsys.readouterr().err
