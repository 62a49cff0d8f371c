#!/usr/bin/env python
"""Run a tracker over a benchmark and write results/<dataset>/<tracker>/ (resumable).

    python tools/test.py --config experiments/siamrpn_r50_l234_dwxcorr/config.yaml \
        --snapshot model.pth --dataset VOT2018 --dataset-root data/VOT2018 [--workers 4]

Result files hold the unclipped boxes, formatted as the original PySOT's test.py
writes them. <tracker>/run.json records the config, overrides and snapshot digest;
a different run into the same folder is refused (--overwrite replaces its results).
Exit codes: 0 done, 1 some videos failed (named; the rest are kept), 2 usage error,
130 interrupted, 143 terminated (SIGTERM).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from pysot.apps.cli import (add_config_arguments, add_fast_arguments, add_precision_argument, add_threads_argument,
                            parse_tool_args, precision_overrides)
from pysot.apps.workers import resolve_workers, workers_type
from pysot.utils.fileio import check_path_component
from pysot.utils.log import get_logger
from toolkit.cli import run_main
from toolkit.datasets import canonical_name
from toolkit.runner import BenchmarkError, TrackerSpec, default_tracker_name, run_benchmark

logger = get_logger("test")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="track a benchmark and write its result files")
    add_config_arguments(p, required=False,  # --config/--cfg, --opts KEY VALUE and trailing KEY VALUE
                         config_help="experiment YAML (default: the one stored in --snapshot)")
    p.add_argument("--snapshot", default="", help="model weights (.pth); alone, the config it stores")
    p.add_argument("--dataset", required=True, help="benchmark name, e.g. OTB100, VOT2018, LaSOT")
    p.add_argument("--dataset-root", required=True, help="folder holding <DATASET>.json or the native layout")
    p.add_argument("--results-dir", default="results", help="results root; files go to <root>/<dataset>/<tracker>/")
    p.add_argument("--tracker-name", default=None,
                   help="result folder name (default: the config's folder name, else the snapshot's file name)")
    p.add_argument("--video", nargs="+", help="only these videos")
    p.add_argument("--workers", type=workers_type, default=1,
                   help="parallel processes, one model and one thread each (>= 1), or 'auto': one per idle core "
                        "(default 1: one process on all threads)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the results in the tracker folder, even those another run (config, overrides, "
                        "snapshot) produced; default: resume, and refuse a folder of another run")
    p.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if cfg.CUDA and a GPU is present")
    add_fast_arguments(p)
    add_precision_argument(p)
    add_threads_argument(p)
    # Intermixed: a flag after the overrides (TRACK.LR 0.3 --fast) is still a flag.
    # "--video ball1 TRACK.LR 0.3": --video swallows what follows; from the first KEY on it is overrides.
    args = parse_tool_args(p, argv, split_from=["video"])
    if not args.config and not args.snapshot:
        p.error("give --config, --snapshot or both (--snapshot alone: the config the checkpoint stores)")
    args.opts = precision_overrides(args)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    # "" is refused below, as a name: it is what an unset shell variable gives, not a request for the default
    if args.tracker_name is not None:
        name = args.tracker_name
    else:
        name = (default_tracker_name(args.config) if args.config
                else os.path.splitext(os.path.basename(args.snapshot))[0])
    spec = TrackerSpec(args.config, args.snapshot or None, args.device, list(args.opts or []), fast=args.fast)
    # results/OTB100/..., however --dataset was typed, so eval.py and a resumed run find it
    out_dir = os.path.join(args.results_dir, canonical_name(args.dataset), name)

    def run() -> int:
        check_path_component(name, "--tracker-name")
        check_path_component(canonical_name(args.dataset), "--dataset")
        args.workers = resolve_workers(args.workers, logger)
        if os.path.exists(args.results_dir) and not os.path.isdir(args.results_dir):
            raise NotADirectoryError(f"--results-dir {args.results_dir}: exists and is not a folder")
        if args.workers <= 1:  # worker processes take one thread each (toolkit.runner)
            from pysot.utils.threads import configure_threads

            configure_threads(args.threads)
        if not args.snapshot:
            logger.warning("no --snapshot: the network keeps its random initial weights")
        try:
            stats = run_benchmark(spec, args.dataset, args.dataset_root, out_dir, args.workers, args.video,
                                  overwrite=args.overwrite)
        except BenchmarkError as e:
            logger.error("%s", e)
            return 1
        if stats:
            tracked = sum(s["tracked"] for s in stats.values())
            seconds = sum(s["seconds"] for s in stats.values())
            logger.info("%d videos, %d frames tracked, mean %.1f fps -> %s", len(stats), tracked,
                        tracked / seconds if seconds else float("nan"), out_dir)
        return 0

    # SIGTERM (kill, a job scheduler) ends the run like Ctrl-C does: the workers are stopped
    # on the way out instead of being left to the kernel.
    in_main_thread = threading.current_thread() is threading.main_thread()  # where handlers can be set
    previous = signal.signal(signal.SIGTERM, _terminated) if in_main_thread else None
    try:
        return run_main(run, logger, f"interrupted; finished videos are kept in {out_dir}: "
                                     "run the same command again to resume")
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _terminated(signum, frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
