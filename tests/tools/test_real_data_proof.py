"""tools/real_data_proof.py end to end on a few synthetic sequences (the real run is in docs/training.md)."""
import json
import os

import pytest

from pysot.datasets.synthetic import write_sequence_folders
from tool_loader import load_tool

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_CONFIG = os.path.join(REPO, "experiments", "siamrpn_alex_tiny", "config.yaml")


@pytest.fixture(scope="module")
def sequences(tmp_path_factory):
    root = tmp_path_factory.mktemp("seqs")
    names = write_sequence_folders(str(root), num_videos=3, num_frames=8, size=(200, 150), seed=4)
    return [str(root / n) for n in names]


@pytest.mark.slow
def test_trains_then_scores_every_epoch_on_the_held_out_sequences(sequences, tmp_path):
    work = tmp_path / "work"
    args = ["--config", TINY_CONFIG, "--train", *sequences[:2], "--test", sequences[2], "--work", str(work),
            "--epochs", "2", "--iters", "2", "--batch", "4", "--lr", "0.005", "--workers", "1"]
    assert load_tool("real_data_proof").main(args) == 0
    doc = json.load(open(work / "report.json"))
    assert sorted(doc["per_epoch"]) == ["0", "1", "2"]  # the start and each epoch
    assert doc["train"] == [os.path.basename(s) for s in sequences[:2]] and doc["train_crops"] > 0
    assert doc["before"] == doc["per_epoch"]["0"]["success_auc"]
    assert list(doc["per_video_success_auc"]["2"]) == [os.path.basename(sequences[2])]
    assert (work / "eval" / "epochs.png").is_file() and (work / "report.md").is_file()
    # The sequences were only linked, never written into.
    assert sorted(os.listdir(sequences[0])) == sorted(["category.txt", "groundtruth.txt"]
                                                      + [f"{i:08d}.jpg" for i in range(1, 9)])
    # A second run reuses the crops.
    assert load_tool("real_data_proof").main(args) == 0


def test_held_out_sequences_must_not_be_trained_on(sequences, tmp_path, log_messages):
    args = ["--config", TINY_CONFIG, "--train", *sequences[:2], "--test", sequences[1], "--work", str(tmp_path)]
    assert load_tool("real_data_proof").main(args) == 2
    assert any("share" in m and os.path.basename(sequences[1]) in m for m in log_messages)
