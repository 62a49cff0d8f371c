#!/usr/bin/env python
"""Tracking speed: plain eager vs fast path, FLOP/s against the measured matmul peak, batched
throughput, training-data pairs/s and tools/test.py worker scaling; writes JSON.

    python tools/benchmark.py --json benchmark.json \\
        [--configs siamrpn_alex_dwxcorr siamrpn_r50_l234_dwxcorr] [--device cpu cuda] [--iters 7]
        [--amp bf16 --batch-sizes 1 16 64]

Method: docs/speed.md (interleaved rounds, medians, median of per-round ratios).
Weights are random: speed does not depend on their values.

NanoTrack on real frames, our tracker (plain and fast path) vs OpenCV's cv2.TrackerNano with the
authors' ONNX files, interleaved frame by frame in one process (only this comparison is run):

    python tools/benchmark.py --nanotrack ../shared/weights/nanotrack \
        --nanotrack-frames ../shared/data/sequences/VOT/bag [--threads 1] [--json nanotrack.json]
    python tools/benchmark.py --vittrack vittrack.onnx --vittrack-snapshot vittrack.pth \
        --nanotrack-frames ../shared/data/sequences/VOT/bag [--threads 1] [--json vittrack.json]
"""
from __future__ import annotations

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIGS = ["siamrpn_alex_dwxcorr", "siamrpn_r50_l234_dwxcorr"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS,
                   help="experiment names (experiments/<name>/config.yaml) or YAML paths")
    p.add_argument("--device", nargs="+", default=None, help="cpu and/or cuda (default: cpu, plus cuda if present)")
    p.add_argument("--iters", type=int, default=None,
                   help="timed rounds per path (after --warmup rounds); default 7, with --nanotrack every frame")
    p.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    p.add_argument("--batch-sizes", type=int, nargs="*", default=[1, 4, 16], help="MultiTracker targets N")
    p.add_argument("--batch-iters", type=int, default=3, help="timed frames per batch size")
    p.add_argument("--peak-size", type=int, default=2048, help="matrix side of the matmul peak measurement")
    p.add_argument("--pipeline-pairs", type=int, default=64, help="training pairs timed (0: skip)")
    p.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="test.py worker counts compared ([]: skip)")
    p.add_argument("--workers-config", default="siamrpn_alex_dwxcorr", help="experiment for the workers check")
    p.add_argument("--workers-videos", type=int, default=4, help="synthetic videos of the workers check")
    p.add_argument("--workers-frames", type=int, default=60, help="frames per synthetic video")
    p.add_argument("--channels-last", choices=["auto", "on", "off"], default="auto", help="fast path layout")
    p.add_argument("--amp", choices=["none", "bf16", "fp16"], default="none",
                   help="fast path autocast (not parity-exact; fp16 on CUDA only): batched fp16/bf16 figures")
    p.add_argument("--nanotrack", metavar="DIR", default="",
                   help="NanoTrack comparison only: DIR holds nanotrackv2.pth, nanotrackv2_backbone.onnx and "
                        "nanotrackv2_head.onnx (the authors' files for cv2.TrackerNano)")
    p.add_argument("--nanotrack-frames", default=os.path.join(REPO, "..", "shared", "data", "sequences", "VOT", "bag"),
                   help="real frames: a video file, image folder or VOT/OTB sequence folder")
    p.add_argument("--nanotrack-config", default="nanotrack_v2", help="NanoTrack experiment")
    p.add_argument("--vittrack", metavar="ONNX", default="",
                   help="VitTrack comparison only: our VitTracker vs cv2.TrackerVit running ONNX (our export, "
                        "tools/export_onnx.py --opencv) on --nanotrack-frames")
    p.add_argument("--vittrack-snapshot", default="", help="weights of --vittrack-config (those exported to ONNX)")
    p.add_argument("--vittrack-config", default="vittrack", help="VitTrack experiment")
    p.add_argument("--init", default="", help="first box x,y,w,h (default: the sequence's ground truth)")
    p.add_argument("--threads", type=int, default=0, help="threads of torch and OpenCV alike (default: torch's)")
    p.add_argument("--json", default="", help="write the results here")
    return p.parse_args(argv)


