"""UAV123 (123 videos) and UAV20L.

Layouts: ``<root>/UAV123.json`` (pysot style), or the native release
``<root>/anno/UAV123/<video>.txt`` with frames in ``<root>/data_seq/UAV123/<video>/``
and per-video attributes in ``<root>/anno/UAV123/att/<video>.txt`` (one line of
12 flags, in the column order of the release's annotation document).
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

from .video import Dataset, DatasetError, Video, list_images, json_or_native, read_annotation

#: Columns of ``anno/<subset>/att/<video>.txt``: SV ARC LR FM FOC POC OV BC IV VC CM SOB.
UAV_ATTRIBUTES = (
    "Scale Variation", "Aspect Ratio Change", "Low Resolution", "Fast Motion", "Full Occlusion",
    "Partial Occlusion", "Out-of-View", "Background Clutter", "Illumination Variation",
    "Viewpoint Change", "Camera Motion", "Similar Object",
)


def read_uav_attributes(path: str) -> List[str]:
    """Names of the attributes flagged in a UAV123 ``att/<video>.txt`` (none without the file)."""
    if not os.path.isfile(path):
        return []
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()
    try:
        flags = [float(t) for t in text.replace(",", " ").split()]
    except ValueError:
        raise DatasetError(f"{path}: attribute flags must be numbers, got {text.strip()[:60]!r}") from None
    if len(flags) != len(UAV_ATTRIBUTES):
        raise DatasetError(f"{path}: expected {len(UAV_ATTRIBUTES)} attribute flags, got {len(flags)}")
    return [name for name, flag in zip(UAV_ATTRIBUTES, flags) if flag > 0]


def _native_uav(root: str, subset: str) -> List[Video]:
    videos = []
    for path in sorted(glob.glob(os.path.join(root, "anno", subset, "*.txt"))):
        name = os.path.splitext(os.path.basename(path))[0]
        gt = read_annotation(path)
        frames = list_images(os.path.join(root, "data_seq", subset, name))
        attributes = read_uav_attributes(os.path.join(root, "anno", subset, "att", f"{name}.txt"))
        videos.append(Video(name=name, gt=gt, img_paths=frames if len(frames) == len(gt) else [],
                            attributes=attributes))
    return videos


@DATASETS.register("UAV123", "UAV20L")
class UAV(Dataset):
    def __init__(self, root: str, name: str = "UAV123") -> None:
        videos = json_or_native(root, [name], lambda: _native_uav(root, name))
        super().__init__(name, root, videos)
