"""Configuration schema: the original PySOT key layout, as a fresh yacs node.

``get_cfg()`` returns a new copy every call; nothing in the library reads a
module-level config. Experiment YAMLs written for the original PySOT merge
unchanged. A YAML may start with ``_BASE_: path/to/base.yaml`` (relative to the
YAML) to inherit another file and only state what differs.
"""
from __future__ import annotations

import ast
import math
import os
import re
from typing import Callable, Iterator, Optional, Tuple

import yaml
from yacs.config import CfgNode as CN

__all__ = ["CN", "Config", "ConfigError", "get_cfg", "load_cfg", "merge_cfg_file", "validate_cfg"]


class ConfigError(ValueError):
    """A config file or key that cannot be used; the message names file and key."""


class Config(CN):
    """The yacs node :func:`get_cfg` returns. Its ``merge_from_file`` is :func:`merge_cfg_file`
    (follows ``_BASE_``, raises :class:`ConfigError` naming file and key), so the original PySOT
    idiom ``cfg.merge_from_file(args.config)`` works on our experiment files, which use ``_BASE_``.
    """

    def merge_from_file(self, cfg_filename: str) -> None:
        merge_cfg_file(self, cfg_filename)
        self.CONFIG_FILE = cfg_filename  # build errors name the YAML; not a schema key

    def merge_from_list(self, cfg_list: list) -> None:
        """yacs's ``KEY VALUE`` merge, then the range checks of :func:`validate_cfg`."""
        _check_override_keys(self, list(cfg_list))
        super().merge_from_list(cfg_list)
        validate_cfg(self, "override")

    @classmethod
    def _decode_cfg_value(cls, value):
        # Sections stay plain yacs nodes: only the root is a Config, so yacs's exact-type
        # check between a merged section and the default one still passes.
        if isinstance(value, dict):
            return CN(value)
        return super()._decode_cfg_value(value)


def _open(new_allowed: bool = False) -> CN:
    return CN(new_allowed=new_allowed)


