"""tools/eval_snapshots.py: every snapshot of a run on a validation benchmark, the best one named."""
import csv
import json
import os
import struct

import cv2
import pytest
import torch

from pysot.config import load_cfg
from pysot.datasets.synthetic import render_clip
from pysot.models import build_model
from tool_loader import load_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_CONFIG = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")
TINY_WEIGHTS = os.path.join(REPO, "pysot", "data", "siamrpn_alex_tiny.pth")


def _otb_clips(root, num_videos=2, num_frames=10):
    meta = {}
    for k in range(num_videos):
        clip, gt = render_clip(num_frames=num_frames, size=(200, 150), seed=50 + k)
        names = []
        for i, img in enumerate(clip):
            rel = f"Clip{k}/img/{i + 1:04d}.jpg"
            os.makedirs(os.path.join(root, f"Clip{k}", "img"), exist_ok=True)
            cv2.imwrite(os.path.join(root, rel), img)
            names.append(rel)
        meta[f"Clip{k}"] = {"video_dir": f"Clip{k}", "init_rect": gt[0].tolist(), "img_names": names,
                            "gt_rect": gt.tolist(), "attr": []}
    with open(os.path.join(root, "OTB100.json"), "w") as f:
        json.dump(meta, f)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder whose epoch 2 is the trained tiny model and epochs 1 and 3 untrained networks."""
    snap = tmp_path_factory.mktemp("snap")
    cfg = load_cfg(TINY_CONFIG)
    trained = torch.load(TINY_WEIGHTS, map_location="cpu", weights_only=False)["state_dict"]
    for epoch, seed in [(1, 0), (2, None), (3, 1)]:
        if seed is None:
            state = trained
        else:
            torch.manual_seed(seed)
            state = build_model(cfg).state_dict()
        torch.save({"epoch": epoch, "state_dict": state, "config": cfg.dump()}, snap / f"checkpoint_e{epoch}.pth")
    torch.save({"state_dict": trained, "config": cfg.dump()}, snap / "latest.pth")  # not an epoch: ignored
    return snap


def _scalars(log_dir):
    """``{tag: {step: value}}`` of the tensorboard event files in ``log_dir``."""
    from tensorboardX.proto import event_pb2

    out = {}
    for name in os.listdir(log_dir):
        if not name.startswith("events."):
            continue
        data, pos = open(os.path.join(log_dir, name), "rb").read(), 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = event_pb2.Event()
            event.ParseFromString(data[pos + 12:pos + 12 + length])
            for v in event.summary.value:
                out.setdefault(v.tag, {})[event.step] = v.simple_value
            pos += 12 + length + 4
    return out


def test_every_snapshot_is_scored_and_the_best_named(run_dir, tmp_path, log_messages):
    data = tmp_path / "data"
    _otb_clips(str(data))
    out = tmp_path / "report"
    tool = load_tool("eval_snapshots")
    rc = tool.main(["--snapshot-dir", str(run_dir), "--dataset", "OTB100", "--dataset-root", str(data),
                    "--results-dir", str(tmp_path / "results"), "--out", str(out), "--workers", "2",
                    "--device", "cpu"])
    assert rc == 0
    rows = list(csv.DictReader(open(out / "epochs.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    auc = {int(r["epoch"]): float(r["success_auc"]) for r in rows}
    assert auc[2] > max(auc[1], auc[3]) + 0.1, auc
    doc = json.load(open(out / "epochs.json"))
    assert doc["best_epoch"] == 2 and doc["best_snapshot"].endswith("checkpoint_e2.pth")
    assert doc["metric"] == "success_auc"
    assert any("best:" in m and "checkpoint_e2.pth" in m for m in log_messages)
    assert (out / "epochs.png").stat().st_size > 1000
    scalars = _scalars(str(out))
    assert scalars["val_OTB100/success_auc"] == pytest.approx(auc, abs=1e-6)
    # Results are in test.py's layout, one folder per snapshot; a second run (one process) only re-scores them.
    assert sorted(os.listdir(tmp_path / "results" / "OTB100")) == [f"{run_dir.name}_e{e}" for e in (1, 2, 3)]
    assert tool.main(["--snapshot-dir", str(run_dir), "--dataset", "OTB100", "--dataset-root", str(data),
                      "--results-dir", str(tmp_path / "results"), "--out", str(out), "--epochs", "2", "3"]) == 0
    assert [int(r["epoch"]) for r in csv.DictReader(open(out / "epochs.csv"))] == [2, 3]


def test_bad_arguments_are_one_line(tmp_path, run_dir, log_messages):
    tool = load_tool("eval_snapshots")
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ["--dataset", "OTB100", "--dataset-root", str(tmp_path)]
    assert tool.main(["--snapshot-dir", str(empty)] + args) == 2
    assert any("no checkpoint_e<N>.pth" in m for m in log_messages)
    assert tool.main(["--snapshot-dir", str(run_dir), "--epochs", "7"] + args) == 2
    assert any("no snapshot of epoch(s) [7]" in m and "[1, 2, 3]" in m for m in log_messages)
    assert tool.main(["--snapshot-dir", str(run_dir), "--workers", "0"] + args) == 2
    assert any("--workers 0" in m for m in log_messages)
