"""Convert a DaSiamRPN release model (or a PySOT checkpoint) into a pysot checkpoint.

    python tools/convert_checkpoint.py --input SiamRPNBIG.model --output dasiamrpn_big.pth \
        --config experiments/dasiamrpn_big/config.yaml

Without --config, a DaSiamRPN file picks experiments/dasiamrpn_big (double-width
AlexNet) or experiments/dasiamrpn_vot from its first convolution's width.
The output is verified by a strict load and holds the resolved config.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import Mapping, Optional

import pysot  # noqa: F401  (before torch: idle OpenMP threads sleep; pysot.utils.threads)
import torch

from pysot.apps.cli import add_threads_argument
from pysot.config import load_cfg
from pysot.models.convert import DASIAMRPN_BACKBONE_PREFIX, convert_checkpoint
from pysot.utils.log import get_logger
from pysot.utils.model_load import read_state_dict
from pysot.utils.threads import configure_threads
from toolkit.cli import run_main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
logger = get_logger("pysot.convert_checkpoint")


def default_config(state_dict: Mapping[str, torch.Tensor], input_path: str) -> str:
    """The DaSiamRPN experiment whose AlexNet width matches the file's first convolution."""
    first_conv = state_dict.get(DASIAMRPN_BACKBONE_PREFIX[0] + "0.weight")
    if first_conv is None:
        raise ValueError(f"{input_path}: not a DaSiamRPN release file; pass --config for its experiment")
    name = "dasiamrpn_big" if first_conv.shape[0] > 96 else "dasiamrpn_vot"
    return os.path.join(REPO, "experiments", name, "config.yaml")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, help="original checkpoint (.model / .pth)")
    parser.add_argument("--output", required=True, help="converted checkpoint to write")
    parser.add_argument("--config", "--cfg", dest="config", default="", help="experiment YAML of the target model")
    add_threads_argument(parser)
    args = parser.parse_args(argv)

    def run() -> int:
        configure_threads(args.threads)
        check_output_file(args.output)
        if os.path.exists(args.input) and os.path.exists(args.output) and os.path.samefile(args.input, args.output):
            # the conversion would replace the only copy of the original weights
            raise ValueError(f"--output {args.output} is the --input file; give another name")
        source = read_state_dict(args.input)  # read once: it picks the config and is converted
        config = args.config or default_config(source, args.input)
        cfg = load_cfg(config)
        try:
            state_dict = convert_checkpoint(source, args.output, cfg, name=args.input)
        except (OSError, RuntimeError) as e:
            raise write_error(e, args.output) from None
        logger.info("wrote %s (%d tensors, config %s)", args.output, len(state_dict), config)
        return 0

    # A bad input, config or output is the user's to fix: one line, exit 2 (the file is written
    # atomically, so nothing is left behind).
    return run_main(run, logger)


def write_error(error: BaseException, path: str) -> BaseException:
    """One line for a failed write of ``path`` (a full disk): torch's zip writer reports it as
    ``RuntimeError: [enforce fail at inline_container.cc] unexpected pos``, the ``OSError``
    that caused it being its ``__context__``. Any other error is returned unchanged."""
    cause: Optional[BaseException] = error
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__context__
    if cause is None:
        return error
    try:
        free = f"; {shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free / 2 ** 20:.0f} MiB free there"
    except OSError:
        free = ""
    return OSError(f"{path}: cannot write the checkpoint ({cause.strerror or cause}{free}); nothing was written")


def check_output_file(path: str) -> None:
    """Raise ``OSError`` when ``path`` cannot become a file: a folder, or under a file."""
    if os.path.isdir(path):
        example = os.path.join(path, "model.pth")
        raise IsADirectoryError(f"--output {path} is a folder: give a file name, e.g. {example}")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise PermissionError(f"--output {path}: cannot write under {parent}")


if __name__ == "__main__":
    sys.exit(main())