def _defaults() -> Config:
    c = Config()
    c.META_ARC = "siamrpn_r50_l234_dwxcorr"
    # Device is chosen once, at the edge (tools, tracker construction); models never call .cuda().
    c.CUDA = True

    # ------------------------------------------------------------------ training
    c.TRAIN = CN()
    c.TRAIN.THR_HIGH = 0.6  # anchor IoU >= THR_HIGH is positive
    c.TRAIN.THR_LOW = 0.3  # anchor IoU < THR_LOW is negative
    c.TRAIN.NEG_NUM = 16
    c.TRAIN.POS_NUM = 16
    c.TRAIN.TOTAL_NUM = 64
    c.TRAIN.EXEMPLAR_SIZE = 127
    c.TRAIN.SEARCH_SIZE = 255
    c.TRAIN.BASE_SIZE = 8
    c.TRAIN.OUTPUT_SIZE = 25
    c.TRAIN.RESUME = ""
    c.TRAIN.PRETRAINED = ""
    c.TRAIN.LOG_DIR = "./logs"
    c.TRAIN.SNAPSHOT_DIR = "./snapshot"
    c.TRAIN.EPOCH = 20
    c.TRAIN.START_EPOCH = 0
    c.TRAIN.BATCH_SIZE = 32
    # DataLoader worker processes; -1: one per core this process may use (the machine's), 0: in process.
    c.TRAIN.NUM_WORKERS = -1
    c.TRAIN.MOMENTUM = 0.9
    c.TRAIN.WEIGHT_DECAY = 0.0001
    c.TRAIN.CLS_WEIGHT = 1.0
    c.TRAIN.LOC_WEIGHT = 1.2
    c.TRAIN.MASK_WEIGHT = 1.0
    c.TRAIN.GIOU_WEIGHT = 2.0  # centre-head (VitTrack) box loss; CLS_WEIGHT weighs its focal loss, LOC_WEIGHT its L1
    c.TRAIN.PRINT_FREQ = 20
    c.TRAIN.LOG_GRADS = False
    c.TRAIN.GRAD_CLIP = 10.0
    c.TRAIN.BASE_LR = 0.005
    c.TRAIN.AMP = False
    c.TRAIN.SEED = 123456
    # Iterations per epoch = VIDEOS_PER_EPOCH // (BATCH_SIZE * world size) unless > 0 here.
    c.TRAIN.ITERS_PER_EPOCH = 0
    c.TRAIN.LR = _open(True)
    c.TRAIN.LR.TYPE = "log"
    c.TRAIN.LR.KWARGS = _open(True)
    c.TRAIN.LR_WARMUP = _open(True)
    c.TRAIN.LR_WARMUP.WARMUP = True
    c.TRAIN.LR_WARMUP.TYPE = "step"
    c.TRAIN.LR_WARMUP.EPOCH = 5
    c.TRAIN.LR_WARMUP.KWARGS = _open(True)

    # ------------------------------------------------------------------ training data
    c.DATASET = _open(True)  # new sub-dataset names may be added by a YAML
    c.DATASET.TEMPLATE = CN()
    c.DATASET.TEMPLATE.SHIFT = 4
    c.DATASET.TEMPLATE.SCALE = 0.05
    c.DATASET.TEMPLATE.BLUR = 0.0
    c.DATASET.TEMPLATE.FLIP = 0.0
    c.DATASET.TEMPLATE.COLOR = 1.0
    c.DATASET.SEARCH = CN()
    c.DATASET.SEARCH.SHIFT = 64
    c.DATASET.SEARCH.SCALE = 0.18
    c.DATASET.SEARCH.BLUR = 0.0
    c.DATASET.SEARCH.FLIP = 0.0
    c.DATASET.SEARCH.COLOR = 1.0
    # Position-balanced sampling (SiamRPN++): draw the target offset uniformly in +-SEARCH.SHIFT.
    c.DATASET.SEARCH.UNIFORM_SHIFT = True
    # How samples are drawn: "pysot" = the original PySOT's order of draws from numpy's global stream
    # (seeded with TRAIN.SEED: a seeded run gets the original's samples with TRAIN.NUM_WORKERS 0);
    # "per_sample" = sample i of epoch e draws from its own Generator(seed, e, i), whatever the
    # number of workers or processes (exact mid-epoch resume with workers; not the original's samples).
    c.DATASET.SAMPLER = "pysot"
    c.DATASET.NEG = 0.2  # share of negative (different-object) pairs
    # Of the negative pairs, the share whose search image shows an object of the
    # template's category (DaSiamRPN's semantic distractors).
    c.DATASET.NEG_SAME_CATEGORY = 0.5
    c.DATASET.GRAY = 0.0
    c.DATASET.NAMES = ["VID", "COCO", "DET", "YOUTUBEBB"]
    for name, root, anno, frame_range, num_use in [
        ("VID", "training_dataset/vid/crop511", "training_dataset/vid/train.json", 100, 100000),
        ("YOUTUBEBB", "training_dataset/yt_bb/crop511", "training_dataset/yt_bb/train.json", 3, -1),
        ("COCO", "training_dataset/coco/crop511", "training_dataset/coco/train2017.json", 1, -1),
        ("DET", "training_dataset/det/crop511", "training_dataset/det/train.json", 1, -1),
    ]:
        node = CN()
        node.ROOT = root
        node.ANNO = anno
        node.FRAME_RANGE = frame_range
        node.NUM_USE = num_use  # -1: every video once per epoch
        c.DATASET[name] = node
    c.DATASET.VIDEOS_PER_EPOCH = 600000

    # ------------------------------------------------------------------ model
    c.BACKBONE = CN()
    c.BACKBONE.TYPE = "resnet50"
    c.BACKBONE.KWARGS = _open(True)
    c.BACKBONE.PRETRAINED = ""
    c.BACKBONE.TRAIN_LAYERS = ["layer2", "layer3", "layer4"]
    c.BACKBONE.LAYERS_LR = 0.1
    c.BACKBONE.TRAIN_EPOCH = 10
    c.BACKBONE.CHANNELS = []  # informational key carried by the long-term YAML

    c.ADJUST = CN()
    c.ADJUST.ADJUST = True
    c.ADJUST.KWARGS = _open(True)
    c.ADJUST.TYPE = "AdjustAllLayer"
    c.ADJUST.ADJUST_CHANNEL = []  # informational key carried by the long-term YAML

    c.RPN = CN()
    c.RPN.TYPE = "MultiRPN"
    c.RPN.KWARGS = _open(True)
    c.RPN.WEIGHTED = False  # informational key carried by the long-term YAML

    # NanoTrack's anchor-free head (cfg.BAN.TYPE in HEADS); when BAN.BAN it replaces the RPN head.
    c.BAN = CN()
    c.BAN.BAN = False
    c.BAN.TYPE = "NanoBANv2"
    c.BAN.KWARGS = _open(True)

    # One-stream models (VitTrack): with CENTER.CENTER the backbone takes template and search
    # jointly and this centre head (HEADS) replaces neck and RPN/BAN; see pysot.models.one_stream.
    c.CENTER = CN()
    c.CENTER.CENTER = False
    c.CENTER.TYPE = "CenterPredictor"
    c.CENTER.KWARGS = _open(True)

    c.MASK = CN()
    c.MASK.MASK = False
    c.MASK.TYPE = "MaskCorr"
    c.MASK.KWARGS = _open(True)

    c.REFINE = CN()
    c.REFINE.REFINE = False
    c.REFINE.TYPE = "Refine"
    c.REFINE.KWARGS = _open(True)

    c.ANCHOR = CN()
    c.ANCHOR.STRIDE = 8
    c.ANCHOR.RATIOS = [0.33, 0.5, 1, 2, 3]
    c.ANCHOR.SCALES = [8]
    # Kept for old YAMLs; the code derives the count from RATIOS x SCALES.
    c.ANCHOR.ANCHOR_NUM = 5

    # Points of an anchor-free (BAN) score map: one every STRIDE search-crop pixels.
    c.POINT = CN()
    c.POINT.STRIDE = 8

    # ------------------------------------------------------------------ tracking
    c.TRACK = CN()
    c.TRACK.TYPE = "SiamRPNTracker"
    c.TRACK.PENALTY_K = 0.04
    c.TRACK.WINDOW_INFLUENCE = 0.44
    c.TRACK.LR = 0.4
    c.TRACK.EXEMPLAR_SIZE = 127
    c.TRACK.INSTANCE_SIZE = 255
    c.TRACK.BASE_SIZE = 8
    c.TRACK.CONTEXT_AMOUNT = 0.5
    # Anchor trackers' cosine window: "hann" (outer product of two Hann windows, PySOT/DaSiamRPN)
    # or "sqrt_hann" (its square root: OpenCV's createHanningWindow, used by cv2.TrackerDaSiamRPN).
    c.TRACK.WINDOW = "hann"
    # Intersect reported boxes with the frame (the original PySOT only clipped the centre;
    # False reproduces its raw output at the image border).
    c.TRACK.CLIP_BOX_TO_IMAGE = True
    # build_tracker tracks with the inference fast path (pysot.models.fast) where it is exact:
    # a ModelBuilder on the CPU in float32. False tracks with the model as given.
    c.TRACK.FAST = True
    # Arithmetic of the tracker's network: "float32" (exact, the default) or "bf16" (opt-in,
    # bfloat16 autocast on the fast path: CPUs with AVX512-BF16/AMX, or CUDA; not parity-exact,
    # accuracy cost in docs/speed.md).
    c.TRACK.PRECISION = "float32"
    # NanoTrack: side of the score map (points per row); 0 derives it from the model's output.
    c.TRACK.OUTPUT_SIZE = 0
    # long-term
    c.TRACK.LOST_INSTANCE_SIZE = 831
    c.TRACK.CONFIDENCE_LOW = 0.85
    c.TRACK.CONFIDENCE_HIGH = 0.998
    # SiamMask ("THERSHOLD" is the original spelling, which existing YAMLs use)
    c.TRACK.MASK_THERSHOLD = 0.30
    c.TRACK.MASK_OUTPUT_SIZE = 127
    # SiamFC
    c.TRACK.SCALE_NUM = 3
    c.TRACK.SCALE_STEP = 1.0375
    c.TRACK.SCALE_PENALTY = 0.9745
    c.TRACK.SCALE_LR = 0.59
    c.TRACK.RESPONSE_UP = 16
    c.TRACK.TOTAL_STRIDE = 8
    # DaSiamRPN
    # Search region for small targets (area < SMALL_OBJECT_AREA_RATIO of the image); 0 disables.
    c.TRACK.SMALL_OBJECT_INSTANCE_SIZE = 0
    c.TRACK.SMALL_OBJECT_AREA_RATIO = 0.004
    # Reproduce the release code's Python-2 arithmetic (integer anchor grid, round half away from zero).
    c.TRACK.LEGACY_ROUNDING = False
    c.TRACK.DISTRACTOR = CN()
    c.TRACK.DISTRACTOR.ENABLE = False
    c.TRACK.DISTRACTOR.NMS_THRESHOLD = 0.5  # IoU above which proposals are suppressed
    c.TRACK.DISTRACTOR.SCORE_THRESHOLD = 0.3  # min score of a kept distractor proposal
    c.TRACK.DISTRACTOR.MAX_NUM = 5  # distractors kept per frame
    c.TRACK.DISTRACTOR.WEIGHT = 0.5  # weight (alpha-hat) of the summed distractor similarity
    c.TRACK.DISTRACTOR.TOP_K = 10  # proposals re-ranked
    c.TRACK.GLOBAL_SEARCH = CN()
    c.TRACK.GLOBAL_SEARCH.ENABLE = False
    c.TRACK.GLOBAL_SEARCH.FAILURE_SCORE = 0.3  # below this the target is taken as lost
    c.TRACK.GLOBAL_SEARCH.STEP = 128  # pixels the search region grows per lost frame
    c.TRACK.GLOBAL_SEARCH.MAX_INSTANCE_SIZE = 767
    # VitTrack (one-stream): crop sides over sqrt(w * h), the score below which the target is
    # reported lost (OpenCV's TrackerVit update() returns false), and whose arithmetic to follow:
    # "opencv" (tracker_vit.cpp: BGR input, integer boxes, cvFloor) or "original" (the VitTracker
    # Python tracker: RGB input, float boxes clipped with a 10-px margin).
    c.TRACK.TEMPLATE_FACTOR = 2.0
    c.TRACK.SEARCH_FACTOR = 4.0
    c.TRACK.SCORE_THRESHOLD = 0.2
    c.TRACK.POSTPROCESS = "opencv"
    return c


