"""OTB-2015 (OTB100) and its subsets OTB2013 (51 videos) and OTB50 (TB-50).

Layouts: ``<root>/OTB100.json`` (pysot style; ``OTB2013.json`` / ``OTB50.json``
are read when present), or the native folders ``<root>/<Video>/groundtruth_rect.txt``
with frames in ``<root>/<Video>/img/``. Two native folders hold two targets
(``groundtruth_rect.1.txt``/``.2.txt``): they become ``Jogging-1``/``Jogging-2``,
``Skating2-1``/``Skating2-2``; ``Human4`` is published as ``Human4-2``.
"""
from __future__ import annotations

import os
import re
from typing import List, Optional, Sequence

from pysot.core.registry import DATASETS

from .video import Dataset, DatasetError, Video, glob_dirs, json_or_native, list_images, read_annotation

# Sequences whose annotated frames are a sub-range of the image folder (first, last; 1-based),
# from the benchmark's sequence configuration.
OTB_FRAME_RANGES = {
    "David": (300, 770),
    "Football1": (1, 74),
    "Freeman3": (1, 460),
    "Freeman4": (1, 283),
    "Diving": (1, 215),
    "Tiger1": (6, 354),
    "BlurCar1": (247, 988),
    "BlurCar3": (3, 359),
    "BlurCar4": (18, 397),
}

OTB2013_VIDEOS = (
    "Basketball Bolt Boy Car4 CarDark CarScale Coke Couple Crossing David David2 David3 Deer Dog1 Doll "
    "Dudek FaceOcc1 FaceOcc2 Fish FleetFace Football Football1 Freeman1 Freeman3 Freeman4 Girl Ironman "
    "Jogging-1 Jogging-2 Jumping Lemming Liquor Matrix Mhyang MotorRolling MountainBike Shaking Singer1 "
    "Singer2 Skating1 Skiing Soccer Subway Suv Sylvester Tiger1 Tiger2 Trellis Walking Walking2 Woman"
).split()

OTB50_VIDEOS = (
    "Basketball Biker Bird1 BlurBody BlurCar2 BlurFace BlurOwl Bolt Box Car1 Car4 CarDark CarScale "
    "ClifBar Couple Crowds David Deer Diving DragonBaby Dudek Football Freeman4 Girl Human3 Human4-2 "
    "Human6 Human9 Ironman Jump Jumping Liquor Matrix MotorRolling Panda RedTeam Shaking Singer2 "
    "Skating1 Skating2-1 Skating2-2 Skiing Soccer Surfer Sylvester Tiger2 Trellis Walking Walking2 Woman"
).split()


def _native_videos(root: str) -> List[Video]:
    videos = []
    for folder in glob_dirs(root):
        base = os.path.basename(folder)
        frames = list_images(os.path.join(folder, "img"))
        single = os.path.join(folder, "groundtruth_rect.txt")
        numbered = sorted(f for f in os.listdir(folder) if re.fullmatch(r"groundtruth_rect\.\d+\.txt", f))
        if os.path.isfile(single) and not numbered:
            targets = [(base, single)]
        else:
            targets = [(f"{base}-{f.split('.')[1]}", os.path.join(folder, f)) for f in numbered]
        for name, path in targets:
            gt = read_annotation(path)
            if gt.shape[1] != 4:
                raise DatasetError(f"{path}: OTB boxes have 4 numbers (x,y,w,h)")
            first, last = OTB_FRAME_RANGES.get(base, (1, len(frames)))
            paths = frames[first - 1 : last]
            if frames and len(paths) != len(gt):
                # Fall back to the first len(gt) frames; tracking needs one image per box.
                paths = frames[: len(gt)]
                if len(paths) != len(gt):
                    raise DatasetError(f"{path}: {len(gt)} boxes but only {len(frames)} images in {folder}/img")
            videos.append(Video(name=name, gt=gt, img_paths=paths))
    return videos


class OTBDataset(Dataset):
    """One-pass evaluation; subsets pick their videos from OTB100 by name."""

    subset: Optional[Sequence[str]] = None

    def __init__(self, root: str, name: str = "OTB100") -> None:
        videos = json_or_native(root, [name, "OTB100", "OTB2015"], lambda: _native_videos(root))
        if self.subset is not None:
            by_name = {v.name: v for v in videos}
            missing = [n for n in self.subset if n not in by_name]
            if missing and len(missing) < len(self.subset):
                raise DatasetError(f"{name}: {root} lacks {', '.join(missing)}")
            videos = [by_name[n] for n in self.subset if n in by_name]
        super().__init__(name, root, videos)


@DATASETS.register("OTB100", "OTB2015")
class OTB100(OTBDataset):
    pass


@DATASETS.register("OTB2013")
class OTB2013(OTBDataset):
    subset = OTB2013_VIDEOS

    def __init__(self, root: str, name: str = "OTB2013") -> None:
        super().__init__(root, name)


@DATASETS.register("OTB50")
class OTB50(OTBDataset):
    subset = OTB50_VIDEOS

    def __init__(self, root: str, name: str = "OTB50") -> None:
        super().__init__(root, name)
