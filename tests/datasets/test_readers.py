"""Each dataset reader on a tiny hand-made copy of its native layout, through the shared crop loop."""
import json
import os

import cv2
import numpy as np
import pytest

from training_dataset.crop import crop_dataset
from training_dataset.readers import (AnnotationError, read_box_lines, read_coco, read_det, read_got10k,
                                      read_lasot, read_vid, read_youtube_bb)


def _img(path, w=120, h=90):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    cv2.imwrite(str(path), np.full((h, w, 3), 128, np.uint8))


def _voc(path, objects):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    body = "".join(
        f"<object><trackid>{t}</trackid><name>{n}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>"
        f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>" for t, n, b in objects)
    with open(path, "w") as f:
        f.write(f"<annotation>{body}</annotation>")


def test_box_lines(tmp_path):
    gt = tmp_path / "gt.txt"
    gt.write_text("1,2,10,20\n1\t2\t10\t20\nnan,nan,nan,nan\n0 0 4 0 4 3 0 3\n5,5,0,3\n")
    rows = read_box_lines(str(gt))
    # NaN and zero-size rows are kept for the crop loop to count (test_prepare_counts_skipped_boxes)
    assert rows[0] == [1, 2, 11, 22] and rows[1] == rows[0] and np.isnan(rows[2]).all()
    assert rows[3] == [0, 0, 4, 3] and rows[4] == [5, 5, 5, 8]
    gt.write_text("1,2,3\n")
    with pytest.raises(AnnotationError, match="gt.txt:1"):
        read_box_lines(str(gt))


def test_vid_and_det(tmp_path):
    vid = tmp_path / "ILSVRC2015"
    for i in range(2):
        _voc(vid / f"Annotations/VID/train/a/v1/{i:06d}.xml", [(0, "n01", (10, 10, 40, 50)), (3, "n02", (50, 5, 90, 30))])
        _img(vid / f"Data/VID/train/a/v1/{i:06d}.JPEG")
    _voc(vid / "Annotations/DET/train/x/img1.xml", [(0, "n05", (5, 5, 30, 30))])
    _img(vid / "Data/DET/train/x/img1.JPEG")
    videos = list(read_vid(str(vid)))
    assert [v.name for v in videos] == [os.path.join("a", "v1")] and len(videos[0].frames) == 2
    assert videos[0].categories == {0: "n01", 3: "n02"}
    report = crop_dataset(videos, str(tmp_path / "out"), num_workers=1, total=1)
    anno = json.loads((tmp_path / "out" / "train.json").read_text())
    assert report.crops == 4 and sorted(anno["a/v1"]) == ["00", "03"]
    assert (tmp_path / "out" / "crop511" / "a" / "v1" / "000001.03.x.jpg").is_file()
    det = list(read_det(str(vid)))
    assert det[0].frames[0].boxes == {0: [5, 5, 30, 30]} and det[0].categories == {0: "n05"}


def test_coco(tmp_path):
    os.makedirs(tmp_path / "annotations")
    (tmp_path / "annotations" / "instances_train2017.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "000001.jpg"}, {"id": 2, "file_name": "000002.jpg"}],
        "annotations": [{"image_id": 1, "bbox": [10, 10, 20, 30], "category_id": 7, "iscrowd": 0},
                        {"image_id": 1, "bbox": [0, 0, 5, 5], "category_id": 7, "iscrowd": 1}],
        "categories": [{"id": 7, "name": "cat"}]}))
    videos = list(read_coco(str(tmp_path)))
    assert len(videos) == 1 and videos[0].frames[0].boxes == {0: [10, 10, 30, 40]}
    assert videos[0].categories == {0: "cat"}
    # The image itself is missing: reported and counted, no crash.
    report = crop_dataset(videos, str(tmp_path / "out"))
    assert report.crops == 0 and len(report.errors) == 1 and "000001.jpg" in report.errors[0]


def test_got10k_and_lasot(tmp_path):
    seq = tmp_path / "got" / "train" / "GOT-10k_Train_000001"
    for i in range(3):
        _img(seq / f"{i + 1:08d}.jpg")
    (seq / "groundtruth.txt").write_text("1,1,10,10\n2,2,10,10\n3,3,10,10\n")
    (seq / "absence.label").write_text("0\n1\n0\n")
    (seq / "meta_info.ini").write_text("[METAINFO]\nobject_class: zebra\nmotion_class: running\n")
    got = list(read_got10k(str(tmp_path / "got")))
    assert [f.frame_index for f in got[0].frames] == [0, 2] and got[0].categories == {0: "zebra"}

    las = tmp_path / "lasot" / "bear" / "bear-1"
    for i in range(3):
        _img(las / "img" / f"{i + 1:08d}.jpg")
    (las / "groundtruth.txt").write_text("1,1,10,10\n2,2,10,10\n3,3,10,10\n")
    (las / "full_occlusion.txt").write_text("0,0,1")
    (las / "out_of_view.txt").write_text("0,1,0")
    lasot = list(read_lasot(str(tmp_path / "lasot")))
    assert lasot[0].name == "bear-1" and [f.frame_index for f in lasot[0].frames] == [0]
    assert lasot[0].categories == {0: "bear"}


def test_youtube_bb_normalised_boxes(tmp_path):
    (tmp_path / "yt_bb_detection_train.csv").write_text(
        "abc,1000,3,dog,0,present,0.1,0.5,0.2,0.6\n"
        "abc,2000,3,dog,0,absent,-1,-1,-1,-1\n"
        "abc,3000,3,dog,0,present,0.2,0.6,0.2,0.6\n")
    _img(tmp_path / "frames" / "abc" / "1000.jpg", w=200, h=100)
    _img(tmp_path / "frames" / "abc" / "3000.jpg", w=200, h=100)
    videos = list(read_youtube_bb(str(tmp_path)))
    assert len(videos[0].frames) == 2 and videos[0].categories == {0: "dog"}
    crop_dataset(videos, str(tmp_path / "out"))
    anno = json.loads((tmp_path / "out" / "train.json").read_text())
    np.testing.assert_allclose(anno["abc"]["00"]["000000"], [20, 20, 100, 60])


def test_prepare_refuses_empty_roots_and_unwritable_outputs(tmp_path, capsys):
    from training_dataset.prepare import main as prepare_main

    empty = tmp_path / "empty"
    empty.mkdir()
    assert prepare_main(["generic", "--root", str(empty), "--out", str(tmp_path / "o1"), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert f"no generic annotations found under --root {empty}" in err and "groundtruth.txt" in err
    assert not (tmp_path / "o1" / "train.json").exists()  # no empty index for training to trip on later
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert prepare_main(["generic", "--root", str(empty), "--out", str(blocker / "out")]) == 2
    assert f"--out {blocker / 'out'}: cannot create the output folder" in capsys.readouterr().err
    assert prepare_main(["synthetic", "--out", str(tmp_path / "o2"), "--num-videos", "0"]) == 2
    assert "--num-videos" in capsys.readouterr().err


def test_prepare_fails_when_every_image_is_missing(tmp_path, capsys):
    from training_dataset.prepare import main as prepare_main

    seq = tmp_path / "raw" / "seq"
    (seq / "img").mkdir(parents=True)
    (seq / "groundtruth.txt").write_text("1,2,30,40\n")
    (seq / "img" / "00000001.jpg").write_text("not an image")
    assert prepare_main(["generic", "--root", str(tmp_path / "raw"), "--out", str(tmp_path / "o"),
                         "--workers", "1"]) == 2
    assert "no crop was written from 1 generic video(s)" in capsys.readouterr().err
