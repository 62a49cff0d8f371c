"""Benchmark containers: :class:`Video` (ground truth + lazily read frames) and :class:`Dataset`.

Ground truth is kept exactly as the benchmark publishes it: ``[N, 4]``
``x, y, w, h`` boxes (0-based top-left corner) or ``[N, 8]`` VOT polygons,
float64, NaN rows where a frame has no annotation. Images are never read by
the evaluation; :meth:`Video.read_frame` reads one frame on demand for
``tools/test.py``.
"""
from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from toolkit.utils.results import ResultFormatError, fast_matrix, read_lines, read_rows

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


class DatasetError(ValueError):
    """A benchmark folder or annotation file that cannot be loaded (message names the path)."""


@dataclass
class Video:
    """One sequence of a benchmark.

    ``gt``: ``[N, 4]`` xywh or ``[N, 8]`` polygons (NaN rows = not annotated).
    ``img_paths``: one path per frame (empty when only annotations are present).
    ``attributes``: per-video attribute names (OTB, UAV, LaSOT).
    ``tags``: per-frame bool flags by name (VOT: ``camera_motion``, ...).
    ``absent``: ``[N]`` bool, True where the target is not visible (LaSOT, VOT-LT, GOT-10k), or None.
    ``width``/``height``: image size when known (needed for VOT's bounded overlap).
    """

    name: str
    gt: np.ndarray
    img_paths: List[str] = field(default_factory=list)
    attributes: List[str] = field(default_factory=list)
    tags: Dict[str, np.ndarray] = field(default_factory=dict)
    absent: Optional[np.ndarray] = None
    width: Optional[int] = None
    height: Optional[int] = None

    @property
    def num_frames(self) -> int:
        """Frames to track: the images if listed, else the annotated frames."""
        return len(self.img_paths) if self.img_paths else len(self.gt)

    @property
    def init_region(self) -> np.ndarray:
        """The first frame's annotation (a 4-value box or an 8-value polygon)."""
        return self.gt[0]

    def read_frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as an ``HxWx3`` uint8 BGR array."""
        import cv2  # only the tracking run needs OpenCV

        if not self.img_paths:
            raise DatasetError(f"video '{self.name}': no image paths (annotations-only dataset)")
        path = self.img_paths[index]
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise DatasetError(f"video '{self.name}': cannot read frame {index} from {path}")
        return img

    def image_size(self) -> Optional[Tuple[int, int]]:
        """``(width, height)``: from the annotation when present, else from the first
        frame when it exists on disk, else ``None`` (overlaps are then unbounded)."""
        if self.width and self.height:
            return int(self.width), int(self.height)
        if self.img_paths and os.path.isfile(self.img_paths[0]):
            h, w = self.read_frame(0).shape[:2]
            self.width, self.height = w, h
            return w, h
        return None


class Dataset:
    """An ordered mapping ``video name -> Video`` plus the benchmark's protocol.

    ``protocol`` tells :mod:`toolkit.evaluation` and ``tools/test.py`` what to run:
    ``"ope"`` (one-pass), ``"vot"`` (re-initialising baseline), ``"vot_lt"``
    (long-term, with confidences) or ``"got10k"``.
    """

    protocol = "ope"
    #: LaSOT and TrackingNet rank by normalized precision as well.
    normalized_precision = False

    def __init__(self, name: str, root: str, videos: Sequence[Video]) -> None:
        self.name = name
        self.root = root
        self.videos: Dict[str, Video] = {v.name: v for v in videos}
        if not self.videos:
            raise DatasetError(f"{name}: no videos found under {root}")

    def __len__(self) -> int:
        return len(self.videos)

    def __iter__(self) -> Iterator[Video]:
        return iter(self.videos.values())

    def __getitem__(self, name: str) -> Video:
        try:
            return self.videos[name]
        except KeyError:
            raise KeyError(f"{self.name}: no video '{name}'") from None

    @property
    def attributes(self) -> List[str]:
        """Every per-video attribute name, sorted (for per-attribute plots)."""
        return sorted({a for v in self for a in v.attributes})

    def select(self, names: Sequence[str]) -> "Dataset":
        """A copy restricted to ``names`` (kept in the given order)."""
        missing = [n for n in names if n not in self.videos]
        if missing:
            raise DatasetError(f"{self.name}: unknown videos {', '.join(missing)}")
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.videos = {n: self.videos[n] for n in names}
        return clone

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {len(self)} videos, root={self.root!r})"


# ---------------------------------------------------------------------- shared readers
def region_array(rows: Sequence[Sequence[float]], where: str) -> np.ndarray:
    """Annotation rows -> ``[N, 4]`` or ``[N, 8]`` float64. Rows of mixed 4/8 length
    are all turned into 8-value polygons; NaN / empty rows become NaN."""
    rows = [np.asarray(r, dtype=np.float64).ravel() for r in rows]
    width = max((r.size for r in rows), default=4)
    if width not in (4, 8):
        raise DatasetError(f"{where}: annotation rows must have 4 or 8 numbers, found {width}")
    out = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        if r.size == width:
            out[i] = r
        elif r.size == 4 and width == 8:
            x, y, w, h = r
            out[i] = [x, y, x + w, y, x + w, y + h, x, y + h]
        elif r.size > 1 or (r.size == 1 and not np.isnan(r[0])):
            raise DatasetError(f"{where}: row {i + 1} has {r.size} numbers")
    return out


def read_annotation(path: str) -> np.ndarray:
    """A ground-truth text file (``,``/tab/space separated; ``nan`` lines allowed)."""
    if not os.path.isfile(path):
        raise DatasetError(f"annotation file not found: {path}")
    try:
        matrix = fast_matrix(read_lines(path))
        if matrix is not None and matrix.shape[1] in (4, 8):
            return matrix
        return region_array(read_rows(path), path)
    except ResultFormatError as e:
        raise DatasetError(str(e)) from None


def read_flags(path: str, length: int) -> np.ndarray:
    """A per-frame 0/1 file (VOT tags, LaSOT absence) as ``[length]`` bool; missing -> all False."""
    if not os.path.isfile(path):
        return np.zeros(length, dtype=bool)
    with open(path, "r", encoding="utf-8") as f:
        text = f.read().replace(",", " ")
    values = np.array(text.split(), dtype=np.float64)
    flags = np.zeros(length, dtype=bool)
    flags[: min(length, len(values))] = values[:length] > 0
    return flags


def list_images(folder: str) -> List[str]:
    """Sorted image files of ``folder`` (empty when it does not exist)."""
    if not os.path.isdir(folder):
        return []
    return sorted(
        os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTENSIONS)
    )


def find_json(root: str, names: Sequence[str]) -> Optional[str]:
    """The pysot-style annotation json: ``root`` itself, or ``root/<name>.json`` for a name in ``names``."""
    if os.path.isfile(root) and root.endswith(".json"):
        return root
    for n in names:
        path = os.path.join(root, f"{n}.json")
        if os.path.isfile(path):
            return path
    return None


def load_json_videos(path: str, image_root: str) -> List[Video]:
    """Read a pysot-style ``<NAME>.json``: ``{video: {video_dir, init_rect, img_names,
    gt_rect, attr?, absent?, width?, height?, <tag>: [0/1 per frame]...}}``.

    ``img_names`` are relative to ``image_root``. ``absent`` is read as a per-frame
    flag; because the original files store *presence* under that key for LaSOT,
    a flag that is set on the first frame (where every benchmark's target is
    visible) is taken as presence and inverted.
    """
    try:
        with open(path, "r", encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise DatasetError(f"{path}: cannot read the annotation json: {e}") from e
    if not isinstance(meta, dict):
        raise DatasetError(f"{path}: expected a mapping of video name -> annotation")
    videos = []
    reserved = {"video_dir", "init_rect", "img_names", "gt_rect", "attr", "absent", "width", "height"}
    for name, entry in meta.items():
        where = f"{path}: video '{name}'"
        if "gt_rect" not in entry:
            raise DatasetError(f"{where}: missing 'gt_rect'")
        gt = region_array(entry["gt_rect"], where)
        img_paths = [os.path.join(image_root, p) for p in entry.get("img_names", [])]
        if len(gt) == 0 and "init_rect" in entry:
            gt = region_array([entry["init_rect"]], where)
        n = max(len(gt), len(img_paths))
        tags = {}
        for key, value in entry.items():
            if key not in reserved and isinstance(value, list) and len(value) == n and n > 1:
                if all(isinstance(x, (int, float, bool)) for x in value[:50]):
                    tags[key] = np.asarray(value, dtype=np.float64) > 0
        absent = None
        if entry.get("absent") is not None:
            flags = np.asarray(entry["absent"], dtype=np.float64) > 0
            absent = ~flags if (len(flags) and flags[0]) else flags
        attr = entry.get("attr") or []
        videos.append(
            Video(
                name=name,
                gt=gt,
                img_paths=img_paths,
                attributes=list(attr) if isinstance(attr, list) else [str(attr)],
                tags=tags,
                absent=absent,
                width=int(entry["width"]) if entry.get("width") else None,
                height=int(entry["height"]) if entry.get("height") else None,
            )
        )
    return videos


def glob_dirs(root: str, pattern: str = "*") -> List[str]:
    return sorted(d for d in glob.glob(os.path.join(root, pattern)) if os.path.isdir(d))


def read_name_list(path: str) -> Optional[List[str]]:
    """The non-blank lines of a sequence list (``list.txt``, ``testing_set.txt``), or None without the file."""
    if not os.path.isfile(path):
        return None
    with open(path, "r", encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def sequence_folders(root: str) -> List[str]:
    """Sequence folders of a native release: in the order of ``root/list.txt`` when present,
    else every sub-folder holding a ``groundtruth.txt``, sorted (VOT, GOT-10k)."""
    names = read_name_list(os.path.join(root, "list.txt"))
    if names is not None:
        return [os.path.join(root, n) for n in names]
    return [d for d in glob_dirs(root) if os.path.isfile(os.path.join(d, "groundtruth.txt"))]


def json_or_native(root: str, json_names: Sequence[str], native: Callable[[], List[Video]]) -> List[Video]:
    """Videos from the pysot-style json when ``root`` has one (images relative to the
    json's folder), else from ``native()``, the benchmark's own folder layout."""
    json_path = find_json(root, json_names)
    if json_path:
        return load_json_videos(json_path, os.path.dirname(json_path))
    return native()
