"""Running a tracker over a video, an image folder, a webcam or an in-memory clip (the demo's library side).

``open_frames(source)`` yields ``H x W x 3`` uint8 BGR frames; ``track_video``
initialises the tracker on the first frame, tracks the rest, draws the boxes
(and SiamMask's masks), optionally writes an annotated video atomically and/or
shows a window, and returns the per-frame results and the tracking fps.
"""
from __future__ import annotations

import glob
import os
import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from tqdm import tqdm

from pysot.utils.log import get_logger

logger = get_logger("pysot.demo")

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
#: Containers the annotated video can be written to (OpenCV's FFmpeg back end, any build).
OUTPUT_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv")
#: Where benchmark sequence folders keep their frames: VOT ``color/``, OTB ``img/``.
FRAME_SUBFOLDERS = ("color", "img")
WINDOW = "pysot"


class VideoSourceError(ValueError):
    """A video, folder or camera that cannot be read; the message names it."""


def parse_box(text: str) -> List[float]:
    """``"x,y,w,h"`` -> four floats; errors name the argument."""
    parts = [p for p in text.replace(" ", ",").split(",") if p]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"--init {text!r}: expected four numbers x,y,w,h") from None
    if len(values) != 4:
        raise ValueError(f"--init {text!r}: expected four numbers x,y,w,h, got {len(values)}")
    if values[2] <= 0 or values[3] <= 0:
        raise ValueError(f"--init {text!r}: width and height must be > 0")
    return values


def check_output_path(path: str, source: Optional[Union[str, int]] = None) -> None:
    """Raise :class:`VideoSourceError` unless ``path`` ends in a writable video container
    and is not the ``source`` video itself (compared as real paths, so ``./a.avi`` and
    ``a.avi``, a symlink or a hard link to the source are caught): the annotated video
    would replace the one being read."""
    if not path.lower().endswith(OUTPUT_EXTENSIONS):
        raise VideoSourceError(f"--output {path}: give a video file name ending in {', '.join(OUTPUT_EXTENSIONS)}")
    if isinstance(source, str) and os.path.isfile(source):
        same = os.path.realpath(path) == os.path.realpath(source)
        if not same and os.path.exists(path):
            same = os.path.samefile(path, source)
        if same:
            raise VideoSourceError(f"--output {path} is the input --video {source}; writing it would destroy the "
                                   "source: give another output name")


def _folder_images(folder: str) -> List[str]:
    return sorted(p for p in glob.glob(os.path.join(folder, "*")) if p.lower().endswith(IMAGE_EXTENSIONS))


class Frames:
    """An iterator of ``H x W x 3`` uint8 BGR frames, with what its source says of itself:
    ``fps`` (a video file's stored rate) and ``count`` (frames a file or folder holds),
    each ``None`` where unknown. The demo writes its output at ``fps``, so it plays at the
    original speed, and sizes its progress bar from ``count``."""

    def __init__(self, frames: Iterator[np.ndarray], fps: Optional[float] = None,
                 count: Optional[int] = None) -> None:
        self._frames = frames
        self.fps = fps
        self.count = count

    def __iter__(self) -> "Frames":
        return self

    def __next__(self) -> np.ndarray:
        return next(self._frames)


def _stored_fps(capture: cv2.VideoCapture) -> Optional[float]:
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    # Containers that store no rate report 0, NaN or a time base such as 90000.
    return fps if np.isfinite(fps) and 0.0 < fps <= 1000.0 else None


def open_frames(source: Union[str, int]) -> Frames:
    """Frames of a video file, an image folder (sorted names), or a camera (an int or a digit string).

    A benchmark sequence folder (VOT ``<seq>/color/*.jpg``, OTB ``<Seq>/img/*.jpg``)
    is read from that sub-folder. Raises :class:`VideoSourceError` before yielding
    anything when the source cannot be opened. A camera reports neither rate nor count
    (its nominal rate is not what tracking achieves).
    """
    if isinstance(source, str) and os.path.isdir(source):
        paths = _folder_images(source)
        for sub in FRAME_SUBFOLDERS:
            if not paths:
                paths = _folder_images(os.path.join(source, sub))
        if not paths:
            raise VideoSourceError(f"{source}: no images ({', '.join(IMAGE_EXTENSIONS)}) in this folder "
                                   f"nor in its {' or '.join(s + '/' for s in FRAME_SUBFOLDERS)}")
        return Frames(_read_images(paths), count=len(paths))
    camera = isinstance(source, int) or (isinstance(source, str) and source.isdigit())
    if not camera and not os.path.exists(str(source)):
        raise VideoSourceError(f"{source}: no such video file or image folder")
    capture = cv2.VideoCapture(int(source) if camera else str(source))
    if not capture.isOpened():
        what = f"camera {source}" if camera else f"video {source}"
        raise VideoSourceError(f"cannot open {what} (unsupported codec, or not a video?)")
    ok, first = capture.read()
    if not ok or first is None:
        capture.release()
        raise VideoSourceError(f"{source}: opened, but no frame could be read")
    if camera:
        return Frames(_read_capture(capture, first))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    count = count if count > 0 else None
    return Frames(_read_capture(capture, first, count, str(source)), _stored_fps(capture), count)


