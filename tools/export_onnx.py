#!/usr/bin/env python
"""Export a tracker's network as ONNX template/track graphs and check them with onnxruntime.

    python tools/export_onnx.py --config experiments/siamrpn_alex_dwxcorr/config.yaml \\
        --snapshot model.pth --output onnx/siamrpn_alex [--batch 1] [--fold-bn]

Writes <output>_template.onnx, <output>_track.onnx and <output>.json (input and
output names, sizes); see pysot/models/export.py for the graphs' contract.

    python tools/export_onnx.py --config experiments/nanotrack_v2/config.yaml \
        --snapshot nanotrackv2.pth --opencv onnx/nanotrack_v2

writes instead the two files OpenCV's cv2.TrackerNano loads (NanoTrack V1/V2):
<OUT>_backbone.onnx and <OUT>_neckhead.onnx (TrackerNano_Params.backbone / .neckhead).
For a DaSiamRPN or UP-channel SiamRPN experiment (RPN.TYPE UPChannelRPN, 256 channels), --opencv
writes the three files of cv2.TrackerDaSiamRPN: <OUT>_model.onnx, <OUT>_kernel_cls1.onnx and
<OUT>_kernel_r1.onnx (TrackerDaSiamRPN_Params.model / .kernel_cls1 / .kernel_r1).

    python tools/export_onnx.py --config experiments/vittrack/config.yaml \
        --snapshot vittrack.pth --opencv onnx/vittrack

writes the single network cv2.TrackerVit loads (TrackerVit_Params.net): <OUT>.onnx, inputs
template/search, outputs output1 (score), output2 (size), output3 (offset). A one-stream
model has only this graph, so without --opencv it is written to <output>.onnx.
"""
from __future__ import annotations

import argparse
import os
import sys

from pysot.apps.cli import add_config_arguments, add_threads_argument, parse_tool_args

