"""The one crop loop of training-data preparation (every dataset reader feeds it).

Output layout (the original PySOT's, so already-prepared data works)::

    <out>/crop511/<video>/<frame:06d>.<track:02d>.x.jpg   511x511 search crops
    <out>/<split>.json   {video: {track: {"000000": [x1, y1, x2, y2], ...}}}
    <out>/<split>_category.json   {video: {track: category}}  (ours; optional)
    <out>/crop511/<video>/<frame:06d>.<track:02d>.m.png   mask crops (SiamMask), when the reader has masks

Boxes in the json stay in ORIGINAL image coordinates; the training dataset maps
them into the crop. Crops use the image's mean colour as padding.

Readers hand masks lazily (:class:`PolygonMask`, :class:`LabelMask`: a few numbers or
a path + id each, picklable); they are rasterised/read here, one frame at a time.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from pysot.datasets.crop511 import MaskError, crop_track_frame, write_annotations
from pysot.utils.log import get_logger

logger = get_logger("pysot.prepare")


def rle_counts_from_string(s: str) -> List[int]:
    """Run lengths of a COCO compressed RLE string.

    Each run is a little-endian group of 6-bit characters (``ord(c) - 48``): 5 value
    bits, bit 0x20 = "another character follows", bit 0x10 of the last one = sign.
    From the fourth run on (index > 2) the value is a difference to the run two places before.
    """
    counts: List[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            if p >= len(s):
                raise MaskError(f"truncated RLE string {s[:40]!r}")
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def decode_rle(rle: Dict) -> np.ndarray:
    """COCO RLE (``{"size": [h, w], "counts": [...] or "..."}``) -> ``h x w`` bool mask.

    Counts alternate 0-runs and 1-runs (starting with 0s) over the pixels in column-major order.
    """
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    counts = rle_counts_from_string(counts) if isinstance(counts, str) else [int(c) for c in counts]
    if any(c < 0 for c in counts) or sum(counts) != h * w:
        raise MaskError(f"RLE counts sum to {sum(counts)}, expected {h} x {w} = {h * w}")
    values = np.arange(len(counts)) % 2 == 1
    return np.repeat(values, counts).reshape((h, w), order="F")


def rasterize_polygons(polygons: Sequence[Sequence[float]], shape: Tuple[int, int]) -> np.ndarray:
    """Fill COCO polygons (each ``[x1, y1, x2, y2, ...]``, pixel-centre coordinates) -> ``h x w`` bool."""
    mask = np.zeros(shape[:2], np.uint8)
    pts = [np.round(np.asarray(p, np.float64).reshape(-1, 2) * 8).astype(np.int32)
           for p in polygons if len(p) >= 6]
    if pts:
        cv2.fillPoly(mask, pts, 1, lineType=cv2.LINE_8, shift=3)  # 3 fractional bits: sub-pixel vertices
    return mask.astype(bool)


@dataclass
class PolygonMask:
    """COCO ``segmentation``: a list of polygons, or an RLE dict (compressed or not)."""

    segmentation: object

    def read(self, shape: Tuple[int, int], cache: Optional[Dict] = None) -> np.ndarray:
        seg = self.segmentation
        if isinstance(seg, dict):
            mask = decode_rle(seg)
            if mask.shape != tuple(shape[:2]):
                raise MaskError(f"RLE size {mask.shape} differs from the image size {tuple(shape[:2])}")
            return mask
        if isinstance(seg, (list, tuple)):
            return rasterize_polygons(seg, shape)
        raise MaskError(f"unknown segmentation type {type(seg).__name__}")


def read_label_png(path: str) -> np.ndarray:
    """A label PNG as its stored values: palette PNGs give palette indices (object ids), not colours."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            if im.mode in ("P", "L", "I", "I;16", "1"):
                return np.asarray(im)
            arr = np.asarray(im.convert("RGB"))
    except ImportError:
        arr = None
    except OSError:
        raise MaskError(f"{path}: missing or unreadable mask") from None
    if arr is None:
        arr = cv2.imread(path, cv2.IMREAD_UNCHANGED) if os.path.isfile(path) else None
        if arr is None:
            raise MaskError(f"{path}: missing or unreadable mask")
    return arr if arr.ndim == 2 else arr.max(axis=2)  # a colour mask: any non-black pixel is object


