"""Benchmark metrics and the loader that feeds them from ``results/<dataset>/<tracker>/``.

:func:`evaluate_tracker` picks the metric set from ``dataset.protocol``:
``ope`` -> :mod:`.ope`, ``vot`` -> :mod:`.vot`, ``vot_lt`` -> :mod:`.vot_lt`,
``got10k`` -> :mod:`.got10k`. Loading and scoring are timed separately.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from pysot.utils.log import get_logger
from toolkit.cli import error_text
from toolkit.datasets import Dataset
from toolkit.utils.results import (
    CornerLines,
    NameIndex,
    ResultFormatError,
    align_boxes,
    find_repetitions,
    load_one_pass,
    load_one_pass_runs,
    load_vot_runs,
    read_confidences,
    read_rows,
)

from .got10k import GOT10kResult, evaluate_got10k
from .ope import OPEResult, evaluate_ope
from .vot import VOTResult, evaluate_vot
from .vot_lt import VOTLTResult, evaluate_vot_lt

logger = get_logger("toolkit.evaluation")

__all__ = [
    "GOT10kResult",
    "OPEResult",
    "VOTLTResult",
    "VOTResult",
    "evaluate_got10k",
    "evaluate_ope",
    "evaluate_tracker",
    "evaluate_trackers",
    "evaluate_vot",
    "evaluate_vot_lt",
    "find_trackers",
    "load_results",
    "no_trackers_message",
    "resolve_trackers",
]


def _load_lt(tracker_dir: str, dataset: Dataset, corners: CornerLines) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    base = os.path.join(tracker_dir, "longterm")
    index = NameIndex(base)
    out = {}
    for video in dataset:
        folder = index.find(video.name)
        paths = find_repetitions(folder) if folder else []
        if not paths:
            raise FileNotFoundError(f"{base}: no result for video '{video.name}'")
        path = paths[0]
        rows = read_rows(path)
        boxes = np.full((len(rows), 4), np.nan)
        for i, r in enumerate(rows):
            if r.size == 4:
                boxes[i] = r
            elif r.size != 1:
                raise ResultFormatError(f"{path}:{i + 1}: expected a box (4 numbers) or a marker")
        conf_path = path[: -len(".txt")] + "_confidence.value"
        if not os.path.isfile(conf_path):
            raise FileNotFoundError(f"{conf_path}: long-term results need per-frame confidences")
        conf = read_confidences(conf_path)
        n = len(video.gt)
        # The same tolerance as the boxes (align_boxes): one frame short or long, never more.
        if abs(len(conf) - n) > 1:
            raise ResultFormatError(f"{conf_path}: {len(conf)} confidences but the video has {n} frames")
        boxes = align_boxes(path, boxes, video.gt, corners)
        conf = np.concatenate([conf, np.full(max(0, n - len(conf)), np.nan)])[:n]
        out[video.name] = (boxes, conf)
    return out


def load_results(dataset: Dataset, tracker_dir: str, convert_corners: bool = False) -> Dict[str, Any]:
    """Every video's results of the tracker in ``tracker_dir`` (raises naming the missing file).

    One-pass files whose first line looks like ``x1,y1,x2,y2`` are named in one warning and scored
    as written, as PySOT's toolkit does; ``convert_corners`` converts that line first.
    """
    if not os.path.isdir(tracker_dir):
        raise FileNotFoundError(f"tracker result folder not found: {tracker_dir}")
    if dataset.protocol == "vot":
        base = os.path.join(tracker_dir, "baseline")
        index = NameIndex(base)
        return {v.name: load_vot_runs(base, v.name, len(v.gt), index) for v in dataset}
    corners = CornerLines(convert=convert_corners)
    if dataset.protocol == "vot_lt":
        loaded = _load_lt(tracker_dir, dataset, corners)
    else:
        index, folders = NameIndex(tracker_dir, ".txt"), NameIndex(tracker_dir)
        if dataset.protocol == "got10k":  # the GOT-10k toolkit pools every repetition
            loaded = {v.name: load_one_pass_runs(index, v.name, v.gt, folders, corners) for v in dataset}
        else:
            loaded = {v.name: load_one_pass(index, v.name, v.gt, folders, corners) for v in dataset}
    corners.report(tracker_dir)
    return loaded


def score_results(dataset: Dataset, tracker: str, loaded: Dict[str, Any], overlap: str = "raster"):
    """The protocol's metrics for already loaded results."""
    gts = {v.name: v.gt for v in dataset}
    if dataset.protocol == "vot":
        bounds = {v.name: v.image_size() for v in dataset}
        tags = {v.name: v.tags for v in dataset} if all(v.tags for v in dataset) else None
        return evaluate_vot(tracker, loaded, gts, bounds, dataset.eao_interval, dataset.burnin, tags, overlap)
    if dataset.protocol == "vot_lt":
        bounds = {v.name: v.image_size() for v in dataset}
        return evaluate_vot_lt(
            tracker, gts, {n: b for n, (b, _) in loaded.items()}, {n: c for n, (_, c) in loaded.items()}, bounds
        )
    if dataset.protocol == "got10k":
        return evaluate_got10k(tracker, gts, loaded, {v.name: v.absent for v in dataset},
                               {v.name: v.image_size() for v in dataset})
    return evaluate_ope(
        tracker, gts, loaded, dataset.normalized_precision, {v.name: list(v.attributes) for v in dataset}
    )


