"""Need for Speed, 30 fps (NFS30) and 240 fps (NFS240) versions (100 videos).

Layouts: ``<root>/NFS30.json`` / ``NFS240.json`` (pysot style), or the native
release ``<root>/<video>/<fps>/<video>.txt`` (lines ``id x1 y1 x2 y2 frame
lost occluded generated "label"``, corner boxes, 1-based frame numbers) with the
frames in ``<root>/<video>/<fps>/<video>/``.
"""
from __future__ import annotations

import os
from typing import List

import numpy as np

from pysot.core.registry import DATASETS

from .video import Dataset, DatasetError, Video, glob_dirs, list_images, json_or_native


def read_nfs_annotation(path: str) -> np.ndarray:
    """Native NFS annotation -> ``[N, 4]`` xywh (one row per annotated frame)."""
    rows = []
    with open(path, "r", encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                x1, y1, x2, y2 = (float(v) for v in fields[1:5])
            except (ValueError, IndexError):
                raise DatasetError(f"{path}:{lineno}: expected 'id x1 y1 x2 y2 ...'") from None
            rows.append([x1, y1, x2 - x1, y2 - y1])
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def _native_nfs(root: str, fps: str) -> List[Video]:
    videos = []
    for folder in glob_dirs(root):
        name = os.path.basename(folder)
        anno = os.path.join(folder, fps, f"{name}.txt")
        if not os.path.isfile(anno):
            continue
        gt = read_nfs_annotation(anno)
        frames = list_images(os.path.join(folder, fps, name))
        # The 30 fps annotation may run one line past the frames; keep what pairs up.
        n = min(len(gt), len(frames)) if frames else len(gt)
        videos.append(Video(name=name, gt=gt[:n], img_paths=frames[:n]))
    return videos


@DATASETS.register("NFS30", "NFS240")
class NFS(Dataset):
    def __init__(self, root: str, name: str = "NFS30") -> None:
        videos = json_or_native(root, [name], lambda: _native_nfs(root, name.upper().replace("NFS", "")))
        super().__init__(name, root, videos)
