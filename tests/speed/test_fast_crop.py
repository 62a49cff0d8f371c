"""The search crop pads only the window's in-image part: pixel-identical to padding the whole frame."""
import cv2
import numpy as np

from pysot.utils.crop import get_subwindow_hwc


def _whole_frame_crop(im, pos, model_sz, original_sz, avg):
    """Reference: pad the whole frame with the truncated mean colour, then slice the window."""
    im_h, im_w = im.shape[:2]
    c = (original_sz + 1) / 2
    xmin, ymin = np.floor(pos[0] - c + 0.5), np.floor(pos[1] - c + 0.5)
    xmax, ymax = xmin + original_sz - 1, ymin + original_sz - 1
    left, top = int(max(0.0, -xmin)), int(max(0.0, -ymin))
    right, bottom = int(max(0.0, xmax - im_w + 1)), int(max(0.0, ymax - im_h + 1))
    padded = cv2.copyMakeBorder(im, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                value=[float(np.floor(v)) for v in avg])
    patch = padded[int(ymin) + top:int(ymax) + top + 1, int(xmin) + left:int(xmax) + left + 1]
    return patch if model_sz == original_sz else cv2.resize(patch, (model_sz, model_sz))


def test_window_padding_equals_whole_frame_padding():
    rng = np.random.default_rng(0)
    for _ in range(600):
        h, w = rng.integers(20, 200, 2)
        im = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        # Windows inside, overlapping an edge or a corner, larger than the frame, or missing it entirely.
        pos = rng.uniform(-150, 350, 2)
        original = int(rng.integers(1, 400))
        model = int(rng.choice([127, 255, original]))
        avg = im.mean((0, 1))
        expected = _whole_frame_crop(im, pos, model, original, avg)
        got = get_subwindow_hwc(im, pos, model, original, avg)
        assert got.shape == expected.shape and np.array_equal(got, expected), (h, w, pos, original, model)
