#!/usr/bin/env python
"""Train on real sequences, evaluate before and after on OTHER real sequences (held out).

    python tools/real_data_proof.py --config experiments/nanotrack_v2/config.yaml \
        --weights ../shared/weights/nanotrack/nanotrackv2.pth \
        --train RVA/sequences/{basketball,bolt1,car1,tiger,traffic,zebrafish1} \
        --test ../shared/data/sequences/VOT/{bag,ball1,book} ../shared/data/sequences/OTB/Biker \
        --work runs/nanotrack_v2_real --epochs 3 --iters 40 --batch 8 --lr 0.001
    python tools/real_data_proof.py --config experiments/siamrpn_alex_tiny/config.yaml \
        --train ... --test ... --work runs/tiny_real --epochs 6 --iters 40 --batch 16      # from scratch

A sequence is any folder the generic reader takes (``groundtruth.txt`` or ``groundtruth_rect.txt``
with frames in ``img/``, ``color/`` or the folder itself: VOT, OTB, GOT-10k, LaSOT sequences).
Steps, all inside ``--work`` (sequences are only read, through symbolic links):

1. the training sequences become a crop-511 training set (``training_dataset.prepare generic``;
   ``<work>/data`` of an earlier run on the same sequences is reused);
2. the held-out sequences become a one-pass (OPE) benchmark: a pysot-style ``OTB100.json`` whose
   boxes are the axis-aligned boxes enclosing each ground-truth region;
3. ``checkpoint_e0.pth`` is the start: ``--weights`` (fine-tuning), or without them the network
   ``tools/train.py`` would start from (seeded random weights: training from scratch);
4. ``tools/train.py``'s trainer runs ``--epochs`` x ``--iters`` iterations, one snapshot per epoch;
5. every snapshot, the start included, is tracked on the held-out sequences (``tools/eval_snapshots.py``),
   and ``report.json`` / ``report.md`` give success AUC and precision per epoch.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from pysot.utils.fileio import check_path_component
from pysot.utils.log import get_logger
from toolkit.cli import run_main

logger = get_logger("real_data_proof")


def parse_args(argv=None) -> argparse.Namespace:
    from pysot.apps.cli import add_config_arguments, parse_tool_args

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(p)
    p.add_argument("--weights", default="", help="start from these weights (fine-tune); default: from scratch")
    p.add_argument("--train", nargs="+", required=True, help="training sequence folders")
    p.add_argument("--test", nargs="+", required=True, help="held-out sequence folders (never trained on)")
    p.add_argument("--work", required=True, help="output folder (data, snapshots, results, report)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--iters", type=int, default=40, help="iterations per epoch")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=None,
                   help="constant-then-log learning rate start (default: the config's schedule)")
    p.add_argument("--frame-range", type=int, default=50, help="max frames between template and search")
    p.add_argument("--workers", type=int, default=2, help="processes for cropping and for evaluating snapshots")
    p.add_argument("--seed", type=int, default=0)
    return parse_tool_args(p, argv)


def _link_sequences(paths, folder: str, what: str):
    """Symlink each sequence folder into ``folder`` under its own name; returns the names."""
    os.makedirs(folder, exist_ok=True)
    names = []
    for path in paths:
        path = os.path.abspath(path)
        if not os.path.isdir(path):
            raise FileNotFoundError(f"--{what} {path}: no such folder")
        name = check_path_component(os.path.basename(os.path.normpath(path)), f"--{what} sequence name")
        if name in names:
            raise ValueError(f"--{what}: two sequences are named {name!r}")
        link = os.path.join(folder, name)
        if os.path.islink(link):
            os.remove(link)
        os.symlink(path, link)
        names.append(name)
    return names


def _heldout_benchmark(root: str, names) -> dict:
    """``<root>/OTB100.json`` for the sequences linked under ``root``: OPE on axis-aligned boxes."""
    from training_dataset.readers import list_frame_paths, list_images, read_box_lines

    meta = {}
    for name in names:
        sdir = os.path.join(root, name)
        gt = next(os.path.join(sdir, n) for n in ("groundtruth.txt", "groundtruth_rect.txt")
                  if os.path.isfile(os.path.join(sdir, n)))
        rows = read_box_lines(gt)
        images = next((imgs for sub in ("img", "color", "") if (imgs := list_images(os.path.join(sdir, sub)))), [])
        images = list_frame_paths(gt, images, len(rows))
        boxes = [[np.nan] * 4 if r is None else [r[0], r[1], r[2] - r[0], r[3] - r[1]] for r in rows]
        if not boxes or not np.all(np.isfinite(boxes[0])):
            raise ValueError(f"{gt}: the first frame has no box to initialise the tracker from")
        meta[name] = {"video_dir": name, "init_rect": boxes[0], "gt_rect": boxes, "attr": [],
                      "img_names": [os.path.relpath(p, root) for p in images]}
    with open(os.path.join(root, "OTB100.json"), "w") as f:
        json.dump(meta, f)
    return meta


def _train_cfg(args, data: dict, snap_dir: str):
    from pysot.config import load_cfg

    cfg = load_cfg(args.config, list(args.opts))
    cfg.defrost()
    cfg.DATASET.NAMES = ["REAL"]
    real = type(cfg)({"ROOT": data["root"], "ANNO": data["anno"], "FRAME_RANGE": args.frame_range, "NUM_USE": -1})
    cfg.DATASET.REAL = real
    t = cfg.TRAIN
    t.EPOCH, t.ITERS_PER_EPOCH, t.BATCH_SIZE = args.epochs, args.iters, args.batch
    t.NUM_WORKERS, t.SEED = 1, args.seed
    t.PRETRAINED = os.path.abspath(args.weights) if args.weights else ""
    t.SNAPSHOT_DIR, t.LOG_DIR = snap_dir, os.path.join(os.path.dirname(snap_dir), "logs")
    t.PRINT_FREQ = max(1, args.iters // 2)
    if args.lr is not None:
        t.BASE_LR = args.lr
        t.LR_WARMUP.WARMUP = False
        t.LR.TYPE, t.LR.KWARGS = "log", type(cfg)({"start_lr": args.lr, "end_lr": args.lr / 10})
    if args.weights:
        # Fine-tuning on a few sequences: the backbone keeps its released weights (frozen, BN in eval).
        cfg.BACKBONE.TRAIN_EPOCH = args.epochs
    cfg.freeze()
    return cfg


def _start_snapshot(cfg, path: str) -> None:
    """What training starts from, as ``checkpoint_e0.pth``: the trainer's seeded init + TRAIN.PRETRAINED."""
    import torch

    from pysot.models import build_model
    from pysot.training.trainer import load_pretrained_weights, seed_everything

    seed_everything(cfg.TRAIN.SEED)  # the trainer seeds, then builds: the same initial weights
    model = build_model(cfg)
    load_pretrained_weights(model, cfg)
    torch.save({"epoch": 0, "state_dict": model.state_dict(), "config": cfg.dump()}, path)


