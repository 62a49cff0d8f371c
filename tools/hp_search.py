#!/usr/bin/env python
"""Grid or random search over TRACK.PENALTY_K / WINDOW_INFLUENCE / LR (/ INSTANCE_SIZE).

    python tools/hp_search.py --config experiments/siamrpn_alex_dwxcorr/config.yaml \
        --snapshot model.pth --dataset OTB100 --dataset-root data/OTB100 \
        --penalty-k 0.04 0.1 0.16 --window-influence 0.3 0.44 --lr 0.3 0.4 --workers 4
    python tools/hp_search.py ... --random 30 --seed 1
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from pysot.apps.cli import add_config_arguments, add_fast_arguments, add_threads_argument, parse_tool_args
from pysot.apps.workers import resolve_workers, workers_type
from pysot.utils.fileio import check_path_component
from pysot.utils.log import get_logger
from toolkit.cli import run_main
from toolkit.datasets import canonical_name
from toolkit.hp_search import MAX_SETTINGS, check_searchable, grid_settings, random_settings, search
from toolkit.report import format_table, stdout_color
from toolkit.runner import BenchmarkError, TrackerSpec, default_tracker_name
from toolkit.utils.results import atomic_write_text

logger = get_logger("hp_search")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="tracker hyper-parameter search (test + eval per setting)")
    add_config_arguments(p)  # --config/--cfg; overrides (--opts or trailing KEY VALUE) apply to every setting
    p.add_argument("--snapshot", default="")
    p.add_argument("--dataset", required=True)
    p.add_argument("--dataset-root", required=True)
    p.add_argument("--results-dir", default="results")
    p.add_argument("--tracker-name", default=None, help="prefix of the setting folders (default: config folder name)")
    p.add_argument("--penalty-k", type=float, nargs="+", help="TRACK.PENALTY_K values (default: the config's)")
    p.add_argument("--window-influence", type=float, nargs="+", help="TRACK.WINDOW_INFLUENCE values (default: the config's)")
    p.add_argument("--lr", type=float, nargs="+", help="TRACK.LR values (default: the config's)")
    p.add_argument("--instance-size", type=int, nargs="+", help="also search TRACK.INSTANCE_SIZE")
    p.add_argument("--random", type=int, default=0, help="draw this many random settings instead of the grid")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=workers_type, default=1,
                   help="settings run in parallel processes of one thread each, or 'auto': one per idle core "
                        "(default 1: one process on all threads)")
    p.add_argument("--device", choices=["cpu", "cuda"])
    add_fast_arguments(p)
    add_threads_argument(p)
    p.add_argument("--json", help="ranked summary as JSON (default: <results-dir>/<dataset>/<tracker>_hp_search.json)")
    return parse_tool_args(p, argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_main(lambda: run(args), logger, "interrupted; finished settings are kept: run the same command "
                                               "again to resume")


def check_arguments(args: argparse.Namespace) -> None:
    """Raise ``ValueError`` (one line naming the argument) for a count or value out of range."""
    if not 0 <= args.random <= MAX_SETTINGS:
        raise ValueError(f"--random {args.random}: give a number of settings in [1, {MAX_SETTINGS}] "
                         "(0 or absent: the grid); each one tracks the whole benchmark")
    if str(args.workers).strip().lower() != "auto":
        resolve_workers(args.workers)  # the count's check, before any work
    for size in args.instance_size or []:
        if size < 1:
            raise ValueError(f"--instance-size {size}: give a search crop side in pixels >= 1")
    ranges = {"--penalty-k": (args.penalty_k, 0.0, float("inf")),
              "--window-influence": (args.window_influence, 0.0, 1.0), "--lr": (args.lr, 0.0, 1.0)}
    for flag, (values, low, high) in ranges.items():
        for v in values or []:
            if not low <= v <= high:  # also refuses NaN
                raise ValueError(f"{flag} {v:g}: give a value in [{low:g}, {high:g}]")


def run(args: argparse.Namespace) -> int:
    if str(args.workers).strip() == "1":  # worker processes take one thread each (toolkit.hp_search)
        from pysot.utils.threads import configure_threads

        configure_threads(args.threads)  # before torch is imported: see pysot.utils.threads
    from pysot.config import load_cfg

    if not args.snapshot:
        logger.warning("no --snapshot: the network keeps its random initial weights")
    check_arguments(args)
    tracker = default_tracker_name(args.config) if args.tracker_name is None else args.tracker_name
    check_path_component(tracker, "--tracker-name")
    args.dataset = canonical_name(args.dataset)  # results/OTB100/..., as tools/test.py writes
    sizes = args.instance_size or [None]
    cfg = load_cfg(args.config, args.opts)
    check_searchable(cfg)
    track = cfg.TRACK  # an axis that is not searched keeps the experiment's value
    settings = (random_settings(args.random, args.seed, sizes) if args.random
                else grid_settings(args.penalty_k or [track.PENALTY_K], args.window_influence or [track.WINDOW_INFLUENCE],
                                   args.lr or [track.LR], sizes))
    logger.info("%d settings on %s, each tracking and scoring the benchmark; results in %s", len(settings),
                args.dataset, os.path.join(args.results_dir, args.dataset, f"{tracker}_*"))
    args.workers = resolve_workers(args.workers, logger, jobs=len(settings))
    spec = TrackerSpec(args.config, args.snapshot or None, args.device, list(args.opts), fast=args.fast)
    try:
        ranked, protocol = search(spec, settings, args.dataset, args.dataset_root, args.results_dir, tracker,
                                  args.workers)
    except BenchmarkError as e:  # a worker died: the finished settings are on disk for a rerun
        logger.error("%s", e)
        return 1
    print(format_table({s.name(tracker): summary for s, summary in ranked}, protocol, f"{args.dataset}: ranked settings",
                       color=stdout_color()))
    out = args.json or os.path.join(args.results_dir, args.dataset, f"{tracker}_hp_search.json")
    doc = [dict(name=s.name(tracker), penalty_k=s.penalty_k, window_influence=s.window_influence, lr=s.lr,
                instance_size=s.instance_size, **summary) for s, summary in ranked]
    atomic_write_text(out, json.dumps(doc, indent=1))
    logger.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