# ---------------------------------------------------------------------- value checks
# Ranges of the keys whose out-of-range values break geometry (a zero stride or crop
# size divides by zero, a negative context makes the crop's side the root of a negative
# number) or silently change what a number means (an update rate outside [0, 1], a
# window weight above 1 that turns the cosine window negative). Each entry:
# key -> (test, description of the accepted values).
_Check = Tuple[Callable[[float], bool], str]


def _within(low: float, high: float, low_open: bool = False) -> _Check:
    if low_open:
        return (lambda v: low < v <= high), f"in ({low:g}, {high:g}]"
    return (lambda v: low <= v <= high), f"in [{low:g}, {high:g}]"


# Every float in a config, wherever it is (KWARGS included), lies within +-MAX_FLOAT: a finite
# 1e300 passes isfinite() but overflows the first time it is squared or exponentiated
# (TRACK.CONTEXT_AMOUNT 1e300 -> OverflowError in the crop). The keys below have tighter ranges.
MAX_FLOAT = 1e6
# Side of any crop, search region or output map in pixels: a 100,000-pixel search crop asks
# torch for terabytes; the released models use 127..831.
MAX_SIDE = 4096
_SIDE: _Check = _within(0, MAX_SIDE, low_open=True)
_SIDE_OR_OFF: _Check = _within(0, MAX_SIDE)
_POSITIVE: _Check = _within(0, MAX_FLOAT, low_open=True)
_NON_NEGATIVE: _Check = (lambda v: v >= 0, ">= 0")
_AT_LEAST_ONE: _Check = (lambda v: v >= 1, ">= 1")
_UNIT: _Check = _within(0, 1)