def run(args: argparse.Namespace) -> int:
    import torch

    from pysot.training.trainer import train
    from toolkit.datasets import build_dataset
    from toolkit.evaluation import evaluate_tracker
    from toolkit.runner import TrackerSpec
    from toolkit.snapshots import best_snapshot, evaluate_snapshots, find_snapshots, write_report
    from training_dataset.crop import crop_dataset
    from training_dataset.readers import read_generic

    torch.set_num_threads(1)
    work = os.path.abspath(args.work)
    train_names = _link_sequences(args.train, os.path.join(work, "train_sequences"), "train")
    test_names = _link_sequences(args.test, os.path.join(work, "heldout"), "test")
    overlap = sorted(set(train_names) & set(test_names))
    if overlap:
        raise ValueError(f"--train and --test share {overlap}: held-out sequences must not be trained on")
    timings = {}
    t0 = time.time()
    anno = os.path.join(work, "data", "train.json")
    if os.path.isfile(anno) and json.load(open(anno)).keys() >= set(train_names):
        logger.info("reusing the crops of %s (delete %s to crop again)", anno, os.path.join(work, "data"))
        crops = sum(len(f) for v in json.load(open(anno)).values() for f in v.values())
    else:
        report = crop_dataset(read_generic(os.path.join(work, "train_sequences")), os.path.join(work, "data"),
                              "train", args.workers, total=len(train_names), with_masks=False)
        anno, crops = report.anno_path, report.crops
    timings["prepare_s"] = time.time() - t0
    data = {"root": os.path.join(work, "data", "crop511"), "anno": anno}
    _heldout_benchmark(os.path.join(work, "heldout"), test_names)
    snap_dir = os.path.join(work, "snapshot")
    os.makedirs(snap_dir, exist_ok=True)
    cfg = _train_cfg(args, data, snap_dir)
    _start_snapshot(cfg, os.path.join(snap_dir, "checkpoint_e0.pth"))
    with open(os.path.join(work, "config.yaml"), "w") as f:
        f.write(cfg.dump())
    t0 = time.time()
    train(cfg, "cpu")
    timings["train_s"] = time.time() - t0
    t0 = time.time()
    spec = TrackerSpec(None, None, "cpu", [])
    scored, protocol = evaluate_snapshots(spec, find_snapshots(snap_dir), "OTB100", os.path.join(work, "heldout"),
                                          os.path.join(work, "results"), "run", args.workers)
    timings["eval_s"] = time.time() - t0
    write_report(scored, protocol, os.path.join(work, "eval"), "heldout")
    best, key = best_snapshot(scored, protocol)
    by_epoch = {s.epoch: summary for s, summary in scored}
    per_video = {}  # success AUC of each held-out sequence, per epoch: is a gain one sequence or all?
    heldout = build_dataset("OTB100", os.path.join(work, "heldout"))
    for snap, _ in scored:
        result, _ = evaluate_tracker(heldout, os.path.join(work, "results", "OTB100", snap.name("run")))
        per_video[snap.epoch] = {v: round(float(s.mean()), 4) for v, s in zip(result.videos, result.success)}
    doc = {"config": args.config, "weights": args.weights or None, "train": train_names, "test": test_names,
           "train_crops": crops, "epochs": args.epochs, "iters": args.iters, "batch": args.batch,
           "lr": args.lr, "seed": args.seed, "torch": torch.__version__, "timings_s": timings,
           "per_epoch": {e: {k: by_epoch[e][k] for k in ("success_auc", "precision")} for e in sorted(by_epoch)},
           "before": by_epoch[0]["success_auc"], "after": by_epoch[max(by_epoch)]["success_auc"],
           "best_epoch": best.epoch, "per_video_success_auc": per_video}
    with open(os.path.join(work, "report.json"), "w") as f:
        json.dump(doc, f, indent=1)
    lines = ["| epoch | success AUC | precision@20px | " + " | ".join(test_names) + " |",
             "|---" * (3 + len(test_names)) + "|"]
    lines += [f"| {e}{' (start)' if e == 0 else ''} | {by_epoch[e]['success_auc']:.3f} | "
              f"{by_epoch[e]['precision']:.3f} | " + " | ".join(f"{per_video[e][v]:.3f}" for v in test_names) + " |"
              for e in sorted(by_epoch)]
    with open(os.path.join(work, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    logger.info("held-out success AUC: start %.3f -> last epoch %.3f (best: epoch %d); %s",
                doc["before"], doc["after"], best.epoch, os.path.join(work, "report.json"))
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_main(lambda: run(args), logger)


if __name__ == "__main__":
    sys.exit(main())
