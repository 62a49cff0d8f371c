import logging
import os

import numpy as np
import pytest

from toolkit.utils.results import (
    CornerLines,
    NameIndex,
    ResultFormatError,
    align_boxes,
    corner_first_line,
    load_one_pass,
    read_boxes,
    read_vot_trajectory,
    write_rows,
)

QUIRKS = os.path.join(os.path.dirname(__file__), "..", "data", "toolkit", "quirks")
GT = np.array([[10, 20, 40, 30], [12, 21, 40, 30], [14, 22, 40, 30]], float)


def quirk(name):
    return os.path.join(QUIRKS, name)


@pytest.fixture
def caplog_toolkit(caplog):
    logging.getLogger("pysot").addHandler(caplog.handler)
    yield caplog
    logging.getLogger("pysot").removeHandler(caplog.handler)


def test_gt_file_parses():
    np.testing.assert_array_equal(read_boxes(quirk("gt.txt")), GT)


def test_mixed_separators():
    np.testing.assert_array_equal(read_boxes(quirk("mixed_separators.txt")), GT)


def test_corner_first_line_is_scored_as_written_and_named_by_default(caplog_toolkit):
    """PySOT's toolkit never converts: by default neither do we (published numbers reproduce), but
    the file is named; converting is the caller's choice."""
    path = quirk("corner_first_line.txt")
    boxes = align_boxes(path, read_boxes(path), GT)
    np.testing.assert_array_equal(boxes, read_boxes(path))
    assert "corner_first_line.txt" in caplog_toolkit.text and "--convert-corners" in caplog_toolkit.text
    corners = CornerLines(convert=True)
    boxes = align_boxes(path, read_boxes(path), GT, corners)
    np.testing.assert_array_equal(boxes, GT)
    assert corners.files == [path]


@pytest.mark.parametrize("first, is_corners", [
    ([262, 94, 278, 120], True),      # OTB Biker, 16x26: x2-x1, y2-y1 = the size
    ([263, 95, 279, 121], True),      # a pixel off (IoU 0.79 after conversion: the old test missed it)
    ([262, 94, 277, 119], True),      # corners of the +1 convention (x2 = x + w - 1)
    ([262, 94, 16, 26], False),       # x,y,w,h
    ([263, 95, 17, 25], False),       # x,y,w,h, a pixel off
    ([2, 3, 17, 28], False),          # both readings fit (near the origin): x,y,w,h wins
])
def test_corner_first_line_is_told_by_size_also_for_small_targets(first, is_corners):
    assert corner_first_line(np.array(first, float), np.array([262, 94, 16, 26], float)) is is_corners


def test_one_warning_names_every_corner_file(tmp_path, caplog_toolkit):
    from toolkit.datasets import build_dataset  # noqa: F401  (registers the dataset types)
    from toolkit.evaluation import load_results

    class Video:
        def __init__(self, name):
            self.name, self.gt = name, GT

    class Dataset(list):
        protocol = "ope"

    folder = tmp_path / "Tracker"
    folder.mkdir()
    for name in ("a", "b", "c"):
        rows = GT.copy()
        if name != "b":
            rows[0, 2:] += rows[0, :2]
        write_rows(str(folder / f"{name}.txt"), rows)
    loaded = load_results(Dataset([Video("a"), Video("b"), Video("c")]), str(folder))
    warnings = [r.getMessage() for r in caplog_toolkit.records if "x1,y1,x2,y2" in r.getMessage()]
    assert len(warnings) == 1 and "2 result file(s)" in warnings[0] and "a.txt, c.txt" in warnings[0]
    assert loaded["a"][0, 2] == GT[0, 0] + GT[0, 2]  # scored as written
    converted = load_results(Dataset([Video("a"), Video("b"), Video("c")]), str(folder), convert_corners=True)
    np.testing.assert_array_equal(converted["a"], GT)


def test_one_frame_short_is_padded_with_a_miss(caplog_toolkit):
    path = quirk("one_short.txt")
    boxes = align_boxes(path, read_boxes(path), GT)
    assert boxes.shape == (3, 4) and np.isnan(boxes[2]).all()
    assert "one_short.txt" in caplog_toolkit.text


def test_one_frame_long_is_truncated(caplog_toolkit):
    path = quirk("one_long.txt")
    boxes = align_boxes(path, read_boxes(path), GT)
    np.testing.assert_array_equal(boxes, GT)
    assert "one_long.txt" in caplog_toolkit.text


def test_larger_length_mismatch_is_an_error():
    with pytest.raises(ResultFormatError, match="one_short.txt: 2 boxes but the video has 4 frames"):
        align_boxes(quirk("one_short.txt"), read_boxes(quirk("one_short.txt")), np.zeros((4, 4)))


def test_nan_lines_are_missing_boxes():
    boxes = read_boxes(quirk("nan_lines.txt"))
    assert boxes.shape == (3, 4)
    np.testing.assert_array_equal(boxes[0], GT[0])
    assert np.isnan(boxes[1:]).all()


def test_malformed_line_names_file_and_line():
    with pytest.raises(ResultFormatError, match=r"malformed\.txt:2: cannot parse"):
        read_boxes(quirk("malformed.txt"))