# TRACK.PRECISION values (pysot.tracker.build_tracker).
PRECISIONS = ("float32", "bf16")

_RANGES = {
    "TRACK.EXEMPLAR_SIZE": _SIDE, "TRACK.INSTANCE_SIZE": _SIDE, "TRACK.BASE_SIZE": _within(0, MAX_SIDE),
    # the crop's side is the target's size times about 1 + 2 * CONTEXT_AMOUNT (0.5 in every release)
    "TRACK.CONTEXT_AMOUNT": _within(0, 10), "TRACK.PENALTY_K": _within(0, 100), "TRACK.WINDOW_INFLUENCE": _UNIT,
    "TRACK.LR": _UNIT, "TRACK.LOST_INSTANCE_SIZE": _SIDE, "TRACK.CONFIDENCE_LOW": _UNIT,
    "TRACK.CONFIDENCE_HIGH": _UNIT, "TRACK.MASK_THERSHOLD": _UNIT, "TRACK.MASK_OUTPUT_SIZE": _SIDE,
    "TRACK.OUTPUT_SIZE": _within(0, MAX_SIDE),
    # SiamFC: scales step^-(n-1)/2 .. step^(n-1)/2, the response map upsampled RESPONSE_UP times
    "TRACK.SCALE_NUM": _within(1, 15), "TRACK.SCALE_STEP": _within(0, 2, low_open=True),
    "TRACK.SCALE_PENALTY": _within(0, 1, low_open=True),
    "TRACK.SCALE_LR": _UNIT, "TRACK.RESPONSE_UP": _within(1, 64), "TRACK.TOTAL_STRIDE": _within(0, 64, low_open=True),
    "TRACK.SMALL_OBJECT_INSTANCE_SIZE": _SIDE_OR_OFF, "TRACK.SMALL_OBJECT_AREA_RATIO": _UNIT,
    "TRACK.DISTRACTOR.NMS_THRESHOLD": _UNIT, "TRACK.DISTRACTOR.SCORE_THRESHOLD": _UNIT,
    "TRACK.DISTRACTOR.MAX_NUM": _within(0, 1000), "TRACK.DISTRACTOR.WEIGHT": _within(0, 100),
    "TRACK.DISTRACTOR.TOP_K": _within(1, 1000), "TRACK.GLOBAL_SEARCH.FAILURE_SCORE": _UNIT,
    "TRACK.GLOBAL_SEARCH.STEP": _within(0, MAX_SIDE), "TRACK.GLOBAL_SEARCH.MAX_INSTANCE_SIZE": _SIDE,
    "ANCHOR.STRIDE": _within(0, 64, low_open=True), "ANCHOR.RATIOS": _within(0, 100, low_open=True),
    "ANCHOR.SCALES": _within(0, 1000, low_open=True), "POINT.STRIDE": _within(0, 64, low_open=True),
    "TRAIN.THR_HIGH": _UNIT, "TRAIN.THR_LOW": _UNIT, "TRAIN.NEG_NUM": _NON_NEGATIVE,
    "TRAIN.POS_NUM": _NON_NEGATIVE, "TRAIN.TOTAL_NUM": _NON_NEGATIVE, "TRAIN.EXEMPLAR_SIZE": _SIDE,
    "TRAIN.SEARCH_SIZE": _SIDE, "TRAIN.BASE_SIZE": _within(0, MAX_SIDE), "TRAIN.OUTPUT_SIZE": _SIDE,
    "TRAIN.EPOCH": _NON_NEGATIVE, "TRAIN.START_EPOCH": _NON_NEGATIVE, "TRAIN.BATCH_SIZE": _AT_LEAST_ONE,
    "TRAIN.NUM_WORKERS": (lambda v: -1 <= v <= 1024, "in [-1, 1024]; -1 = the usable cores"), "TRAIN.MOMENTUM": _UNIT, "TRAIN.WEIGHT_DECAY": _UNIT,
    "TRAIN.CLS_WEIGHT": _within(0, 1000), "TRAIN.LOC_WEIGHT": _within(0, 1000), "TRAIN.MASK_WEIGHT": _within(0, 1000),
    "TRAIN.PRINT_FREQ": _AT_LEAST_ONE, "TRAIN.GRAD_CLIP": _within(0, MAX_FLOAT), "TRAIN.BASE_LR": _within(0, 10, True),
    "TRAIN.GIOU_WEIGHT": _within(0, 1000),
    "TRAIN.ITERS_PER_EPOCH": _NON_NEGATIVE, "TRAIN.LR_WARMUP.EPOCH": _NON_NEGATIVE,
    "BACKBONE.LAYERS_LR": _within(0, 100), "BACKBONE.TRAIN_EPOCH": _NON_NEGATIVE,
    "DATASET.TEMPLATE.SHIFT": _within(0, MAX_SIDE), "DATASET.TEMPLATE.SCALE": _UNIT,
    "DATASET.TEMPLATE.BLUR": _UNIT, "DATASET.TEMPLATE.FLIP": _UNIT, "DATASET.TEMPLATE.COLOR": _UNIT,
    "DATASET.SEARCH.SHIFT": _within(0, MAX_SIDE), "DATASET.SEARCH.SCALE": _UNIT,
    "DATASET.SEARCH.BLUR": _UNIT, "DATASET.SEARCH.FLIP": _UNIT, "DATASET.SEARCH.COLOR": _UNIT,
    "DATASET.NEG": _UNIT, "DATASET.NEG_SAME_CATEGORY": _UNIT, "DATASET.GRAY": _UNIT,
    "DATASET.VIDEOS_PER_EPOCH": _NON_NEGATIVE,
    "TRACK.TEMPLATE_FACTOR": _POSITIVE, "TRACK.SEARCH_FACTOR": _POSITIVE, "TRACK.SCORE_THRESHOLD": _UNIT,
}
# Crops the score map is computed between: a search crop smaller than the template has no map.
_AT_LEAST_EXEMPLAR = ("TRACK.INSTANCE_SIZE", "TRACK.LOST_INSTANCE_SIZE", "TRACK.GLOBAL_SEARCH.MAX_INSTANCE_SIZE")


