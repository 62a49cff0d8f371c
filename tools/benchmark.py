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

Tracking speed through each way in (a notebook importing torch first or pysot first, the tools),
one process per setup, interleaved rounds, beside --busy processes spinning on a core each (only
this comparison is run; pysot/apps/entry_speed.py):

    python tools/benchmark.py --entry-points [--busy 1] [--iters 5] [--entry-frames 60] [--json entry.json]
    python tools/benchmark.py --entry-points --entry-work 6 ...   # train.py and synthetic_eval instead
tools/test.py and tools/hp_search.py throughput with --workers N against one worker (only this):

    python tools/benchmark.py --scaling 2 4 [--scaling-settings 4] [--scaling-dataset OTB100 --scaling-root DIR]

TRACK.PRECISION float32 vs bf16 on real sequences (fps, mean IoU, drift; only this):

    python tools/benchmark.py --precision-compare nanotrack_v2 --precision-snapshot W.pth \
        --precision-sequences ../shared/data/sequences/VOT/bag [--threads 1]

Training throughput (data pipeline samples/s, step and iteration s/iter) against the original
PySOT code, imported from a checkout you name (only this):

    python tools/benchmark.py --training /path/to/original/pysot [--training-config X.yaml] --threads 1
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
    p.add_argument("--entry-points", action="store_true",
                   help="only compare the ways in (notebook before/now, pysot first, tools) beside busy cores")
    p.add_argument("--busy", type=int, default=1, help="--entry-points: processes spinning on a core each")
    p.add_argument("--entry-frames", type=int, default=60, help="--entry-points: tracked frames per run")
    p.add_argument("--entry-work", type=int, default=0, metavar="N",
                   help="--entry-points: instead of tracking, time N training iterations and N synthetic_eval "
                        "clips, each against its state before issue 18")
    p.add_argument("--scaling", type=int, nargs="+", default=None, metavar="N",
                   help="worker scaling only: tools/test.py (and --scaling-settings: hp_search.py) over a whole "
                        "dataset with --workers N against one worker (docs/speed.md)")
    p.add_argument("--scaling-config", default="siamrpn_alex_dwxcorr", help="experiment of --scaling")
    p.add_argument("--scaling-snapshot", default="", help="weights of --scaling (default: random)")
    p.add_argument("--scaling-dataset", default="", help="benchmark name of --scaling (default: a synthetic OTB)")
    p.add_argument("--scaling-root", default="", help="its folder (with --scaling-dataset)")
    p.add_argument("--scaling-videos", type=int, default=8, help="synthetic videos of --scaling")
    p.add_argument("--scaling-frames", type=int, default=60, help="frames per synthetic video of --scaling")
    p.add_argument("--scaling-settings", type=int, default=0, help="hp_search settings timed too (0: skip)")
    p.add_argument("--scaling-repeats", type=int, default=3, help="alternating repeats of each worker count")
    p.add_argument("--precision-compare", metavar="CONFIG", default="",
                   help="reduced precision only: TRACK.PRECISION float32 vs bf16 of this experiment on real "
                        "sequences (fps and accuracy; docs/speed.md)")
    p.add_argument("--precision-snapshot", default="", help="weights of --precision-compare (default: random)")
    p.add_argument("--precision-sequences", nargs="+", default=[], metavar="DIR",
                   help="VOT/OTB sequence folders of --precision-compare")
    p.add_argument("--training", metavar="ORIGINAL", default="",
                   help="training throughput only: ours vs the original PySOT checkout at ORIGINAL (its pysot/ "
                        "is imported from there; docs/speed.md)")
    p.add_argument("--training-config", default="",
                   help="YAML both read (default: ORIGINAL/experiments/siamrpn_alex_dwxcorr_16gpu/config.yaml, its training experiment)")
    p.add_argument("--training-data", default=os.path.join(REPO, "..", "shared", "parity", "training", "data"),
                   help="crop-511 training set: a folder with crop511/ and train.json")
    p.add_argument("--training-batch", type=int, default=8, help="batch size of the timed steps")
    p.add_argument("--training-samples", type=int, default=48, help="pipeline samples timed per side")
    p.add_argument("--training-steps", type=int, default=5, help="steps and iterations timed per side")
    p.add_argument("--precision-frames", type=int, default=0, help="only the first N frames of each sequence")
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
                "--threads": (args.threads, 0), "--scaling-videos": (args.scaling_videos, 1),
                "--scaling-frames": (args.scaling_frames, 2), "--scaling-settings": (args.scaling_settings, 0),
                "--scaling-repeats": (args.scaling_repeats, 1), "--training-batch": (args.training_batch, 1),
                "--training-samples": (args.training_samples, 1), "--training-steps": (args.training_steps, 1),
                "--precision-frames": (args.precision_frames, 0), "--busy": (args.busy, 0),
                "--entry-frames": (args.entry_frames, 2), "--entry-work": (args.entry_work, 0)}
    for flag, (value, low) in at_least.items():
        if value is not None and value < low:
            parser.error(f"{flag} {value}: give at least {low}")
    for flag, values in (("--batch-sizes", args.batch_sizes), ("--workers", args.workers),
                         ("--scaling", args.scaling)):
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
    if args.vittrack:
        return _vittrack(args, bench)
    if args.scaling:
        return _scaling(args, bench)
    if args.precision_compare:
        return _precision(args, bench)
    if args.training:
        return _training(args, bench)
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


