"""What every tracker shares: frame and box checks, state clipping, crops, the model's device.

Tracker contract (all trackers of :mod:`pysot.tracker`)
-------------------------------------------------------
``tracker.init(img, bbox_xywh)`` then ``tracker.track(img) -> dict`` per frame.

* Images are ``H x W x 3`` uint8 BGR (OpenCV). Other layouts are handled thus:
  grayscale ``H x W`` or ``H x W x 1`` frames are converted to 3-channel BGR;
  ``H x W x 4`` (BGRA) frames lose their alpha channel; any other shape raises
  ``ValueError`` naming the shape. Other dtypes are converted to uint8, with a
  warning (once per conversion) saying how: bool as 0/255, uint16 scaled by
  255/65535, a float frame whose values all lie in [0, 1] scaled by 255, anything
  else (other floats and integers) clipped to 0..255 and truncated, NaN as 0.
* Boxes are ``[x, y, w, h]``, 0-based, top-left corner; the tracker's state is the
  centre ``(x + (w - 1) / 2, y + (h - 1) / 2)`` and the size ``(w, h)``, as in PySOT.
* ``init`` raises ``ValueError`` (naming the box and the image size) for a box
  with a non-finite value, ``w < 1`` or ``h < 1`` px, ``w`` or ``h`` more than
  ``MAX_INIT_BOX_TO_IMAGE`` (2) times the image's width or height, or no overlap
  with the image (:func:`validate_init_box`, shared by every tracker and ``MultiTracker``).
* ``track`` returns at least ``{"bbox": [x, y, w, h], "raw_bbox": [x, y, w, h], "best_score": float}``.
  ``raw_bbox`` is the box the original implementation reported, never clipped to the
  image (result files that must match the original's carry it).
  The reported box and ``best_score`` are always finite, even when the model
  outputs NaN/inf (such a score counts as no evidence for the target). With ``clip_box_to_image`` (the default)
  it is also intersected with the image, so it never leaves the frame; the
  internal state is clipped exactly as the original PySOT does (centre inside
  ``[0, W] x [0, H]``, size in ``[10, W] x [10, H]``), so a target leaving the
  frame keeps being searched at the border.
* A frame whose size differs from the previous one is accepted: the state is
  clipped to the new bounds before cropping.
* Inputs are moved to the model's device (``next(model.parameters()).device``).
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch

from pysot.utils.crop import get_subwindow_hwc, hwc_to_nchw, round_half_away  # noqa: F401  (round_half_away: re-exported)
from pysot.utils.log import get_logger
from pysot.utils.model_load import model_device

logger = get_logger("pysot.tracker")

MIN_TARGET_SIZE = 10.0  # the original trackers never let the size drop below 10 px
# Init box limits. Below a pixel the context crop degenerates (zero-size crops inside
# OpenCV); far beyond the frame the mean-padded crop would need gigabytes
# (a 1e7 px box asks OpenCV for 1e15 bytes). The state is clipped to the frame after
# the first frame anyway, so twice the frame leaves room for a target sticking out.
MIN_INIT_BOX_SIZE = 1.0
MAX_INIT_BOX_TO_IMAGE = 2.0


def prepare_frame(img: np.ndarray, where: str = "frame") -> np.ndarray:
    """Return ``img`` as an ``H x W x 3`` uint8 BGR array (see the module docstring)."""
    if not isinstance(img, np.ndarray):
        raise ValueError(f"{where}: expected a numpy image (H x W x 3 uint8 BGR), got {type(img).__name__}")
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4) or img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f"{where}: expected an H x W x 3 BGR image (or H x W gray, H x W x 4 BGRA), "
                         f"got shape {tuple(img.shape)}")
    if img.dtype != np.uint8:
        img = _to_uint8(img)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif img.shape[2] == 4:
        img = img[:, :, :3]
    return np.ascontiguousarray(img)


_WARNED_CONVERSIONS: set = set()


def _to_uint8(img: np.ndarray) -> np.ndarray:
    """A non-uint8 frame as uint8 (the rules in the module docstring); warns once per conversion,
    since a silently rescaled (or blackened) frame changes what the tracker sees."""
    if img.dtype == np.bool_:
        how, out = "bool frame: False/True as 0/255", img.astype(np.uint8) * 255
    elif img.dtype == np.uint16:
        how, out = "uint16 frame: scaled by 255/65535", np.round(img / 257.0).astype(np.uint8)
    else:
        values = np.nan_to_num(img.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        if img.dtype.kind == "f" and values.size and values.min() >= 0.0 and values.max() <= 1.0:
            how, out = f"{img.dtype} frame with values in [0, 1]: scaled by 255", np.round(values * 255.0)
        else:
            how, out = f"{img.dtype} frame: clipped to 0..255 and truncated (NaN as 0)", np.clip(values, 0, 255)
        out = out.astype(np.uint8)
    if how not in _WARNED_CONVERSIONS:
        _WARNED_CONVERSIONS.add(how)
        logger.warning("frames are expected as uint8 BGR; converting a %s", how)
    return out


def validate_init_box(bbox: Sequence[float], image_shape: Tuple[int, ...]) -> Tuple[float, float, float, float]:
    """Check an ``[x, y, w, h]`` init box (0-based, pixels) against an ``(H, W, ...)`` image; return it as floats.

    Raises ``ValueError`` naming the box and the image size (see the module docstring for the limits).
    """
    try:
        values = [float(v) for v in np.asarray(bbox, dtype=np.float64).ravel()]
    except (TypeError, ValueError):
        raise ValueError(f"init box {bbox!r}: expected four numbers x, y, w, h") from None
    im_h, im_w = image_shape[:2]
    if len(values) != 4:
        raise ValueError(f"init box {bbox!r}: expected four numbers x, y, w, h, got {len(values)}")
    x, y, w, h = values
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"init box {values}: every value must be finite (image {im_w}x{im_h})")
    if w < MIN_INIT_BOX_SIZE or h < MIN_INIT_BOX_SIZE:
        raise ValueError(f"init box {values}: width and height must be at least {MIN_INIT_BOX_SIZE:g} px "
                         f"(image {im_w}x{im_h})")
    if w > MAX_INIT_BOX_TO_IMAGE * im_w or h > MAX_INIT_BOX_TO_IMAGE * im_h:
        raise ValueError(f"init box {values}: width and height may be at most {MAX_INIT_BOX_TO_IMAGE:g} times "
                         f"the image's (image {im_w}x{im_h})")
    if x + w <= 0 or y + h <= 0 or x >= im_w or y >= im_h:
        raise ValueError(f"init box {values} lies entirely outside the {im_w}x{im_h} image")
    return x, y, w, h


def nan_to_num(values: np.ndarray, nan: float) -> np.ndarray:
    """``np.nan_to_num(values, nan=nan)`` (infinities to the largest finite values), without its
    copy and four masks when every value is finite, as on every normal frame."""
    return values if np.isfinite(values).all() else np.nan_to_num(values, nan=nan)


def clip_state(center: np.ndarray, size: np.ndarray, image_shape: Tuple[int, ...]) -> Tuple[np.ndarray, np.ndarray]:
    """PySOT's clipping: centre into ``[0, W] x [0, H]``, size into ``[10, W] x [10, H]``."""
    im_h, im_w = image_shape[:2]
    cx = max(0.0, min(float(center[0]), im_w))
    cy = max(0.0, min(float(center[1]), im_h))
    w = max(MIN_TARGET_SIZE, min(float(size[0]), im_w))
    h = max(MIN_TARGET_SIZE, min(float(size[1]), im_h))
    return np.array([cx, cy]), np.array([w, h])


