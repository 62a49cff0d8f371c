import json
import os

import cv2
import numpy as np
import pytest

from pysot.core.registry import RegistryError
from toolkit.datasets import DatasetError, build_dataset


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def frames(folder, n, names=None, size=(24, 32)):
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        name = names[i] if names else f"{i + 1:04d}.jpg"
        cv2.imwrite(os.path.join(folder, name), np.full((size[0], size[1], 3), 40 * i % 255, np.uint8))


def test_unknown_dataset_lists_registered_names(tmp_path):
    with pytest.raises(RegistryError, match="OTB100"):
        build_dataset("NoSuchBench", str(tmp_path))


def test_otb_native_layout_with_two_targets(tmp_path):
    root = str(tmp_path)
    frames(os.path.join(root, "Jogging", "img"), 3)
    write(os.path.join(root, "Jogging", "groundtruth_rect.1.txt"), "1,2,3,4\n1,2,3,4\n1,2,3,4\n")
    write(os.path.join(root, "Jogging", "groundtruth_rect.2.txt"), "5\t6\t7\t8\n5 6 7 8\n5,6,7,8\n")
    frames(os.path.join(root, "Boy", "img"), 2)
    write(os.path.join(root, "Boy", "groundtruth_rect.txt"), "1,1,5,5\n2,2,5,5\n")
    ds = build_dataset("otb100", root)
    assert list(ds.videos) == ["Boy", "Jogging-1", "Jogging-2"]
    assert ds["Jogging-2"].gt.tolist() == [[5, 6, 7, 8]] * 3
    assert ds["Boy"].read_frame(1).shape == (24, 32, 3)


def test_pysot_json_layout_and_presence_flags(tmp_path):
    meta = {
        "v1": {"video_dir": "v1", "init_rect": [1, 2, 3, 4], "img_names": ["v1/a.jpg", "v1/b.jpg"],
               "gt_rect": [[1, 2, 3, 4], [2, 3, 4, 5]], "attr": ["Occlusion"], "absent": [1, 0]},
    }
    write(str(tmp_path / "LaSOT.json"), json.dumps(meta))
    ds = build_dataset("LaSOT", str(tmp_path))
    v = ds["v1"]
    assert v.img_paths[0] == os.path.join(str(tmp_path), "v1/a.jpg")
    assert v.attributes == ["Occlusion"] and ds.attributes == ["Occlusion"]
    # the flag is set on frame 0, where the target is always visible: it marks presence
    assert v.absent.tolist() == [False, True]


def test_vot_native_layout(tmp_path):
    root = str(tmp_path)
    seq = os.path.join(root, "ball")
    frames(os.path.join(seq, "color"), 3, [f"{i:08d}.jpg" for i in range(1, 4)])
    write(os.path.join(seq, "groundtruth.txt"), "1,1,9,1,9,9,1,9\n2,2,10,2,10,10,2,10\n1,1,9,1,9,9,1,9\n")
    write(os.path.join(seq, "occlusion.tag"), "0\n1\n")
    write(os.path.join(root, "list.txt"), "ball\n")
    ds = build_dataset("VOT2016", root)
    assert ds.protocol == "vot" and ds.eao_interval == (108, 371)
    v = ds["ball"]
    assert v.gt.shape == (3, 8)
    assert v.tags["occlusion"].tolist() == [False, True, False]
    assert v.image_size() == (32, 24)  # no json: taken from the first frame


def test_vot_annotation_error_names_file(tmp_path):
    write(str(tmp_path / "ball" / "groundtruth.txt"), "1,2,3\n")
    with pytest.raises(DatasetError, match="groundtruth.txt"):
        build_dataset("VOT2018", str(tmp_path))


def test_lasot_compact_layout(tmp_path):
    root = str(tmp_path)
    write(os.path.join(root, "testing_set.txt"), "cat-1\n")
    write(os.path.join(root, "annos", "cat-1.txt"), "1,2,3,4\n0,0,0,0\n")
    write(os.path.join(root, "annos", "absent", "cat-1.txt"), "0\n1\n")
    ds = build_dataset("LaSOT", root)
    assert ds.normalized_precision and ds["cat-1"].absent.tolist() == [False, True]


def test_lasot_native_layout(tmp_path):
    root = str(tmp_path)
    write(os.path.join(root, "testing_set.txt"), "cat-1\n")
    folder = os.path.join(root, "cat", "cat-1")
    write(os.path.join(folder, "groundtruth.txt"), "1,2,3,4\n1,2,3,4\n1,2,3,4\n")
    write(os.path.join(folder, "full_occlusion.txt"), "0,1,0\n")
    write(os.path.join(folder, "out_of_view.txt"), "0,0,1\n")
    frames(os.path.join(folder, "img"), 3, [f"{i:08d}.jpg" for i in range(1, 4)])
    v = build_dataset("LaSOT", root)["cat-1"]
    assert v.absent.tolist() == [False, True, True] and len(v.img_paths) == 3


