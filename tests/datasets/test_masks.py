"""Mask extraction for SiamMask training: COCO polygons/RLE, YouTube-VOS id PNGs, generic masks/,
through the shared crop loop, and the training dataset reading the prepared ``.m.png`` crops."""
import json
import os

import cv2
import numpy as np
import pytest

from pysot.config import CN, get_cfg
from pysot.datasets.dataset import build_train_dataset, box_in_crop
from training_dataset.crop import (LabelMask, MaskError, PolygonMask, crop_dataset, decode_rle,
                                   rle_counts_from_string)
from training_dataset.prepare import main as prepare_main
from training_dataset.readers import AnnotationError, read_coco, read_generic, read_ytb_vos

from mask_checks import assert_mask_covers_box

BG = (90, 90, 90)
FG = (20, 220, 240)


def _write(path, image):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    assert cv2.imwrite(str(path), image)


def _encode_counts(counts):
    """COCO's compressed RLE string (the inverse of the decoder, written from the format)."""
    out = []
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = x != -1 if ch & 0x10 else x != 0
            if more:
                ch |= 0x20
            out.append(chr(ch + 48))
    return "".join(out)


def _counts(mask):
    flat = mask.flatten(order="F").astype(np.int8)
    change = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return np.diff(np.concatenate([[0], change])).tolist()


def _shoelace(poly):
    x, y = np.asarray(poly[0::2], float), np.asarray(poly[1::2], float)
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _x_object(crop):
    """Object pixels of a crop: the saturated yellow foreground colour."""
    return (crop[..., 1] > 150) & (crop[..., 0] < 80)


def _iou(a, b):
    return (a & b).sum() / max(1, (a | b).sum())


def test_rle_decoding():
    assert rle_counts_from_string("321") == [3, 2, 1]
    assert rle_counts_from_string("3212") == [3, 2, 1, 4]  # 4th run: delta to the 2nd
    assert rle_counts_from_string("151M") == [1, 5, 1, 2]  # negative delta (sign bit)
    assert rle_counts_from_string("X1") == [40]  # continuation character
    rng = np.random.default_rng(0)
    mask = np.zeros((23, 31), bool)
    mask[3:17, 5:25] = True
    mask[rng.random(mask.shape) < 0.05] = True
    counts = _counts(mask)
    np.testing.assert_array_equal(decode_rle({"size": [23, 31], "counts": counts}), mask)
    np.testing.assert_array_equal(decode_rle({"size": [23, 31], "counts": _encode_counts(counts)}), mask)
    with pytest.raises(MaskError, match="sum"):
        decode_rle({"size": [23, 30], "counts": counts})


def _coco(tmp_path, segmentation=None):
    poly = [40, 30, 110, 38, 95, 90, 50, 80]
    img = np.full((120, 160, 3), BG, np.uint8)
    cv2.fillPoly(img, [np.array(poly, np.int32).reshape(-1, 2)], FG)
    _write(tmp_path / "train2017" / "000001.jpg", img)
    xs, ys = poly[0::2], poly[1::2]
    ann = {"image_id": 1, "bbox": [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)], "category_id": 3,
           "iscrowd": 0, "segmentation": segmentation or [poly]}
    os.makedirs(tmp_path / "annotations", exist_ok=True)
    (tmp_path / "annotations" / "instances_train2017.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "000001.jpg", "height": 120, "width": 160}],
        "annotations": [ann], "categories": [{"id": 3, "name": "car"}]}))
    return poly, img


