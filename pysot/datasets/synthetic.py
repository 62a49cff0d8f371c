"""Synthetic tracking data: textured objects of a few categories moving over
textured backgrounds.

Used by the tests, by the README's no-download demo and to train the tiny
shipped model. Objects of one category share a shape and a colour family, so
same-category (semantic distractor) negative pairs exist.

Images are ``H x W x 3`` uint8 BGR; boxes are ``[x, y, w, h]`` with a 0-based
top-left corner, the benchmark convention.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from pysot.datasets.crop511 import crop_track_frame, write_annotations

__all__ = ["CATEGORIES", "render_clip", "write_sequence_folders", "write_crop511_dataset"]

# (shape, hue in OpenCV's 0..180 scale): one colour family and one silhouette per category.
CATEGORIES: Tuple[Tuple[str, int], ...] = (
    ("ellipse", 0), ("rectangle", 30), ("diamond", 60), ("triangle", 95), ("cross", 125), ("ring", 155),
)


@dataclass
class _ObjectTrack:
    category: int
    sprite: np.ndarray  # [S, S, 3] uint8 texture
    mask: np.ndarray  # [S, S] float32 in 0..1, the silhouette
    boxes: np.ndarray  # [N, 4] float xywh per frame


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    coarse = rng.random((max(2, h // cell + 2), max(2, w // cell + 2)), dtype=np.float32)
    return cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Low-frequency colour noise plus a few faint stripes: clutter without objects."""
    layers = []
    for _ in range(3):
        layers.append(0.6 * _smooth_noise(rng, h, w, int(rng.integers(16, 48)))
                      + 0.4 * _smooth_noise(rng, h, w, int(rng.integers(4, 10))))
    img = np.stack(layers, axis=-1)
    img = 60 + 120 * (img - img.min()) / max(1e-6, float(img.max() - img.min()))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) / rng.uniform(6, 20))
    img += 12 * stripes[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def _silhouette(shape: str, size: int) -> np.ndarray:
    m = np.zeros((size, size), np.uint8)
    c, r = size // 2, size // 2 - 1
    if shape == "ellipse":
        cv2.ellipse(m, (c, c), (r, r), 0, 0, 360, 255, -1)
    elif shape == "rectangle":
        m[:, :] = 255
    elif shape == "diamond":
        cv2.fillPoly(m, [np.array([[c, 0], [size - 1, c], [c, size - 1], [0, c]], np.int32)], 255)
    elif shape == "triangle":
        cv2.fillPoly(m, [np.array([[c, 0], [size - 1, size - 1], [0, size - 1]], np.int32)], 255)
    elif shape == "cross":
        t = size // 3
        m[t:size - t, :] = 255
        m[:, t:size - t] = 255
    elif shape == "ring":
        cv2.ellipse(m, (c, c), (r, r), 0, 0, 360, 255, -1)
        cv2.ellipse(m, (c, c), (r // 2, r // 2), 0, 0, 360, 0, -1)
    else:
        raise ValueError(f"unknown synthetic shape {shape!r}")
    return m.astype(np.float32) / 255.0


def _sprite(rng: np.random.Generator, category: int, size: int = 64) -> Tuple[np.ndarray, np.ndarray]:
    """A textured instance of ``category``: hue family fixed, pattern random per instance."""
    shape, hue = CATEGORIES[category]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    pattern = rng.integers(0, 3)
    period = rng.uniform(5, 12)
    if pattern == 0:
        tex = np.sin(xx / period * 2) * np.sin(yy / period * 2)
    elif pattern == 1:
        tex = np.sin((xx + yy) / period * 2)
    else:
        tex = _smooth_noise(rng, size, size, 8) * 2 - 1
    hsv = np.empty((size, size, 3), np.float32)
    hsv[..., 0] = (hue + rng.uniform(-8, 8) + 6 * tex) % 180
    hsv[..., 1] = np.clip(rng.uniform(170, 240) + 20 * tex, 0, 255)
    hsv[..., 2] = np.clip(rng.uniform(150, 230) + 60 * tex, 0, 255)
    bgr = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
    mask = _silhouette(shape, size)
    # A dark outline makes the silhouette, not only the colour, carry the category.
    edge = cv2.morphologyEx((mask > 0.5).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    bgr[edge > 0] = (bgr[edge > 0] * 0.3).astype(np.uint8)
    return bgr, mask


def _trajectory(rng: np.random.Generator, n: int, img_w: int, img_h: int,
                min_size: float, max_size: float) -> np.ndarray:
    """Smooth bouncing motion with slow size and aspect changes; ``[n, 4]`` xywh."""
    base = rng.uniform(min_size, max_size)
    aspect = rng.uniform(0.6, 1.6)
    w, h = base * np.sqrt(aspect), base / np.sqrt(aspect)
    x, y = rng.uniform(0, img_w - w), rng.uniform(0, img_h - h)
    speed = rng.uniform(1.0, 4.0)
    angle = rng.uniform(0, 2 * np.pi)
    vx, vy = speed * np.cos(angle), speed * np.sin(angle)
    scale_rate = rng.uniform(-0.006, 0.006)
    boxes = np.zeros((n, 4), np.float64)
    for i in range(n):
        boxes[i] = (x, y, w, h)
        vx += rng.normal(0, 0.3)
        vy += rng.normal(0, 0.3)
        x, y = x + vx, y + vy
        if x < 0 or x + w > img_w:
            vx = -vx
            x = float(np.clip(x, 0, img_w - w))
        if y < 0 or y + h > img_h:
            vy = -vy
            y = float(np.clip(y, 0, img_h - h))
        factor = 1 + scale_rate
        if min_size * 0.7 < w * factor < max_size * 1.3 and h * factor < img_h * 0.8 and w * factor < img_w * 0.8:
            cx, cy = x + w / 2, y + h / 2
            w, h = w * factor, h * factor
            x, y = float(np.clip(cx - w / 2, 0, img_w - w)), float(np.clip(cy - h / 2, 0, img_h - h))
    return boxes


def _paste(img: np.ndarray, sprite: np.ndarray, mask: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """Alpha-blend ``sprite`` resized to the integer box; returns the pasted box (xywh, ints)."""
    x, y = int(round(box[0])), int(round(box[1]))
    w, h = max(2, int(round(box[2]))), max(2, int(round(box[3])))
    H, W = img.shape[:2]
    x, y = min(max(x, 0), W - w), min(max(y, 0), H - h)
    s = cv2.resize(sprite, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    a = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    region = img[y:y + h, x:x + w].astype(np.float32)
    img[y:y + h, x:x + w] = (a * s + (1 - a) * region).astype(np.uint8)
    return np.array([x, y, w, h], np.float64)


def _render(rng: np.random.Generator, num_frames: int, size: Tuple[int, int], num_objects: int,
            category: Optional[int], same_category_distractors: bool, min_size: float, max_size: float,
            noise: float) -> Tuple[List[np.ndarray], List[_ObjectTrack], List[np.ndarray]]:
    img_w, img_h = size
    bg = _background(rng, img_w, img_h)
    tracks: List[_ObjectTrack] = []
    main_cat = int(rng.integers(len(CATEGORIES))) if category is None else int(category)
    for k in range(num_objects):
        if k == 0 or same_category_distractors:
            cat = main_cat
        else:
            cat = int(rng.integers(len(CATEGORIES)))
        sprite, mask = _sprite(rng, cat)
        boxes = _trajectory(rng, num_frames, img_w, img_h, min_size, max_size)
        tracks.append(_ObjectTrack(cat, sprite, mask, boxes))
    frames: List[np.ndarray] = []
    masks: List[List[np.ndarray]] = []  # per frame, per track: H x W float in 0..1
    for i in range(num_frames):
        img = bg.copy()
        # Distractors are drawn first so the tracked object (track 0) is never hidden.
        frame_masks = [np.zeros((img_h, img_w), np.float32) for _ in tracks]
        for k in reversed(range(len(tracks))):
            t = tracks[k]
            pasted = _paste(img, t.sprite, t.mask, t.boxes[i])
            t.boxes[i] = pasted
            x, y, w, h = pasted.astype(int)
            frame_masks[k][y:y + h, x:x + w] = cv2.resize(t.mask, (w, h))
        if noise > 0:
            img = np.clip(img.astype(np.float32) + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
        frames.append(img)
        masks.append(frame_masks)
    return frames, tracks, masks


def render_clip(num_frames: int = 60, size: Tuple[int, int] = (320, 240), seed: int = 0,
                num_distractors: int = 0, same_category_distractors: bool = True,
                category: Optional[int] = None, min_size: float = 24, max_size: float = 56,
                noise: float = 3.0, return_masks: bool = False):
    """Render one clip of a textured object moving over a textured background.

    Args:
        num_frames: number of frames N.
        size: ``(width, height)`` of every frame.
        seed: the clip is a pure function of its arguments.
        num_distractors: extra moving objects (drawn below the target).
        same_category_distractors: distractors share the target's category (DaSiamRPN's hard case).
        category: index into :data:`CATEGORIES`; random when None.
        return_masks: also return the target's ``H x W`` float mask per frame (SiamMask).

    Returns:
        ``(frames, gt)``: N ``H x W x 3`` uint8 BGR frames and ``[N, 4]`` float xywh boxes
        of the target; ``(frames, gt, masks)`` when ``return_masks``.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    w, h = int(size[0]), int(size[1])
    if w < 2 * max_size or h < 2 * max_size:
        raise ValueError(f"size {size} is too small for objects up to {max_size}px (need 2x)")
    rng = np.random.default_rng(seed)
    frames, tracks, masks = _render(rng, num_frames, (w, h), 1 + num_distractors, category,
                                    same_category_distractors, min_size, max_size, noise)
    gt = tracks[0].boxes.copy()
    if return_masks:
        return frames, gt, [m[0] for m in masks]
    return frames, gt


def write_sequence_folders(out_dir: str, num_videos: int = 8, num_frames: int = 30,
                           size: Tuple[int, int] = (320, 240), seed: int = 0,
                           num_distractors: int = 1) -> List[str]:
    """Write clips as a "folder of sequences": ``<out>/<video>/{00000001.jpg..., groundtruth.txt, category.txt}``.

    ``groundtruth.txt`` holds one ``x,y,w,h`` line per frame; ``category.txt`` the
    category name. This is the generic layout ``training_dataset.prepare generic`` reads.
    Returns the video names.
    """
    names = []
    for v in range(num_videos):
        category = v % len(CATEGORIES)
        frames, gt = render_clip(num_frames, size, seed=seed * 100003 + v, num_distractors=num_distractors,
                                 same_category_distractors=(v % 2 == 0), category=category)
        name = f"synthetic_{v:04d}"
        vdir = os.path.join(out_dir, name)
        os.makedirs(vdir, exist_ok=True)
        for i, f in enumerate(frames):
            cv2.imwrite(os.path.join(vdir, f"{i + 1:08d}.jpg"), f, [cv2.IMWRITE_JPEG_QUALITY, 92])
        np.savetxt(os.path.join(vdir, "groundtruth.txt"), gt, fmt="%.2f", delimiter=",")
        with open(os.path.join(vdir, "category.txt"), "w") as fh:
            fh.write(CATEGORIES[category][0] + "\n")
        names.append(name)
    return names


def write_crop511_dataset(out_dir: str, num_videos: int = 8, num_frames: int = 30,
                          size: Tuple[int, int] = (320, 240), seed: int = 0, num_distractors: int = 1,
                          frame_step: int = 1, with_masks: bool = False) -> Dict[str, str]:
    """Render clips straight into the crop-511 training layout.

    Writes ``<out>/crop511/<video>/<frame:06d>.<track:02d>.x.jpg``, ``<out>/train.json``
    (``{video: {track: {frame: [x1, y1, x2, y2]}}}``, original-image coordinates)
    and ``<out>/train_category.json`` (``{video: {track: category}}``). Every
    object of a clip (target and distractors) is a track. Returns the paths as a
    dict with keys ``root`` and ``anno``. ``with_masks`` also writes the
    ``<frame:06d>.<track:02d>.m.png`` mask crops SiamMask training reads.
    """
    crop_root = os.path.join(out_dir, "crop511")
    annotations: Dict[str, Dict[str, Dict[str, list]]] = {}
    categories: Dict[str, Dict[str, str]] = {}
    for v in tqdm(range(num_videos), desc="synthetic crop511", unit="video"):
        rng = np.random.default_rng(seed * 100003 + v)
        frames, tracks, masks = _render(rng, num_frames, (int(size[0]), int(size[1])), 1 + num_distractors,
                                    v % len(CATEGORIES), v % 2 == 0, 24, 56, 3.0)
        video = f"synthetic_{v:04d}"
        annotations[video] = {}
        categories[video] = {}
        for t, track in enumerate(tracks):
            key = f"{t:02d}"
            annotations[video][key] = {}
            categories[video][key] = CATEGORIES[track.category][0]
            for i in range(0, num_frames, frame_step):
                x, y, w, h = track.boxes[i]
                corner = [float(x), float(y), float(x + w), float(y + h)]
                mask = (masks[i][t] > 0.5).astype(np.uint8) * 255 if with_masks else None
                crop_track_frame(frames[i], corner, os.path.join(crop_root, video), i, t, mask=mask)
                annotations[video][key][f"{i:06d}"] = corner
    anno = os.path.join(out_dir, "train.json")
    write_annotations(anno, annotations, categories)
    return {"root": crop_root, "anno": anno}
