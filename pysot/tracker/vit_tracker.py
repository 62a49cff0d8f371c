"""VitTracker: the one-stream centre-head tracker of VitTrack (OpenCV's ``cv2.TrackerVit``).

Per frame: crop a square of side ``ceil(sqrt(w * h) * search_factor)`` around the last box
(zero padding outside the image), resize it to the network's search side, run the network on
(template, search), multiply the score map by a Hann window, take its arg-max cell, and read
the box there from the size and offset maps. Below ``score_threshold`` the target is reported
lost (``"lost": True``), as ``cv2.TrackerVit.update`` returns false.

Two arithmetics exist and ``postprocess`` picks one; each matches its own reference:

* ``"opencv"`` (``cv2.TrackerVit`` of opencv-python 5.1, checked box for box): the frame is fed
  as BGR; the box is an integer ``cv::Rect``; the crop origin is ``x + (w - crop) / 2`` in C
  integer division; the new box is ``cvFloor`` of the crop-relative box scaled by the crop
  side, then clipped to the image with sides of at least 10 px; a lost frame keeps the old
  box; the reported score is the windowed maximum.
* ``"original"`` (VitTracker's ``lib/test/tracker/vit_dist.py``): the frame is fed as RGB
  (pytracking reads RGB); float boxes; the crop origin is Python's ``round`` of the
  crop-relative corner; the box is mapped back around the last centre and clipped to the
  image with a 10-px margin (``clip_box``); the reported score is the raw (unwindowed)
  maximum, and the box is updated even when the target is reported lost, as the original does.
"""
from __future__ import annotations

import math
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np
import torch

from pysot.core.registry import TRACKERS
from pysot.tracker.base_tracker import BaseTracker, clip_box_xywh, nan_to_num