def evaluate_tracker(dataset: Dataset, tracker_dir: str, tracker: str = "", overlap: str = "raster",
                     convert_corners: bool = False):
    """Load and score one tracker; returns ``(result, {"load_s": .., "eval_s": ..})``
    (``convert_corners``: see :func:`load_results`)."""
    tracker = tracker or os.path.basename(os.path.normpath(tracker_dir))
    t0 = time.perf_counter()
    loaded = load_results(dataset, tracker_dir, convert_corners)
    t1 = time.perf_counter()
    result = score_results(dataset, tracker, loaded, overlap)
    t2 = time.perf_counter()
    return result, {"load_s": t1 - t0, "eval_s": t2 - t1}


def _evaluate_job(args):
    dataset, tracker_dir, tracker, overlap, skip_failed, convert_corners = args
    try:
        return evaluate_tracker(dataset, tracker_dir, tracker, overlap, convert_corners)
    except (OSError, ValueError, KeyError) as e:  # a missing or malformed result file
        if not skip_failed:
            raise
        return e


def evaluate_trackers(
    dataset: Dataset, results_dir: str, trackers: Sequence[str], workers: int = 1, overlap: str = "raster",
    skip_failed: bool = False, convert_corners: bool = False,
) -> Tuple[Dict[str, Any], Dict[str, Dict[str, float]]]:
    """Score several trackers of ``results_dir`` (``results/<dataset>``), in parallel processes
    when ``workers > 1``. Returns results and timings keyed by tracker name, in input order.

    ``skip_failed``: a tracker whose results cannot be loaded (a missing, short or
    malformed file) is logged as an error naming the file and left out, instead of
    stopping the whole evaluation. ``convert_corners``: see :func:`load_results`.
    """
    jobs = [(dataset, os.path.join(results_dir, t), t, overlap, skip_failed, convert_corners) for t in trackers]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            outputs = list(pool.map(_evaluate_job, jobs))
    else:
        outputs = [_evaluate_job(j) for j in jobs]
    results, timings = {}, {}
    for tracker, output in zip(trackers, outputs):
        if isinstance(output, Exception):
            logger.error("%s left out: %s", tracker, error_text(output))
            continue
        results[tracker], timings[tracker] = output
    return results, timings


def no_trackers_message(results_dir: str, dataset_name: str) -> str:
    """Why :func:`find_trackers` found nothing, with the likely fix for a mistyped ``--tracker-path``."""
    parent, leaf = os.path.split(os.path.normpath(results_dir))
    if leaf in find_trackers(parent or "."):
        return (f"{results_dir} is one tracker's folder; give its parent: --tracker-path {parent or '.'} "
                f"--trackers {leaf}")
    nested = os.path.join(results_dir, dataset_name)
    if os.path.isdir(nested) and find_trackers(nested):
        return f"no tracker folders under {results_dir}; the {dataset_name} results are in --tracker-path {nested}"
    return (f"no tracker folders under {results_dir} (expected results/<dataset>/<tracker>/ with .txt results "
            f"or baseline/ / longterm/ folders)")


def resolve_trackers(results_dir: str, names: Sequence[str]) -> List[str]:
    """Tracker folder names under ``results_dir`` for ``names``, matched case-insensitively
    (``--trackers siamban`` finds ``SiamBAN``); an unknown name is an error listing the folders."""
    if not os.path.isdir(results_dir):
        raise FileNotFoundError(f"results folder not found: {results_dir}")
    folders = sorted(e for e in os.listdir(results_dir) if os.path.isdir(os.path.join(results_dir, e)))
    resolved = []
    for name in names:
        if name in folders:
            resolved.append(name)
            continue
        matches = [f for f in folders if f.lower() == name.lower()]
        if len(matches) != 1:
            found = ", ".join(find_trackers(results_dir)) or "none"
            what = "several folders match" if matches else "no such folder"
            raise FileNotFoundError(f"tracker '{name}': {what} in {results_dir} (trackers there: {found})")
        resolved.append(matches[0])
    return resolved


def find_trackers(results_dir: str) -> List[str]:
    """Tracker folders under ``results/<dataset>/``, sorted: folders holding ``.txt``
    results, a ``baseline``/``longterm`` folder, or per-video folders of
    ``<video>_001.txt`` runs (GOT-10k layout); ``plots/`` and the like are skipped."""
    if not os.path.isdir(results_dir):
        raise FileNotFoundError(f"results folder not found: {results_dir}")
    found = []
    for entry in sorted(os.listdir(results_dir)):
        path = os.path.join(results_dir, entry)
        if entry.startswith(".") or not os.path.isdir(path):
            continue
        content = sorted(os.listdir(path))
        if any(c.endswith(".txt") for c in content) or {"baseline", "longterm"} & set(content):
            found.append(entry)
            continue
        # Looking into a few sub-folders is enough to tell a GOT-10k layout from a plot folder.
        subfolders = [os.path.join(path, c) for c in content if os.path.isdir(os.path.join(path, c))][:3]
        if any(find_repetitions(d) for d in subfolders):
            found.append(entry)
    return found