def _leaves(node: dict, prefix: str = "") -> Iterator[Tuple[str, object]]:
    for key, value in node.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield prefix + str(key), value


def _numbers(value: object) -> list:
    items = value if isinstance(value, (list, tuple)) else [value]
    return [v for v in items if isinstance(v, (int, float)) and not isinstance(v, bool)]


def validate_cfg(cfg: CN, source: str = "config") -> None:
    """Refuse values that cannot work, with a :class:`ConfigError` naming ``source`` (the YAML) and the key.

    Checked: every number in the config (``KWARGS`` included) is finite, and every float
    lies within ``+-MAX_FLOAT``; the keys of ``_RANGES`` lie in their range (sizes and
    strides positive and at most :data:`MAX_SIDE`, rates and probabilities in ``[0, 1]``, ...); search crops are at least the template (``TRACK.*INSTANCE_SIZE
    >= TRACK.EXEMPLAR_SIZE``; the disabled small-object crop ``0`` excepted);
    ``TRACK.TYPE`` is checked where trackers are built (:func:`pysot.tracker.check_tracker_type`):
    loading a config imports no tracker or model.
    """
    for key, value in _leaves(cfg):
        if key == "CONFIG_FILE":
            continue
        for number in _numbers(value):
            if not math.isfinite(number):
                raise ConfigError(f"{source}: {key}: {value!r} is not a finite number")
            if isinstance(number, float) and abs(number) > MAX_FLOAT:
                raise ConfigError(f"{source}: {key}: {value!r} is out of range (a float must lie within "
                                  f"+-{MAX_FLOAT:g}; this one would overflow the arithmetic)")
        check = _RANGES.get(key)
        if check is None:
            continue
        test, accepted = check
        numbers = _numbers(value)
        if isinstance(value, (list, tuple)) and not value:
            raise ConfigError(f"{source}: {key}: must list at least one value {accepted}")
        if any(not test(v) for v in numbers):
            raise ConfigError(f"{source}: {key}: {value!r} is out of range (must be {accepted})")
    exemplar = cfg.TRACK.EXEMPLAR_SIZE
    for key in _AT_LEAST_EXEMPLAR:
        section, name = key.rsplit(".", 1)
        node = cfg
        for part in section.split("."):
            node = node[part]
        if node[name] < exemplar:
            raise ConfigError(f"{source}: {key} ({node[name]}) is smaller than TRACK.EXEMPLAR_SIZE ({exemplar}): "
                              "the search crop must hold the template")
    precision = cfg.TRACK.get("PRECISION", "float32")
    if precision not in PRECISIONS:
        raise ConfigError(f"{source}: TRACK.PRECISION: {precision!r} is not one of {', '.join(PRECISIONS)}")
    if cfg.TRAIN.THR_LOW > cfg.TRAIN.THR_HIGH:
        raise ConfigError(f"{source}: TRAIN.THR_LOW ({cfg.TRAIN.THR_LOW}) is above TRAIN.THR_HIGH "
                          f"({cfg.TRAIN.THR_HIGH})")