__all__ = ["VitTracker", "crop_original", "crop_opencv", "hann2d", "IMAGENET_MEAN", "IMAGENET_STD"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
POSTPROCESSES = ("opencv", "original")
CLIP_MARGIN = 10  # smallest box side both references keep


def hann2d(size: int) -> np.ndarray:
    """``[size, size]`` float32 raised-cosine window without zero ends (``0.5 (1 - cos(2 pi k / (size + 1)))``,
    ``k = 1..size``), the window of both references."""
    k = np.arange(1, size + 1, dtype=np.float32)
    w = (0.5 * (1.0 - np.cos(np.float32(2 * math.pi / (size + 1)) * k))).astype(np.float32)
    return np.outer(w, w).astype(np.float32)


def _c_half(value: int) -> int:
    """``value / 2`` in C integer division (truncation toward zero), as tracker_vit.cpp computes crop origins."""
    return value // 2 if value >= 0 else -((-value) // 2)


def _pad_and_crop(img: np.ndarray, x1: int, y1: int, crop: int, far_quirk: bool) -> np.ndarray:
    """The ``crop x crop`` window at ``(x1, y1)``, zero outside the image.

    ``far_quirk``: compute the far-side padding as ``x2 - W + 1`` (one more than needed) and cut
    the image one pixel short to compensate, so a window reaching the right/bottom edge shows a
    zero column/row where the image's last one was. The original Python tracker does this (and
    so does the tracker_vit.cpp source), OpenCV 5.1's binary does not (its boxes match ours
    exactly only without it); each mode follows its reference.
    """
    im_h, im_w = img.shape[:2]
    x2, y2 = x1 + crop, y1 + crop
    x1_pad, y1_pad = max(0, -x1), max(0, -y1)
    x2_pad, y2_pad = max(x2 - im_w + int(far_quirk), 0), max(y2 - im_h + int(far_quirk), 0)
    xa, xb = x1 + x1_pad, x2 - x2_pad
    ya, yb = y1 + y1_pad, y2 - y2_pad
    if xb <= xa or yb <= ya:  # the window misses the image: all padding
        return np.zeros((crop, crop, img.shape[2]), img.dtype)
    patch = img[ya:yb, xa:xb]
    return cv2.copyMakeBorder(patch, y1_pad, crop - y1_pad - (yb - ya), x1_pad, crop - x1_pad - (xb - xa),
                              cv2.BORDER_CONSTANT, value=0)


def _clip_int_box(box: Sequence[int], image_shape: Tuple[int, ...], margin: int) -> list:
    """Corners into the image, each side at least ``margin`` px (what OpenCV 5.1's TrackerVit reports:
    the box it keeps is clipped this way, see docs/trackers.md)."""
    im_h, im_w = image_shape[:2]
    x1 = min(max(0, box[0]), im_w - margin)
    y1 = min(max(0, box[1]), im_h - margin)
    x2 = min(max(margin, box[0] + box[2]), im_w)
    y2 = min(max(margin, box[1] + box[3]), im_h)
    return [x1, y1, max(margin, x2 - x1), max(margin, y2 - y1)]


def crop_original(img: np.ndarray, box: Sequence[float], factor: float, out_size: int) -> Tuple[np.ndarray, float]:
    """VitTracker's ``sample_target``: ``(out_size x out_size x 3 crop, out_size / crop side)`` for a float box."""
    x, y, w, h = box
    crop = math.ceil(math.sqrt(w * h) * factor)
    if crop < 1:
        raise ValueError(f"box {list(box)}: too small to crop (side {crop})")
    x1 = round(x + 0.5 * w - crop * 0.5)  # Python's round (half to even), as the original
    y1 = round(y + 0.5 * h - crop * 0.5)
    patch = _pad_and_crop(img, x1, y1, crop, far_quirk=True)
    return cv2.resize(patch, (out_size, out_size)), out_size / crop


def crop_opencv(img: np.ndarray, rect: Sequence[int], factor: int, out_size: int) -> Tuple[np.ndarray, int]:
    """tracker_vit.cpp's ``crop_image`` then ``resize``: ``(out_size x out_size x 3 crop, crop side)``."""
    x, y, w, h = (int(v) for v in rect)
    crop = math.ceil(math.sqrt(w * h) * factor)
    patch = _pad_and_crop(img, x + _c_half(w - crop), y + _c_half(h - crop), crop, far_quirk=False)
    return cv2.resize(patch, (out_size, out_size)), crop


def normalize(patch: np.ndarray, rgb: bool) -> torch.Tensor:
    """``H x W x 3`` uint8 BGR crop -> ``[1, 3, H, W]`` float32 ``(pixel / 255 - mean) / std``.

    ``rgb``: swap to RGB first (the original tracker's input); OpenCV feeds the BGR planes
    with the mean and std in the listed order.
    """
    t = torch.from_numpy(np.ascontiguousarray(patch[:, :, ::-1] if rgb else patch)).float()
    t = t.permute(2, 0, 1).unsqueeze(0)
    if rgb:  # the original's order of operations, in float32
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (t / 255.0 - mean) / std
    # blobFromImageWithParams: (pixel - mean * 255) * (1 / std / 255), the factors rounded to float32.
    mean = torch.tensor([m * 255.0 for m in IMAGENET_MEAN], dtype=torch.float64).float().view(1, 3, 1, 1)
    scale = torch.tensor([1.0 / s / 255.0 for s in IMAGENET_STD], dtype=torch.float64).float().view(1, 3, 1, 1)
    return (t - mean) * scale


@TRACKERS.register()
class VitTracker(BaseTracker):
    """One-stream centre-head tracker (VitTrack); see the module docstring.

    Args:
        model: a one-stream model (``template(z)``; ``track(x) -> {"score", "size", "offset"}``).
        template_factor, search_factor: crop sides over ``sqrt(w * h)`` (2 and 4; OpenCV
            rounds them to integers).
        exemplar_size, instance_size: network template and search sides (128, 256).
        score_threshold: windowed score below which the frame is reported lost (OpenCV: 0.2).
        postprocess: ``"opencv"`` or ``"original"``.
        clip_box_to_image: intersect the reported ``bbox`` with the image (``raw_bbox`` never is).

    ``track`` returns ``{"bbox", "raw_bbox", "best_score", "lost"}``.
    """

    HEAD = "centre map"  # score, size and offset maps of a one-stream model (pysot.tracker.check_head_fits)

    def __init__(self, model: torch.nn.Module, *, template_factor: float = 2.0, search_factor: float = 4.0,
                 exemplar_size: int = 128, instance_size: int = 256, score_threshold: float = 0.2,
                 postprocess: str = "opencv", clip_box_to_image: bool = True) -> None:
        super().__init__(model, clip_box_to_image=clip_box_to_image)
        if postprocess not in POSTPROCESSES:
            raise ValueError(f"postprocess {postprocess!r}: expected one of {', '.join(POSTPROCESSES)}")
        if not (template_factor > 0 and search_factor > 0):
            raise ValueError(f"template_factor ({template_factor}) and search_factor ({search_factor}) must be > 0")
        self.postprocess = postprocess
        self.template_factor, self.search_factor = float(template_factor), float(search_factor)
        if postprocess == "opencv":
            # tracker_vit.cpp passes the factors as int.
            self.template_factor, self.search_factor = int(template_factor), int(search_factor)
        self.exemplar_size, self.instance_size = int(exemplar_size), int(instance_size)
        self.score_threshold = float(score_threshold)
        self._window: np.ndarray = np.zeros((0, 0), np.float32)
        self.box = [0.0, 0.0, 0.0, 0.0]

    @classmethod
    def config_kwargs(cls, cfg) -> Dict[str, object]:
        t = cfg.TRACK
        return dict(template_factor=t.TEMPLATE_FACTOR, search_factor=t.SEARCH_FACTOR, exemplar_size=t.EXEMPLAR_SIZE,
                    instance_size=t.INSTANCE_SIZE, score_threshold=t.SCORE_THRESHOLD, postprocess=t.POSTPROCESS,
                    clip_box_to_image=t.CLIP_BOX_TO_IMAGE)

    @property
    def _rgb(self) -> bool:
        return self.postprocess == "original"

    def _set_box(self, box: Sequence[float]) -> None:
        self.box = [float(v) for v in box]
        x, y, w, h = self.box
        self.center_pos = np.array([x + w / 2, y + h / 2])
        self.size = np.array([w, h])

    def init(self, img: np.ndarray, bbox: Sequence[float]) -> None:
        img = self._start(img, bbox)
        box = [float(v) for v in bbox]
        if self.postprocess == "opencv":
            box = [float(int(v)) for v in box]  # cv::Rect from Python numbers truncates
            patch, _ = crop_opencv(img, box, self.template_factor, self.exemplar_size)
        else:
            patch, _ = crop_original(img, box, self.template_factor, self.exemplar_size)
        self._set_box(box)
        self.model.template(normalize(patch, self._rgb).to(self.device))

    def track(self, img: np.ndarray) -> Dict[str, object]:
        img = self._next_frame(img)
        if self.postprocess == "opencv":
            patch, crop = crop_opencv(img, self.box, self.search_factor, self.instance_size)
        else:
            patch, resize_factor = crop_original(img, self.box, self.search_factor, self.instance_size)
        out = self.model.track(normalize(patch, self._rgb).to(self.device))
        score = nan_to_num(out["score"][0, 0].detach().float().cpu().numpy(), nan=0.0)
        size = nan_to_num(out["size"][0].detach().float().cpu().numpy(), nan=0.0)
        offset = nan_to_num(out["offset"][0].detach().float().cpu().numpy(), nan=0.0)
        feat = score.shape[-1]
        if self._window.shape != score.shape:
            self._window = hann2d(feat)
        response = score * self._window
        row, col = np.unravel_index(int(np.argmax(response)), response.shape)  # first maximum, row-major
        windowed = float(response[row, col])
        lost = windowed < self.score_threshold
        if self.postprocess == "opencv":
            best_score = windowed
            box = self._opencv_box(row, col, size, offset, feat, crop)
            if box[2] < 1 or box[3] < 1:
                # A box floored to zero width would make the next crop empty (OpenCV then fails
                # inside resize); treat it as a lost frame and keep searching around the old box.
                lost = True
            if not lost:
                self._set_box(box)
        else:
            best_score = float(score.max())
            self._set_box(self._original_box(row, col, size, offset, feat, resize_factor))
        result = self._report_box()
        result.update(best_score=best_score, lost=bool(lost))
        return result

    def _opencv_box(self, row: int, col: int, size: np.ndarray, offset: np.ndarray, feat: int,
                    crop: int) -> list:
        """tracker_vit.cpp's ``updateLastRect``, in its float32 arithmetic."""
        f32 = np.float32
        cx = (f32(col) + offset[0, row, col]) / f32(feat)
        cy = (f32(row) + offset[1, row, col]) / f32(feat)
        w, h = size[0, row, col], size[1, row, col]
        x, y, bw, bh = (int(v) for v in self.box)
        x0, y0 = x + _c_half(bw - crop), y + _c_half(bh - crop)
        c = f32(crop)
        box = [math.floor(f32(cx - w / f32(2)) * c + f32(x0)), math.floor(f32(cy - h / f32(2)) * c + f32(y0)),
               math.floor(w * c), math.floor(h * c)]
        return [float(v) for v in _clip_int_box(box, self.image_shape, CLIP_MARGIN)]

    def _original_box(self, row: int, col: int, size: np.ndarray, offset: np.ndarray, feat: int,
                      resize_factor: float) -> list:
        """``cal_bbox`` + ``map_box_back`` + ``clip_box(margin=10)`` of the original tracker."""
        f32 = np.float32
        # cal_bbox in float32, then "* search_size / resize_factor" on the float32 tensor.
        rel = np.array([(f32(col) + offset[0, row, col]) / f32(feat), (f32(row) + offset[1, row, col]) / f32(feat),
                        size[0, row, col], size[1, row, col]], dtype=np.float32)
        pred = [float(v) for v in (rel * f32(self.instance_size) / f32(resize_factor)).astype(np.float32)]
        x, y, w, h = self.box
        half = 0.5 * self.instance_size / resize_factor
        cx = pred[0] + (x + 0.5 * w - half)
        cy = pred[1] + (y + 0.5 * h - half)
        bw, bh = pred[2], pred[3]
        im_h, im_w = self.image_shape[:2]
        margin = 10
        x1, y1, x2, y2 = cx - 0.5 * bw, cy - 0.5 * bh, cx - 0.5 * bw + bw, cy - 0.5 * bh + bh
        x1 = min(max(0, x1), im_w - margin)
        x2 = min(max(margin, x2), im_w)
        y1 = min(max(0, y1), im_h - margin)
        y2 = min(max(margin, y2), im_h)
        return [x1, y1, max(margin, x2 - x1), max(margin, y2 - y1)]

    def _report_box(self) -> Dict[str, list]:
        raw = list(self.box)
        shown = clip_box_xywh(raw, self.image_shape) if self.clip_box_to_image else list(raw)
        return {"bbox": shown, "raw_bbox": raw}
