"""Training pairs from crop-511 sub-datasets.

A sub-dataset is a crop-511 folder plus its json index
``{video: {track: {frame: [x1, y1, x2, y2]}}}`` (boxes in original image
coordinates) and optionally ``<json stem>_category.json`` ``{video: {track: category}}``.

Sampling is deterministic: sample ``i`` of epoch ``e`` draws everything from
``numpy.random.default_rng([seed, e, i])``, whatever worker or rank loads it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch.utils.data

from pysot.datasets.anchor_target import AnchorTarget, SiamFCLabel
from pysot.datasets.center_target import CenterTarget
from pysot.datasets.point_target import PointTarget
from pysot.datasets.augmentation import Augmentation, integers
from pysot.utils.log import get_logger

logger = get_logger("pysot.datasets")

CROP_SIZE = 511
# The exemplar side the crop-511 images were cut for (training_dataset/crop.py): the target's context
# square spans this many of their pixels, whatever template side a model then crops from them.
CROP_EXEMPLAR_SIZE = 127
SUB_DATASET_KEYS = ("ROOT", "ANNO", "FRAME_RANGE", "NUM_USE")


class DatasetError(ValueError):
    """A training annotation file that cannot be used; the message names the file."""


@dataclass
class Track:
    """One annotated object track of a sub-dataset."""

    dataset: int  # index of the sub-dataset
    video: str
    track: str
    frames: List[str]  # frame keys, sorted
    boxes: Dict[str, List[float]]
    category: Optional[str]


@dataclass
class PairSpec:
    """What one training sample is made of (before loading and cropping)."""

    template: Tuple[int, str]  # (track index, frame key)
    search: Tuple[int, str]
    negative: bool
    same_category: bool


def _valid(box: Sequence[float]) -> bool:
    return (isinstance(box, (list, tuple)) and len(box) == 4 and all(np.isfinite(box))
            and box[2] > box[0] and box[3] > box[1])


class SubDataset:
    """One crop-511 dataset.

    Args:
        name: label used in logs.
        root: the ``crop511`` folder.
        anno: the json index.
        frame_range: max distance (in annotated frames) between template and search.
        num_use: tracks drawn per epoch; -1 uses every track once.
    """

    def __init__(self, name: str, root: str, anno: str, frame_range: int = 100, num_use: int = -1) -> None:
        self.name, self.root, self.anno = name, root, anno
        self.frame_range, self.num_use_requested = int(frame_range), int(num_use)
        if not os.path.isfile(anno):
            raise DatasetError(f"{name}: annotation file not found: {anno} (run python -m training_dataset.prepare)")
        try:
            with open(anno, "r", encoding="utf-8") as f:
                data = json.load(f)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{anno}: not valid json: {e}") from None
        if not isinstance(data, dict):
            raise DatasetError(f"{anno}: expected {{video: {{track: {{frame: box}}}}}}")
        cat_path = os.path.splitext(anno)[0] + "_category.json"
        categories = {}
        if os.path.isfile(cat_path):
            with open(cat_path, "r", encoding="utf-8") as f:
                categories = json.load(f)
        self.tracks: List[Tuple[str, str, List[str], Dict[str, List[float]], Optional[str]]] = []
        # The original PySOT's view: videos and their tracks in the json's order, frames sorted
        # (its sampler indexes videos by that order).
        self.labels: Dict[str, Dict[str, Tuple[List[str], Dict[str, List[float]]]]] = {}
        for video, tracks in data.items():
            if not isinstance(tracks, dict):
                continue  # reported below
            kept = {}
            for track, frames in tracks.items():
                if isinstance(frames, dict):
                    boxes = {k: v for k, v in frames.items() if k.isdigit() and _valid(v)}
                    if boxes:
                        kept[track] = (sorted(boxes, key=int), boxes)
            if kept:
                self.labels[video] = kept
        self.videos = list(self.labels)
        dropped = 0
        for video in sorted(data):
            tracks = data[video]
            if not isinstance(tracks, dict):
                raise DatasetError(f"{anno}: video {video!r} must map track ids to frames")
            for track in sorted(tracks):
                frames = tracks[track]
                if not isinstance(frames, dict):
                    raise DatasetError(f"{anno}: {video}/{track} must map frame ids to boxes")
                boxes = {k: v for k, v in frames.items() if k.isdigit() and _valid(v)}
                dropped += len(frames) - len(boxes)
                if boxes:
                    cat = categories.get(video, {}).get(track)
                    self.tracks.append((video, track, sorted(boxes), boxes, cat))
        if not self.tracks:
            raise DatasetError(f"{anno}: no track with a valid box")
        self._check_root()
        if dropped:
            logger.info(f"{name}: skipped {dropped} empty/invalid boxes in {anno}")
        self.num_use = len(self.tracks) if self.num_use_requested < 0 else self.num_use_requested

    def _check_root(self) -> None:
        """Fail now, naming ROOT, when it does not hold the crops ANNO lists (else the first
        batch would fail inside a DataLoader worker, after the model was built)."""
        if not os.path.isdir(self.root):
            raise DatasetError(f"DATASET.{self.name}.ROOT: crop folder not found: {self.root} "
                               f"(the crop511 folder written with {self.anno})")
        video, track, frames, _, _ = self.tracks[0]
        first = self.image_path(video, track, frames[0])
        if not os.path.isfile(first):
            nested = os.path.join(self.root, "crop511")
            hint = f"; did you mean {nested}?" if os.path.isdir(nested) else ""
            raise DatasetError(f"DATASET.{self.name}.ROOT: {first}, the first crop {self.anno} lists, does not "
                               f"exist; ROOT must be the crop511 folder written with that ANNO{hint}")

    def image_path(self, video: str, track: str, frame: str) -> str:
        return os.path.join(self.root, video, f"{frame}.{track}.x.jpg")

    def mask_path(self, video: str, track: str, frame: str) -> str:
        return os.path.join(self.root, video, f"{frame}.{track}.m.png")


def box_in_crop(box: Sequence[float], exemplar_size: int = 127, crop_size: int = CROP_SIZE,
                context_amount: float = 0.5) -> np.ndarray:
    """Map an original-image corner box into its crop-511 image (corner box, crop pixels), as the
    original PySOT's ``_get_bbox``: centred on ``crop_size // 2``, size scaled by
    ``exemplar_size / s_z`` (``s_z``: the side of the context square), so the target has the scale it
    has in a tracker's exemplar crop.
    """
    w, h = box[2] - box[0], box[3] - box[1]
    wc_z = w + context_amount * (w + h)
    hc_z = h + context_amount * (w + h)
    scale_z = exemplar_size / np.sqrt(wc_z * hc_z)
    w, h = w * scale_z, h * scale_z
    c = crop_size // 2
    return np.array([c - w * 0.5, c - h * 0.5, c + w * 0.5, c + h * 0.5], dtype=np.float64)


class PairBuilder:
    """Distractor-aware pair sampling over several sub-datasets.

    Positive pairs take two frames of one track at most ``frame_range`` apart
    (detection images have one frame, so template and search come from the same
    image). With probability ``neg`` the pair is negative: the search shows another
    video's object, and with probability ``neg_same_category`` (of negatives) one of
    the template's category, DaSiamRPN's semantic distractors. When no other video
    of that category exists the negative falls back to any other video.
    """

    def __init__(self, datasets: Sequence[SubDataset], neg: float = 0.2, neg_same_category: float = 0.5) -> None:
        if not 0 <= neg <= 1 or not 0 <= neg_same_category <= 1:
            raise ValueError(f"DATASET.NEG ({neg}) and DATASET.NEG_SAME_CATEGORY ({neg_same_category}) "
                             "must be in [0, 1]")
        self.datasets = list(datasets)
        self.neg, self.neg_same_category = float(neg), float(neg_same_category)
        self.tracks: List[Track] = []
        self.offsets: List[int] = []
        for d_idx, d in enumerate(self.datasets):
            self.offsets.append(len(self.tracks))
            for video, track, frames, boxes, cat in d.tracks:
                self.tracks.append(Track(d_idx, video, track, frames, boxes, cat))
        self.by_category: Dict[str, np.ndarray] = {}
        for i, t in enumerate(self.tracks):
            if t.category is not None:
                self.by_category.setdefault(t.category, []).append(i)
        self.by_category = {k: np.asarray(v) for k, v in self.by_category.items()}
        if neg > 0 and neg_same_category > 0 and not self.by_category:
            logger.warning("no category files found: same-category negatives fall back to random videos")

    def epoch_picks(self, seed: int, epoch: int, length: int) -> np.ndarray:
        """Track indices of one epoch: each sub-dataset contributes NUM_USE draws, shuffled, cycled to ``length``."""
        rng = np.random.default_rng([seed, epoch, 7919])
        picks = []
        for d, off in zip(self.datasets, self.offsets):
            n = len(d.tracks)
            reps = int(np.ceil(d.num_use / n))
            idx = np.concatenate([rng.permutation(n) for _ in range(reps)])[:d.num_use] + off
            picks.append(idx)
        picks = rng.permutation(np.concatenate(picks))
        if length > len(picks):
            picks = np.concatenate([picks] * int(np.ceil(length / len(picks))))
        return picks[:length]

    def _other_video(self, rng: np.random.Generator, anchor: Track, pool: Optional[np.ndarray]) -> Optional[int]:
        """A track index from ``pool`` (default: all tracks) whose video differs from ``anchor``'s."""
        def elsewhere(i: int) -> bool:
            return (self.tracks[i].dataset, self.tracks[i].video) != (anchor.dataset, anchor.video)

        for _ in range(20):  # rejection sampling: cheap when the pool is large
            i = int(rng.choice(pool)) if pool is not None else int(rng.integers(len(self.tracks)))
            if elsewhere(i):
                return i
        candidates = pool if pool is not None else np.arange(len(self.tracks))
        others = [int(i) for i in candidates if elsewhere(int(i))]
        return int(rng.choice(others)) if others else None

    def sample(self, rng: np.random.Generator, track_index: int) -> PairSpec:
        t = self.tracks[track_index]
        fr = self.datasets[t.dataset].frame_range
        k = int(rng.integers(len(t.frames)))
        template = (track_index, t.frames[k])
        if rng.random() < self.neg:
            same = rng.random() < self.neg_same_category
            other = None
            if same and t.category in self.by_category:
                other = self._other_video(rng, t, self.by_category[t.category])
            if other is None:
                same = False
                other = self._other_video(rng, t, None)
            if other is not None:
                o = self.tracks[other]
                same = same or (o.category is not None and o.category == t.category)
                return PairSpec(template, (other, o.frames[int(rng.integers(len(o.frames)))]), True, same)
        lo, hi = max(0, k - fr), min(len(t.frames), k + fr + 1)
        return PairSpec(template, (track_index, t.frames[int(rng.integers(lo, hi))]), False, False)


