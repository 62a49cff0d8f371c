"""TrackingNet (test split by default: 511 videos, only the first box is public).

Layouts: ``<root>/TrackingNet.json`` (pysot style), or the native release
``<root>/<SPLIT>/anno/<video>.txt`` with frames ``<root>/<SPLIT>/frames/<video>/<i>.jpg``
(numbered from 0). With only the first box known, results are produced
locally and scored by the evaluation server; a split with full annotations
(``TRAIN_0`` ...) is evaluated locally with success / precision / normalized precision.
"""
from __future__ import annotations

import glob
import os
import re
from typing import List

from pysot.core.registry import DATASETS

from .video import IMAGE_EXTENSIONS, Dataset, Video, json_or_native, read_annotation


def _numbered_frames(folder: str) -> List[str]:
    if not os.path.isdir(folder):
        return []
    files = [f for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS)]
    # Frames are 0.jpg, 1.jpg, ..., 10.jpg: sort numerically, not as text.
    files.sort(key=lambda f: int(re.sub(r"\D", "", f) or 0))
    return [os.path.join(folder, f) for f in files]


@DATASETS.register("TrackingNet")
class TrackingNet(Dataset):
    normalized_precision = True

    def __init__(self, root: str, name: str = "TrackingNet", split: str = "TEST") -> None:
        def native() -> List[Video]:
            videos = []
            for anno in sorted(glob.glob(os.path.join(root, split, "anno", "*.txt"))):
                video = os.path.splitext(os.path.basename(anno))[0]
                frames = _numbered_frames(os.path.join(root, split, "frames", video))
                videos.append(Video(name=video, gt=read_annotation(anno), img_paths=frames))
            return videos

        videos = json_or_native(root, [name], native)
        super().__init__(name, root, videos)
