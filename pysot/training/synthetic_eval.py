"""Success AUC of a model on held-out synthetic clips (the tiny model's check).

    python -m pysot.training.synthetic_eval --config experiments/siamrpn_alex_tiny/config.yaml \
        --snapshot pysot/data/siamrpn_alex_tiny.pth
"""
from __future__ import annotations

import argparse
from typing import Iterable, List, Optional

import numpy as np
import torch

from pysot.datasets.synthetic import render_clip

# Training clips use seeds below 10**7 (write_crop511_dataset: seed * 100003 + video);
# evaluation seeds start far above so no clip is shared.
HELD_OUT_SEED = 900_000_000


def success_auc(gt: np.ndarray, pred: np.ndarray) -> float:
    """OTB success AUC of one clip (mean over IoU thresholds 0, 0.05, ..., 1 of the share of frames above)."""
    from toolkit.evaluation.ope import evaluate_ope

    clip = {"clip": np.asarray(gt, np.float64)}
    return evaluate_ope("synthetic", clip, {"clip": np.asarray(pred, np.float64)}).auc


def track_clip(tracker, frames: List[np.ndarray], init_box: np.ndarray) -> np.ndarray:
    """Boxes ``[N, 4]`` xywh: the initial box on frame 0, then the tracker's output."""
    tracker.init(frames[0], [float(v) for v in init_box])
    boxes = [np.asarray(init_box, np.float64)]
    for frame in frames[1:]:
        boxes.append(np.asarray(tracker.track(frame)["bbox"], np.float64))
    return np.stack(boxes)


def synthetic_success(cfg, model: torch.nn.Module, seeds: Iterable[int], num_frames: int = 60,
                      num_distractors: int = 1, progress: bool = False) -> float:
    """Mean success AUC of ``model`` (eval mode, on its device) over the clips of ``seeds``.

    One tracker for all clips (``init`` starts each clip afresh): the fast path's copy of the
    model is made and checked once, not per clip. ``progress``: a progress bar over the clips.
    """
    from tqdm import tqdm

    from pysot.tracker import build_tracker

    model.eval()
    tracker = build_tracker(cfg, model)
    scores = []
    seeds = list(seeds)
    for seed in tqdm(seeds, desc="synthetic clips", unit="clip", disable=not progress, leave=False):
        frames, gt = render_clip(num_frames=num_frames, seed=HELD_OUT_SEED + int(seed),
                                 num_distractors=num_distractors, same_category_distractors=False)
        pred = track_clip(tracker, frames, gt[0])
        scores.append(success_auc(gt[1:], pred[1:]))
    return float(np.mean(scores))


def main(argv: Optional[List[str]] = None) -> None:
    from pysot.config import load_cfg
    from pysot.models import build_model
    from pysot.utils.model_load import load_pretrain
    from pysot.utils.threads import configure_threads

    p = argparse.ArgumentParser(description="success AUC on held-out synthetic clips")
    p.add_argument("--config", required=True)
    p.add_argument("--snapshot", default="", help="weights; empty = the untrained (randomly initialised) model")
    p.add_argument("--clips", type=int, default=10)
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch CPU threads (default: OMP_NUM_THREADS, else one per usable core; docs/speed.md)")
    args = p.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        p.error(f"--threads {args.threads}: give at least 1")
    configure_threads(args.threads)
    cfg = load_cfg(args.config)
    torch.manual_seed(cfg.TRAIN.SEED)
    model = build_model(cfg)
    if args.snapshot:
        load_pretrain(model, args.snapshot)
    auc = synthetic_success(cfg, model, range(args.clips), args.frames, progress=True)
    print(f"success AUC on {args.clips} held-out synthetic clips: {auc:.3f}")


if __name__ == "__main__":
    main()
