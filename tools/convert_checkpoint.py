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
import sys

from pysot.config import ConfigError, load_cfg
from pysot.utils.convert import DASIAMRPN_BACKBONE_PREFIX, convert_checkpoint
from pysot.utils.log import get_logger
from pysot.utils.model_load import read_state_dict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
logger = get_logger("pysot.convert_checkpoint")


def default_config(input_path: str) -> str:
    first_conv = read_state_dict(input_path).get(DASIAMRPN_BACKBONE_PREFIX[0] + "0.weight")
    if first_conv is None:
        raise SystemExit(f"{input_path}: not a DaSiamRPN release file; pass --config for its experiment")
    name = "dasiamrpn_big" if first_conv.shape[0] > 96 else "dasiamrpn_vot"
    return os.path.join(REPO, "experiments", name, "config.yaml")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="original checkpoint (.model / .pth)")
    parser.add_argument("--output", required=True, help="converted checkpoint to write")
    parser.add_argument("--config", default="", help="experiment YAML of the target model")
    args = parser.parse_args(argv)
    try:
        config = args.config or default_config(args.input)
        cfg = load_cfg(config)
        state_dict = convert_checkpoint(args.input, args.output, cfg)
    except (FileNotFoundError, ConfigError, KeyError, ValueError) as e:
        logger.error("%s", e)
        return 1
    logger.info("wrote %s (%d tensors, config %s)", args.output, len(state_dict), config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
