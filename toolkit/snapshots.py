"""Evaluate every snapshot of a training run on a validation benchmark and pick the best epoch.

The last epoch is rarely the best one. Each ``checkpoint_e{N}.pth`` of ``TRAIN.SNAPSHOT_DIR``
is tracked over the benchmark (``results/<dataset>/<run>_e{N}/``, the layout of ``tools/test.py``,
so a finished snapshot is not tracked again) and scored; snapshots run in parallel processes.
:func:`write_report` writes the per-epoch table (CSV + JSON), a plot and TensorBoard scalars.
"""
from __future__ import annotations

import csv
import io
import json
import math
import multiprocessing as mp
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from pysot.utils.log import get_logger
from toolkit.datasets import build_dataset
from toolkit.evaluation import evaluate_tracker
from toolkit.hp_search import completed, stop_workers, worker_init
from toolkit.report import columns_for, rank_key
from toolkit.runner import TrackerSpec, run_benchmark
from toolkit.utils.results import atomic_write_text

logger = get_logger("toolkit.snapshots")

SNAPSHOT_NAME = re.compile(r"^checkpoint_e(\d+)\.pth$")


@dataclass(frozen=True)
class Snapshot:
    epoch: int
    path: str

    def name(self, run: str) -> str:
        return f"{run}_e{self.epoch}"


def find_snapshots(snapshot_dir: str, epochs: Optional[Sequence[int]] = None) -> List[Snapshot]:
    """``checkpoint_e{N}.pth`` files of ``snapshot_dir`` sorted by epoch (``epochs``: only those).

    Raises ``FileNotFoundError`` naming the folder when it is missing or holds none (and
    ``ValueError`` naming the epochs asked for that it does not hold).
    """
    if not os.path.isdir(snapshot_dir):
        raise FileNotFoundError(f"--snapshot-dir {snapshot_dir}: no such folder")
    found = {}
    for name in os.listdir(snapshot_dir):
        m = SNAPSHOT_NAME.match(name)
        if m:
            found[int(m.group(1))] = os.path.join(snapshot_dir, name)
    if not found:
        raise FileNotFoundError(f"--snapshot-dir {snapshot_dir}: no checkpoint_e<N>.pth in it (tools/train.py "
                                "writes one per epoch into TRAIN.SNAPSHOT_DIR)")
    if epochs:
        missing = sorted(set(epochs) - set(found))
        if missing:
            raise ValueError(f"--epochs: {snapshot_dir} has no snapshot of epoch(s) {missing}; it has "
                             f"{sorted(found)}")
        found = {e: found[e] for e in epochs}
    return [Snapshot(e, found[e]) for e in sorted(found)]


def _evaluate_one(job: Tuple[TrackerSpec, Snapshot, str, str, str, str]) -> Tuple[Snapshot, Dict[str, float]]:
    spec, snap, dataset_name, dataset_root, results_root, run = job
    out_dir = os.path.join(results_root, dataset_name, snap.name(run))
    run_spec = TrackerSpec(spec.config, snap.path, spec.device, list(spec.opts), spec.fast)
    run_benchmark(run_spec, dataset_name, dataset_root, out_dir, workers=1, progress=False)
    result, _ = evaluate_tracker(build_dataset(dataset_name, dataset_root), out_dir, snap.name(run))
    return snap, result.summary()


def evaluate_snapshots(spec: TrackerSpec, snapshots: Sequence[Snapshot], dataset_name: str, dataset_root: str,
                       results_root: str, run: str, workers: int = 1,
                       ) -> Tuple[List[Tuple[Snapshot, Dict[str, float]]], str]:
    """Track and score every snapshot; returns ``[(snapshot, summary)]`` by epoch and the protocol.

    ``spec.config`` ``None``: each snapshot is tracked with the config it stores.
    ``workers`` > 1: that many snapshots at once, one process (one torch thread) each.
    """
    from tqdm import tqdm

    if workers < 1:
        raise ValueError(f"--workers {workers}: give at least 1")
    protocol = build_dataset(dataset_name, dataset_root).protocol
    jobs = [(spec, s, dataset_name, dataset_root, results_root, run) for s in snapshots]
    scored = []
    with tqdm(total=len(jobs), desc="snapshots", unit="snapshot") as bar:
        pool = None
        if workers > 1 and len(jobs) > 1:
            pool = ProcessPoolExecutor(min(workers, len(jobs)), mp_context=mp.get_context("spawn"),
                                       initializer=worker_init, initargs=(os.getpid(),))
            outputs = completed(pool, _evaluate_one, jobs, lambda job: job[1].name(run), "snapshot(s) not evaluated")
        else:
            outputs = map(_evaluate_one, jobs)
        try:
            for snap, summary in outputs:
                scored.append((snap, summary))
                key = columns_for(summary, protocol)[0][0]
                bar.set_postfix_str(f"epoch {snap.epoch} {key} {summary[key]:.3f}")
                bar.update(1)
        except BaseException:
            if pool is not None:
                stop_workers(pool)
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
    scored.sort(key=lambda x: x[0].epoch)
    return scored, protocol


