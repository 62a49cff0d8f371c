import json
import os

import numpy as np

from pysot.datasets.synthetic import CATEGORIES, render_clip, write_sequence_folders
from training_dataset.prepare import main as prepare_main


def test_render_clip_contract_and_determinism():
    frames, gt = render_clip(num_frames=12, size=(200, 150), seed=4, max_size=40)
    assert len(frames) == 12 and gt.shape == (12, 4)
    assert all(f.shape == (150, 200, 3) and f.dtype == np.uint8 for f in frames)
    assert (gt[:, 0] >= 0).all() and (gt[:, 1] >= 0).all()
    assert (gt[:, 0] + gt[:, 2] <= 200).all() and (gt[:, 1] + gt[:, 3] <= 150).all()
    frames2, gt2 = render_clip(num_frames=12, size=(200, 150), seed=4, max_size=40)
    np.testing.assert_array_equal(gt, gt2)
    np.testing.assert_array_equal(frames[5], frames2[5])
    _, gt3 = render_clip(num_frames=12, size=(200, 150), seed=5, max_size=40)
    assert not np.allclose(gt, gt3)


def test_target_is_visible_where_gt_says():
    frames, gt, masks = render_clip(num_frames=3, seed=2, noise=0.0, return_masks=True)
    x, y, w, h = gt[1].astype(int)
    inside = masks[1][y:y + h, x:x + w]
    assert inside.mean() > 0.3 and masks[1].sum() == inside.sum()


def test_sequence_folders_then_generic_prepare(tmp_path):
    seqs, out = tmp_path / "seqs", tmp_path / "prepared"
    names = write_sequence_folders(str(seqs), num_videos=3, num_frames=4, seed=0)
    # A missing image is reported and skipped, not a crash.
    os.remove(seqs / names[0] / "00000002.jpg")
    assert prepare_main(["generic", "--root", str(seqs), "--out", str(out), "--workers", "2"]) == 0
    anno = json.loads((out / "train.json").read_text())
    cats = json.loads((out / "train_category.json").read_text())
    assert sorted(anno) == names
    assert sorted(anno[names[0]]["00"]) == ["000000", "000002", "000003"]
    assert len(anno[names[1]]["00"]) == 4
    assert cats[names[1]]["00"] in [c for c, _ in CATEGORIES]
    crop = out / "crop511" / names[1] / "000001.00.x.jpg"
    import cv2

    assert cv2.imread(str(crop)).shape == (511, 511, 3)
    gt = np.loadtxt(seqs / names[1] / "groundtruth.txt", delimiter=",")
    x, y, w, h = gt[1]
    np.testing.assert_allclose(anno[names[1]]["00"]["000001"], [x, y, x + w, y + h], atol=1e-6)
