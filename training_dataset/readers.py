"""Annotation readers: each turns one dataset's native layout into :class:`VideoAnno` items
for the shared crop loop (:mod:`training_dataset.crop`). Readers only read text/xml/json;
images are opened by the crop loop, which reports missing ones.

Boxes handed to the crop loop are corner boxes ``[x1, y1, x2, y2]`` in image pixels
(YouTube-BB's normalised boxes are scaled there, once the image size is known).
Masks (SiamMask) are handed lazily: COCO segmentations as :class:`PolygonMask`, mask
PNGs as :class:`LabelMask` (path + object id); the crop loop reads them frame by frame.
"""
from __future__ import annotations

import configparser
import csv
import glob
import json
import os
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from training_dataset.crop import FrameAnno, LabelMask, PolygonMask, VideoAnno

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")


class AnnotationError(ValueError):
    """A malformed annotation; the message names the file (and line)."""


def _require_dir(path: str, what: str) -> str:
    if not os.path.isdir(path):
        raise AnnotationError(f"{what} not found: {path}")
    return path


def read_box_lines(path: str) -> List[Optional[List[float]]]:
    """Rows of a ``groundtruth.txt``: ``x,y,w,h`` or 8-value polygons (comma/tab/space separated).

    Returns corner boxes ``[x1, y1, x2, y2]`` (a polygon gives its enclosing box);
    an empty row gives ``None`` (target absent). NaN and zero/negative-size rows are
    returned as read: the crop loop counts and reports them as it skips them.
    Unparseable rows raise :class:`AnnotationError` with ``file:line``.
    """
    rows: List[Optional[List[float]]] = []
    with open(path, "r", encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            text = line.strip()
            if not text:
                rows.append(None)
                continue
            try:
                v = [float(t) for t in re.split(r"[,\s]+", text) if t]
            except ValueError:
                raise AnnotationError(f"{path}:{n}: cannot parse {text!r} as numbers") from None
            if len(v) == 4:
                box = [v[0], v[1], v[0] + v[2], v[1] + v[3]]
            elif len(v) == 8:
                xs, ys = v[0::2], v[1::2]
                box = [min(xs), min(ys), max(xs), max(ys)]
            else:
                raise AnnotationError(f"{path}:{n}: expected 4 (x,y,w,h) or 8 (polygon) values, got {len(v)}")
            rows.append(box)
    return rows


def _read_flags(path: str) -> Optional[List[bool]]:
    if not os.path.isfile(path):
        return None
    with open(path, "r", encoding="utf-8") as f:
        return [t.strip() not in ("", "0") for t in re.split(r"[,\s]+", f.read().strip()) if t.strip()]


def _sequence_video(name: str, images: Sequence[str], boxes: Sequence[Optional[List[float]]],
                    category: Optional[str], absent: Optional[Sequence[bool]] = None,
                    masks: Optional[Sequence[str]] = None, source: str = "") -> VideoAnno:
    """``source``: the ground-truth file, so a bad box is reported as ``file:line``."""
    frames = []
    for i, (img, box) in enumerate(zip(images, boxes)):
        if box is None or (absent is not None and i < len(absent) and absent[i]):
            continue
        mask = {0: LabelMask(masks[i])} if masks is not None and i < len(masks) else {}
        frames.append(FrameAnno(img, i, {0: box}, masks=mask, source=f"{source}:{i + 1}" if source else ""))
    return VideoAnno(name, frames, {0: category} if category else {})


def list_images(folder: str) -> List[str]:
    return sorted(p for p in glob.glob(os.path.join(folder, "*")) if p.lower().endswith(IMAGE_EXTS))


def list_frame_paths(gt_path: str, images: Sequence[str], num_boxes: int) -> List[str]:
    """Image path of each annotated frame.

    Numbered images (``00000001.jpg``) are addressed by number, so a missing file
    is reported by the crop loop instead of shifting every later frame.
    """
    stems = [os.path.splitext(os.path.basename(p)) for p in images]
    if images and all(s.isdigit() for s, _ in stems):
        folder, ext, width = os.path.dirname(images[0]), stems[0][1], len(stems[0][0])
        first = min(int(s) for s, _ in stems)
        return [os.path.join(folder, f"{first + i:0{width}d}{ext}") for i in range(num_boxes)]
    if num_boxes > len(images):
        raise AnnotationError(f"{gt_path}: {num_boxes} boxes but only {len(images)} images beside it")
    return list(images[:num_boxes])


# ---------------------------------------------------------------- sequence datasets
GT_NAMES = ("groundtruth.txt", "groundtruth_rect.txt")
_MULTI_GT = re.compile(r"^groundtruth_rect\.(\d+)\.txt$")  # OTB's two-target videos (Jogging, Skating2)


def _ground_truths(sdir: str) -> List[Tuple[str, str]]:
    """``(suffix, path)`` of the ground-truth files of a sequence folder (``""`` for a single target)."""
    names = os.listdir(sdir)
    multi = sorted((m.group(1), os.path.join(sdir, n)) for n in names if (m := _MULTI_GT.match(n)))
    if multi:
        return [(f"-{k}", path) for k, path in multi]
    gt = next((n for n in GT_NAMES if n in names), None)
    return [("", os.path.join(sdir, gt))] if gt else []


def _sequence_folders(root: str, max_depth: int = 3) -> List[str]:
    """Folders under ``root`` (itself included) that hold a ground-truth file, at most ``max_depth`` levels
    down; a sequence folder is not searched further (its ``img/``, ``color/``)."""
    found, level = [], [root]
    for _ in range(max_depth + 1):
        below = []
        for folder in level:
            try:
                if _ground_truths(folder):
                    found.append(folder)
                    continue
                below += [os.path.join(folder, n) for n in sorted(os.listdir(folder))
                          if os.path.isdir(os.path.join(folder, n))]
            except OSError:
                continue
        level = below
    return sorted(found)


def _absent_flags(sdir: str) -> Optional[List[bool]]:
    """Per-frame "target not visible" flags of the benchmark layouts: GOT-10k ``absence.label`` (1 = absent)
    and ``cover.label`` (0 = fully covered), LaSOT ``full_occlusion.txt`` / ``out_of_view.txt`` (1 = absent)."""
    lists = [_read_flags(os.path.join(sdir, n)) for n in ("absence.label", "full_occlusion.txt", "out_of_view.txt")]
    cover = _read_flags(os.path.join(sdir, "cover.label"))
    if cover is not None:
        lists.append([not visible for visible in cover])
    lists = [flags for flags in lists if flags is not None]
    if not lists:
        return None
    n = max(len(flags) for flags in lists)
    return [any(i < len(flags) and flags[i] for flags in lists) for i in range(n)]


def _category(sdir: str, root: str) -> Optional[str]:
    """``category.txt``, else GOT-10k's ``meta_info.ini`` ``object_class``, else LaSOT's parent folder
    (``<category>/<category>-<n>``)."""
    cat_file = os.path.join(sdir, "category.txt")
    if os.path.isfile(cat_file):
        return open(cat_file, encoding="utf-8").read().strip() or None
    meta = os.path.join(sdir, "meta_info.ini")
    if os.path.isfile(meta):
        parser = configparser.ConfigParser()
        with open(meta, encoding="utf-8") as f:
            parser.read_string("[meta]\n" + "\n".join(l for l in f if not l.startswith("[")))
        return parser["meta"].get("object_class") or parser["meta"].get("major_class")
    parent, name = os.path.basename(os.path.dirname(sdir)), os.path.basename(sdir)
    if os.path.abspath(os.path.dirname(sdir)) != os.path.abspath(root) and re.fullmatch(
            re.escape(parent) + r"-\d+", name):
        return parent
    return None


def read_generic(root: str, split: str = "train") -> Iterator[VideoAnno]:
    """A folder of sequences in any layout the toolkit reads: ``<seq>/groundtruth.txt`` (or OTB's
    ``groundtruth_rect.txt``, ``groundtruth_rect.1.txt``/``.2.txt``) with the images in ``<seq>/img``,
    ``<seq>/color`` or ``<seq>`` itself, found up to three folders down (VOT, OTB, GOT-10k ``train/<seq>``,
    LaSOT ``<category>/<seq>``); ``<seq>/category.txt`` optional, ``masks/*.png`` optional.

    Frames a benchmark flags as absent (GOT-10k ``absence.label`` / ``cover.label``, LaSOT
    ``full_occlusion.txt`` / ``out_of_view.txt``) and empty rows are left out silently; other bad boxes
    (NaN, zero size, outside the image) are reported by the crop loop with ``file:line`` and left out.
    Video names are the sequence folder names (``<folder>_<name>`` where two folders share a name).
    """
    _require_dir(root, "sequence folder")
    folders = _sequence_folders(root)
    base_names = [os.path.basename(f) for f in folders]
    for sdir in folders:
        name = os.path.basename(sdir)
        if base_names.count(name) > 1 or sdir == root:
            name = os.path.relpath(sdir, os.path.dirname(root) if sdir == root else root).replace(os.sep, "_")
        images = next((imgs for sub in ("img", "color", "") if (imgs := list_images(os.path.join(sdir, sub)))), [])
        category = _category(sdir, root)
        absent = _absent_flags(sdir)
        for suffix, gt in _ground_truths(sdir):
            boxes = read_box_lines(gt)
            frame_paths = list_frame_paths(gt, images, len(boxes))
            masks = None
            mask_files = [p for p in list_images(os.path.join(sdir, "masks")) if p.lower().endswith(".png")]
            if mask_files:
                masks = list_frame_paths(os.path.join(sdir, "masks"), mask_files, len(boxes))
            yield _sequence_video(name + suffix, frame_paths, boxes, category, absent, masks=masks, source=gt)


def read_got10k(root: str, split: str = "train") -> Iterator[VideoAnno]:
    """GOT-10k: ``<root>/<split>/<seq>/{00000001.jpg, groundtruth.txt, absence.label, meta_info.ini}``."""
    base = _require_dir(os.path.join(root, split), f"GOT-10k {split} split")
    for seq in sorted(os.listdir(base)):
        sdir = os.path.join(base, seq)
        gt = os.path.join(sdir, "groundtruth.txt")
        if not os.path.isfile(gt):
            continue
        images = list_images(sdir)
        boxes = read_box_lines(gt)
        images = list_frame_paths(gt, images, len(boxes))
        category = None
        meta = os.path.join(sdir, "meta_info.ini")
        if os.path.isfile(meta):
            parser = configparser.ConfigParser()
            with open(meta, encoding="utf-8") as f:
                parser.read_string("[meta]\n" + "\n".join(l for l in f if not l.startswith("[")))
            category = parser["meta"].get("object_class") or parser["meta"].get("major_class")
        yield _sequence_video(seq, images, boxes, category, _read_flags(os.path.join(sdir, "absence.label")),
                              source=gt)


def read_lasot(root: str, split: str = "train") -> Iterator[VideoAnno]:
    """LaSOT: ``<root>/<category>/<category>-<n>/{img/*.jpg, groundtruth.txt, full_occlusion.txt,
    out_of_view.txt}``; occluded or out-of-view frames are skipped."""
    _require_dir(root, "LaSOT root")
    for category in sorted(os.listdir(root)):
        cdir = os.path.join(root, category)
        if not os.path.isdir(cdir):
            continue
        for seq in sorted(os.listdir(cdir)):
            sdir = os.path.join(cdir, seq)
            gt = os.path.join(sdir, "groundtruth.txt")
            if not os.path.isfile(gt):
                continue
            images = list_images(os.path.join(sdir, "img"))
            boxes = read_box_lines(gt)
            images = list_frame_paths(gt, images, len(boxes))
            occ = _read_flags(os.path.join(sdir, "full_occlusion.txt")) or []
            oov = _read_flags(os.path.join(sdir, "out_of_view.txt")) or []
            n = max(len(occ), len(oov))
            absent = [(i < len(occ) and occ[i]) or (i < len(oov) and oov[i]) for i in range(n)]
            yield _sequence_video(seq, images, boxes, category, absent, source=gt)


# ---------------------------------------------------------------- ImageNet VID / DET (PASCAL xml)
def _parse_voc(xml_path: str) -> List[Tuple[int, str, List[float]]]:
    """``(track id, category, corner box)`` of each object of an ImageNet xml file."""
    try:
        tree = ET.parse(xml_path)
    except ET.ParseError as e:
        raise AnnotationError(f"{xml_path}: not valid xml: {e}") from None
    out = []
    for k, obj in enumerate(tree.getroot().iter("object")):
        bb = obj.find("bndbox")
        if bb is None:
            continue
        try:
            box = [float(bb.find(t).text) for t in ("xmin", "ymin", "xmax", "ymax")]
        except (AttributeError, TypeError, ValueError):
            raise AnnotationError(f"{xml_path}: object {k} has an incomplete bndbox") from None
        tid = obj.find("trackid")
        out.append((int(tid.text) if tid is not None else k, obj.findtext("name", ""), box))
    return out


def read_vid(root: str, split: str = "train") -> Iterator[VideoAnno]:
    """ImageNet VID: ``<root>/Annotations/VID/<split>/**/<video>/<frame>.xml`` and
    ``<root>/Data/VID/<split>/...JPEG``. Video names keep the sub-folder (``ILSVRC2015_VID_train_0000/...``)."""
    anno_root = _require_dir(os.path.join(root, "Annotations", "VID", split), f"VID {split} annotations")
    video_dirs = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(anno_root, "**", "*.xml"), recursive=True)})
    for vdir in video_dirs:
        rel = os.path.relpath(vdir, anno_root)
        frames, categories = [], {}
        for xml_path in sorted(glob.glob(os.path.join(vdir, "*.xml"))):
            stem = os.path.splitext(os.path.basename(xml_path))[0]
            objects = _parse_voc(xml_path)
            if not objects:
                continue
            img = os.path.join(root, "Data", "VID", split, rel, stem + ".JPEG")
            frames.append(FrameAnno(img, int(stem), {t: b for t, _, b in objects}))
            categories.update({t: c for t, c, _ in objects})
        yield VideoAnno(rel, frames, categories)