def best_snapshot(scored: Sequence[Tuple[Snapshot, Dict[str, float]]], protocol: str) -> Tuple[Snapshot, str]:
    """The snapshot whose protocol's main score is best (the earlier epoch on a tie), and that score's key."""
    key = columns_for(scored[0][1], protocol)[0][0]
    best = min(scored, key=lambda x: (rank_key(x[1], protocol), x[0].epoch))
    return best[0], key


def write_report(scored: Sequence[Tuple[Snapshot, Dict[str, float]]], protocol: str, out_dir: str, dataset: str,
                 tensorboard_dir: Optional[str] = None) -> Dict[str, str]:
    """``epochs.csv``, ``epochs.json``, ``epochs.png`` in ``out_dir`` and scalars ``val_<dataset>/<metric>``
    at step = epoch in ``tensorboard_dir`` (default ``out_dir``). Returns the written paths by kind."""
    os.makedirs(out_dir, exist_ok=True)
    columns = columns_for(scored[0][1], protocol)
    best, key = best_snapshot(scored, protocol)
    rows = [dict(epoch=s.epoch, snapshot=s.path, **{k: summary.get(k, math.nan) for k, _, _ in columns})
            for s, summary in scored]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    paths = {"csv": os.path.join(out_dir, "epochs.csv"), "json": os.path.join(out_dir, "epochs.json"),
             "plot": os.path.join(out_dir, "epochs.png")}
    atomic_write_text(paths["csv"], text.getvalue())
    doc = {"dataset": dataset, "protocol": protocol, "metric": key, "best_epoch": best.epoch,
           "best_snapshot": best.path,
           "epochs": [dict(epoch=s.epoch, snapshot=s.path, **summary) for s, summary in scored]}
    atomic_write_text(paths["json"], json.dumps(doc, indent=1, allow_nan=True))
    _plot(scored, columns, best, dataset, paths["plot"])
    paths["tensorboard"] = _tensorboard(scored, columns, dataset, tensorboard_dir or out_dir)
    return paths


def _plot(scored, columns, best: Snapshot, dataset: str, path: str) -> None:
    from toolkit.visualization.plots import load_pyplot, save_figure

    plt = load_pyplot()
    fig, axes = plt.subplots(1, len(columns), figsize=(3.6 * len(columns), 3.2), squeeze=False)
    epochs = [s.epoch for s, _ in scored]
    for ax, (key, label, higher) in zip(axes[0], columns):
        values = [summary.get(key, math.nan) for _, summary in scored]
        ax.plot(epochs, values, "o-", color="tab:blue")
        b = epochs.index(best.epoch)
        ax.plot([epochs[b]], [values[b]], "*", color="tab:red", markersize=14, label=f"best: epoch {best.epoch}")
        ax.set_xlabel("epoch")
        ax.set_title(f"{label} ({'higher' if higher else 'lower'} is better)", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"{dataset}: every snapshot", fontsize=10)
    save_figure(fig, path)
    plt.close(fig)


def _tensorboard(scored, columns, dataset: str, log_dir: str) -> str:
    from tensorboardX import SummaryWriter

    tag = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset)
    writer = SummaryWriter(log_dir)
    try:
        for snap, summary in scored:
            for key, _, _ in columns:
                if key in summary and not math.isnan(summary[key]):
                    writer.add_scalar(f"val_{tag}/{key}", summary[key], snap.epoch)
    finally:
        writer.close()
    return log_dir


__all__ = ["SNAPSHOT_NAME", "Snapshot", "best_snapshot", "evaluate_snapshots", "find_snapshots", "write_report"]
