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
    c.TRAIN.NUM_WORKERS = 1
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
    # Intersect reported boxes with the frame (the original PySOT only clipped the centre;
    # False reproduces its raw output at the image border).
    c.TRACK.CLIP_BOX_TO_IMAGE = True
    # build_tracker tracks with the inference fast path (pysot.models.fast) where it is exact:
    # a ModelBuilder on the CPU in float32. False tracks with the model as given.
    c.TRACK.FAST = True
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
_POSITIVE: _Check = (lambda v: v > 0, "> 0")
_NON_NEGATIVE: _Check = (lambda v: v >= 0, ">= 0")
_AT_LEAST_ONE: _Check = (lambda v: v >= 1, ">= 1")
_UNIT: _Check = (lambda v: 0 <= v <= 1, "in [0, 1]")

_RANGES = {
    "TRACK.EXEMPLAR_SIZE": _POSITIVE, "TRACK.INSTANCE_SIZE": _POSITIVE, "TRACK.BASE_SIZE": _NON_NEGATIVE,
    "TRACK.CONTEXT_AMOUNT": _NON_NEGATIVE, "TRACK.PENALTY_K": _NON_NEGATIVE, "TRACK.WINDOW_INFLUENCE": _UNIT,
    "TRACK.LR": _UNIT, "TRACK.LOST_INSTANCE_SIZE": _POSITIVE, "TRACK.CONFIDENCE_LOW": _UNIT,
    "TRACK.CONFIDENCE_HIGH": _UNIT, "TRACK.MASK_THERSHOLD": _UNIT, "TRACK.MASK_OUTPUT_SIZE": _POSITIVE,
    "TRACK.SCALE_NUM": _AT_LEAST_ONE, "TRACK.SCALE_STEP": _POSITIVE, "TRACK.SCALE_PENALTY": _POSITIVE,
    "TRACK.SCALE_LR": _UNIT, "TRACK.RESPONSE_UP": _AT_LEAST_ONE, "TRACK.TOTAL_STRIDE": _POSITIVE,
    "TRACK.SMALL_OBJECT_INSTANCE_SIZE": _NON_NEGATIVE, "TRACK.SMALL_OBJECT_AREA_RATIO": _NON_NEGATIVE,
    "TRACK.DISTRACTOR.NMS_THRESHOLD": _UNIT, "TRACK.DISTRACTOR.SCORE_THRESHOLD": _UNIT,
    "TRACK.DISTRACTOR.MAX_NUM": _NON_NEGATIVE, "TRACK.DISTRACTOR.WEIGHT": _NON_NEGATIVE,
    "TRACK.DISTRACTOR.TOP_K": _AT_LEAST_ONE, "TRACK.GLOBAL_SEARCH.FAILURE_SCORE": _UNIT,
    "TRACK.GLOBAL_SEARCH.STEP": _NON_NEGATIVE, "TRACK.GLOBAL_SEARCH.MAX_INSTANCE_SIZE": _POSITIVE,
    "ANCHOR.STRIDE": _POSITIVE, "ANCHOR.RATIOS": _POSITIVE, "ANCHOR.SCALES": _POSITIVE,
    "TRAIN.THR_HIGH": _UNIT, "TRAIN.THR_LOW": _UNIT, "TRAIN.NEG_NUM": _NON_NEGATIVE,
    "TRAIN.POS_NUM": _NON_NEGATIVE, "TRAIN.TOTAL_NUM": _NON_NEGATIVE, "TRAIN.EXEMPLAR_SIZE": _POSITIVE,
    "TRAIN.SEARCH_SIZE": _POSITIVE, "TRAIN.BASE_SIZE": _NON_NEGATIVE, "TRAIN.OUTPUT_SIZE": _POSITIVE,
    "TRAIN.EPOCH": _NON_NEGATIVE, "TRAIN.START_EPOCH": _NON_NEGATIVE, "TRAIN.BATCH_SIZE": _AT_LEAST_ONE,
    "TRAIN.NUM_WORKERS": _NON_NEGATIVE, "TRAIN.MOMENTUM": _UNIT, "TRAIN.WEIGHT_DECAY": _NON_NEGATIVE,
    "TRAIN.CLS_WEIGHT": _NON_NEGATIVE, "TRAIN.LOC_WEIGHT": _NON_NEGATIVE, "TRAIN.MASK_WEIGHT": _NON_NEGATIVE,
    "TRAIN.GIOU_WEIGHT": _NON_NEGATIVE,
    "TRAIN.PRINT_FREQ": _AT_LEAST_ONE, "TRAIN.GRAD_CLIP": _NON_NEGATIVE, "TRAIN.BASE_LR": _POSITIVE,
    "TRAIN.ITERS_PER_EPOCH": _NON_NEGATIVE, "TRAIN.LR_WARMUP.EPOCH": _NON_NEGATIVE,
    "BACKBONE.LAYERS_LR": _NON_NEGATIVE, "BACKBONE.TRAIN_EPOCH": _NON_NEGATIVE,
    "DATASET.TEMPLATE.SHIFT": _NON_NEGATIVE, "DATASET.TEMPLATE.SCALE": _NON_NEGATIVE,
    "DATASET.TEMPLATE.BLUR": _UNIT, "DATASET.TEMPLATE.FLIP": _UNIT, "DATASET.TEMPLATE.COLOR": _UNIT,
    "DATASET.SEARCH.SHIFT": _NON_NEGATIVE, "DATASET.SEARCH.SCALE": _NON_NEGATIVE,
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

    Checked: every number in the config (``KWARGS`` included) is finite; the keys of
    ``_RANGES`` lie in their range (sizes and strides positive, rates and probabilities
    in ``[0, 1]``, ...); search crops are at least the template (``TRACK.*INSTANCE_SIZE
    >= TRACK.EXEMPLAR_SIZE``; the disabled small-object crop ``0`` excepted);
    ``TRACK.TYPE`` names a registered tracker.
    """
    for key, value in _leaves(cfg):
        if key == "CONFIG_FILE":
            continue
        for number in _numbers(value):
            if not math.isfinite(number):
                raise ConfigError(f"{source}: {key}: {value!r} is not a finite number")
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
    if cfg.TRAIN.THR_LOW > cfg.TRAIN.THR_HIGH:
        raise ConfigError(f"{source}: TRAIN.THR_LOW ({cfg.TRAIN.THR_LOW}) is above TRAIN.THR_HIGH "
                          f"({cfg.TRAIN.THR_HIGH})")
    _check_tracker_type(cfg, source)


def _check_tracker_type(cfg: CN, source: str) -> None:
    # The registry fills as pysot.tracker is imported; imported here, not at the top,
    # because the trackers import the models, which import this module.
    import pysot.tracker  # noqa: F401
    from pysot.core.registry import TRACKERS, RegistryError

    try:
        TRACKERS.get(cfg.TRACK.TYPE)
    except RegistryError as e:
        raise ConfigError(f"{source}: TRACK.TYPE: {e}") from None


_DEFAULTS = _defaults()


def get_cfg() -> Config:
    """A fresh, mutable copy of the defaults (never shared between callers)."""
    return _DEFAULTS.clone()


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
        with open(path, "r", encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except UnicodeDecodeError as e:
        raise ConfigError(f"{where}: not UTF-8 text (byte {e.start}: {e.object[e.start:e.start + 1]!r}); "
                          "save the YAML as UTF-8") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{where}: not valid YAML: {e}") from None
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
        try:
            CN.merge_from_list(cfg, _fit_opts_to_schema(cfg, list(opts)))
        except (KeyError, ValueError, AssertionError) as e:
            raise ConfigError(f"command-line override: {e}") from None
        validate_cfg(cfg, "command-line override")
    cfg.CONFIG_FILE = path  # not a schema key, so neither the YAML nor opts can have set it
    return cfg
