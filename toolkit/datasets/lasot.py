"""LaSOT test set (280 videos).

Layouts: ``<root>/LaSOT.json`` (pysot style, with ``absent``); the native
release ``<root>/<class>/<video>/groundtruth.txt`` + ``full_occlusion.txt`` +
``out_of_view.txt`` + ``img/``, restricted to ``<root>/testing_set.txt``; or
the compact annotation layout ``<root>/annos/<video>.txt`` +
``<root>/annos/absent/<video>.txt`` with ``testing_set.txt``.

``Video.absent`` is True where the target is fully occluded or out of view.
The metrics use every frame (see toolkit.evaluation.ope for why).
"""
from __future__ import annotations

import os
from typing import List

from pysot.core.registry import DATASETS

from .video import Dataset, DatasetError, Video, json_or_native, list_images, read_annotation, read_flags, read_name_list


def _native_lasot(root: str, names: List[str]) -> List[Video]:
    videos = []
    for name in names:
        compact = os.path.join(root, "annos", f"{name}.txt")
        if os.path.isfile(compact):
            gt = read_annotation(compact)
            absent = read_flags(os.path.join(root, "annos", "absent", f"{name}.txt"), len(gt))
            frames = list_images(os.path.join(root, name.rsplit("-", 1)[0], name, "img"))
        else:
            folder = os.path.join(root, name.rsplit("-", 1)[0], name)
            gt = read_annotation(os.path.join(folder, "groundtruth.txt"))
            absent = read_flags(os.path.join(folder, "full_occlusion.txt"), len(gt)) | read_flags(
                os.path.join(folder, "out_of_view.txt"), len(gt)
            )
            frames = list_images(os.path.join(folder, "img"))
        videos.append(Video(name=name, gt=gt, img_paths=frames[: len(gt)], absent=absent))
    return videos


@DATASETS.register("LaSOT")
class LaSOT(Dataset):
    """One-pass evaluation with success, precision and normalized precision."""

    normalized_precision = True

    def __init__(self, root: str, name: str = "LaSOT") -> None:
        def native() -> List[Video]:
            names = read_name_list(os.path.join(root, "testing_set.txt"))
            if names is None:
                raise DatasetError(f"{name}: neither {name}.json nor testing_set.txt in {root}")
            return _native_lasot(root, names)

        videos = json_or_native(root, [name, "LaSOT"], native)
        super().__init__(name, root, videos)
