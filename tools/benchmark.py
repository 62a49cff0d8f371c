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

Tracking speed through each way in (a notebook importing torch first or pysot first, the tools),
one process per setup, interleaved rounds, beside --busy processes spinning on a core each (only
this comparison is run; pysot/apps/entry_speed.py):

    python tools/benchmark.py --entry-points [--busy 1] [--iters 5] [--entry-frames 60] [--json entry.json]
    python tools/benchmark.py --entry-points --entry-work 6 ...   # train.py and synthetic_eval instead
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
    p.add_argument("--init", default="", help="first box x,y,w,h (default: the sequence's ground truth)")
    p.add_argument("--threads", type=int, default=0, help="threads of torch and OpenCV alike (default: torch's)")
    p.add_argument("--entry-points", action="store_true",
                   help="only compare the ways in (notebook before/now, pysot first, tools) beside busy cores")
    p.add_argument("--busy", type=int, default=1, help="--entry-points: processes spinning on a core each")
    p.add_argument("--entry-frames", type=int, default=60, help="--entry-points: tracked frames per run")
    p.add_argument("--entry-work", type=int, default=0, metavar="N",
                   help="--entry-points: instead of tracking, time N training iterations and N synthetic_eval "
                        "clips, each against its state before issue 18")
    p.add_argument("--json", default="", help="write the results here")
    args = p.parse_args(argv)
    check_arguments(p, args)
    return args


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors exit 2 with one line (``parser.error``) before anything is measured:
    counts out of range, and a ``--json`` that cannot be written (found after minutes of
    measurement, the results would be lost)."""
    at_least = {"--iters": (args.iters, 1), "--warmup": (args.warmup, 0), "--batch-iters": (args.batch_iters, 1),
                "--peak-size": (args.peak_size, 1), "--pipeline-pairs": (args.pipeline_pairs, 0),
                "--workers-videos": (args.workers_videos, 1), "--workers-frames": (args.workers_frames, 2),
                "--threads": (args.threads, 0)}
    for flag, (value, low) in at_least.items():
        if value is not None and value < low:
            parser.error(f"{flag} {value}: give at least {low}")
    for flag, values in (("--batch-sizes", args.batch_sizes), ("--workers", args.workers)):
        for value in values or []:
            if value < 1:
                parser.error(f"{flag} {value}: give counts of at least 1")
    if args.json:
        problem = unwritable(args.json)
        if problem:
            parser.error(f"--json {args.json}: {problem}")


def unwritable(path: str) -> str:
    """Why a file cannot be written at ``path`` (``""`` if it can): tried with a temporary
    file beside it, which also catches a read-only mount that ``os.access`` misses for root."""
    import tempfile

    if os.path.isdir(path):
        return "is a folder; give a file name"
    parent = os.path.dirname(os.path.abspath(path))
    existing = parent
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"{existing} is a file, not a folder"
    if existing != parent:
        return "" if os.access(existing, os.W_OK) else f"cannot create folders under {existing}"
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".benchmark_probe_"):
            pass
    except OSError as e:
        return f"cannot write in {parent} ({e.strerror or e})"
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return "the file is read-only"
    return ""


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
    if args.entry_points:
        return _entry_points(args, bench)
    if args.nanotrack:
        return _nanotrack(args, bench)
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


def _entry_points(args, bench) -> int:
    from pysot.apps.entry_speed import entry_point_speed

    from pysot.apps.entry_speed import WORK_SETUPS

    if args.busy < 0 or args.entry_frames < 1 or args.entry_work < 0:
        raise SystemExit("error: --busy and --entry-work must be >= 0, --entry-frames >= 1")
    if args.entry_work:
        report = entry_point_speed(rounds=args.iters or 5, frames=args.entry_work, busy=args.busy,
                                   setups=list(WORK_SETUPS))
    else:
        report = entry_point_speed(rounds=args.iters or 5, frames=args.entry_frames, busy=args.busy)
    report["machine"] = bench.machine_info()
    for name, r in report["setups"].items():
        ratio = f" (x{r['ratio_to_before_median']:.2f} vs before)" if "ratio_to_before_median" in r else ""
        unit = "items/s" if args.entry_work else "fps"
        print(f"{name}: {r['fps_median']:.3g} {unit} median of {len(r['fps'])} ({r['threads']} thread(s), "
              f"{r['wait_policy']} idle threads){ratio}")
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


if __name__ == "__main__":
    sys.exit(main())
