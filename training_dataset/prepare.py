"""Prepare training data in the crop-511 layout.

    python -m training_dataset.prepare DATASET --root RAW --out OUT [--split train] [--workers N]

DATASET is one of vid, det, coco, yt_bb, got10k, lasot, ytb_vos (YouTube-VOS),
generic (a folder of sequences with groundtruth.txt), or synthetic (renders clips,
no --root). coco, ytb_vos and generic (with masks/) also write the .m.png mask
crops SiamMask trains on, unless --no-masks.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from typing import List, Optional

from training_dataset.crop import crop_dataset
from training_dataset.readers import READERS, AnnotationError


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    layouts = "\n".join(f"  {name}: {_layout_hint(name)}" for name in sorted(READERS))
    p = argparse.ArgumentParser(prog="python -m training_dataset.prepare",
                                description="Crop a tracking/detection dataset into the crop-511 training layout",
                                epilog=f"expected --root layouts:\n{layouts}\n  synthetic: no --root (renders clips)",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", choices=sorted(READERS) + ["synthetic"])
    p.add_argument("--root", help="raw dataset folder (not used by synthetic)")
    p.add_argument("--out", required=True, help="output folder: <out>/crop511 and <out>/<split>.json")
    p.add_argument("--split", default="train", help="dataset split (train, val, ...)")
    p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1), help="crop processes")
    p.add_argument("--num-videos", type=int, default=160, help="synthetic: number of clips")
    p.add_argument("--num-frames", type=int, default=40, help="synthetic: frames per clip")
    p.add_argument("--seed", type=int, default=0, help="synthetic: seed of the clips")
    p.add_argument("--with-masks", action="store_true", help="synthetic: also write .m.png mask crops (SiamMask)")
    p.add_argument("--no-masks", action="store_true",
                   help="coco / ytb_vos / generic: do not write the .m.png mask crops (boxes only)")
    return p.parse_args(argv)


def _layout_hint(dataset: str) -> str:
    """The expected raw layout, from the reader's docstring (its first paragraph)."""
    doc = (READERS[dataset].__doc__ or "").split("\n\n")[0]
    return " ".join(doc.replace("``", "").split())


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.dataset == "synthetic" and (args.num_videos < 1 or args.num_frames < 1):
        return _error("--num-videos and --num-frames must be at least 1")
    if args.workers < 1:
        return _error(f"--workers must be at least 1, got {args.workers}")
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        return _error(f"--out {args.out}: cannot create the output folder ({e.strerror})")
    if not os.access(args.out, os.W_OK):
        return _error(f"--out {args.out}: the output folder is not writable")
    if args.dataset == "synthetic":
        from pysot.datasets.synthetic import write_crop511_dataset

        paths = write_crop511_dataset(args.out, num_videos=args.num_videos, num_frames=args.num_frames,
                                      seed=args.seed, with_masks=args.with_masks)
        print(f"synthetic crop-511 data: {paths['root']}, index {paths['anno']}")
        return 0
    if not args.root:
        return _error(f"{args.dataset} needs --root (the raw dataset folder)")
    try:
        videos = list(READERS[args.dataset](args.root, args.split))
    except AnnotationError as e:
        return _error(str(e))
    if not videos:
        # An empty index would only fail later, at training time, far from the cause.
        return _error(f"no {args.dataset} annotations found under --root {args.root}; "
                      f"expected: {_layout_hint(args.dataset)}")
    report = crop_dataset(videos, args.out, args.split, args.workers, total=len(videos),
                          with_masks=not args.no_masks)
    if report.crops == 0:
        return _error(f"no crop was written from {len(videos)} {args.dataset} video(s): "
                      "every annotated image is missing or unreadable (listed above)")
    print(yaml_snippet(args.out, report.anno_path))
    return 0


def yaml_snippet(out: str, anno_path: str) -> str:
    """The lines that add the prepared data to an experiment YAML, mixed with its other datasets."""
    name = re.sub(r"[^A-Z0-9_]", "_", os.path.basename(os.path.normpath(os.path.abspath(out))).upper()) or "MINE"
    if not name[0].isalpha():
        name = "D_" + name
    return (f"# to train on it, add to the experiment YAML (alone, or in NAMES beside its other datasets):\n"
            f"DATASET:\n    NAMES: [{name}]\n    {name}:\n"
            f"        ROOT: \"{os.path.abspath(os.path.join(out, 'crop511'))}\"\n"
            f"        ANNO: \"{os.path.abspath(anno_path)}\"\n"
            f"        FRAME_RANGE: 100\n        NUM_USE: -1")


if __name__ == "__main__":
    sys.exit(main())