def test_coco_polygon_mask_crop_aligns(tmp_path):
    poly, img = _coco(tmp_path)
    videos = list(read_coco(str(tmp_path)))
    source = videos[0].frames[0].masks[0]
    assert isinstance(source, PolygonMask)
    full = source.read(img.shape[:2])
    # fillPoly fills boundary pixels too: area within half a perimeter of the polygon's.
    area, perimeter = _shoelace(poly), cv2.arcLength(np.array(poly, np.float32).reshape(-1, 2), True)
    assert area <= full.sum() <= area + perimeter
    assert _iou(full, _x_object(img)) > 0.97

    out = tmp_path / "out"
    report = crop_dataset(videos, str(out))
    assert report.crops == 1 and not report.errors
    vdir = out / "crop511" / "train2017" / "000001"
    m = cv2.imread(str(vdir / "000000.00.m.png"), cv2.IMREAD_UNCHANGED)
    x = cv2.imread(str(vdir / "000000.00.x.jpg"))
    assert m.shape == (511, 511) and set(np.unique(m)) == {0, 255}
    assert _iou(m > 0, _x_object(x)) > 0.9
    # The object's box maps onto the mask's extent in the crop.
    bx = box_in_crop(json.loads((out / "train.json").read_text())["train2017/000001"]["00"]["000000"])
    ys, xs = np.nonzero(m)
    np.testing.assert_allclose([xs.min(), ys.min(), xs.max(), ys.max()], bx, atol=4)

    # --no-masks: boxes only.
    assert prepare_main(["coco", "--root", str(tmp_path), "--out", str(tmp_path / "nm"), "--workers", "1",
                         "--no-masks"]) == 0
    assert not list((tmp_path / "nm" / "crop511").rglob("*.m.png"))


def test_coco_rle_segmentation(tmp_path):
    mask = np.zeros((120, 160), bool)
    mask[30:80, 40:100] = True
    _, img = _coco(tmp_path, {"size": [120, 160], "counts": _encode_counts(_counts(mask))})
    videos = list(read_coco(str(tmp_path)))
    np.testing.assert_array_equal(videos[0].frames[0].masks[0].read(img.shape[:2]), mask)
    bad = PolygonMask({"size": [100, 160], "counts": _counts(np.zeros((100, 160), bool))})
    with pytest.raises(MaskError, match="image size"):
        bad.read((120, 160))


def _ytb_vos(root):
    """Two objects over three frames; object 2 leaves the picture in the last frame."""
    base = root / "train"
    for k, fr in enumerate(["00000", "00005", "00010"]):
        labels = np.zeros((96, 128), np.uint8)
        labels[10 + k * 2:40 + k * 2, 20:50] = 1
        if k < 2:
            labels[50:80, 70 + k * 3:110 + k * 3] = 2
        _write(base / "Annotations" / "vid_a" / f"{fr}.png", labels)  # single-channel ids
        img = np.full((96, 128, 3), BG, np.uint8)
        img[labels == 1] = FG
        img[labels == 2] = (200, 40, 40)
        _write(base / "JPEGImages" / "vid_a" / f"{fr}.jpg", img)
    (base / "meta.json").write_text(json.dumps({"videos": {"vid_a": {"objects": {
        "1": {"category": "dog", "frames": ["00000", "00005", "00010"]},
        "2": {"category": "person", "frames": ["00000", "00005", "00010"]}}}}}))
    return base


def test_ytb_vos_two_objects(tmp_path):
    base = _ytb_vos(tmp_path / "ytvos")
    videos = list(read_ytb_vos(str(tmp_path / "ytvos")))
    assert len(videos) == 1 and videos[0].categories == {1: "dog", 2: "person"}
    assert [f.frame_index for f in videos[0].frames] == [0, 5, 10]
    assert videos[0].frames[0].masks[2] == LabelMask(str(base / "Annotations" / "vid_a" / "00000.png"), 2)
    out = tmp_path / "out"
    report = crop_dataset(videos, str(out))
    assert not report.errors and report.crops == 5  # object 2 has no pixel in frame 10
    anno = json.loads((out / "train.json").read_text())["vid_a"]
    assert sorted(anno) == ["01", "02"] and sorted(anno["02"]) == ["000000", "000005"]
    assert anno["01"]["000005"] == [20, 12, 49, 41] and anno["02"]["000005"] == [73, 50, 112, 79]
    cats = json.loads((out / "train_category.json").read_text())
    assert cats == {"vid_a": {"01": "dog", "02": "person"}}
    vdir = out / "crop511" / "vid_a"
    for track in ("01", "02"):
        m = cv2.imread(str(vdir / f"000005.{track}.m.png"), cv2.IMREAD_UNCHANGED) > 0
        x = cv2.imread(str(vdir / f"000005.{track}.x.jpg"))
        # Each track's mask covers its own object only (the crop centres on it).
        own = _x_object(x) if track == "01" else (x[..., 0] > 150) & (x[..., 1] < 100)
        assert _iou(m, own) > 0.85
        assert m[255, 255]
    os.remove(base / "meta.json")
    with pytest.raises(AnnotationError, match="meta.json"):
        list(read_ytb_vos(str(tmp_path / "ytvos")))


