#!/usr/bin/env python
"""Evaluate tracker results: ``results/<dataset>/<tracker>/`` against a benchmark.

    python tools/eval.py --dataset OTB100 --dataset-root data/OTB100 \
        --tracker-path results/OTB100 [--trackers SiamBAN SiamFC] [--workers 4] \
        [--json report.json] [--plot [--plot-dir plots --plot-format pdf]] [--timing]
"""
from __future__ import annotations

import argparse
import math
import os
import sys

from pysot.utils.log import get_logger
from toolkit.cli import EXIT_ERROR, run_main
from toolkit.datasets import build_dataset, canonical_name
from toolkit.evaluation import evaluate_trackers, find_trackers, no_trackers_message, resolve_trackers
from toolkit.report import format_table, stdout_color, write_json

logger = get_logger("eval")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="evaluate tracking results on a benchmark")
    p.add_argument("--dataset", required=True, help="benchmark name, e.g. OTB100, VOT2018, LaSOT")
    p.add_argument("--dataset-root", required=True, help="folder holding <DATASET>.json or the native layout")
    p.add_argument("--tracker-path", required=True, help="results/<dataset> folder with one sub-folder per tracker")
    p.add_argument("--trackers", nargs="+", help="tracker folder names, any case (default: all under --tracker-path)")
    p.add_argument("--workers", type=int, default=1, help="processes, one tracker each")
    p.add_argument("--json", help="write per-tracker and per-video scores to this file")
    p.add_argument("--plot", action="store_true", help="write success/precision (per attribute) or EAO plots")
    p.add_argument("--plot-dir", help="where plots go (default: plots/<dataset> beside --json, else in the current "
                                      "folder; never inside --tracker-path, which may hold published results)")
    p.add_argument("--plot-format", choices=["png", "pdf"], default="png")
    p.add_argument("--overlap", choices=["raster", "geometric"], default="raster",
                   help="VOT overlap: raster = VOT toolkit pixel counting (default), geometric = exact areas")
    p.add_argument("--convert-corners", action="store_true",
                   help="convert a one-pass result file's first line that looks like x1,y1,x2,y2 to x,y,w,h "
                        "(default: score it as written, as PySOT's toolkit does, and name the files in a warning)")
    p.add_argument("--timing", action="store_true", help="print load and evaluation seconds per tracker")
    p.add_argument("--no-color", action="store_true", help="plain table")
    return p.parse_args(argv)


def default_plot_dir(json_path, dataset: str) -> str:
    """``plots/<dataset>`` in the folder of ``--json`` (or the current folder without it)."""
    return os.path.join(os.path.dirname(json_path) if json_path else "", "plots", dataset)


def format_eao_by_tag(eao_by_tag) -> str:
    """``all 0.318, occlusion no frames, ...``: a tag no frame of the benchmark carries has no EAO
    (PySOT's toolkit: NaN), said in words."""
    return ", ".join(f"{k} {v:.3f}" if math.isfinite(v) else f"{k} no frames" for k, v in eao_by_tag.items())


def main(argv=None) -> int:
    args = parse_args(argv)
    return run_main(lambda: evaluate(args), logger)


def inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies under it, links resolved (``path`` need not exist)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return os.path.commonpath([path, folder]) == folder


def check_arguments(args: argparse.Namespace) -> None:
    """Raise ``ValueError`` naming the argument: ``--workers`` below 1, or an output (``--json``,
    the plot folder) inside ``--tracker-path``, where it would overwrite or join published
    results (``--json <tracker>/Basketball.txt``, ``--json <tracker>/run.json``)."""
    if args.workers < 1:
        raise ValueError(f"--workers {args.workers}: give at least 1")
    outputs = [("--json", args.json)] if args.json else []
    if args.plot:
        outputs.append(("--plot-dir" if args.plot_dir else "the plot folder (default)",
                        args.plot_dir or default_plot_dir(args.json, canonical_name(args.dataset))))
    for flag, path in outputs:
        if inside(path, args.tracker_path):
            raise ValueError(f"{flag} {path}: inside --tracker-path {args.tracker_path}, whose result files it "
                             "could overwrite or join; write it elsewhere")


def evaluate(args: argparse.Namespace) -> int:
    """Exit code 0; 1 when some trackers were left out (the others are scored); 2 (a usage
    error, like a bad argument) when nothing could be evaluated: no tracker folder, or
    none whose results load."""
    check_arguments(args)
    dataset = build_dataset(args.dataset, args.dataset_root)
    trackers = resolve_trackers(args.tracker_path, args.trackers) if args.trackers else find_trackers(args.tracker_path)
    if not trackers:
        logger.error(no_trackers_message(args.tracker_path, dataset.name))
        return EXIT_ERROR
    # With several trackers, one with broken results is reported and left out; alone, it is the error.
    results, timings = evaluate_trackers(dataset, args.tracker_path, trackers, args.workers, args.overlap,
                                         skip_failed=len(trackers) > 1, convert_corners=args.convert_corners)
    if not results:
        logger.error("no tracker could be evaluated (each one's error is above)")
        return EXIT_ERROR
    summaries = {t: r.summary() for t, r in results.items()}
    color = not args.no_color and stdout_color()
    print(format_table(summaries, dataset.protocol, f"{dataset.name}: {len(dataset)} videos", color=color))
    if dataset.protocol == "vot" and any(len(r.eao_by_tag) > 1 for r in results.values()):
        for t, r in results.items():
            print(f"{t} EAO by tag: {format_eao_by_tag(r.eao_by_tag)}")
    if args.timing:
        for t, tm in timings.items():
            print(f"timing {t}: load {tm['load_s']:.3f} s, evaluation {tm['eval_s']:.3f} s")
    if args.json:
        write_json(args.json, dataset.name, dataset.protocol, results, timings)
        logger.info("wrote %s", args.json)
    if args.plot:
        from toolkit.visualization import plot_eao, plot_ope

        out = args.plot_dir or default_plot_dir(args.json, dataset.name)
        if dataset.protocol == "ope":
            paths = plot_ope(results, out, dataset.name, fmt=args.plot_format)
            for attr in dataset.attributes:
                paths += plot_ope(results, out, dataset.name, attribute=attr, fmt=args.plot_format)
        elif dataset.protocol == "vot":
            paths = plot_eao(results, out, dataset.name, dataset.eao_interval, fmt=args.plot_format)
        else:
            paths = []
            logger.warning("no plots for the %s protocol", dataset.protocol)
        logger.info("wrote %d plots to %s", len(paths), out)
    return 0 if len(results) == len(trackers) else 1


if __name__ == "__main__":
    sys.exit(main())
