"""Your own videos in one command: a folder of sequences in any benchmark layout becomes a training set."""
import json
import os

import cv2
import numpy as np
import pytest

from pysot.config import load_cfg
from pysot.datasets.synthetic import render_clip, write_crop511_dataset
from pysot.training.trainer import train
from training_dataset.prepare import main as prepare_main

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CFG = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")
N = 6  # frames per sequence


def _frames(folder, seed, size=(160, 120)):
    """Write ``N`` frames of a synthetic clip into ``folder``; returns the ``x,y,w,h`` boxes."""
    clip, gt = render_clip(num_frames=N, size=size, seed=seed)
    os.makedirs(folder, exist_ok=True)
    for i, img in enumerate(clip):
        cv2.imwrite(os.path.join(folder, f"{i + 1:08d}.jpg"), img)
    return gt


def _rows(gt, polygon=False):
    if polygon:
        return [",".join(f"{v:.2f}" for v in [x, y, x + w, y, x + w, y + h, x, y + h]) for x, y, w, h in gt]
    return [",".join(f"{v:.2f}" for v in box) for box in gt]


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """One folder holding sequences in the OTB, VOT, GOT-10k and LaSOT layouts, with bad boxes at known lines."""
    root = tmp_path_factory.mktemp("my_videos")
    # OTB: groundtruth_rect.txt + img/; line 3 has a zero width, line 5 lies outside the 160x120 image.
    gt = _frames(root / "otb" / "Biker" / "img", 1)
    rows = _rows(gt)
    rows[2] = "10,10,0,20"
    rows[4] = "400,300,20,20"
    (root / "otb" / "Biker" / "groundtruth_rect.txt").write_text("\n".join(rows) + "\n")
    # OTB's two-target video: groundtruth_rect.1.txt / .2.txt over the same frames.
    gt = _frames(root / "otb" / "Jogging" / "img", 2)
    for k in (1, 2):
        (root / "otb" / "Jogging" / f"groundtruth_rect.{k}.txt").write_text("\n".join(_rows(gt)) + "\n")
    # VOT: polygons, frames in color/; line 4 is NaN (a VOT-LT "absent" row nobody flagged).
    gt = _frames(root / "vot" / "ball" / "color", 3)
    rows = _rows(gt, polygon=True)
    rows[3] = "nan,nan,nan,nan,nan,nan,nan,nan"
    (root / "vot" / "ball" / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    (root / "vot" / "list.txt").write_text("ball\n")
    # GOT-10k: train/<seq>/ with frames beside groundtruth.txt, absence.label (frame 2 absent), meta_info.ini.
    seq = root / "got10k" / "train" / "GOT-10k_Train_000001"
    gt = _frames(seq, 4)
    (seq / "groundtruth.txt").write_text("\n".join(_rows(gt)) + "\n")
    (seq / "absence.label").write_text("0\n1\n0\n0\n0\n0\n")
    (seq / "meta_info.ini").write_text("[METAINFO]\nobject_class: zebra\nmotion_class: walking\n")
    # LaSOT: <category>/<category>-<n>/img + full_occlusion.txt (frame 6) and out_of_view.txt (frame 1).
    seq = root / "lasot" / "airplane" / "airplane-1"
    gt = _frames(seq / "img", 5)
    (seq / "groundtruth.txt").write_text("\n".join(_rows(gt)) + "\n")
    (seq / "full_occlusion.txt").write_text("0,0,0,0,0,1")
    (seq / "out_of_view.txt").write_text("1,0,0,0,0,0")
    return root


def test_one_command_reads_every_layout_and_reports_bad_boxes(raw, tmp_path, capsys, log_messages):
    out = tmp_path / "mine"
    assert prepare_main(["generic", "--root", str(raw), "--out", str(out), "--workers", "1"]) == 0
    anno = json.load(open(out / "train.json"))
    frames = {video: sorted(int(f) for f in tracks["00"]) for video, tracks in anno.items()}
    assert frames == {
        "Biker": [0, 1, 3, 5],                       # lines 3 and 5 left out
        "Jogging-1": list(range(N)), "Jogging-2": list(range(N)),
        "ball": [0, 1, 2, 4, 5],                     # the NaN line 4 left out
        "GOT-10k_Train_000001": [0, 2, 3, 4, 5],     # absent frame 2 skipped silently
        "airplane-1": [1, 2, 3, 4],                  # out of view (1) and fully occluded (6)
    }
    for video, indices in frames.items():
        for i in indices:
            assert (out / "crop511" / video / f"{i:06d}.00.x.jpg").is_file()
    categories = json.load(open(out / "train_category.json"))
    assert categories["GOT-10k_Train_000001"]["00"] == "zebra" and categories["airplane-1"]["00"] == "airplane"
    # Each bad box is one line naming the file and the line; flagged-absent frames are not reported.
    biker = str(raw / "otb" / "Biker" / "groundtruth_rect.txt")
    ball = str(raw / "vot" / "ball" / "groundtruth.txt")
    assert any(m.startswith(f"{biker}:3: ") and "zero or negative width/height" in m for m in log_messages)
    assert any(m.startswith(f"{biker}:5: ") and "outside the 160x120 image" in m for m in log_messages)
    assert any(m.startswith(f"{ball}:4: ") and "NaN" in m for m in log_messages)
    assert not any("absence.label" in m or "GOT-10k_Train_000001/groundtruth.txt:2" in m for m in log_messages)
    # The command prints the YAML lines that add the set to an experiment.
    printed = capsys.readouterr().out
    assert "NAMES: [MINE]" in printed and f'ROOT: "{out / "crop511"}"' in printed


def test_own_sequences_mix_with_other_datasets_by_yaml(raw, tmp_path):
    """NAMES lists the prepared folder beside another sub-dataset; training draws from both, no crash."""
    out = tmp_path / "mine"
    assert prepare_main(["generic", "--root", str(raw), "--out", str(out), "--workers", "1"]) == 0
    synthetic = write_crop511_dataset(str(tmp_path / "synthetic"), num_videos=3, num_frames=4, seed=1)
    yaml = tmp_path / "mixed.yaml"
    yaml.write_text(f"""_BASE_: "{CFG}"
DATASET:
    NAMES: ["SYNTHETIC", "MINE"]
    SYNTHETIC:
        ROOT: "{synthetic['root']}"
        ANNO: "{synthetic['anno']}"
        FRAME_RANGE: 30
        NUM_USE: -1
    MINE:
        ROOT: "{out / 'crop511'}"
        ANNO: "{out / 'train.json'}"
        FRAME_RANGE: 100
        NUM_USE: -1
TRAIN:
    EPOCH: 1
    ITERS_PER_EPOCH: 2
    BATCH_SIZE: 4
    NUM_WORKERS: 0
    LR_WARMUP:
        WARMUP: False
    SNAPSHOT_DIR: "{tmp_path / 'snap'}"
    LOG_DIR: ""
""")
    from pysot.datasets.dataset import build_train_dataset

    cfg = load_cfg(str(yaml))
    dataset = build_train_dataset(cfg, length=40)
    assert [sub.name for sub in dataset.pairs.datasets] == ["SYNTHETIC", "MINE"]
    for i in range(40):  # every sample of an epoch loads
        sample = dataset[(0, i)]
        assert np.isfinite(sample["template"]).all()
    assert train(cfg, "cpu") == 2