def test_wrong_number_of_values_names_the_line(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(ResultFormatError, match=r"v\.txt:2: expected 4 numbers"):
        read_boxes(str(path))


def test_name_variants_are_matched(tmp_path):
    for name in ["jogging_1.txt", "human4-2.txt", "skating2.2.txt", "Basketball.txt"]:
        (tmp_path / name).write_text("1,2,3,4\n")
    index = NameIndex(str(tmp_path), ".txt")
    assert index.find("Jogging-1").endswith("jogging_1.txt")
    assert index.find("Human4-2").endswith("human4-2.txt")
    assert index.find("Skating2-2").endswith("skating2.2.txt")
    assert index.find("basketball").endswith("Basketball.txt")
    assert index.find("Jogging-2") is None
    with pytest.raises(FileNotFoundError, match="Jogging-2"):
        load_one_pass(index, "Jogging-2", np.zeros((1, 4)))


def test_ambiguous_names_are_an_error(tmp_path):
    (tmp_path / "jogging_1.txt").write_text("1,2,3,4\n")
    (tmp_path / "jogging-1.txt").write_text("1,2,3,4\n")
    with pytest.raises(ResultFormatError, match="several entries"):
        NameIndex(str(tmp_path), ".txt").find("Jogging.1")


def test_vot_trajectory(tmp_path):
    path = tmp_path / "ball_001.txt"
    path.write_text("1\n1.5,2,3,4\n2\n0\n0\n0\n0\n1\n1,2,3,4,5,6,7,8\n")
    traj = read_vot_trajectory(str(path))
    np.testing.assert_array_equal(traj.codes, [1, -1, 2, 0, 0, 0, 0, 1, -1])
    np.testing.assert_array_equal(traj.failures, [2])
    np.testing.assert_array_equal(traj.inits, [0, 7])
    path.write_text("1\n3\n")
    with pytest.raises(ResultFormatError, match="ball_001.txt:2: a one-number line must be 0, 1 or 2"):
        read_vot_trajectory(str(path))


B = "10.0000,20.0000,30.0000,40.0000"


@pytest.mark.parametrize(
    "lines, line, message",
    [
        (["1", B, "0", B], 3, "0 \\(skipped frame\\) only follows a failure"),  # a 0 no failure explains
        (["2", "2", "2"], 1, "starts with 1"),  # made only of failures
        ([B, B, "2"], 1, "starts with 1"),  # no initialisation line
        (["1", B, "2", "0", "1", B], 5, "skipped frame: the failure on line 3"),  # re-initialised too early
        (["1", B, "2", "0", "0", "0", "0", "0", "1"], 8, "re-initialisation 5 frames after the failure on line 3"),
        (["1", B, "2", "0", B], 5, "skipped frame"),  # tracked while it should be skipping
        (["1", B, "1", B], 3, "1 \\(initialisation\\) only starts the run"),  # a restart without a failure
    ],
)
def test_vot_trajectory_breaking_the_reinitialisation_protocol_is_refused(tmp_path, lines, line, message):
    path = tmp_path / "ball_001.txt"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ResultFormatError, match=f"ball_001.txt:{line}: .*{message}"):
        read_vot_trajectory(str(path))


def test_vot_trajectory_may_end_while_skipping(tmp_path):
    # The video ends before the re-initialisation (as SiamCAR's VOT2018 'leaves' and 'graduate').
    path = tmp_path / "leaves_001.txt"
    path.write_text("\n".join(["1", B, B, "2", "0", "0"]) + "\n")
    np.testing.assert_array_equal(read_vot_trajectory(str(path)).codes, [1, -1, -1, 2, 0, 0])


def test_real_vot_results_pass_the_protocol_check(shared_data):
    base = os.path.join(shared_data, "results", "VOT2018", "siamcar", "baseline")
    videos = sorted(os.listdir(base))
    assert len(videos) == 60
    failures = sum(len(read_vot_trajectory(os.path.join(base, v, f"{v}_001.txt")).failures) for v in videos)
    assert failures == 66


def test_write_rows_is_atomic_and_round_trips(tmp_path):
    path = tmp_path / "out" / "v.txt"
    write_rows(str(path), [[1], [1.5, 2.25, 3, 4], [2], [0]])
    assert path.read_text() == "1\n1.5000,2.2500,3.0000,4.0000\n2\n0\n"
    assert [p.name for p in path.parent.iterdir()] == ["v.txt"]  # no temporary left behind


def test_atomic_write_keeps_the_old_file_and_leaves_nothing_on_error(tmp_path):
    import os

    from toolkit.utils.results import atomic_write_text

    path = tmp_path / "baseline" / "car" / "car_001.txt"
    old_umask = os.umask(0o022)
    try:
        atomic_write_text(str(path), "1\n")
    finally:
        os.umask(old_umask)
    assert path.stat().st_mode & 0o777 == 0o644  # the umask's mode, not a private temp file's 0600
    with pytest.raises(TypeError):
        atomic_write_text(str(path), None)  # fails inside the write
    assert path.read_text() == "1\n"
    assert os.listdir(path.parent) == ["car_001.txt"]
