"""GOT-10k validation (180 videos, full annotations) and test (180 videos, first box only).

Layouts: ``<root>/GOT-10k.json`` (pysot style), or the native release
``<root>/<split>/<video>/groundtruth.txt`` + ``absence.label`` + ``00000001.jpg``...,
ordered by ``<root>/<split>/list.txt`` when present. ``root`` may also be the
split folder itself.
"""
from __future__ import annotations

import os
import re
from typing import List, Optional, Tuple

from pysot.core.registry import DATASETS

from .video import Dataset, DatasetError, Video, json_or_native, list_images, read_annotation, read_flags, sequence_folders


def read_resolution(meta_path: str) -> Optional[Tuple[int, int]]:
    """``(width, height)`` from a GOT-10k ``meta_info.ini`` (``resolution: (1920, 1080)``), or None."""
    if not os.path.isfile(meta_path):
        return None
    with open(meta_path, "r", encoding="utf-8", errors="replace") as f:
        for line in f:
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == "resolution":
                numbers = re.findall(r"\d+", value)
                if len(numbers) == 2:
                    return int(numbers[0]), int(numbers[1])
                raise DatasetError(f"{meta_path}: cannot read the resolution from {line.strip()!r}")
    return None


def _native_got(split_dir: str) -> List[Video]:
    videos = []
    for folder in sequence_folders(split_dir):
        gt = read_annotation(os.path.join(folder, "groundtruth.txt"))
        frames = list_images(folder)
        # The official toolkit scores frames whose cover (visible ratio, 0..8) is above 0;
        # absence.label says the same where cover.label is missing.
        cover_path = os.path.join(folder, "cover.label")
        if os.path.isfile(cover_path):
            absent = ~read_flags(cover_path, len(gt))
        else:
            absent = read_flags(os.path.join(folder, "absence.label"), len(gt))
        size = read_resolution(os.path.join(folder, "meta_info.ini"))
        width, height = size if size else (None, None)
        videos.append(Video(name=os.path.basename(folder), gt=gt, img_paths=frames, absent=absent,
                            width=width, height=height))
    return videos


@DATASETS.register("GOT-10k", "GOT10k", "GOT-10k-val", "GOT-10k-test")
class GOT10k(Dataset):
    protocol = "got10k"

    def __init__(self, root: str, name: str = "GOT-10k", split: str = "val") -> None:
        if name.lower().endswith("-test"):
            split = "test"
        split_dir = os.path.join(root, split)
        videos = json_or_native(root, [name, "GOT-10k", "GOT10k"],
                                lambda: _native_got(split_dir if os.path.isdir(split_dir) else root))
        super().__init__(name, root, videos)