_DEFAULTS = _defaults()


def get_cfg() -> Config:
    """A fresh, mutable copy of the defaults (never shared between callers)."""
    return _DEFAULTS.clone()


# Limits of what a config file may ask the loader to do. An experiment YAML (or the config
# a checkpoint stores) is a few kilobytes, a few levels deep, with a handful of anchors; a
# file far past these is a mistake or an attack: an alias bomb (9 aliases of 9 aliases ...,
# billions of values after expansion) never finishes loading, 100,000 nested brackets
# overflow the parser's recursion, and a 50 MB scalar takes minutes to scan.
MAX_CONFIG_BYTES = 1 << 20
MAX_CONFIG_DEPTH = 64  # nested mappings / sequences
MAX_CONFIG_VALUES = 100_000  # scalars and collections, counted with every alias expanded


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int, first_line: int) -> None:
        super().__init__(key, line, first_line)
        self.key, self.line, self.first_line = key, line, first_line


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (PyYAML keeps the
    last one silently, so a setting typed twice would be half ignored)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # "<<: *base" merges, overriding is its point
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line + 1)
                except TypeError:  # unhashable key: the base constructor reports it
                    continue
                if first != key_node.start_mark.line + 1:
                    raise _DuplicateKey(key, key_node.start_mark.line + 1, first)
        return super().construct_mapping(node, deep=deep)