#: How to install what the export needs (pyproject.toml's ``export`` extra).
EXPORT_INSTALL = 'pip install -e ".[export]"'


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(p)  # --config/--cfg, --opts KEY VALUE and trailing KEY VALUE
    p.add_argument("--snapshot", default="", help="model weights (.pth); without it the random init is exported")
    p.add_argument("--output", default="", help="output path prefix (default: onnx/<experiment name>)")
    p.add_argument("--batch", type=int, default=1, help="fixed batch size of both graphs (targets per call)")
    p.add_argument("--search-size", type=int, default=0,
                   help="search crop side traced and checked (default: TRACK.INSTANCE_SIZE)")
    p.add_argument("--static-search", action="store_true",
                   help="fix the track graph's search side to --search-size (default: any side)")
    p.add_argument("--opencv", metavar="OUT", default="",
                   help="write the files of OpenCV's tracker for this model: OUT_backbone.onnx and "
                        "OUT_neckhead.onnx (cv2.TrackerNano, NanoTrack V1/V2), OUT_model.onnx, "
                        "OUT_kernel_cls1.onnx and OUT_kernel_r1.onnx (cv2.TrackerDaSiamRPN, UP-channel SiamRPN), "
                        "or OUT.onnx (cv2.TrackerVit, VitTrack)")
    p.add_argument("--opset", type=int, default=0,
                   help="ONNX opset version (default 17; with --opencv 14 for TrackerNano and TrackerVit, "
                        "11 for TrackerDaSiamRPN)")
    p.add_argument("--fold-bn", action="store_true", help="export the fast path's BN-folded network")
    p.add_argument("--no-verify", action="store_true", help="skip the onnxruntime comparison")
    p.add_argument("--tolerance", type=float, default=1e-4, help="max relative error accepted by the check")
    add_threads_argument(p)
    return parse_tool_args(p, argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from pysot.utils.log import get_logger
    from toolkit.cli import run_main

    logger = get_logger("export_onnx")
    # A bad config, snapshot, size or output is the user's to fix: one line, exit 2.
    return run_main(lambda: export(args, logger), logger)


def check_arguments(args: argparse.Namespace, cfg) -> None:
    """Raise ``ValueError`` naming the argument, before anything is built or written."""
    if args.batch < 1:
        raise ValueError(f"--batch {args.batch}: give at least 1")
    template = int(cfg.TRACK.EXEMPLAR_SIZE)
    if args.search_size and args.search_size < template:
        # the track graph correlates the template features over the search features
        raise ValueError(f"--search-size {args.search_size}: must be at least the template side {template} "
                         "(TRACK.EXEMPLAR_SIZE)")
    if args.opset and not 7 <= args.opset <= 20:  # 0: the default (17; 14 with --opencv)
        raise ValueError(f"--opset {args.opset}: give an ONNX opset in 7..20")
    if not args.tolerance > 0:
        raise ValueError(f"--tolerance {args.tolerance:g}: give a positive number")


def check_output_folder(prefix: str) -> str:
    """The folder the files go to, created; ``OSError`` naming ``--output`` when it cannot be."""
    folder = os.path.dirname(os.path.abspath(prefix))
    if os.path.isdir(os.path.abspath(prefix)):
        raise IsADirectoryError(f"--output {prefix} is a folder; give a path prefix, e.g. "
                                f"{os.path.join(prefix, 'model')}")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise OSError(f"--output {prefix}: cannot create the folder {folder} ({e.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"--output {prefix}: the folder {folder} is not writable")
    return folder


STAGING_PREFIX = ".export_onnx."  # + "<pid>." + random: the export's temporary folder beside the output


def remove_stale_staging(folder: str) -> list:
    """Remove the temporary folders of exports that were killed (``kill -9``, out of memory)
    before they could clean up: ``.export_onnx.<pid>.*`` whose process is gone. Returns them."""
    import shutil

    from pysot.utils.fileio import process_alive

    removed = []
    for name in os.listdir(folder):
        pid = name[len(STAGING_PREFIX):].split(".", 1)[0]
        path = os.path.join(folder, name)
        if not (name.startswith(STAGING_PREFIX) and pid.isdigit() and os.path.isdir(path)) or process_alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def check_export_dependencies(verify: bool) -> None:
    """``RuntimeError`` naming the missing packages and the install command, before anything is
    built or written: torch's exporter needs ``onnx``, the check ``onnxruntime``."""
    import importlib.util

    needed = ["onnx"] + (["onnxruntime"] if verify else [])
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise RuntimeError(f"the export needs {' and '.join(missing)}, not installed: {EXPORT_INSTALL} "
                           f"(or pip install {' '.join(needed)}; --no-verify skips onnxruntime)")


def export(args: argparse.Namespace, logger) -> int:
    import shutil
    import tempfile

    from pysot.utils.threads import configure_threads

    check_export_dependencies(verify=not args.no_verify)
    configure_threads(args.threads)
    from pysot.config import load_cfg
    from pysot.models import build_model
    from pysot.models.export import export_onnx, verify_onnx
    from pysot.models.fast import optimize_for_inference
    from pysot.utils.model_load import load_pretrain

    cfg = load_cfg(args.config, list(args.opts or []))
    check_arguments(args, cfg)
    prefix = args.output or os.path.join("onnx", os.path.basename(os.path.dirname(os.path.abspath(args.config))))
    model = build_model(cfg).eval()
    if args.snapshot:
        if not os.path.isfile(args.snapshot):
            raise FileNotFoundError(f"--snapshot {args.snapshot}: file not found")
        load_pretrain(model, args.snapshot)
    else:
        logger.warning("no --snapshot: exporting the network's random initial weights")
    folder = check_output_folder(prefix)
    search_size = args.search_size or int(cfg.TRACK.INSTANCE_SIZE)
    if getattr(model, "one_stream", False):  # VitTrack: one network, OpenCV's contract
        return _export_opencv_vit(model, args, args.opencv or prefix, logger)
    if args.opencv:
        if cfg.RPN.TYPE == "UPChannelRPN":
            return _export_opencv_dasiamrpn(model, cfg, args, logger)
        return _export_opencv(model, args, search_size, logger)
    args.opset = args.opset or 17
    if args.fold_bn:
        model = optimize_for_inference(model, "cpu", search_size=search_size)
    # Export into a temporary folder beside the output and move the files in only when all
    # three are written: a failure leaves no half set of graphs.
    remove_stale_staging(folder)
    staging = tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}.", dir=folder)
    try:
        staged = export_onnx(model, os.path.join(staging, os.path.basename(prefix)), search_size=search_size,
                             batch=args.batch, opset=args.opset, dynamic_search=not args.static_search)
        exported = dict(staged)
        for key in ("template", "track", "meta"):
            exported[key] = os.path.join(folder, os.path.basename(staged[key]))
            os.replace(staged[key], exported[key])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
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


def _report_errors(errors: dict, runtime: str, what: str, tolerance: float, logger) -> int:
    """Print the largest relative error of each exported output against PyTorch; 1 (logged) when
    one is above ``tolerance``, else 0: the exit status of an OpenCV export's check."""
    print(f"{runtime} vs PyTorch (max relative error): " + ", ".join(f"{k} {v:.2e}" for k, v in errors.items()))
    if max(errors.values()) > tolerance:
        logger.error("%s outputs differ from PyTorch by %.2e > %.0e", what, max(errors.values()), tolerance)
        return 1
    return 0


def _export_opencv(model, args, search_size: int, logger) -> int:
    """The cv2.TrackerNano pair, checked against PyTorch with onnxruntime unless --no-verify."""
    from pysot.models.export import export_opencv_nano, verify_opencv_nano

    if args.fold_bn:
        logger.warning("--fold-bn is ignored with --opencv (OpenCV's DNN engine fuses BN itself)")
    try:
        paths = export_opencv_nano(model, args.opencv, opset=args.opset or 14, search_size=search_size)
    except ValueError as e:
        logger.error(str(e))
        return 2
    print(f"wrote {paths['backbone']}, {paths['neckhead']}")
    if args.no_verify:
        return 0
    errors = verify_opencv_nano(model, paths, search_size=search_size)
    return _report_errors(errors, "onnxruntime", "ONNX", args.tolerance, logger)


def _export_opencv_dasiamrpn(model, cfg, args, logger) -> int:
    """The cv2.TrackerDaSiamRPN triple, checked with cv2.dnn (as the tracker drives it) unless --no-verify."""
    from pysot.models.export_dasiamrpn import (OPENCV_DASIAMRPN, check_opencv_dasiamrpn_anchors,
                                               export_opencv_dasiamrpn, verify_opencv_dasiamrpn)

    if args.fold_bn:
        logger.warning("--fold-bn is ignored with --opencv (OpenCV's DNN engine fuses BN itself)")
    reason = check_opencv_dasiamrpn_anchors(cfg.ANCHOR.STRIDE, cfg.ANCHOR.RATIOS, cfg.ANCHOR.SCALES)
    if reason:
        logger.error("--opencv: %s", reason)
        return 2
    try:
        paths = export_opencv_dasiamrpn(model, args.opencv, opset=args.opset or 11)
    except ValueError as e:
        logger.error(str(e))
        return 2
    print(f"wrote {paths['model']}, {paths['kernel_cls1']}, {paths['kernel_r1']}")
    # OpenCV's tracker has its own fixed settings; say where they differ from the experiment's.
    t = cfg.TRACK
    ours = {"window_influence": t.WINDOW_INFLUENCE, "penalty_k": t.PENALTY_K, "lr": t.LR,
            "instance_size": t.INSTANCE_SIZE, "context_amount": t.CONTEXT_AMOUNT}
    differ = [f"{k} {OPENCV_DASIAMRPN[k]:g} (config {float(v):g})" for k, v in ours.items()
              if abs(float(v) - OPENCV_DASIAMRPN[k]) > 1e-9]
    if differ:
        logger.warning("cv2.TrackerDaSiamRPN tracks with its own fixed settings: %s (docs/trackers.md)",
                       ", ".join(differ))
    if args.no_verify:
        return 0
    errors = verify_opencv_dasiamrpn(model, paths)
    return _report_errors(errors, "cv2.dnn", "OpenCV", args.tolerance, logger)


def _export_opencv_vit(model, args, prefix: str, logger) -> int:
    """The cv2.TrackerVit network ``<prefix>.onnx``, checked against PyTorch with onnxruntime unless --no-verify."""
    from pysot.models.export_vit import export_opencv_vit, verify_opencv_vit

    if args.fold_bn:
        logger.warning("--fold-bn is ignored for a one-stream model (OpenCV's DNN engine fuses BN itself)")
    if args.batch != 1:
        logger.error("--batch %d: cv2.TrackerVit runs one target per network call; give --batch 1", args.batch)
        return 2
    path = prefix if prefix.endswith(".onnx") else prefix + ".onnx"
    check_output_folder(path)
    try:
        export_opencv_vit(model, path, opset=args.opset or 14)
    except ValueError as e:
        logger.error(str(e))
        return 2
    print(f"wrote {path}")
    if args.no_verify:
        return 0
    errors = verify_opencv_vit(model, path)
    return _report_errors(errors, "onnxruntime", "ONNX", args.tolerance, logger)


if __name__ == "__main__":
    sys.exit(main())
