"""Shared check of a training sample's mask label against its target box."""
import numpy as np


def assert_mask_covers_box(sample, min_cover: float) -> None:
    """``label_mask`` is {-1, 1}, its positives lie inside ``bbox`` (2 px slack) and fill ``min_cover`` of it."""
    m = sample["label_mask"][0]
    assert m.shape == (255, 255) and set(np.unique(m)) <= {-1.0, 1.0}
    x1, y1, x2, y2 = sample["bbox"]
    ys, xs = np.nonzero(m > 0)
    inside = (xs >= x1 - 2) & (xs <= x2 + 2) & (ys >= y1 - 2) & (ys <= y2 + 2)
    assert len(xs) > min_cover * (x2 - x1) * (y2 - y1) and inside.mean() > 0.98