def test_palette_png_reads_ids(tmp_path):
    from PIL import Image

    labels = np.zeros((20, 30), np.uint8)
    labels[2:8, 3:9], labels[10:15, 12:20] = 1, 2
    im = Image.fromarray(labels, mode="P")
    im.putpalette([0, 0, 0, 236, 95, 103, 249, 145, 87] + [0] * (256 * 3 - 9))
    im.save(tmp_path / "p.png")
    np.testing.assert_array_equal(LabelMask(str(tmp_path / "p.png"), 2).read((20, 30)), labels == 2)
    with pytest.raises(MaskError, match="image"):
        LabelMask(str(tmp_path / "p.png"), 2).read((21, 30))


def test_generic_masks_folder(tmp_path):
    seq = tmp_path / "seqs" / "s1"
    boxes = []
    for i in range(3):
        img = np.full((90, 120, 3), BG, np.uint8)
        mask = np.zeros((90, 120), np.uint8)
        cv2.circle(mask, (40 + 10 * i, 45), 15, 255, -1)
        img[mask > 0] = FG
        _write(seq / "img" / f"{i + 1:08d}.jpg", img)
        if i != 1:
            _write(seq / "masks" / f"{i + 1:08d}.png", mask)  # frame 2's mask is missing
        boxes.append(f"{25 + 10 * i},30,31,31")
    (seq / "groundtruth.txt").write_text("\n".join(boxes) + "\n")
    (tmp_path / "seqs" / "s2").mkdir()
    _write(tmp_path / "seqs" / "s2" / "img" / "00000001.jpg", np.full((90, 120, 3), BG, np.uint8))
    (tmp_path / "seqs" / "s2" / "groundtruth.txt").write_text("10,10,20,20\n")
    videos = list(read_generic(str(tmp_path / "seqs")))
    assert [len(v.frames[0].masks) for v in videos] == [1, 0]
    report = crop_dataset(videos, str(tmp_path / "out"))
    assert len(report.errors) == 1 and "00000002.png" in report.errors[0]
    anno = json.loads((tmp_path / "out" / "train.json").read_text())
    assert sorted(anno["s1"]["00"]) == ["000000", "000002"]  # no .x.jpg without its .m.png
    vdir = tmp_path / "out" / "crop511" / "s1"
    m = cv2.imread(str(vdir / "000002.00.m.png"), cv2.IMREAD_UNCHANGED) > 0
    assert _iou(m, _x_object(cv2.imread(str(vdir / "000002.00.x.jpg")))) > 0.9
    assert not (tmp_path / "out" / "crop511" / "s2" / "000000.00.m.png").exists()


def test_training_dataset_reads_prepared_masks(tmp_path):
    _ytb_vos(tmp_path / "ytvos")
    out = tmp_path / "out"
    assert prepare_main(["ytb_vos", "--root", str(tmp_path / "ytvos"), "--out", str(out), "--workers", "1"]) == 0
    cfg = get_cfg()
    cfg.DATASET.NAMES = ["YTB"]
    node = CN()
    node.ROOT, node.ANNO, node.FRAME_RANGE, node.NUM_USE = str(out / "crop511"), str(out / "train.json"), 3, -1
    cfg.DATASET.YTB = node
    cfg.DATASET.NEG = 0.0
    cfg.TRAIN.OUTPUT_SIZE = 17
    cfg.MASK.MASK = True
    ds = build_train_dataset(cfg, length=6)
    for i in range(6):
        assert_mask_covers_box(ds[(0, i)], min_cover=0.5)
