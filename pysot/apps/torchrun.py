"""``torchrun`` that ends quietly when the job is interrupted.

    python -m pysot.apps.torchrun --nproc_per_node 8 tools/train.py --cfg X.yaml
    python -m pysot.apps.torchrun --nnodes 2 --node_rank 0 --master_addr host0 --nproc_per_node 8 tools/train.py ...

Same arguments and behaviour as ``torchrun`` (it is torch's launcher, called in-process). The one
difference: when the launcher gets Ctrl-C or SIGTERM (a terminal, ``timeout``, a scheduler pre-empting
the job), torchrun forwards the signal to the training processes, waits for them (they stop after the
current iteration and save ``latest.pth``), then dies with a Python traceback and exit code 1, which
reads like a crash and hides the signal from the job script. Here the launcher reports the signal on
one line and exits with the shell's code for it (130 for SIGINT, 143 for SIGTERM), as the training
processes do.
"""
from __future__ import annotations

import signal
import sys
from typing import List, Optional

from pysot.utils.log import get_logger

logger = get_logger("pysot.torchrun")


def main(argv: Optional[List[str]] = None) -> int:
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.run import main as torchrun_main

    try:
        torchrun_main(sys.argv[1:] if argv is None else list(argv))
    except SignalException as e:
        signum = int(e.sigval)
        logger.warning(f"{signal.Signals(signum).name}: the training processes were told to stop and save; "
                       f"launcher exits with {128 + signum}")
        return 128 + signum
    return 0


if __name__ == "__main__":
    sys.exit(main())