def clip_box_xywh(box: Sequence[float], image_shape: Tuple[int, ...]) -> list:
    """Intersect ``[x, y, w, h]`` with the image; an empty intersection keeps a 0-size box on the border."""
    im_h, im_w = image_shape[:2]
    x1 = min(max(box[0], 0.0), im_w)
    y1 = min(max(box[1], 0.0), im_h)
    x2 = min(max(box[0] + box[2], 0.0), im_w)
    y2 = min(max(box[1] + box[3], 0.0), im_h)
    return [float(x1), float(y1), float(x2 - x1), float(y2 - y1)]


class BaseTracker:
    """Frame/box handling shared by all trackers; subclasses implement ``init`` and ``track``.

    State: ``center_pos`` (``[cx, cy]``) and ``size`` (``[w, h]``) in image pixels.
    """

    # Python-2 rounding of the crop window (the DaSiamRPN release); trackers that offer it set it per instance.
    legacy_rounding = False
    #: What the model's head must output: "anchors" (an RPN head), "points" (a BAN head),
    #: "score map" (SiamFC's head) or None (any); NEEDS_MASK: a mask head too.
    HEAD: Optional[str] = None
    NEEDS_MASK = False

    def __init__(self, model: torch.nn.Module, clip_box_to_image: bool = True) -> None:
        self.model = model
        self.model.eval()
        self.clip_box_to_image = bool(clip_box_to_image)
        self.center_pos = np.zeros(2)
        self.size = np.zeros(2)
        self.image_shape: Tuple[int, int] = (0, 0)
        self._initialized = False

    # ---------------------------------------------------------------- construction
    @classmethod
    def config_kwargs(cls, cfg) -> Dict[str, object]:  # pragma: no cover - interface
        """Map a config node onto the subclass's keyword arguments (everything but ``model``)."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, cfg, model: torch.nn.Module) -> "BaseTracker":
        return cls(model, **cls.config_kwargs(cfg))

    # ---------------------------------------------------------------- frames and state
    def _start(self, img: np.ndarray, bbox: Sequence[float]) -> np.ndarray:
        """Validate the first frame and box; set ``center_pos``/``size``; return the BGR frame."""
        img = prepare_frame(img, "init frame")
        x, y, w, h = validate_init_box(bbox, img.shape)
        self.center_pos = np.array([x + (w - 1) / 2, y + (h - 1) / 2])
        self.size = np.array([w, h])
        self.image_shape = img.shape[:2]
        self._initialized = True
        return img

    def _next_frame(self, img: np.ndarray) -> np.ndarray:
        """Validate a tracking frame; re-clip the state when the frame size changed."""
        if not self._initialized:
            raise RuntimeError(f"{type(self).__name__}.track() called before init()")
        img = prepare_frame(img, "frame")
        if img.shape[:2] != tuple(self.image_shape):
            logger.warning("frame size changed from %s to %s; clipping the target state to the new frame",
                           tuple(self.image_shape), img.shape[:2])
            self.image_shape = img.shape[:2]
            self.center_pos, self.size = clip_state(self.center_pos, self.size, self.image_shape)
        return img

    def _report(self, center: np.ndarray, size: np.ndarray) -> Dict[str, list]:
        """The two boxes every tracker returns for the state ``center``/``size``.

        ``raw_bbox``: ``[cx - w/2, cy - h/2, w, h]``, PySOT's and the DaSiamRPN release's
        output form, never clipped (what the original ``test.py`` wrote to its result files).
        ``bbox``: the same box, intersected with the image when ``clip_box_to_image`` is on.
        """
        raw = [float(center[0] - size[0] / 2), float(center[1] - size[1] / 2), float(size[0]), float(size[1])]
        shown = clip_box_xywh(raw, self.image_shape) if self.clip_box_to_image else list(raw)
        return {"bbox": shown, "raw_bbox": raw}

    # ---------------------------------------------------------------- model I/O
    @property
    def device(self) -> torch.device:
        device = getattr(self.model, "device", None)  # a FastModel says; walking parameters costs ~15 us
        return device if isinstance(device, torch.device) else model_device(self.model)

    def _crop(self, img: np.ndarray, center: np.ndarray, model_size: int, original_size: float) -> torch.Tensor:
        """``[1, 3, model_size, model_size]`` float32 crop (mean-colour padding) on the model's device.

        For a model that runs channels-last (the fast path) the crop is made in that layout
        directly: the ``H x W x 3`` patch already is one, which saves two copies of the crop.
        """
        patch = get_subwindow_hwc(img, center, model_size, original_size, self.channel_average,
                                  half_away=self.legacy_rounding)
        if getattr(self.model, "channels_last", False) is True:
            crop = torch.from_numpy(np.ascontiguousarray(patch)).float().permute(2, 0, 1).unsqueeze(0)
        else:
            crop = torch.from_numpy(hwc_to_nchw(patch))
        return crop.to(self.device)

    def init(self, img: np.ndarray, bbox: Sequence[float]) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def track(self, img: np.ndarray) -> Dict[str, object]:  # pragma: no cover - interface
        raise NotImplementedError
