"""UAV123 (123 videos) and UAV20L.

Layouts: ``<root>/UAV123.json`` (pysot style), or the native release
``<root>/anno/UAV123/<video>.txt`` with frames in ``<root>/data_seq/UAV123/<video>/``.
UAV123 cuts some recordings into several videos (``bird1_1``, ``bird1_2``...)
that share one image folder through frame ranges the release only gives in
its MATLAB configuration; for those, the native layout supports evaluation
(annotations) but tracking needs the json's ``img_names``.
"""
from __future__ import annotations

import glob
import os
from typing import List

from pysot.core.registry import DATASETS

from .video import Dataset, Video, list_images, json_or_native, read_annotation


def _native_uav(root: str, subset: str) -> List[Video]:
    videos = []
    for path in sorted(glob.glob(os.path.join(root, "anno", subset, "*.txt"))):
        name = os.path.splitext(os.path.basename(path))[0]
        gt = read_annotation(path)
        frames = list_images(os.path.join(root, "data_seq", subset, name))
        videos.append(Video(name=name, gt=gt, img_paths=frames if len(frames) == len(gt) else []))
    return videos


@DATASETS.register("UAV123", "UAV20L")
class UAV(Dataset):
    def __init__(self, root: str, name: str = "UAV123") -> None:
        videos = json_or_native(root, [name], lambda: _native_uav(root, name))
        super().__init__(name, root, videos)