def read_det(root: str, split: str = "train") -> Iterator[VideoAnno]:
    """ImageNet DET: every image ``<root>/Data/DET/<split>/**.JPEG`` with its xml is a one-frame video."""
    anno_root = _require_dir(os.path.join(root, "Annotations", "DET", split), f"DET {split} annotations")
    for xml_path in sorted(glob.glob(os.path.join(anno_root, "**", "*.xml"), recursive=True)):
        rel = os.path.splitext(os.path.relpath(xml_path, anno_root))[0]
        objects = _parse_voc(xml_path)
        if objects:
            img = os.path.join(root, "Data", "DET", split, rel + ".JPEG")
            yield VideoAnno(rel, [FrameAnno(img, 0, {k: b for k, (_, _, b) in enumerate(objects)})],
                            {k: c for k, (_, c, _) in enumerate(objects)})


# ---------------------------------------------------------------- COCO, YouTube-BB
def read_coco(root: str, split: str = "train") -> Iterator[VideoAnno]:
    """COCO 2017: ``<root>/annotations/instances_<split>2017.json`` + ``<root>/<split>2017/*.jpg``;
    each image is a one-frame video, each non-crowd object a track. Its ``segmentation``
    (polygons or RLE) becomes the track's mask."""
    anno = os.path.join(root, "annotations", f"instances_{split}2017.json")
    if not os.path.isfile(anno):
        raise AnnotationError(f"COCO annotation file not found: {anno}")
    with open(anno, "r", encoding="utf-8") as f:
        data = json.load(f)
    names = {c["id"]: c["name"] for c in data.get("categories", [])}
    objects: Dict[int, list] = defaultdict(list)
    for a in data.get("annotations", []):
        if not a.get("iscrowd", 0):
            objects[a["image_id"]].append(a)
    for im in sorted(data.get("images", []), key=lambda i: i["file_name"]):
        anns = objects.get(im["id"], [])
        if not anns:
            continue
        boxes = {k: [a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                 for k, a in enumerate(anns)}
        cats = {k: names.get(a["category_id"], str(a["category_id"])) for k, a in enumerate(anns)}
        masks = {k: PolygonMask(a["segmentation"]) for k, a in enumerate(anns) if a.get("segmentation")}
        stem = os.path.splitext(im["file_name"])[0]
        img = os.path.join(root, f"{split}2017", im["file_name"])
        yield VideoAnno(f"{split}2017/{stem}", [FrameAnno(img, 0, boxes, masks=masks)], cats)


def read_youtube_bb(root: str, split: str = "train") -> Iterator[VideoAnno]:
    """YouTube-BB: ``<root>/yt_bb_detection_<split>.csv`` (normalised boxes) with frames extracted to
    ``<root>/frames/<youtube_id>/<timestamp_ms>.jpg``. One video per youtube id, one track per
    (class, object) pair; absent rows are skipped."""
    csv_path = os.path.join(root, f"yt_bb_detection_{split}.csv")
    if not os.path.isfile(csv_path):
        raise AnnotationError(f"YouTube-BB csv not found: {csv_path}")
    videos: Dict[str, Dict] = defaultdict(lambda: {"frames": defaultdict(dict), "tracks": {}})
    with open(csv_path, "r", encoding="utf-8") as f:
        for n, row in enumerate(csv.reader(f), start=1):
            if not row or row[0] == "youtube_id":
                continue
            if len(row) < 10:
                raise AnnotationError(f"{csv_path}:{n}: expected 10 columns, got {len(row)}")
            yid, ts, class_id, class_name, obj_id, presence = row[:6]
            if presence != "present":
                continue
            try:
                xmin, xmax, ymin, ymax = (float(v) for v in row[6:10])
            except ValueError:
                raise AnnotationError(f"{csv_path}:{n}: box values are not numbers") from None
            v = videos[yid]
            key = (class_id, obj_id)
            tid = v["tracks"].setdefault(key, (len(v["tracks"]), class_name))[0]
            v["frames"][int(ts)][tid] = [xmin, ymin, xmax, ymax]
    for yid in sorted(videos):
        v = videos[yid]
        frames = [FrameAnno(os.path.join(root, "frames", yid, f"{ts}.jpg"), k, boxes, normalized=True)
                  for k, (ts, boxes) in enumerate(sorted(v["frames"].items()))]
        yield VideoAnno(yid, frames, {tid: name for tid, name in v["tracks"].values()})


# ---------------------------------------------------------------- YouTube-VOS
def read_ytb_vos(root: str, split: str = "train") -> Iterator[VideoAnno]:
    """YouTube-VOS: ``<root>/<split>/{meta.json, JPEGImages/<video>/<frame>.jpg, Annotations/<video>/<frame>.png}``.

    Annotation PNGs hold the object id of each pixel (palette indices); every object id
    of ``meta.json`` (``{"videos": {video: {"objects": {id: {"category", "frames"}}}}}``)
    is a track whose mask is ``pixels == id`` and whose box is the mask's bounding box
    (computed by the crop loop; frames where the object has no pixel are skipped).
    """
    base = _require_dir(os.path.join(root, split), f"YouTube-VOS {split} split")
    meta_path = next((p for p in (os.path.join(base, "meta.json"), os.path.join(root, "meta.json"))
                      if os.path.isfile(p)), None)
    if meta_path is None:
        raise AnnotationError(f"YouTube-VOS meta.json not found in {base} or {root}")
    try:
        with open(meta_path, "r", encoding="utf-8") as f:
            videos = json.load(f)["videos"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise AnnotationError(f"{meta_path}: expected {{\"videos\": {{video: {{\"objects\": ...}}}}}} ({e})") from None
    for video in sorted(videos):
        frames: Dict[str, Dict[int, LabelMask]] = defaultdict(dict)
        categories: Dict[int, str] = {}
        try:
            for oid, obj in videos[video]["objects"].items():
                tid = int(oid)
                if obj.get("category"):
                    categories[tid] = obj["category"]
                for fr in obj["frames"]:
                    frames[fr][tid] = LabelMask(os.path.join(base, "Annotations", video, f"{fr}.png"), tid)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise AnnotationError(f"{meta_path}: video {video!r}: malformed objects ({e!r})") from None
        annos = []
        for fr in sorted(frames, key=lambda f: (int(f) if f.isdigit() else 0, f)):
            if not fr.isdigit():
                raise AnnotationError(f"{meta_path}: video {video!r}: frame name {fr!r} is not a number")
            img = os.path.join(base, "JPEGImages", video, f"{fr}.jpg")
            annos.append(FrameAnno(img, int(fr), {}, masks=frames[fr]))
        yield VideoAnno(video, annos, categories)


READERS: Dict[str, Callable[[str, str], Iterator[VideoAnno]]] = {
    "vid": read_vid,
    "det": read_det,
    "coco": read_coco,
    "yt_bb": read_youtube_bb,
    "got10k": read_got10k,
    "lasot": read_lasot,
    "generic": read_generic,
    "ytb_vos": read_ytb_vos,
}
