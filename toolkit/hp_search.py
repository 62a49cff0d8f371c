"""Hyper-parameter search over the tracker's PENALTY_K, WINDOW_INFLUENCE, LR (and
INSTANCE_SIZE): every setting is tracked and evaluated, settings in parallel.

Each setting writes ``results/<dataset>/<tracker>_pk-0.040_wi-0.440_lr-0.400[_is-255]/``;
a setting whose videos are all done is not re-run (resumable), only re-scored.
"""
from __future__ import annotations

import dataclasses
import itertools
import logging
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from pysot.utils.log import get_logger
from toolkit.cli import ignore_sigint_in_worker
from toolkit.datasets import build_dataset
from toolkit.evaluation import evaluate_tracker
from toolkit.report import COLUMNS, columns_for, rank_key
from toolkit.runner import BenchmarkError, TrackerSpec, die_with_parent, run_benchmark

logger = get_logger("toolkit.hp_search")

# Search ranges of a random search (uniform), the usual span of the SiamRPN family.
RANDOM_RANGES = {"penalty_k": (0.0, 0.5), "window_influence": (0.1, 0.65), "lr": (0.1, 0.8)}
# Each setting tracks and scores the whole benchmark: 10,000 of them is weeks of work on a
# full benchmark already; a count beyond is a typo (--random 1000000000 would spend minutes
# just drawing the settings, silently, before the first one runs).
MAX_SETTINGS = 10_000
# Searched config keys and the tracker keyword each one becomes.
SEARCHED_KEYS = {"TRACK.PENALTY_K": "penalty_k", "TRACK.WINDOW_INFLUENCE": "window_influence", "TRACK.LR": "lr"}


@dataclass(frozen=True)
class Setting:
    penalty_k: float
    window_influence: float
    lr: float
    instance_size: Optional[int] = None

    def __post_init__(self) -> None:
        # 0 would be run as the config's size but named and recorded as no size at all
        if self.instance_size is not None and self.instance_size < 1:
            raise ValueError(f"instance size {self.instance_size}: give a search crop side >= 1")

    def name(self, tracker: str) -> str:
        base = f"{tracker}_pk-{self.penalty_k:.3f}_wi-{self.window_influence:.3f}_lr-{self.lr:.3f}"
        return base + (f"_is-{self.instance_size}" if self.instance_size else "")

    def opts(self) -> List[str]:
        out = ["TRACK.PENALTY_K", repr(self.penalty_k), "TRACK.WINDOW_INFLUENCE", repr(self.window_influence),
               "TRACK.LR", repr(self.lr)]
        if self.instance_size:
            out += ["TRACK.INSTANCE_SIZE", str(self.instance_size)]
        return out


def check_searchable(cfg) -> None:
    """Raise ``ValueError`` when ``cfg.TRACK.TYPE`` ignores a searched parameter (SiamFC has no
    PENALTY_K or LR: every setting would track identically)."""
    from pysot.tracker import check_tracker_type

    used = check_tracker_type(cfg).config_kwargs(cfg)
    unused = [key for key, kwarg in SEARCHED_KEYS.items() if kwarg not in used]
    if unused:
        raise ValueError(f"{cfg.get('CONFIG_FILE', 'config')}: TRACK.TYPE {cfg.TRACK.TYPE} does not use "
                         f"{', '.join(unused)}; the search is for the SiamRPN family of trackers")


def grid_settings(penalty_k: Sequence[float], window_influence: Sequence[float], lr: Sequence[float],
                  instance_size: Sequence[Optional[int]] = (None,)) -> List[Setting]:
    """Every combination of the given values (at most :data:`MAX_SETTINGS`)."""
    count = len(penalty_k) * len(window_influence) * len(lr) * len(instance_size or (None,))
    if count > MAX_SETTINGS:
        raise ValueError(f"the grid has {count} settings ({len(penalty_k)} x {len(window_influence)} x {len(lr)} x "
                         f"{len(instance_size or (None,))}); at most {MAX_SETTINGS}, each one tracks the whole benchmark")
    return [Setting(float(p), float(w), float(l), s) for p, w, l, s in
            itertools.product(penalty_k, window_influence, lr, instance_size or (None,))]