@dataclass
class LabelMask:
    """A mask PNG: pixels equal to ``value`` (YouTube-VOS object id), or nonzero when ``value`` is None."""

    path: str
    value: Optional[int] = None

    def read(self, shape: Tuple[int, int], cache: Optional[Dict] = None) -> np.ndarray:
        if cache is not None and self.path in cache:
            labels = cache[self.path]
        else:
            if not os.path.isfile(self.path):
                raise MaskError(f"{self.path}: missing mask")
            labels = read_label_png(self.path)
            if cache is not None:
                cache[self.path] = labels
        if labels.shape[:2] != tuple(shape[:2]):
            raise MaskError(f"{self.path}: mask is {labels.shape[1]}x{labels.shape[0]}, "
                            f"its image {shape[1]}x{shape[0]}")
        return labels != 0 if self.value is None else labels == self.value


def mask_box(mask: np.ndarray) -> Optional[List[float]]:
    """Corner box ``[x1, y1, x2, y2]`` of a mask's pixels (pixel centres, as COCO polygons); None if empty."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if not len(xs):
        return None
    return [float(xs[0]), float(ys[0]), float(xs[-1]), float(ys[-1])]


@dataclass
class FrameAnno:
    """One image and the corner boxes ``[x1, y1, x2, y2]`` of its tracks (track id -> box).

    ``normalized`` boxes are fractions of the image size (YouTube-BB), scaled once the image is read.
    ``masks`` (track id -> :class:`PolygonMask` / :class:`LabelMask`, anything with
    ``read(shape, cache) -> H x W bool``) are read by the crop loop; a track with a mask
    and no box gets the box of its mask's pixels (YouTube-VOS).
    ``source``: where the box was read (``file:line``), named when the box is bad and left out.
    """

    image_path: str
    frame_index: int
    boxes: Dict[int, Sequence[float]]
    normalized: bool = False
    masks: Dict[int, object] = field(default_factory=dict)
    source: str = ""


@dataclass
class VideoAnno:
    """A video (or a single detection image) with its frames and the category of each track."""

    name: str
    frames: List[FrameAnno]
    categories: Dict[int, str] = field(default_factory=dict)


def valid_box(box: Sequence[float]) -> bool:
    return box_problem(box) is None


def box_problem(box: Sequence[float]) -> Optional[str]:
    """Why the corner box ``[x1, y1, x2, y2]`` cannot be cropped, or ``None`` when it can."""
    if len(box) != 4 or not all(np.isfinite(box)):
        return "NaN/inf"
    if not (box[2] > box[0] and box[3] > box[1]):
        return "zero or negative width/height"
    return None


BAD_BOXES_LOGGED = 5  # per video: a whole sequence of NaN rows would otherwise flood the log


def _crop_video(job: Tuple[VideoAnno, str, bool]) -> Tuple[str, Dict[str, Dict[str, list]], Dict[str, str], List[str],
                                                            Dict[str, int]]:
    """Crop every (frame, track) of one video; unreadable images and masks are reported, not raised.

    A track-frame whose mask cannot be read is skipped entirely (no ``.x.jpg`` without its ``.m.png``).
    Returns the video name, its annotations, categories, errors and the skipped boxes by reason.
    """
    video, crop_root, with_masks = job
    vdir = os.path.join(crop_root, video.name)
    annos: Dict[str, Dict[str, list]] = {}
    errors: List[str] = []
    skipped: Dict[str, int] = {}
    bad: List[str] = []  # "file:line: why" of boxes left out (the first few of each video are logged)

    def leave_out(frame: FrameAnno, problem: str, box: Sequence[float]) -> None:
        skipped[problem] = skipped.get(problem, 0) + 1
        where = frame.source or f"{frame.image_path} (frame {frame.frame_index})"
        bad.append(f"{where}: box {[round(float(v), 2) for v in box]} left out: {problem}")

    for frame in video.frames:
        boxes = {}
        for t, b in frame.boxes.items():
            problem = None if b is None else box_problem(b)
            if problem is not None:
                leave_out(frame, problem, b)
            elif b is not None:
                boxes[t] = b
        mask_only = [t for t in frame.masks if t not in frame.boxes]
        if not boxes and not mask_only:
            continue
        image = cv2.imread(frame.image_path, cv2.IMREAD_COLOR) if os.path.isfile(frame.image_path) else None
        if image is None:
            reason = "missing" if not os.path.exists(frame.image_path) else "unreadable"
            errors.append(f"{frame.image_path}: {reason} image")
            continue
        h, w = image.shape[:2]
        if frame.normalized:
            boxes = {t: [b[0] * w, b[1] * h, b[2] * w, b[3] * h] for t, b in boxes.items()}
        for t, b in list(boxes.items()):
            if b[2] <= 0 or b[3] <= 0 or b[0] >= w or b[1] >= h:  # no pixel of it in the image
                leave_out(frame, f"outside the {w}x{h} image", b)
                del boxes[t]
        if not boxes and not mask_only:
            continue
        cache: Dict[str, np.ndarray] = {}  # one label PNG serves every object of the frame
        for track_id in sorted(set(boxes) | set(mask_only)):
            box, mask = boxes.get(track_id), None
            source = frame.masks.get(track_id)
            if source is not None and (with_masks or box is None):
                try:
                    mask = source.read(image.shape[:2], cache)
                except MaskError as e:
                    errors.append(f"{frame.image_path} track {track_id}: {e}")
                    continue
                if box is None:
                    box = mask_box(mask)
                    if box is None or not valid_box(box):
                        continue  # the object is not visible in this frame
                if not with_masks:
                    mask = None
            crop_track_frame(image, box, vdir, frame.frame_index, track_id, mask=mask)
            annos.setdefault(f"{track_id:02d}", {})[f"{frame.frame_index:06d}"] = [float(v) for v in box]
    categories = {f"{t:02d}": c for t, c in video.categories.items() if f"{t:02d}" in annos}
    if bad:
        more = f" (and {len(bad) - BAD_BOXES_LOGGED} more in {video.name})" if len(bad) > BAD_BOXES_LOGGED else ""
        errors.extend(bad[:BAD_BOXES_LOGGED - 1] + [bad[BAD_BOXES_LOGGED - 1] + more] if more else bad)
    return video.name, annos, categories, errors, skipped


@dataclass
class PrepareReport:
    videos: int
    crops: int
    errors: List[str]
    anno_path: str
    skipped_boxes: Dict[str, int] = field(default_factory=dict)  # reason -> boxes not cropped


def crop_dataset(videos: Iterable[VideoAnno], out_dir: str, split: str = "train", num_workers: int = 1,
                 total: Optional[int] = None, with_masks: bool = True) -> PrepareReport:
    """Crop all videos into ``<out>/crop511`` and write ``<out>/<split>.json``.

    Runs ``num_workers`` processes with a progress bar; missing/unreadable images
    are logged with their path, counted and skipped. Tracks whose reader supplies a
    mask also get their ``.m.png`` mask crop unless ``with_masks`` is False.
    """
    crop_root = os.path.join(out_dir, "crop511")
    os.makedirs(crop_root, exist_ok=True)
    annotations: Dict[str, Dict] = {}
    categories: Dict[str, Dict] = {}
    errors: List[str] = []
    skipped: Dict[str, int] = {}
    jobs = ((v, crop_root, with_masks) for v in videos)
    bar = tqdm(total=total, desc=f"crop511 {split}", unit="video")
    if num_workers > 1:
        pool = get_context("spawn").Pool(num_workers)
        results = pool.imap_unordered(_crop_video, jobs, chunksize=4)
    else:
        pool, results = None, map(_crop_video, jobs)
    try:
        for name, annos, cats, errs, skips in results:
            bar.update(1)
            for reason, count in skips.items():
                skipped[reason] = skipped.get(reason, 0) + count
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
        logger.warning(f"{len(errors)} problem(s) listed above (missing or unreadable images/masks, bad boxes); "
                       "those frames were skipped")
    if skipped:
        # NaN rows usually mark an absent target; zero/negative sizes are annotation errors.
        logger.warning("%d boxes skipped (not cropped): %s", sum(skipped.values()),
                       ", ".join(f"{n} {reason}" for reason, n in sorted(skipped.items())))
    logger.info(f"{len(annotations)} videos, {crops} crops -> {anno_path}")
    return PrepareReport(len(annotations), crops, errors, anno_path, skipped)