# Quoted scalars and comments, whose brackets do not nest anything.
_NOT_FLOW = re.compile(r"'[^'\n]*'|\"(?:[^\"\\\n]|\\.)*\"|(?:^|(?<=\s))#[^\n]*", re.MULTILINE)


def _check_flow_depth(text: str, where: str) -> None:
    """Refuse bracket nesting (``[[[...`` / ``{{{...``) deeper than :data:`MAX_CONFIG_DEPTH` from
    the raw text: PyYAML's scanner looks ahead over every open bracket with a quadratic cost
    (100,000 brackets took seconds before its first event)."""
    import numpy as np

    brackets = np.frombuffer("".join(re.findall(r"[\[\]{}]", _NOT_FLOW.sub("", text))).encode("ascii"), np.uint8)
    if not brackets.size:
        return
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)
    deepest = int(np.cumsum(steps).max())
    if deepest > MAX_CONFIG_DEPTH:
        raise ConfigError(f"{where}: brackets nested more than {MAX_CONFIG_DEPTH} levels deep; a config needs a few")


def _check_yaml_structure(text: str, where: str) -> None:
    """Raise :class:`ConfigError` when ``text`` nests deeper than :data:`MAX_CONFIG_DEPTH` or
    holds more than :data:`MAX_CONFIG_VALUES` values once its aliases are expanded.

    Walks PyYAML's event stream (its parser keeps an explicit state stack, no recursion) and
    stops at the first excess, so a hostile file is refused after reading only its start.
    """
    _check_flow_depth(text, where)
    sizes: dict = {}  # anchor -> values it stands for, expanded
    stack: list = []  # open collections: [anchor, values so far]

    def add(n: int, line: int) -> None:
        if stack:
            stack[-1][1] += n
            if stack[-1][1] > MAX_CONFIG_VALUES:
                raise ConfigError(f"{where}: line {line}: more than {MAX_CONFIG_VALUES} values once its aliases "
                                  "are expanded (an alias bomb?); a config needs a few hundred")

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            stack.append([event.anchor, 1])
            if len(stack) > MAX_CONFIG_DEPTH:
                raise ConfigError(f"{where}: line {line}: nested more than {MAX_CONFIG_DEPTH} levels deep; "
                                  "a config needs a few")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, n = stack.pop()
            if anchor is not None:
                sizes[anchor] = n
            add(n, line)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = 1
            add(1, line)
        elif isinstance(event, yaml.AliasEvent):
            add(sizes.get(event.anchor, 1), line)


def _read_yaml(path: str, included_from: Optional[str] = None, _chain: tuple = ()) -> dict:
    if not os.path.isfile(path):
        where = f"{included_from}: _BASE_: " if included_from else ""
        raise ConfigError(f"{where}config file not found: {path}")
    real = os.path.realpath(path)
    if real in _chain:
        cycle = " -> ".join(list(_chain[_chain.index(real):]) + [real])
        raise ConfigError(f"{included_from}: _BASE_ makes a cycle: {cycle}")
    where = f"{included_from}: _BASE_: {path}" if included_from else path
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)  # never more: the size on disk may change or lie
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{where}: larger than {MAX_CONFIG_BYTES // 1024} KiB; a config file is a few KiB "
                              "(is this the right file?)")
        text = raw.decode("utf-8")
        _check_yaml_structure(text, where)
        data = yaml.load(text, Loader=_StrictLoader)
    except UnicodeDecodeError as e:
        raise ConfigError(f"{where}: not UTF-8 text (byte {e.start}: {e.object[e.start:e.start + 1]!r}); "
                          "save the YAML as UTF-8") from None
    except _DuplicateKey as e:
        raise ConfigError(f"{where}: line {e.line}: key {e.key!r} is given twice in one mapping (first on line "
                          f"{e.first_line}); keep one") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: not valid YAML: {e}") from None
    except RecursionError:  # a structure the depth check did not see (kept as a safety net)
        raise ConfigError(f"{where}: nested too deeply to load") from None
    except OSError as e:
        raise ConfigError(f"{where}: cannot read: {e.strerror or e}") from None
    if data is None:
        # An empty file (a failed copy, a wrong path to a placeholder) would silently give the defaults.
        raise ConfigError(f"{where}: the config file is empty")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of config keys")
    base = data.pop("_BASE_", None)
    if base is not None:
        base_path = base if os.path.isabs(base) else os.path.join(os.path.dirname(path), base)
        merged = _read_yaml(base_path, included_from=path, _chain=_chain + (real,))
        _deep_update(merged, data)
        data = merged
    return data


