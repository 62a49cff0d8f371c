"""Writing the crop-511 training layout, one track-frame at a time (its reader is :mod:`pysot.datasets.dataset`).

Both writers of that layout use it: ``training_dataset`` (real datasets) and
:func:`pysot.datasets.synthetic.write_crop511_dataset` (generated clips)::

    <out>/crop511/<video>/<frame:06d>.<track:02d>.x.jpg   511x511 search crops
    <out>/crop511/<video>/<frame:06d>.<track:02d>.m.png   mask crops (SiamMask)
    <out>/<split>.json, <out>/<split>_category.json       boxes (original image coordinates), categories
"""
from __future__ import annotations

import json
import os
from typing import Dict, Optional, Sequence

import cv2
import numpy as np

from pysot.utils.crop import crop_like_siamfc
from pysot.utils.fileio import atomic_open

__all__ = ["CROP_SIZE", "MaskError", "crop_track_frame", "write_annotations"]

CROP_SIZE = 511


class MaskError(ValueError):
    """A mask that cannot be read or does not fit its image (reported, the track-frame is skipped)."""


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that it is never seen half-written."""
    with atomic_open(path, "wb") as f:
        f.write(data)


def _write_image(path: str, image: np.ndarray, params: Sequence[int] = ()) -> None:
    ok, buf = cv2.imencode(os.path.splitext(path)[1], image, list(params))
    if not ok:
        raise RuntimeError(f"could not encode the crop for {path}")
    atomic_write_bytes(path, buf.tobytes())


def crop_track_frame(image: np.ndarray, corner_box: Sequence[float], video_dir: str, frame_index: int,
                     track_id: int, context_amount: float = 0.5, mask: Optional[np.ndarray] = None) -> str:
    """Cut the 511 search crop of one track in one frame and write ``<frame:06d>.<track:02d>.x.jpg``.

    With ``mask`` (``H x W``, nonzero = object) the same warp of the mask, bilinear
    then thresholded at half, is written as ``<frame:06d>.<track:02d>.m.png`` (0/255,
    SiamMask training).
    """
    padding = image.reshape(-1, 3).mean(axis=0)
    _, x = crop_like_siamfc(image, corner_box, context_amount, 127, CROP_SIZE, padding)
    path = os.path.join(video_dir, f"{frame_index:06d}.{track_id:02d}.x.jpg")
    _write_image(path, x, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if mask is not None:
        if mask.shape[:2] != image.shape[:2]:
            raise MaskError(f"mask {mask.shape[:2]} and image {image.shape[:2]} differ in size")
        m = np.where(np.asarray(mask) > 0, 255, 0).astype(np.uint8)
        _, m = crop_like_siamfc(m, corner_box, context_amount, 127, CROP_SIZE, (0,))
        m = np.where(m > 127, 255, 0).astype(np.uint8)
        _write_image(os.path.join(video_dir, f"{frame_index:06d}.{track_id:02d}.m.png"), m)
    return path


def write_annotations(path: str, annotations: Dict, categories: Optional[Dict] = None) -> None:
    """Write the json index (and ``<stem>_category.json`` when categories are known) atomically."""
    atomic_write_bytes(path, json.dumps(annotations, indent=1, sort_keys=True).encode())
    if categories:
        stem, _ = os.path.splitext(path)
        atomic_write_bytes(f"{stem}_category.json", json.dumps(categories, indent=1, sort_keys=True).encode())