def test_got10k_and_trackingnet_native(tmp_path):
    root = str(tmp_path)
    seq = os.path.join(root, "val", "GOT-10k_Val_000001")
    frames(seq, 2, ["00000001.jpg", "00000002.jpg"])
    write(os.path.join(seq, "groundtruth.txt"), "1,2,3,4\n1,2,3,4\n")
    write(os.path.join(seq, "absence.label"), "0\n1\n")
    got = build_dataset("GOT-10k", root)
    assert got.protocol == "got10k" and got["GOT-10k_Val_000001"].absent.tolist() == [False, True]

    tn = os.path.join(root, "tn")
    write(os.path.join(tn, "TEST", "anno", "vid.txt"), "1,2,3,4\n")
    frames(os.path.join(tn, "TEST", "frames", "vid"), 11, [f"{i}.jpg" for i in range(11)])
    v = build_dataset("TrackingNet", tn)["vid"]
    assert [os.path.basename(p) for p in v.img_paths[:3]] == ["0.jpg", "1.jpg", "2.jpg"]
    assert v.num_frames == 11 and len(v.gt) == 1


def test_nfs_and_uav_native(tmp_path):
    root = str(tmp_path / "nfs")
    write(os.path.join(root, "bee", "30", "bee.txt"), 'car 10 20 50 60 1 0 0 0 "bee"\ncar 12 20 52 60 9 0 0 0 "bee"\n')
    ds = build_dataset("NFS30", root)
    assert ds["bee"].gt.tolist() == [[10, 20, 40, 40], [12, 20, 40, 40]]
    uav = str(tmp_path / "uav")
    write(os.path.join(uav, "anno", "UAV123", "bike1.txt"), "1,2,3,4\nNaN,NaN,NaN,NaN\n")
    v = build_dataset("UAV123", uav)["bike1"]
    assert np.isnan(v.gt[1]).all()


def test_empty_root_is_an_error(tmp_path):
    with pytest.raises(DatasetError, match="no videos"):
        build_dataset("OTB100", str(tmp_path))


def test_missing_root_is_named(tmp_path):
    with pytest.raises(DatasetError, match="--dataset-root .*nowhere: no such folder"):
        build_dataset("OTB100", str(tmp_path / "nowhere"))


def test_vot_tag_absent_from_a_video_is_all_false(tmp_path):
    # Native: ball has no occlusion.tag (the tag never occurs there), as in the VOT releases.
    root = str(tmp_path / "native")
    for name, tags in (("ball", {}), ("book", {"occlusion": "0\n1\n"})):
        write(os.path.join(root, name, "groundtruth.txt"), "1,1,9,1,9,9,1,9\n" * 2)
        for tag, text in tags.items():
            write(os.path.join(root, name, f"{tag}.tag"), text)
    ds = build_dataset("VOT2018", root)
    assert ds.tag_names == ["occlusion"]
    assert ds["ball"].tags["occlusion"].tolist() == [False, False]
    # json: VOT2018.json stores such a tag as [] (ball1's occlusion, matrix's camera_motion).
    meta = {"ball": {"video_dir": "ball", "init_rect": [1, 1, 8, 8], "img_names": ["a.jpg", "b.jpg"],
                     "gt_rect": [[1, 1, 8, 8]] * 2, "occlusion": [], "camera_motion": [1, 0]},
            "book": {"video_dir": "book", "init_rect": [1, 1, 8, 8], "img_names": ["a.jpg", "b.jpg"],
                     "gt_rect": [[1, 1, 8, 8]] * 2, "occlusion": [0, 1], "camera_motion": []}}
    write(str(tmp_path / "json" / "VOT2018.json"), json.dumps(meta))
    ds = build_dataset("VOT2018", str(tmp_path / "json"))
    assert ds.tag_names == ["camera_motion", "occlusion"]
    assert ds["ball"].tags["occlusion"].tolist() == [False, False]
    assert ds["book"].tags["camera_motion"].tolist() == [False, False]


def test_real_vot2018_keeps_all_five_tags(shared_data):
    ds = build_dataset("VOT2018", os.path.join(shared_data, "VOT2018"))
    assert ds.tag_names == ["camera_motion", "illum_change", "motion_change", "occlusion", "size_change"]