SAMPLERS = ("pysot", "per_sample")


class OriginalSampler:
    """The original PySOT's sampling, drawn from numpy's global legacy stream in its order.

    At construction (the trainer seeds the stream with ``TRAIN.SEED`` first, as the original's
    ``tools/train.py`` does) each sub-dataset shuffles its video indices (``NUM_USE`` of them),
    then the whole run's pick list (``videos_per_epoch x epochs``) is made of shuffled
    concatenations of those. A sample then draws, in this order: gray, negative, the pair's
    track / frames, the template's then the search's augmentation, and the anchor sampling.
    With one loading process (``TRAIN.NUM_WORKERS 0``) a seeded run gets the original's samples.

    ``spec(rng, index)`` returns ``(neg, (dataset, video, track, frame) of the template, of the search)``.
    """

    def __init__(self, datasets: Sequence[SubDataset], neg: float, total: int, rng=np.random) -> None:
        self.datasets = list(datasets)
        self.neg = float(neg)
        self.starts, start = [], 0
        subs = []
        for d in self.datasets:
            self.starts.append(start)
            num = len(d.videos)
            num_use = num if d.num_use_requested < 0 else d.num_use_requested  # -1: every video once
            lists, pick = list(range(start, start + num)), []
            while len(pick) < num_use:
                rng.shuffle(lists)
                pick += lists
            subs.append(pick[:num_use])
            start += num
        all_subs = np.array([p for sub in subs for p in sub], dtype=np.int64)
        if not all_subs.size:
            raise DatasetError("no sub-dataset has a video to draw (NUM_USE 0 everywhere?)")
        # Shuffling an array draws the same numbers as the original's shuffle of a list.
        chunks = []
        for _ in range(-(-int(total) // all_subs.size)):
            p = all_subs.copy()
            rng.shuffle(p)
            chunks.append(p)
        self.picks = np.concatenate(chunks)[:total]

    def _find(self, index: int) -> Tuple[int, int]:
        for k, d in enumerate(self.datasets):
            if self.starts[k] + len(d.videos) > index:
                return k, index - self.starts[k]
        raise IndexError(index)

    def _random_target(self, rng, k: int, v: int = -1):
        d = self.datasets[k]
        if v == -1:
            v = integers(rng, 0, len(d.videos))
        video = d.videos[v]
        tracks = list(d.labels[video])
        track = tracks[int(rng.choice(len(tracks)))]
        frames = d.labels[video][track][0]
        return k, video, track, frames[int(rng.choice(len(frames)))]

    def spec(self, rng, position: int):
        k, v = self._find(int(self.picks[position % len(self.picks)]))
        neg = bool(self.neg and self.neg > rng.random())
        if neg:
            template = self._random_target(rng, k, v)
            search = self._random_target(rng, int(rng.choice(len(self.datasets))))
            return neg, template, search
        d = self.datasets[k]
        video = d.videos[v]
        tracks = list(d.labels[video])
        track = tracks[int(rng.choice(len(tracks)))]
        frames = d.labels[video][track][0]
        t = integers(rng, 0, len(frames))
        left, right = max(t - d.frame_range, 0), min(t + d.frame_range, len(frames) - 1) + 1
        search_range = frames[left:right]
        s = search_range[int(rng.choice(len(search_range)))]
        return neg, (k, video, track, frames[t]), (k, video, track, s)


class TrainDataset(torch.utils.data.Dataset):
    """Augmented template/search pairs with their score-map targets.

    Index with ``(epoch, i)`` (see :class:`EpochSampler`); a plain int means epoch 0.
    A sample is a dict of numpy arrays:

    - ``template`` ``[3, Z, Z]`` float32, raw 0..255 BGR; ``search`` ``[3, X, X]``.
    - ``bbox`` ``[4]`` the search target's corner box in search-crop pixels.
    - ``negative`` ``[]`` 1.0 for a negative pair.
    - RPN targets: ``label_cls [A, H, W]`` int64, ``label_loc [4, A, H, W]``,
      ``label_loc_weight [A, H, W]``; point (BAN) targets: ``label_cls [H, W]`` int64,
      ``label_loc [4, H, W]`` side distances; SiamFC targets: ``label_cls [1, H, W]``
      float32 and ``label_weight [1, H, W]``.
    - With ``with_mask`` (SiamMask): ``label_mask [1, X, X]`` float32, 1 on the
      object and -1 elsewhere, read from the ``.m.png`` mask crops.
    """

    def __init__(self, pairs: PairBuilder, target: Union[AnchorTarget, SiamFCLabel, PointTarget],
                 template_aug: Augmentation, search_aug: Augmentation, exemplar_size: int = 127,
                 search_size: int = 255, gray: float = 0.0, length: int = 1000, seed: int = 0,
                 with_mask: bool = False, original: Optional[OriginalSampler] = None) -> None:
        self.pairs, self.target = pairs, target
        self.original = original
        self.template_aug, self.search_aug = template_aug, search_aug
        self.exemplar_size, self.search_size = int(exemplar_size), int(search_size)
        self.gray, self.length, self.seed = float(gray), int(length), int(seed)
        self.with_mask = bool(with_mask)
        self._picks: Dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.length

    def picks(self, epoch: int) -> np.ndarray:
        if epoch not in self._picks:
            self._picks = {epoch: self.pairs.epoch_picks(self.seed, epoch, self.length)}
        return self._picks[epoch]

    def _read(self, track_index: int, frame: str, kind: str) -> Tuple[np.ndarray, Track]:
        """The crop-511 image (``kind="x"``) or mask (``kind="m"``) of one track in one frame."""
        t = self.pairs.tracks[track_index]
        d = self.pairs.datasets[t.dataset]
        path = d.image_path(t.video, t.track, frame) if kind == "x" else d.mask_path(t.video, t.track, frame)
        # Checked first: OpenCV would also print its own warning for a missing file.
        image = (cv2.imread(path, cv2.IMREAD_COLOR if kind == "x" else cv2.IMREAD_GRAYSCALE)
                 if os.path.isfile(path) else None)
        if image is None:
            what = "crop" if kind == "x" else "mask crop (MASK.MASK is on)"
            raise FileNotFoundError(f"{d.name}: missing or unreadable {what} {path} (listed in {d.anno})")
        return image, t

    def _load(self, track_index: int, frame: str) -> Tuple[np.ndarray, np.ndarray]:
        image, t = self._read(track_index, frame, "x")
        return image, box_in_crop(t.boxes[frame], CROP_EXEMPLAR_SIZE, image.shape[0])

    def _load_mask(self, track_index: int, frame: str) -> np.ndarray:
        return self._read(track_index, frame, "m")[0]

    def _read_original(self, where, kind: str) -> Tuple[np.ndarray, np.ndarray]:
        k, video, track, frame = where
        d = self.pairs.datasets[k]
        path = d.image_path(video, track, frame) if kind == "x" else d.mask_path(video, track, frame)
        image = (cv2.imread(path, cv2.IMREAD_COLOR if kind == "x" else cv2.IMREAD_GRAYSCALE)
                 if os.path.isfile(path) else None)
        if image is None:
            what = "crop" if kind == "x" else "mask crop (MASK.MASK is on)"
            raise FileNotFoundError(f"{d.name}: missing or unreadable {what} {path} (listed in {d.anno})")
        box = d.labels[video][track][1][frame]
        return image, box_in_crop(box, CROP_EXEMPLAR_SIZE, image.shape[0])

    def __getitem__(self, index: Union[int, Tuple[int, int]]) -> Dict[str, np.ndarray]:
        epoch, i = index if isinstance(index, tuple) else (0, int(index))
        if self.original is not None:
            # The original's order of draws from numpy's global stream (see OriginalSampler).
            rng = np.random
            gray = bool(self.gray and self.gray > rng.random())
            negative, z_where, x_where = self.original.spec(rng, int(epoch) * self.length + int(i))
            z_img, z_box = self._read_original(z_where, "x")
            x_img, x_box = self._read_original(x_where, "x")
            x_mask = self._read_original(x_where, "m")[0] if self.with_mask and not negative else None
        else:
            rng = np.random.default_rng([self.seed, int(epoch), int(i)])
            spec = self.pairs.sample(rng, int(self.picks(epoch)[i]))
            gray = self.gray > rng.random()
            negative = spec.negative
            z_img, z_box = self._load(*spec.template)
            x_img, x_box = self._load(*spec.search)
            x_mask = self._load_mask(*spec.search) if self.with_mask and not spec.negative else None
        if isinstance(self.target, CenterTarget):  # VitTrack's crop factors (see center_target)
            z_img, z_box = self.target.rescale(z_img, z_box, template=True)
            x_img, x_box = self.target.rescale(x_img, x_box, template=False)
        template, _, _ = self.template_aug(rng, z_img, z_box, self.exemplar_size, gray)
        search, box, mask = self.search_aug(rng, x_img, x_box, self.search_size, gray, mask=x_mask)
        out = {
            "template": template.transpose(2, 0, 1).astype(np.float32),
            "search": search.transpose(2, 0, 1).astype(np.float32),
            "bbox": box.astype(np.float32),
            "negative": np.float32(negative),
        }
        if self.with_mask:
            # A negative pair shows no instance of the template: every pixel is background.
            fg = mask > 127 if mask is not None else np.zeros((self.search_size,) * 2, bool)
            out["label_mask"] = np.where(fg, 1.0, -1.0).astype(np.float32)[None]
        tgt = self.target(box, negative, rng)
        if isinstance(self.target, AnchorTarget):
            out.update(label_cls=tgt["cls"], label_loc=tgt["delta"], label_loc_weight=tgt["delta_weight"])
        elif isinstance(self.target, PointTarget):
            out.update(label_cls=tgt["cls"], label_loc=tgt["delta"])
        elif isinstance(self.target, CenterTarget):
            out.update(heatmap=tgt["heatmap"], box=tgt["box"])
        else:
            out.update(label_cls=tgt["label"], label_weight=tgt["weight"])
        return out


class EpochSampler(torch.utils.data.Sampler):
    """Yields ``(epoch, i)`` for this rank's share of one epoch, from ``start`` on.

    Rank ``r`` of ``world`` takes positions ``r, r + world, ...`` of the epoch's
    index range; the sample content depends only on ``(seed, epoch, i)``, so a
    resumed run (``start > 0``) sees exactly the samples it would have seen.
    """

    def __init__(self, length: int, epoch: int, rank: int = 0, world_size: int = 1, start: int = 0) -> None:
        self.length, self.epoch, self.rank, self.world_size, self.start = length, epoch, rank, world_size, start

    def _indices(self) -> range:
        return range(self.rank + self.start * self.world_size, self.length, self.world_size)

    def __iter__(self):
        return ((self.epoch, i) for i in self._indices())

    def __len__(self) -> int:
        return len(self._indices())


def is_siamfc(cfg) -> bool:
    """SiamFC configs train a single-channel logistic map instead of anchors."""
    return cfg.TRACK.TYPE == "SiamFCTracker"


def build_train_dataset(cfg, length: Optional[int] = None) -> TrainDataset:
    """Map ``cfg.DATASET`` / ``cfg.TRAIN`` / ``cfg.ANCHOR`` onto a :class:`TrainDataset`.

    ``DATASET.SAMPLER: pysot`` (the default) builds the original's pick list from numpy's global
    stream now: seed it first (the trainer does, with ``TRAIN.SEED``).
    """
    sampler = str(cfg.DATASET.get("SAMPLER", "pysot"))
    if sampler not in SAMPLERS:
        raise DatasetError(f"DATASET.SAMPLER: {sampler!r} is not a sampler; choose one of {', '.join(SAMPLERS)}")
    subs = []
    for name in cfg.DATASET.NAMES:
        if name not in cfg.DATASET:
            raise DatasetError(f"DATASET.NAMES lists {name!r} but DATASET.{name} is not configured")
        node = cfg.DATASET[name]
        missing = [k for k in SUB_DATASET_KEYS if k not in node]
        if missing:
            raise DatasetError(f"DATASET.{name} lacks {', '.join(missing)} (a sub-dataset needs ROOT: its crop511 "
                               "folder, ANNO: its json, FRAME_RANGE: max template/search distance in frames, "
                               "NUM_USE: tracks per epoch, -1 = all)")
        sub = SubDataset(name, node.ROOT, node.ANNO, node.FRAME_RANGE, node.NUM_USE)
        video, track, frames, _, _ = sub.tracks[0]
        if cfg.MASK.MASK and not os.path.isfile(sub.mask_path(video, track, frames[0])):
            # Checked now: otherwise the first pair drawn from this dataset stops training.
            raise DatasetError(f"MASK.MASK is True but DATASET.{name} has no mask crops (no "
                               f"{sub.mask_path(video, track, frames[0])}); SiamMask trains on datasets prepared "
                               "with masks (coco, ytb_vos, generic with masks/, synthetic --with-masks): "
                               "set DATASET.NAMES to those")
        subs.append(sub)
    # The original's sampler draws negatives from any video: no same-category share (nor its warning).
    pairs = PairBuilder(subs, cfg.DATASET.NEG, cfg.DATASET.NEG_SAME_CATEGORY if sampler == "per_sample" else 0.0)
    t, s = cfg.DATASET.TEMPLATE, cfg.DATASET.SEARCH
    template_aug = Augmentation(t.SHIFT, t.SCALE, t.BLUR, t.FLIP, t.COLOR, uniform_shift=True)
    search_aug = Augmentation(s.SHIFT, s.SCALE, s.BLUR, s.FLIP, s.COLOR, uniform_shift=s.UNIFORM_SHIFT)
    if cfg.CENTER.CENTER:  # one-stream centre head (VitTrack): Gaussian centre map + box
        target = CenterTarget(cfg.TRAIN.SEARCH_SIZE, 16, cfg.TRACK.TEMPLATE_FACTOR, cfg.TRACK.SEARCH_FACTOR,
                              cfg.TRAIN.EXEMPLAR_SIZE)
    elif cfg.BAN.BAN:  # anchor-free (NanoTrack): one label per point
        target = PointTarget(cfg.POINT.STRIDE, cfg.TRAIN.SEARCH_SIZE, cfg.TRAIN.OUTPUT_SIZE, cfg.TRAIN.POS_NUM,
                             cfg.TRAIN.NEG_NUM, cfg.TRAIN.TOTAL_NUM)
    elif is_siamfc(cfg):
        target = SiamFCLabel(cfg.TRAIN.OUTPUT_SIZE, cfg.ANCHOR.STRIDE, radius=16.0, search_size=cfg.TRAIN.SEARCH_SIZE)
    else:
        target = AnchorTarget(cfg.ANCHOR.STRIDE, cfg.ANCHOR.RATIOS, cfg.ANCHOR.SCALES, cfg.TRAIN.SEARCH_SIZE,
                              cfg.TRAIN.OUTPUT_SIZE, cfg.TRAIN.THR_HIGH, cfg.TRAIN.THR_LOW, cfg.TRAIN.POS_NUM,
                              cfg.TRAIN.NEG_NUM, cfg.TRAIN.TOTAL_NUM)
    length = length or cfg.DATASET.VIDEOS_PER_EPOCH
    original = None
    if sampler == "pysot":
        # The original's run length: VIDEOS_PER_EPOCH (or every NUM_USE once) x EPOCH samples; the
        # number of shuffles it makes (draws from the stream) depends on it.
        per_epoch = (length if cfg.TRAIN.ITERS_PER_EPOCH > 0 else cfg.DATASET.VIDEOS_PER_EPOCH
                     or sum(len(d.videos) if d.num_use_requested < 0 else d.num_use_requested for d in subs))
        total = max(per_epoch, length) * max(int(cfg.TRAIN.EPOCH), 1)
        original = OriginalSampler(subs, cfg.DATASET.NEG, total)
        if cfg.TRAIN.NUM_WORKERS > 0:
            logger.info("DATASET.SAMPLER pysot: samples come from numpy's global stream, seeded per loader worker; "
                        "TRAIN.NUM_WORKERS 0 gives the original PySOT's samples")
    return TrainDataset(pairs, target, template_aug, search_aug, cfg.TRAIN.EXEMPLAR_SIZE, cfg.TRAIN.SEARCH_SIZE,
                        cfg.DATASET.GRAY, length, cfg.TRAIN.SEED, with_mask=cfg.MASK.MASK, original=original)