def resolve_config(name: str) -> str:
    if os.path.isfile(name):
        return name
    path = os.path.join(REPO, "experiments", name, "config.yaml")
    if not os.path.isfile(path):
        raise SystemExit(f"error: --configs {name}: neither a file nor experiments/{name}/config.yaml")
    return path


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    from pysot.apps import benchmark as bench
    from pysot.utils.log import get_logger

    logger = get_logger("benchmark")
    if args.nanotrack:
        return _nanotrack(args, bench)
    if args.vittrack:
        return _vittrack(args, bench)
    args.iters = args.iters or 7
    devices = args.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    if "cuda" in devices and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda: no CUDA GPU is available")
    if args.amp == "fp16" and "cpu" in devices:
        raise SystemExit("error: --amp fp16 is for CUDA only (use --amp bf16 on the CPU, or --device cuda)")
    configs = [resolve_config(c) for c in args.configs]
    fast_kwargs = {} if args.channels_last == "auto" else {"channels_last": args.channels_last == "on"}
    if args.amp != "none":
        fast_kwargs["amp"] = args.amp
    report = {"machine": bench.machine_info(),
              "fast_path": {"amp": args.amp, "channels_last": args.channels_last},
              "devices": {}}
    for name in devices:
        device = torch.device(name)
        peaks = bench.matmul_peak_gflops(device, args.peak_size)
        peak = peaks["peak"]
        print(f"{name}: fp32 matmul peak {peak:.0f} GFLOP/s (torch.mm {peaks['torch_mm']:.0f}, "
              f"1x1-conv GEMM {peaks['conv_gemm']:.0f})")
        entry = {"matmul_peak_gflops": peaks, "experiments": {}}
        if name == "cuda":
            entry["gpu"] = torch.cuda.get_device_name(device)
        for config in configs:
            key = os.path.basename(os.path.dirname(config))
            logger.info("%s on %s ...", key, name)
            r = bench.benchmark_experiment(config, device, args.warmup, args.iters, args.batch_sizes,
                                           args.batch_iters, peak, fast_kwargs)
            entry["experiments"][key] = r
            print(f"{name} {key}: {r['gflop_per_frame']:.1f} GFLOP/frame | plain {r['plain']['fps']:.2f} fps "
                  f"({r['plain']['peak_fraction']:.0%} of peak) | fast {r['fast']['fps']:.2f} fps "
                  f"({r['fast']['peak_fraction']:.0%}) | speed-up x{r['speedup_median']:.3f} | "
                  f"parity {r['parity_max_rel_err']:.1e} | batched " +
                  ", ".join(f"N={n}: {b['target_frames_per_s']:.2f} target-frames/s "
                            f"(network alone {b['network_target_frames_per_s']:.2f})" for n, b in r["batched"].items()))
        report["devices"][name] = entry
    if args.pipeline_pairs > 0:
        report["data_pipeline"] = bench.data_pipeline_pairs_per_second(args.pipeline_pairs)
        print(f"data pipeline: {report['data_pipeline']['pairs_per_s']:.1f} pairs/s")
    if args.workers:
        report["test_workers"] = bench.workers_scaling(resolve_config(args.workers_config), args.workers,
                                                       args.workers_videos, args.workers_frames)
        print("test.py workers: " + ", ".join(f"{k}: {v['seconds']:.1f} s (x{v['speedup']:.2f})"
                                             for k, v in report["test_workers"]["runs"].items()))
    if args.json:
        bench.write_json(args.json, report)
        print(f"wrote {args.json}")
    return 0


def _sequence_init(folder: str):
    """The first ground-truth box of a VOT (polygon) or OTB (x,y,w,h) sequence folder, as x,y,w,h."""
    import numpy as np

    from pysot.utils.bbox import polygon_to_xywh_axis_aligned

    for name in ("groundtruth.txt", "groundtruth_rect.txt"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with open(path) as f:
                first = f.readline().replace("\t", ",").replace(" ", ",")
            cx, cy, w, h = polygon_to_xywh_axis_aligned(np.array([float(v) for v in first.split(",") if v]))
            return [cx - (w - 1) / 2, cy - (h - 1) / 2, w, h]
    raise SystemExit(f"error: --nanotrack-frames {folder}: no groundtruth.txt; give the first box with --init")


def _nanotrack(args, bench) -> int:
    from pysot.io.video import open_frames, parse_box

    files = {k: os.path.join(args.nanotrack, f"nanotrackv2{k}") for k in (".pth", "_backbone.onnx", "_head.onnx")}
    missing = [p for p in files.values() if not os.path.isfile(p)]
    if missing:
        raise SystemExit(f"error: --nanotrack {args.nanotrack}: missing {', '.join(missing)}")
    try:
        init = parse_box(args.init) if args.init else _sequence_init(args.nanotrack_frames)
        frames = list(open_frames(args.nanotrack_frames))
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    r = bench.benchmark_nanotrack(resolve_config(args.nanotrack_config), files[".pth"], files["_backbone.onnx"],
                                  files["_head.onnx"], frames, init, warmup=args.warmup,
                                  rounds=args.iters, threads=args.threads or None)
    report = {"machine": bench.machine_info(), "nanotrack": r}
    print(f"NanoTrack on {len(frames)} frames of {args.nanotrack_frames} ({r['timed_frames']} timed, "
          f"{r['threads']} thread(s), OpenCV {r['opencv_version']}): plain {r['plain']['fps']:.1f} fps | fast "
          f"{r['fast']['fps']:.1f} fps | cv2.TrackerNano {r['opencv']['fps']:.1f} fps "
          f"| fast / OpenCV x{r['fast_vs_opencv']:.2f} | plain / OpenCV x{r['plain_vs_opencv']:.2f}")
    if args.json:
        bench.write_json(args.json, report)
        print(f"wrote {args.json}")
    return 0


def _vittrack(args, bench) -> int:
    from pysot.io.video import open_frames, parse_box

    for flag, path in (("--vittrack", args.vittrack), ("--vittrack-snapshot", args.vittrack_snapshot)):
        if path and not os.path.isfile(path):
            raise SystemExit(f"error: {flag} {path}: file not found")
    try:
        init = parse_box(args.init) if args.init else _sequence_init(args.nanotrack_frames)
        frames = list(open_frames(args.nanotrack_frames))
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    r = bench.benchmark_vittrack(resolve_config(args.vittrack_config), args.vittrack_snapshot, args.vittrack,
                                 frames, init, warmup=args.warmup, rounds=args.iters, threads=args.threads or None)
    report = {"machine": bench.machine_info(), "vittrack": r}
    print(f"VitTrack on {len(frames)} frames of {args.nanotrack_frames} ({r['timed_frames']} timed, "
          f"{r['threads']} thread(s), OpenCV {r['opencv_version']}): ours {r['ours']['fps']:.1f} fps | "
          f"cv2.TrackerVit {r['opencv']['fps']:.1f} fps | ours / OpenCV x{r['ours_vs_opencv']:.2f} | "
          f"max box difference {r['max_box_difference_px']:.1f} px")
    if args.json:
        bench.write_json(args.json, report)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
