#!/usr/bin/env python
"""Export a tracker's network as ONNX template/track graphs and check them with onnxruntime.

    python tools/export_onnx.py --config experiments/siamrpn_alex_dwxcorr/config.yaml \\
        --snapshot model.pth --output onnx/siamrpn_alex [--batch 1] [--fold-bn]

Writes <output>_template.onnx, <output>_track.onnx and <output>.json (input and
output names, sizes); see pysot/models/export.py for the graphs' contract.
"""
from __future__ import annotations

import argparse
import os
import sys


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="experiment YAML")
    p.add_argument("--snapshot", default="", help="model weights (.pth); without it the random init is exported")
    p.add_argument("--output", default="", help="output path prefix (default: onnx/<experiment name>)")
    p.add_argument("--batch", type=int, default=1, help="fixed batch size of both graphs (targets per call)")
    p.add_argument("--search-size", type=int, default=0,
                   help="search crop side traced and checked (default: TRACK.INSTANCE_SIZE)")
    p.add_argument("--static-search", action="store_true",
                   help="fix the track graph's search side to --search-size (default: any side)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset version")
    p.add_argument("--fold-bn", action="store_true", help="export the fast path's BN-folded network")
    p.add_argument("--no-verify", action="store_true", help="skip the onnxruntime comparison")
    p.add_argument("--tolerance", type=float, default=1e-4, help="max relative error accepted by the check")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides KEY VALUE ...")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from pysot.config import ConfigError, load_cfg
    from pysot.models import build_model
    from pysot.models.export import export_onnx, verify_onnx
    from pysot.models.fast import optimize_for_inference
    from pysot.utils.log import get_logger
    from pysot.utils.model_load import load_pretrain

    logger = get_logger("export_onnx")
    try:
        cfg = load_cfg(args.config, list(args.opts or []))
    except (ConfigError, FileNotFoundError) as e:
        logger.error(str(e))
        return 2
    model = build_model(cfg).eval()
    if args.snapshot:
        if not os.path.isfile(args.snapshot):
            logger.error("--snapshot %s: file not found", args.snapshot)
            return 2
        load_pretrain(model, args.snapshot)
    else:
        logger.warning("no --snapshot: exporting the network's random initial weights")
    search_size = args.search_size or int(cfg.TRACK.INSTANCE_SIZE)
    if args.fold_bn:
        model = optimize_for_inference(model, "cpu", search_size=search_size)
    prefix = args.output or os.path.join("onnx", os.path.basename(os.path.dirname(os.path.abspath(args.config))))
    try:
        exported = export_onnx(model, prefix, search_size=search_size, batch=args.batch, opset=args.opset,
                               dynamic_search=not args.static_search)
    except ValueError as e:
        logger.error(str(e))
        return 2
    print(f"wrote {exported['template']}, {exported['track']}, {exported['meta']}")
    if args.no_verify:
        return 0
    # A dynamic graph is also checked on a larger crop (e.g. a long-term tracker's lost-target search).
    sizes = [search_size] if args.static_search else [search_size, search_size + 64]
    worst = 0.0
    for size in sizes:
        try:
            errors = verify_onnx(model, exported, search_size=size)
        except ValueError as e:  # a non-finite output (named) or a shape that does not match
            logger.error("verification at search %d failed: %s", size, e)
            return 1
        worst = max(worst, *errors.values())
        print(f"onnxruntime vs PyTorch at search {size} (max relative error): "
              + ", ".join(f"{k} {v:.2e}" for k, v in errors.items()))
    if worst > args.tolerance:
        logger.error("ONNX outputs differ from PyTorch by %.2e > %.0e", worst, args.tolerance)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