def _precision(args, bench) -> int:
    from pysot.tracker import cpu_has_bf16

    if not args.precision_sequences:
        raise SystemExit("error: --precision-compare needs --precision-sequences DIR [DIR ...]")
    for folder in args.precision_sequences:
        if not os.path.isdir(folder):
            raise SystemExit(f"error: --precision-sequences {folder}: not a folder")
    if args.precision_snapshot and not os.path.isfile(args.precision_snapshot):
        raise SystemExit(f"error: --precision-snapshot {args.precision_snapshot}: no such file")
    if not cpu_has_bf16():
        raise SystemExit("error: --precision-compare: this CPU has no bfloat16 instructions (AVX512-BF16 or AMX)")
    try:
        r = bench.compare_precision(resolve_config(args.precision_compare), args.precision_snapshot or None,
                                    args.precision_sequences, warmup=args.warmup, threads=args.threads or None,
                                    max_frames=max(0, args.precision_frames))
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    for name, v in r["sequences"].items():
        print(f"{name}: float32 {v['float32_ms']:.2f} ms | bf16 {v['bf16_ms']:.2f} ms | bf16 x{v['bf16_speedup']:.2f} | "
              f"mean IoU {v['float32_mean_iou']:.4f} -> {v['bf16_mean_iou']:.4f} ({v['mean_iou_change']:+.4f}) | "
              f"drift max {v['drift_max_px']:.2f} px, mean {v['drift_mean_px']:.2f} px")
    if args.json:
        bench.write_json(args.json, {"machine": bench.machine_info(), "precision": r})
        print(f"wrote {args.json}")
    return 0


def _training(args, bench) -> int:
    from pysot.apps.train_benchmark import benchmark_training

    original = os.path.abspath(args.training)
    if not os.path.isfile(os.path.join(original, "pysot", "datasets", "dataset.py")):
        raise SystemExit(f"error: --training {args.training}: not a checkout of the original PySOT "
                         "(no pysot/datasets/dataset.py)")
    config = args.training_config or os.path.join(original, "experiments", "siamrpn_alex_dwxcorr_16gpu", "config.yaml")
    root, anno = os.path.join(args.training_data, "crop511"), os.path.join(args.training_data, "train.json")
    for flag, path in (("--training-config", config), ("--training-data", anno)):
        if not os.path.isfile(path):
            raise SystemExit(f"error: {flag}: no such file {path}")
    if min(args.training_batch, args.training_samples, args.training_steps) < 1:
        raise SystemExit("error: --training-batch, --training-samples and --training-steps must be >= 1")
    try:
        r = benchmark_training(original, config, os.path.abspath(root), os.path.abspath(anno), args.training_batch,
                               args.training_samples, args.training_steps, args.warmup, threads=args.threads or None)
    except ImportError as e:
        raise SystemExit(f"error: {e}") from None
    p, s, i = r["pipeline"], r["step"], r["iteration"]
    print(f"training, {os.path.relpath(config)}, batch {r['batch_size']}, {r['threads']} thread(s): "
          f"pipeline ours {p['ours']['samples_per_s']:.1f} vs original {p['original']['samples_per_s']:.1f} samples/s "
          f"(x{p['speedup']:.2f}) | step {s['ours']['seconds_per_iter']:.3f} vs {s['original']['seconds_per_iter']:.3f} "
          f"s/iter (x{s['speedup']:.2f}) | iteration {i['ours']['seconds_per_iter']:.3f} vs "
          f"{i['original']['seconds_per_iter']:.3f} s/iter (x{i['speedup']:.2f})")
    if args.json:
        bench.write_json(args.json, {"machine": bench.machine_info(), "training": r})
        print(f"wrote {args.json}")
    return 0


def _scaling(args, bench) -> int:
    bad = [n for n in args.scaling if n < 1]
    if bad or args.scaling_repeats < 1 or args.scaling_videos < 1 or args.scaling_frames < 2 or args.scaling_settings < 0:
        raise SystemExit("error: --scaling N (>= 1), --scaling-repeats/--scaling-videos (>= 1), --scaling-frames "
                         "(>= 2), --scaling-settings (>= 0)")
    if bool(args.scaling_dataset) != bool(args.scaling_root):
        raise SystemExit("error: --scaling-dataset and --scaling-root go together")
    if args.scaling_root and not os.path.isdir(args.scaling_root):
        raise SystemExit(f"error: --scaling-root {args.scaling_root}: not a folder")
    r = bench.worker_scaling(resolve_config(args.scaling_config), args.scaling, args.scaling_dataset,
                             args.scaling_root, args.scaling_videos, args.scaling_frames, args.scaling_settings,
                             args.scaling_repeats, args.scaling_snapshot or None)
    before, after = r["load_before"], r["load_after"]
    print(f"load average {before['load_avg']} -> {after['load_avg']}, idle cores {before['idle_cores']} -> "
          f"{after['idle_cores']} of {before['usable_cores']}")
    for key, v in r["results"].items():
        print(f"{v['tool']} --workers {v['workers']}: {v['frames_per_s']:.1f} frames/s, x{v['speedup']:.2f} one worker, "
              f"efficiency {v['efficiency']:.2f} (median of {len(v['runs'])})")
    if args.json:
        bench.write_json(args.json, {"machine": bench.machine_info(), "scaling": r})
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