def _read_images(paths: Sequence[str]) -> Iterator[np.ndarray]:
    for path in paths:
        frame = cv2.imread(path, cv2.IMREAD_COLOR)
        if frame is None:
            raise VideoSourceError(f"{path}: not a readable image")
        yield frame


def _read_capture(capture: cv2.VideoCapture, first: np.ndarray, declared: Optional[int] = None,
                  name: str = "") -> Iterator[np.ndarray]:
    """The frames of ``capture``; a file that ends before the ``declared`` frame count (a
    truncated or damaged file) is reported, not passed off as a complete video."""
    read = 0
    try:
        yield first
        read = 1
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            yield frame
            read += 1
        # Containers may round the declared count; only a clear shortfall is a damaged file.
        if declared is not None and read < declared - 1:
            logger.warning("%s ended after %d of its %d declared frames (truncated or damaged file?); "
                           "the rest is not tracked", name, read, declared)
    finally:
        capture.release()


def display_available() -> bool:
    """True when a window can be opened (an X/Wayland display and an OpenCV with GUI support)."""
    if os.name != "nt" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
        return True
    except cv2.error:
        return False


def select_box(frame: np.ndarray) -> List[float]:
    """Let the user drag the init box on ``frame`` (needs a display)."""
    x, y, w, h = cv2.selectROI(WINDOW, frame, fromCenter=False, showCrosshair=True)
    if w <= 0 or h <= 0:
        raise ValueError("no box selected; drag a box and press ENTER or SPACE (or pass --init x,y,w,h)")
    return [float(x), float(y), float(w), float(h)]


def draw_result(frame: np.ndarray, result: dict, color=(0, 255, 0)) -> np.ndarray:
    """A copy of ``frame`` with the box (and mask/polygon when present) drawn on it."""
    canvas = frame.copy()
    mask = result.get("mask")
    if mask is not None:
        on = mask > 0.5
        canvas[on] = (0.5 * canvas[on] + 0.5 * np.array([0, 0, 255])).astype(np.uint8)
    polygon = result.get("polygon")
    if polygon is not None:
        pts = np.asarray(polygon, dtype=np.float64).reshape(-1, 1, 2).round().astype(np.int32)
        cv2.polylines(canvas, [pts], True, (0, 255, 255), 2)
    x, y, w, h = [int(round(v)) for v in result["bbox"]]
    cv2.rectangle(canvas, (x, y), (x + w, y + h), color, 2)
    if "best_score" in result:
        text = f"{result['best_score']:.3f}"
        cv2.putText(canvas, text, _label_origin(text, x, y, canvas.shape[1]), LABEL_FONT, LABEL_SCALE,
                    color, 1, cv2.LINE_AA)
    return canvas


LABEL_FONT, LABEL_SCALE = cv2.FONT_HERSHEY_SIMPLEX, 0.45


def _label_origin(text: str, x: int, y: int, frame_width: int) -> tuple:
    """Bottom-left corner of the score text: above the box's top-left corner, moved left (and
    down) just enough that the whole text stays inside the frame for a box at the right edge."""
    (width, height), _ = cv2.getTextSize(text, LABEL_FONT, LABEL_SCALE, 1)
    left = max(0, min(x, frame_width - width - 1))
    return left, max(height + 2, y - 4)