def _fit_to_schema(data: dict, node: CN, path: str, prefix: str = "") -> None:
    """Make YAML values that mean what the schema means acceptable to yacs's strict type check.

    An integer where the default is a float (``LR: 1``) becomes a float, and an
    empty section (``KWARGS:`` with nothing under it) an empty mapping; a scalar
    where the schema has a section is an error naming the section, instead of
    yacs's dump of the whole default node. Unknown keys are left for yacs to report.
    """
    for key, value in list(data.items()):
        if key not in node:
            continue
        default, dotted = node[key], f"{prefix}{key}"
        if isinstance(default, CN):
            if value is None:
                data[key] = {}
            elif not isinstance(value, dict):
                raise ConfigError(f"{path}: {dotted} is a section of keys "
                                  f"({', '.join(list(default)[:6]) or 'any key'}), got {value!r}")
            else:
                _fit_to_schema(value, default, path, dotted + ".")
        elif isinstance(default, float) and type(value) is int:
            data[key] = float(value)


def _check_override_keys(cfg: CN, opts: list) -> None:
    """Refuse ``KEY VALUE`` where ``KEY`` is a whole section (``TRACK 5``) in one line; yacs's
    own error prints the section's every default value (about 50 lines)."""
    for i in range(0, len(opts) - 1, 2):
        node: object = cfg
        try:
            for part in str(opts[i]).split("."):
                node = node[part]
        except (KeyError, TypeError):
            continue  # yacs names the unknown key
        if isinstance(node, CN):
            keys = list(node)
            example = f", e.g. {opts[i]}.{keys[0]} VALUE" if keys else ""
            raise ConfigError(f"command-line override: {opts[i]} is a section of keys "
                              f"({', '.join(keys[:6])}{', ...' if len(keys) > 6 else ''}), not a value: "
                              f"override one of its keys{example}")


def _fit_opts_to_schema(cfg: CN, opts: list) -> list:
    """``KEY VALUE`` overrides with integer values for float keys turned into floats (``TRACK.LR 1``)."""
    fitted = list(opts)
    for i in range(0, len(fitted) - 1, 2):
        node: object = cfg
        try:
            for part in str(fitted[i]).split("."):
                node = node[part]
        except (KeyError, TypeError):
            continue  # yacs names the unknown key
        if not isinstance(node, float):
            continue
        value = fitted[i + 1]
        if isinstance(value, str):
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                continue
        if type(value) is int:
            fitted[i + 1] = float(value)
    return fitted


def _deep_update(dst: dict, src: dict) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict) and k != "KWARGS":
            _deep_update(dst[k], v)
        else:
            dst[k] = v


def merge_cfg_file(cfg: CN, path: str) -> CN:
    """Merge a YAML (following ``_BASE_``) into ``cfg`` in place; errors name the file and key."""
    data = _read_yaml(path)
    # A config saved in a checkpoint (cfg.dump()) records the YAML it was loaded from;
    # that is provenance, not a setting, and must not stop the text from loading again.
    data.pop("CONFIG_FILE", None)
    _fit_to_schema(data, cfg, path)
    try:
        cfg.merge_from_other_cfg(CN(data))
    except KeyError as e:
        msg = e.args[0] if e.args else str(e)
        raise ConfigError(f"{path}: {msg}") from None
    except ValueError as e:
        raise ConfigError(f"{path}: {e}") from None
    validate_cfg(cfg, path)
    return cfg


def load_cfg(path: str, opts: Optional[list] = None) -> CN:
    """``get_cfg()`` + the YAML at ``path`` + ``KEY VALUE`` overrides from ``opts``."""
    cfg = get_cfg()
    merge_cfg_file(cfg, path)
    if opts:
        _check_override_keys(cfg, list(opts))
        try:
            CN.merge_from_list(cfg, _fit_opts_to_schema(cfg, list(opts)))
        except (KeyError, ValueError, AssertionError) as e:
            raise ConfigError(f"command-line override: {e}") from None
        validate_cfg(cfg, "command-line override")
    cfg.CONFIG_FILE = path  # not a schema key, so neither the YAML nor opts can have set it
    return cfg
