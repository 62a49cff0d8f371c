"""pysot.io.video.draw_result: the score stays readable at the frame's right edge."""
import cv2
import numpy as np
import pytest

from pysot.io.video import LABEL_FONT, LABEL_SCALE, draw_result


@pytest.mark.parametrize("x", [5, 150, 185, 195])
def test_score_text_is_whole_inside_the_frame(x):
    frame = np.zeros((100, 200, 3), np.uint8)
    out = draw_result(frame, {"bbox": [x, 50, 4, 20], "best_score": 0.987})
    (width, _), _ = cv2.getTextSize("0.987", LABEL_FONT, LABEL_SCALE, 1)
    text_rows = out[:47]  # above the box's top edge (drawn at rows 49-51)
    columns = np.flatnonzero(text_rows.any(axis=(0, 2)))
    assert columns.size and columns[-1] - columns[0] + 1 >= width - 3  # not cut at the right edge
    assert columns[-1] < 200


def test_score_text_sits_above_the_box_when_there_is_room():
    out = draw_result(np.zeros((100, 200, 3), np.uint8), {"bbox": [20, 50, 30, 20], "best_score": 0.5})
    columns = np.flatnonzero(out[:47].any(axis=(0, 2)))
    assert columns[0] >= 19
