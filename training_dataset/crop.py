"""The one crop loop of training-data preparation (every dataset reader feeds it).

Output layout (the original PySOT's, so already-prepared data works)::

    <out>/crop511/<video>/<frame:06d>.<track:02d>.x.jpg   511x511 search crops
    <out>/<split>.json   {video: {track: {"000000": [x1, y1, x2, y2], ...}}}
    <out>/<split>_category.json   {video: {track: category}}  (ours; optional)

Boxes in the json stay in ORIGINAL image coordinates; the training dataset maps
them into the crop. Crops use the image's mean colour as padding.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from pysot.utils.crop import crop_like_siamfc
from pysot.utils.log import get_logger

logger = get_logger("pysot.prepare")

CROP_SIZE = 511


@dataclass
class FrameAnno:
    """One image and the corner boxes ``[x1, y1, x2, y2]`` of its tracks (track id -> box).

    ``normalized`` boxes are fractions of the image size (YouTube-BB), scaled once the image is read.
    """

    image_path: str
    frame_index: int
    boxes: Dict[int, Sequence[float]]
    normalized: bool = False


@dataclass
class VideoAnno:
    """A video (or a single detection image) with its frames and the category of each track."""

    name: str
    frames: List[FrameAnno]
    categories: Dict[int, str] = field(default_factory=dict)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file + ``os.replace`` (never half-written)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _write_image(path: str, image: np.ndarray, params: Sequence[int] = ()) -> None:
    ok, buf = cv2.imencode(os.path.splitext(path)[1], image, list(params))
    if not ok:
        raise RuntimeError(f"could not encode the crop for {path}")
    atomic_write_bytes(path, buf.tobytes())


def crop_track_frame(image: np.ndarray, corner_box: Sequence[float], video_dir: str, frame_index: int,
                     track_id: int, context_amount: float = 0.5, mask: Optional[np.ndarray] = None) -> str:
    """Cut the 511 search crop of one track in one frame and write ``<frame:06d>.<track:02d>.x.jpg``.

    With ``mask`` (``H x W`` uint8, 255 = object) the same crop of the mask is
    written as ``<frame:06d>.<track:02d>.m.png`` (SiamMask training).
    """
    padding = image.reshape(-1, 3).mean(axis=0)
    _, x = crop_like_siamfc(image, corner_box, context_amount, 127, CROP_SIZE, padding)
    path = os.path.join(video_dir, f"{frame_index:06d}.{track_id:02d}.x.jpg")
    _write_image(path, x, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if mask is not None:
        _, m = crop_like_siamfc(mask, corner_box, context_amount, 127, CROP_SIZE, (0,))
        _write_image(os.path.join(video_dir, f"{frame_index:06d}.{track_id:02d}.m.png"), m)
    return path


def valid_box(box: Sequence[float]) -> bool:
    return len(box) == 4 and all(np.isfinite(box)) and box[2] > box[0] and box[3] > box[1]


def _crop_video(job: Tuple[VideoAnno, str]) -> Tuple[str, Dict[str, Dict[str, list]], Dict[str, str], List[str]]:
    """Crop every (frame, track) of one video; unreadable images are reported, not raised."""
    video, crop_root = job
    vdir = os.path.join(crop_root, video.name)
    annos: Dict[str, Dict[str, list]] = {}
    errors: List[str] = []
    for frame in video.frames:
        boxes = {t: b for t, b in frame.boxes.items() if valid_box(b)}
        if not boxes:
            continue
        image = cv2.imread(frame.image_path, cv2.IMREAD_COLOR) if os.path.isfile(frame.image_path) else None
        if image is None:
            reason = "missing" if not os.path.exists(frame.image_path) else "unreadable"
            errors.append(f"{frame.image_path}: {reason} image")
            continue
        if frame.normalized:
            h, w = image.shape[:2]
            boxes = {t: [b[0] * w, b[1] * h, b[2] * w, b[3] * h] for t, b in boxes.items()}
        for track_id, box in boxes.items():
            crop_track_frame(image, box, vdir, frame.frame_index, track_id)
            annos.setdefault(f"{track_id:02d}", {})[f"{frame.frame_index:06d}"] = [float(v) for v in box]
    categories = {f"{t:02d}": c for t, c in video.categories.items() if f"{t:02d}" in annos}
    return video.name, annos, categories, errors


def write_annotations(path: str, annotations: Dict, categories: Optional[Dict] = None) -> None:
    """Write the json index (and ``<stem>_category.json`` when categories are known) atomically."""
    atomic_write_bytes(path, json.dumps(annotations, indent=1, sort_keys=True).encode())
    if categories:
        stem, _ = os.path.splitext(path)
        atomic_write_bytes(f"{stem}_category.json", json.dumps(categories, indent=1, sort_keys=True).encode())


@dataclass
class PrepareReport:
    videos: int
    crops: int
    errors: List[str]
    anno_path: str


def crop_dataset(videos: Iterable[VideoAnno], out_dir: str, split: str = "train", num_workers: int = 1,
                 total: Optional[int] = None) -> PrepareReport:
    """Crop all videos into ``<out>/crop511`` and write ``<out>/<split>.json``.

    Runs ``num_workers`` processes with a progress bar; missing/unreadable images
    are logged with their path, counted and skipped.
    """
    crop_root = os.path.join(out_dir, "crop511")
    os.makedirs(crop_root, exist_ok=True)
    annotations: Dict[str, Dict] = {}
    categories: Dict[str, Dict] = {}
    errors: List[str] = []
    jobs = ((v, crop_root) for v in videos)
    bar = tqdm(total=total, desc=f"crop511 {split}", unit="video")
    if num_workers > 1:
        pool = get_context("spawn").Pool(num_workers)
        results = pool.imap_unordered(_crop_video, jobs, chunksize=4)
    else:
        pool, results = None, map(_crop_video, jobs)
    try:
        for name, annos, cats, errs in results:
            bar.update(1)
            if annos:
                annotations[name] = annos
            if cats:
                categories[name] = cats
            for e in errs:
                logger.warning(e)
            errors.extend(errs)
    finally:
        bar.close()
        if pool is not None:
            pool.close()
            pool.join()
    anno_path = os.path.join(out_dir, f"{split}.json")
    write_annotations(anno_path, annotations, categories)
    crops = sum(len(f) for v in annotations.values() for f in v.values())
    if errors:
        logger.warning(f"{len(errors)} image(s) missing or unreadable (listed above); they were skipped")
    logger.info(f"{len(annotations)} videos, {crops} crops -> {anno_path}")
    return PrepareReport(len(annotations), crops, errors, anno_path)
