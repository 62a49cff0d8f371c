"""Train a Siamese tracker.

    python tools/train.py --cfg experiments/siamrpn_alex_tiny/config.yaml
    torchrun --nproc_per_node 2 tools/train.py --cfg ...        # DistributedDataParallel
    python -m pysot.apps.torchrun --nproc_per_node 2 tools/train.py --cfg ...   # same; exits 130/143 on a signal
    srun --ntasks 8 python tools/train.py --cfg ...             # SLURM: one task per process
    python tools/train.py --cfg ... --resume snapshot/latest.pth
    python tools/train.py --cfg ... --opts TRAIN.EPOCH 2 TRAIN.BATCH_SIZE 8     (or: --cfg ... TRAIN.EPOCH 2)

Ctrl-C or SIGTERM stops after the current iteration and saves TRAIN.SNAPSHOT_DIR/latest.pth
(exit code 130 / 143); --resume it to continue exactly. A mistake in the YAML, the data or a
checkpoint is one error line naming the file or key (exit code 2); so is a checkpoint that cannot
be written (disk full: exit code 1, the previous checkpoint kept).
"""
from __future__ import annotations

import argparse
import sys

import pysot  # noqa: F401  (before torch: idle OpenMP threads sleep; pysot.utils.threads)
import torch

from pysot.apps.cli import add_config_arguments, add_threads_argument, parse_tool_args
from pysot.config import ConfigError, load_cfg
from pysot.datasets.dataset import DatasetError
from pysot.training.trainer import CheckpointWriteError, train
from pysot.utils.checkpoint import CheckpointError
from pysot.utils.distributed import LaunchError
from pysot.utils.log import get_logger
from pysot.utils.model_load import CheckpointMismatchError
from pysot.utils.threads import configure_threads

logger = get_logger("pysot.train")
# Mistakes in the YAML, the data or the checkpoint: their message names the file / key, a traceback adds nothing.
USER_ERRORS = (ConfigError, DatasetError, CheckpointError, CheckpointMismatchError, FileNotFoundError, LaunchError)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(p)  # --cfg/--config, --opts KEY VALUE and trailing KEY VALUE
    p.add_argument("--resume", default="", help="checkpoint to continue from (overrides TRAIN.RESUME)")
    p.add_argument("--device", default=None, choices=["cpu", "cuda"],
                   help="default: cuda when CUDA is enabled in the config and available, else cpu")
    p.add_argument("--allow-schedule-change", action="store_true",
                   help="--resume although TRAIN.BATCH_SIZE, the process count or the iterations per epoch "
                        "differ from the checkpoint's (refused otherwise)")
    p.add_argument("--stop-after", type=int, default=None, metavar="N",
                   help="stop after N iterations in total, saving latest.pth (resume later)")
    add_threads_argument(p)  # torchrun with several processes sets OMP_NUM_THREADS=1 itself
    p.add_argument("--local_rank", type=int, default=0, help=argparse.SUPPRESS)  # old torch.distributed.launch
    args = parse_tool_args(p, argv)
    if args.threads is not None and args.threads < 1:
        p.error(f"--threads {args.threads}: give at least 1")
    return args


def _last_line(error: BaseException) -> str:
    """The message itself: an error raised in a DataLoader worker arrives wrapped in the worker's traceback."""
    text = str(error).strip()
    return text.splitlines()[-1] if "Original Traceback" in text else text


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        configure_threads(args.threads)
        cfg = load_cfg(args.config, args.opts)
        device = args.device or ("cuda" if cfg.CUDA and torch.cuda.is_available() else "cpu")
        if device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is available")
        train(cfg, device=device, resume=args.resume, stop_after=args.stop_after, exit_on_signal=True,
              allow_schedule_change=args.allow_schedule_change)
    except CheckpointWriteError as e:  # disk full or not writable: not a usage error, but no traceback either
        logger.error(str(e))
        return 1
    except USER_ERRORS as e:
        logger.error(_last_line(e))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
