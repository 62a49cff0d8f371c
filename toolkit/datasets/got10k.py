"""GOT-10k validation (180 videos, full annotations) and test (180 videos, first box only).

Layouts: ``<root>/GOT-10k.json`` (pysot style), or the native release
``<root>/<split>/<video>/groundtruth.txt`` + ``absence.label`` + ``00000001.jpg``...,
ordered by ``<root>/<split>/list.txt`` when present. ``root`` may also be the
split folder itself.
"""
from __future__ import annotations

import os
from typing import List

from pysot.core.registry import DATASETS

from .video import Dataset, Video, json_or_native, list_images, read_annotation, read_flags, sequence_folders


def _native_got(split_dir: str) -> List[Video]:
    videos = []
    for folder in sequence_folders(split_dir):
        gt = read_annotation(os.path.join(folder, "groundtruth.txt"))
        frames = list_images(folder)
        absent = read_flags(os.path.join(folder, "absence.label"), len(gt))
        videos.append(Video(name=os.path.basename(folder), gt=gt, img_paths=frames, absent=absent))
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
