"""Train a Siamese tracker.

    python tools/train.py --cfg experiments/siamrpn_alex_tiny/config.yaml
    torchrun --nproc_per_node 2 tools/train.py --cfg ...        # DistributedDataParallel
    python tools/train.py --cfg ... --resume snapshot/latest.pth
"""
from __future__ import annotations

import argparse

import torch

from pysot.core.config import load_cfg
from pysot.training.trainer import train


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Train a Siamese tracker (single process, or DDP under torchrun)")
    p.add_argument("--cfg", required=True, help="experiment YAML")
    p.add_argument("--resume", default="", help="checkpoint to continue from (overrides TRAIN.RESUME)")
    p.add_argument("--device", default=None, choices=["cpu", "cuda"],
                   help="default: cuda when CUDA is enabled in the config and available, else cpu")
    p.add_argument("--stop-after", type=int, default=None, metavar="N",
                   help="stop after N iterations in total, saving latest.pth (resume later)")
    p.add_argument("--opts", nargs=argparse.REMAINDER, default=[], help="KEY VALUE config overrides")
    p.add_argument("--local_rank", type=int, default=0, help=argparse.SUPPRESS)  # old torch.distributed.launch
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = load_cfg(args.cfg, args.opts)
    device = args.device or ("cuda" if cfg.CUDA and torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available")
    train(cfg, device=device, resume=args.resume, stop_after=args.stop_after)


if __name__ == "__main__":
    main()
