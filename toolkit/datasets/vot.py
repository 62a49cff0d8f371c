"""VOT short-term (2016/2017/2018/2019, baseline experiment) and long-term (2018-LT/2019-LT).

Layouts: ``<root>/<NAME>.json`` (pysot style, with per-video ``width``/``height``
and per-frame tags), or the native VOT workspace folders
``<root>/<video>/groundtruth.txt`` (8-value polygons or 4-value boxes) with the
frames in ``<root>/<video>/color/`` (or directly in ``<root>/<video>/``) and
per-frame tags ``<tag>.tag`` / ``<tag>.label``; ``<root>/list.txt`` orders the
videos when present.

The image size bounds the overlap. It is taken from the json's
``width``/``height``; for native folders from the first frame when the images
are present. Without either, overlaps are computed unbounded (documented in
docs/toolkit.md; it matters only for regions that leave the image).
"""
from __future__ import annotations

import glob
import os
from typing import Dict, List, Tuple

import numpy as np

from pysot.core.registry import DATASETS

from .video import Dataset, Video, json_or_native, list_images, read_annotation, read_flags, sequence_folders

# VOT protocol constants per edition: EAO interval [low, high] of sequence lengths.
VOT_EAO_INTERVALS: Dict[str, Tuple[int, int]] = {
    "VOT2016": (108, 371),
    "VOT2017": (100, 356),
    "VOT2018": (100, 356),
    "VOT2019": (46, 291),
}


def _native_vot_videos(root: str) -> List[Video]:
    videos = []
    for folder in sequence_folders(root):
        gt = read_annotation(os.path.join(folder, "groundtruth.txt"))
        frames = list_images(os.path.join(folder, "color")) or list_images(folder)
        n = len(gt)
        tags = {}
        for path in glob.glob(os.path.join(folder, "*.tag")) + glob.glob(os.path.join(folder, "*.label")):
            tag = os.path.splitext(os.path.basename(path))[0]
            if tag not in ("absence", "cover", "cut_by_image"):
                tags[tag] = read_flags(path, n)
        videos.append(Video(name=os.path.basename(folder), gt=gt, img_paths=frames[:n] if frames else [], tags=tags))
    return videos


class VOTDataset(Dataset):
    """Short-term VOT: baseline experiment with failure detection and re-initialisation."""

    protocol = "vot"
    #: Frames excluded from accuracy after each (re-)initialisation.
    burnin = 10

    def __init__(self, root: str, name: str = "VOT2018") -> None:
        videos = json_or_native(root, [name], lambda: _native_vot_videos(root))
        # A tag that never occurs in a video has no .tag file there, or [] in the json
        # (VOT2018: ball1's occlusion, matrix's camera_motion): all False, not unknown.
        for tag in sorted({t for v in videos for t in v.tags}):
            for v in videos:
                v.tags.setdefault(tag, np.zeros(len(v.gt), dtype=bool))
        super().__init__(name, root, videos)
        self.eao_interval = VOT_EAO_INTERVALS.get(name.upper(), VOT_EAO_INTERVALS["VOT2018"])

    @property
    def tag_names(self) -> List[str]:
        """Per-frame tags of the benchmark (``all`` is implicit)."""
        return sorted({t for v in self for t in v.tags})


@DATASETS.register("VOT2018", "VOT2016", "VOT2017", "VOT2019")
class VOT(VOTDataset):
    pass


@DATASETS.register("VOT2018-LT", "VOT2019-LT", "VOT2018LT", "VOT2019LT")
class VOTLT(Dataset):
    """Long-term VOT: one pass, the tracker reports a confidence per frame."""

    protocol = "vot_lt"

    def __init__(self, root: str, name: str = "VOT2018-LT") -> None:
        videos = json_or_native(root, [name, name.replace("-", "")], lambda: _native_vot_videos(root))
        for v in videos:
            if v.absent is None:
                # Long-term ground truth marks an invisible target with a NaN line.
                v.absent = ~np.isfinite(v.gt).all(axis=1)
        super().__init__(name, root, videos)