class _AtomicVideoWriter:
    """Writes to ``<name>.tmp<ext>`` and renames to ``path`` only when closed after a full run."""

    def __init__(self, path: str, fps: float) -> None:
        self.path = path
        root, ext = os.path.splitext(path)
        self.tmp_path = f"{root}.tmp{ext or '.mp4'}"
        self.fps = fps
        self.writer: Optional[cv2.VideoWriter] = None
        self.size: Tuple[int, int] = (0, 0)  # (width, height) of the first frame, the video's size
        self.frames = 0
        self.resized = 0

    def write(self, frame: np.ndarray) -> None:
        """Append ``frame``; one of another size is resized to the first frame's (an OpenCV
        writer silently drops it otherwise), with a warning the first time."""
        if self.writer is None:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            fourcc = cv2.VideoWriter_fourcc(*("MJPG" if self.path.lower().endswith(".avi") else "mp4v"))
            self.size = (frame.shape[1], frame.shape[0])
            self.writer = cv2.VideoWriter(self.tmp_path, fourcc, self.fps, self.size)
            if not self.writer.isOpened():
                raise VideoSourceError(f"{self.path}: cannot write a video here (try a .avi or .mp4 name)")
        if (frame.shape[1], frame.shape[0]) != self.size:
            if not self.resized:
                logger.warning("frame %d is %dx%d, the output video %dx%d: frames of another size are resized "
                               "to it", self.frames, frame.shape[1], frame.shape[0], *self.size)
            self.resized += 1
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(frame)
        self.frames += 1

    def close(self, commit: bool) -> None:
        if self.writer is not None:
            if self.resized:
                logger.warning("%s: %d of %d frames resized to %dx%d", self.path, self.resized, self.frames,
                               *self.size)
            self.writer.release()
            if commit:
                os.replace(self.tmp_path, self.path)
            elif os.path.exists(self.tmp_path):
                os.remove(self.tmp_path)


@dataclass
class VideoRun:
    """What :func:`track_video` did: per-frame results (frame 0 is the init box) and timing."""

    results: List[dict] = field(default_factory=list)
    tracking_seconds: float = 0.0

    @property
    def fps(self) -> float:
        tracked = max(0, len(self.results) - 1)
        return tracked / self.tracking_seconds if self.tracking_seconds > 0 else 0.0


def track_video(tracker, frames: Iterable[np.ndarray], init_box: Optional[Sequence[float]] = None,
                output: Optional[str] = None, show: bool = False, output_fps: float = 25.0,
                max_frames: Optional[int] = None, total: Optional[int] = None) -> VideoRun:
    """Initialise ``tracker`` on the first frame (``init_box``, or a mouse selection when ``show``), track the rest.

    ``output``: annotated video path (written atomically). ``show``: display a
    window (ESC or q stops). fps counts ``tracker.track`` time only.
    """
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"--max-frames {max_frames}: give at least 1")
    run = VideoRun()
    writer = _AtomicVideoWriter(output, output_fps) if output else None
    completed = False
    try:
        iterator = iter(frames)
        first = next(iterator, None)
        if first is None:
            raise VideoSourceError("the video has no frames")
        if init_box is None:
            if not show:
                raise ValueError("no init box: pass --init x,y,w,h (no display for a mouse selection)")
            init_box = select_box(first)
        tracker.init(first, init_box)
        run.results.append({"bbox": [float(v) for v in init_box], "best_score": 1.0})
        _emit(first, run.results[0], writer, show, color=(255, 128, 0))
        limit = None if max_frames is None else max(0, max_frames - 1)
        bar_total = None if total is None else max(0, total - 1) if limit is None else min(limit, max(0, total - 1))
        for index, frame in enumerate(tqdm(iterator, total=bar_total, desc="tracking", unit="frame", leave=False)):
            if limit is not None and index >= limit:
                break
            start = time.perf_counter()
            result = tracker.track(frame)
            run.tracking_seconds += time.perf_counter() - start
            run.results.append(result)
            if not _emit(frame, result, writer, show):
                break
        completed = True
    finally:
        if writer is not None:
            writer.close(commit=completed)
        if show:
            cv2.destroyAllWindows()
    return run


def _emit(frame: np.ndarray, result: dict, writer: Optional[_AtomicVideoWriter], show: bool,
          color=(0, 255, 0)) -> bool:
    """Draw, write and/or show one frame; False when the user asked to stop."""
    if writer is None and not show:
        return True
    canvas = draw_result(frame, result, color)
    if writer is not None:
        writer.write(canvas)
    if show:
        cv2.imshow(WINDOW, canvas)
        return (cv2.waitKey(1) & 0xFF) not in (27, ord("q"))
    return True