def random_settings(num: int, seed: int = 0, instance_size: Sequence[Optional[int]] = (None,)) -> List[Setting]:
    """``num`` settings drawn uniformly from :data:`RANDOM_RANGES` (rounded to 3 decimals,
    so names stay short and a re-run with the same seed finds its folders)."""
    if not 0 <= num <= MAX_SETTINGS:
        raise ValueError(f"--random {num}: give a number of settings in [1, {MAX_SETTINGS}] (each one tracks "
                         "the whole benchmark)")
    rng = np.random.default_rng(seed)
    sizes = list(instance_size or (None,))
    out = []
    for _ in range(num):
        values = [round(float(rng.uniform(*RANDOM_RANGES[k])), 3) for k in ("penalty_k", "window_influence", "lr")]
        out.append(Setting(*values, sizes[int(rng.integers(len(sizes)))]))
    return out


def worker_init(parent_pid: int) -> None:
    from pysot.utils.threads import configure_threads

    die_with_parent(parent_pid)  # a killed search leaves no settings running
    ignore_sigint_in_worker()
    configure_threads(1)  # one setting per core; a single in-process run keeps every thread
    get_logger().setLevel(logging.WARNING)  # info lines would print through the parent's progress bar


def _run_setting(args: Tuple[TrackerSpec, Setting, str, str, str, str]) -> Tuple[Setting, Dict[str, float]]:
    spec, setting, dataset_name, dataset_root, results_root, tracker = args
    out_dir = os.path.join(results_root, dataset_name, setting.name(tracker))
    run_spec = dataclasses.replace(spec, opts=list(spec.opts) + setting.opts())
    run_benchmark(run_spec, dataset_name, dataset_root, out_dir, workers=1, progress=False)
    result, _ = evaluate_tracker(build_dataset(dataset_name, dataset_root), out_dir, setting.name(tracker))
    return setting, result.summary()


def completed(pool: ProcessPoolExecutor, fn: Callable[[Any], Any], jobs: Sequence[Any], name: Callable[[Any], str],
              unfinished: str) -> Iterator[Any]:
    """``fn(job)`` of every job, run in ``pool`` and yielded as the workers finish them. When a
    worker process dies, :class:`BenchmarkError` names the jobs left (``name(job)``; ``unfinished``
    says what they are, e.g. ``"setting(s) not finished"``); finished jobs keep their results."""
    futures = {pool.submit(fn, job): job for job in jobs}
    try:
        for future in as_completed(futures):
            yield future.result()
    except BrokenProcessPool:
        lost = [name(futures[f]) for f in futures if not (f.done() and f.exception() is None)]
        raise BenchmarkError(f"a worker process died; {len(lost)} {unfinished}: {', '.join(lost)} "
                             "(finished ones are kept: run the same command again to resume)") from None

def stop_workers(pool: ProcessPoolExecutor) -> None:
    """Kill the worker processes now (they ignore SIGINT; shutdown alone would wait for their settings)."""
    for process in list(getattr(pool, "_processes", {}).values()):
        if process.is_alive():
            process.kill()


def search(
    spec: TrackerSpec,
    settings: Sequence[Setting],
    dataset_name: str,
    dataset_root: str,
    results_root: str,
    tracker: str,
    workers: int = 1,
) -> Tuple[List[Tuple[Setting, Dict[str, float]]], str]:
    """Run and score every setting; returns ``[(setting, summary)]`` ranked best first and the protocol."""
    from tqdm import tqdm

    protocol = build_dataset(dataset_name, dataset_root).protocol
    jobs = [(spec, s, dataset_name, dataset_root, results_root, tracker) for s in dict.fromkeys(settings)]
    scored = []
    with tqdm(total=len(jobs), desc="hp search", unit="setting") as bar:
        if workers <= 1:
            outputs = map(_run_setting, jobs)
            pool = None
        else:
            # concurrent.futures, not multiprocessing.Pool: a worker killed mid-setting (OOM, kill -9)
            # breaks the executor and fails the pending futures, where Pool would wait forever.
            pool = ProcessPoolExecutor(min(workers, len(jobs)), mp_context=mp.get_context("spawn"),
                                       initializer=worker_init, initargs=(os.getpid(),))
            outputs = completed(pool, _run_setting, jobs, lambda job: job[1].name(tracker), "setting(s) not finished")
        try:
            for setting, summary in outputs:
                scored.append((setting, summary))
                key = columns_for(summary, protocol)[0][0]
                bar.set_postfix_str(f"{setting.name(tracker)} {key} {summary[key]:.3f}")
                bar.update(1)
        except BaseException:  # Ctrl-C or an error: the workers ignore SIGINT, so stop them here
            if pool is not None:
                stop_workers(pool)
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
    scored.sort(key=lambda x: rank_key(x[1], protocol))
    return scored, protocol


__all__ = ["COLUMNS", "MAX_SETTINGS", "RANDOM_RANGES", "SEARCHED_KEYS", "Setting", "check_searchable", "grid_settings",
           "random_settings", "search"]
