#!/usr/bin/env python
"""Evaluate every snapshot of a training run on a validation benchmark; name the best epoch.

    python tools/eval_snapshots.py --snapshot-dir snapshot/siamrpn_alex_tiny \
        --dataset VOT2018 --dataset-root data/VOT2018 --workers 2
    python tools/eval_snapshots.py --snapshot-dir snap --config experiments/x/config.yaml \
        --dataset OTB100 --dataset-root data/OTB100 --epochs 10 15 20 TRACK.LR 0.3

Every ``checkpoint_e{N}.pth`` is tracked over the benchmark (results in
``<results-dir>/<dataset>/<run>_e{N}/``; a finished snapshot is only re-scored) with the config
it stores, or ``--config`` (+ overrides). Writes ``epochs.csv``, ``epochs.json``, ``epochs.png``
and TensorBoard scalars (``val_<dataset>/<metric>`` at step = epoch) into ``--out``
(default ``<snapshot-dir>/eval_<dataset>``) and prints the table and the best snapshot.
"""
from __future__ import annotations

import argparse
import os
import sys

from pysot.apps.cli import add_config_arguments, add_fast_arguments, parse_tool_args
from pysot.utils.fileio import check_path_component
from pysot.utils.log import get_logger
from toolkit.cli import run_main
from toolkit.datasets import canonical_name
from toolkit.report import format_table, stdout_color
from toolkit.runner import BenchmarkError, TrackerSpec
from toolkit.snapshots import best_snapshot, evaluate_snapshots, find_snapshots, write_report

logger = get_logger("eval_snapshots")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(p, required=False, config_help="experiment YAML (default: the config each snapshot stores)")
    p.add_argument("--snapshot-dir", required=True, help="TRAIN.SNAPSHOT_DIR of the run (checkpoint_e<N>.pth files)")
    p.add_argument("--epochs", type=int, nargs="+", help="only these epochs (default: every snapshot)")
    p.add_argument("--dataset", required=True, help="validation benchmark, e.g. VOT2018, OTB100, GOT-10k-val, LaSOT")
    p.add_argument("--dataset-root", required=True)
    p.add_argument("--results-dir", default="results", help="tracking results go to <root>/<dataset>/<run>_e<N>/")
    p.add_argument("--run-name", default="", help="prefix of the result folders (default: the snapshot folder's name)")
    p.add_argument("--out", default="", help="table, plot and TensorBoard events (default: <snapshot-dir>/eval_<dataset>)")
    p.add_argument("--workers", type=int, default=1, help="snapshots evaluated at once, one process each (>= 1)")
    p.add_argument("--device", choices=["cpu", "cuda"])
    add_fast_arguments(p)
    return parse_tool_args(p, argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_main(lambda: run(args), logger, "interrupted; evaluated snapshots are kept: run the same command "
                                               "again to resume")


def run(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise ValueError(f"--workers {args.workers}: give at least 1")
    if args.config and not os.path.isfile(args.config):
        raise FileNotFoundError(f"--config {args.config}: file not found")
    snapshots = find_snapshots(args.snapshot_dir, args.epochs)
    run_name = args.run_name or os.path.basename(os.path.normpath(os.path.abspath(args.snapshot_dir)))
    check_path_component(run_name, "--run-name")
    dataset = canonical_name(args.dataset)
    out = args.out or os.path.join(args.snapshot_dir, f"eval_{dataset}")
    logger.info("%d snapshot(s) of %s on %s", len(snapshots), run_name, dataset)
    spec = TrackerSpec(args.config or None, None, args.device, list(args.opts), fast=args.fast)
    try:
        scored, protocol = evaluate_snapshots(spec, snapshots, dataset, args.dataset_root, args.results_dir,
                                              run_name, args.workers)
    except BenchmarkError as e:
        logger.error("%s", e)
        return 1
    paths = write_report(scored, protocol, out, dataset)
    rows = {f"epoch {s.epoch}": summary for s, summary in scored}
    print(format_table(rows, protocol, f"{dataset}: {run_name}, every snapshot", color=stdout_color()))
    best, key = best_snapshot(scored, protocol)
    summary = dict(scored)[best]
    logger.info("best: %s (epoch %d, %s %.4f)", best.path, best.epoch, key, summary[key])
    logger.info("wrote %s, %s, %s; TensorBoard: tensorboard --logdir %s", paths["csv"], paths["json"],
                paths["plot"], paths["tensorboard"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
