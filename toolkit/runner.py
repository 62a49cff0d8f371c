"""Run a tracker over a benchmark and write ``results/<dataset>/<tracker>/`` (tools/test.py).

Protocols:

* one-pass (``ope``, ``got10k``): initialise on frame 0 with the ground truth,
  track every later frame; the result file's first line is the init box.
* VOT baseline (``vot``): as above, but a frame whose region no longer
  overlaps the ground truth (VOT overlap inside the image) is a failure
  (line ``2``); the next 4 frames are skipped (``0``) and the tracker is
  re-initialised on the 5th frame after the failure (``1``). Polygons
  initialise through :func:`pysot.utils.bbox.polygon_to_xywh_axis_aligned`.
* VOT long-term (``vot_lt``): one pass; the tracker's ``best_score`` is written
  as the per-frame confidence.

Result files hold the tracker's unclipped box (``raw_bbox``), formatted as the
original PySOT's ``tools/test.py`` writes them (see :func:`result_paths`), so the
benchmark numbers of an original experiment are the published protocol's even
when a box crosses the image border; the clipped ``bbox`` is for display.

Writes are atomic and a video whose non-empty result file exists is skipped, so an
interrupted run resumes where it stopped. ``run.json`` in the results folder records
what produced it (resolved config, snapshot digest); a run that differs is refused
instead of mixed in, unless ``overwrite``. With ``workers > 1`` videos run in spawned
processes, one model per process, one torch thread each; a worker that dies fails
its video (the others go on), and workers die with the parent.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import multiprocessing as mp
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from pysot.utils.bbox import polygon_to_xywh_axis_aligned
from pysot.utils.fileio import check_path_component
from pysot.utils.log import get_logger
from toolkit.cli import error_text, ignore_sigint_in_worker
from toolkit.datasets import Dataset, DatasetError, Video, build_dataset
from toolkit.utils.region import region_overlaps
from toolkit.utils.results import VOT_FAILURE, VOT_INIT, VOT_SKIP, atomic_write_text, write_rows

logger = get_logger("toolkit.runner")

VOT_SKIP_FRAMES = 5  # re-initialise this many frames after a failure
RUN_RECORD = "run.json"  # what produced a results folder (see run_record)
# Fields of the run record that change the numbers; a mismatch in any of them is refused.
RUN_RECORD_KEYS = ("config_sha256", "snapshot_sha256", "fast")


class BenchmarkError(RuntimeError):
    """Some videos could not be tracked (a worker died, a frame was unreadable); the message
    names each one. Finished videos are kept."""


@dataclass
class TrackerSpec:
    """What a worker needs to build the tracker: config file (``None``: the one ``snapshot`` stores),
    weights, device, overrides, fast path (``None``: ``TRACK.FAST``, see :func:`pysot.tracker.build_tracker`)."""

    config: Optional[str]
    snapshot: Optional[str] = None
    device: Optional[str] = None
    opts: List[str] = field(default_factory=list)
    fast: Optional[bool] = None


def default_tracker_name(config: str) -> str:
    """The result folder name of an experiment: its config's folder (``experiments/<name>/config.yaml``)."""
    return os.path.basename(os.path.dirname(os.path.abspath(config)))


def build_tracker_from_spec(spec: TrackerSpec):
    """``load_cfg`` + ``build_model`` + ``load_pretrain`` + ``build_tracker``, on ``spec.device``
    (default: CUDA when ``cfg.CUDA`` is set and a GPU is present, else CPU)."""
    import torch

    from pysot.config import load_cfg, load_cfg_from_checkpoint
    from pysot.models import build_model
    from pysot.tracker import build_tracker
    from pysot.utils.model_load import load_pretrain

    cfg = load_cfg(spec.config, spec.opts) if spec.config else load_cfg_from_checkpoint(spec.snapshot, spec.opts)
    device = spec.device or ("cuda" if cfg.CUDA and torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"--device {device}: no CUDA GPU is available; use --device cpu")
    model = build_model(cfg)
    if spec.snapshot:
        if not os.path.isfile(spec.snapshot):
            raise FileNotFoundError(f"--snapshot {spec.snapshot}: file not found")
        load_pretrain(model, spec.snapshot)
    model = model.to(torch.device(device)).eval()
    return build_tracker(cfg, model, fast=spec.fast)


def init_box(region: np.ndarray, protocol: str = "ope") -> List[float]:
    """``x, y, w, h`` to initialise from a ground-truth row, exactly as PySOT's test.py computes it.

    A polygon (8 values) becomes the axis-aligned box of equal area
    (:func:`polygon_to_xywh_axis_aligned`), ``[cx - (w-1)/2, cy - (h-1)/2, w, h]``.
    A 4-value box on a one-pass benchmark goes through PySOT's ``get_axis_aligned_bbox``,
    whose centre is ``x + w/2``, and back with ``(w-1)/2``: the init box (and the first
    result line) is ``[x + 0.5, y + 0.5, w, h]``. VOT's test.py first turns a 4-value box
    into the polygon of its corners ``x .. x+w-1``, which gives back ``[x, y, w, h]``.
    """
    region = np.asarray(region, dtype=np.float64)
    if region.size == 4:
        x, y, w, h = (float(v) for v in region)
        if protocol == "vot":
            return [x, y, w, h]
        cx, cy = x + w / 2, y + h / 2
        return [cx - (w - 1) / 2, cy - (h - 1) / 2, w, h]
    cx, cy, w, h = polygon_to_xywh_axis_aligned(region)
    return [cx - (w - 1) / 2, cy - (h - 1) / 2, w, h]


def result_paths(results_dir: str, protocol: str, video: str) -> Dict[str, str]:
    """Files written for one video, in the original PySOT layout.

    ``boxes`` (and VOT-LT's ``confidence``) make a video done; ``time`` (per-frame
    seconds, written for VOT-LT and GOT-10k as the original does) is extra.
    ``video`` must be a plain file name (:func:`check_path_component`).
    """
    check_path_component(video, "video name")
    if protocol == "vot":
        folder = os.path.join(results_dir, "baseline", video)
        return {"boxes": os.path.join(folder, f"{video}_001.txt")}
    if protocol == "vot_lt":
        folder = os.path.join(results_dir, "longterm", video)
        return {
            "boxes": os.path.join(folder, f"{video}_001.txt"),
            "confidence": os.path.join(folder, f"{video}_001_confidence.value"),
            "time": os.path.join(folder, f"{video}_time.txt"),
        }
    if protocol == "got10k":
        folder = os.path.join(results_dir, video)
        return {"boxes": os.path.join(folder, f"{video}_001.txt"), "time": os.path.join(folder, f"{video}_time.txt")}
    return {"boxes": os.path.join(results_dir, f"{video}.txt")}


def is_done(results_dir: str, protocol: str, video: str) -> bool:
    """Every result file of ``video`` exists and is non-empty (an empty file holds no frame)."""
    paths = result_paths(results_dir, protocol, video)
    return all(os.path.isfile(p) and os.path.getsize(p) > 0 for k, p in paths.items() if k != "time")


def track_one_pass(tracker, video: Video, protocol: str = "ope") -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``[N, 4]`` unclipped boxes (row 0 = init box), ``[N]`` scores (NaN on frame 0),
    ``[N]`` seconds spent in ``init``/``track`` per frame."""
    n = video.num_frames
    boxes = np.full((n, 4), np.nan)
    scores = np.full(n, np.nan)
    times = np.zeros(n)
    for i in range(n):
        img = video.read_frame(i)
        t = time.perf_counter()
        if i == 0:
            box = init_box(video.init_region, protocol)
            tracker.init(img, box)
            boxes[0] = box
        else:
            out = tracker.track(img)
            boxes[i] = reported_box(out)
            scores[i] = float(out.get("best_score", np.nan))
        times[i] = time.perf_counter() - t
    return boxes, scores, times


_WARNED_NO_RAW_BOX: List[bool] = []


def reported_box(out: Dict[str, object]) -> List[float]:
    """The box a result file holds: the unclipped ``raw_bbox`` (what the original PySOT
    writes; the benchmarks' protocols score it), ``bbox`` for a tracker without one (said once)."""
    if "raw_bbox" in out:
        return list(out["raw_bbox"])  # type: ignore[arg-type]
    if not _WARNED_NO_RAW_BOX:
        _WARNED_NO_RAW_BOX.append(True)
        logger.warning("the tracker reports no raw_bbox; its bbox (clipped to the image when "
                       "TRACK.CLIP_BOX_TO_IMAGE) goes to the result files")
    return list(out["bbox"])  # type: ignore[arg-type]


def track_vot(tracker, video: Video, skip: int = VOT_SKIP_FRAMES) -> Tuple[List[List[float]], float]:
    """VOT baseline rows (``[1]``, ``[2]``, ``[0]`` or a box / polygon per frame) and seconds spent."""
    bounds = video.image_size()
    rows: List[List[float]] = []
    spent = 0.0
    next_init = 0
    for i in range(video.num_frames):
        if i < next_init:
            rows.append([VOT_SKIP])
            continue
        img = video.read_frame(i)
        t = time.perf_counter()
        if i == next_init:
            tracker.init(img, init_box(video.gt[i], "vot"))
            rows.append([VOT_INIT])
            spent += time.perf_counter() - t
            continue
        out = tracker.track(img)
        spent += time.perf_counter() - t
        region = out.get("polygon")
        region = list(np.asarray(region, dtype=np.float64).ravel()) if region is not None else reported_box(out)
        overlap = region_overlaps([region], [video.gt[i]], bounds)[0]  # the VOT toolkit's raster overlap
        if overlap > 0:
            rows.append(region)
        else:
            rows.append([VOT_FAILURE])
            next_init = i + skip
    return rows, spent


def format_pysot_rows(rows) -> str:
    """One-pass result lines as the original PySOT's test.py writes them: ``str`` of each
    number (shortest round-trip form), comma-joined; a one-number row as an integer (``1``)."""
    lines = []
    for row in rows:
        values = [float(v) for v in np.atleast_1d(np.asarray(row, dtype=np.float64))]
        lines.append(str(int(values[0])) if len(values) == 1 else ",".join(str(v) for v in values))
    return "\n".join(lines) + "\n"


def run_video(tracker, video: Video, protocol: str, results_dir: str) -> Dict[str, float]:
    """Track one video, write its result files atomically.

    Returns ``{"frames": video length, "tracked": frames the tracker processed,
    "seconds": time in init/track, "fps": tracked / seconds}``; VOT's skipped
    frames after a failure are not processed, so they do not count for the speed.
    """
    paths = result_paths(results_dir, protocol, video.name)
    frames = tracked = video.num_frames
    if protocol == "vot":
        rows, spent = track_vot(tracker, video)
        write_rows(paths["boxes"], rows)  # the original writes VOT regions with "%.4f", as write_rows does
        tracked = sum(1 for r in rows if r != [VOT_SKIP])
    else:
        boxes, scores, times = track_one_pass(tracker, video, protocol)
        spent = float(times.sum())
        if "time" in paths:
            atomic_write_text(paths["time"], "".join(f"{t:.6f}\n" for t in times))
        if protocol == "vot_lt":
            # The init frame: "1" in the box file, an empty line in the confidence file.
            atomic_write_text(paths["confidence"], "\n" + "".join(f"{v:.6f}\n" for v in scores[1:]))
            atomic_write_text(paths["boxes"], format_pysot_rows([[VOT_INIT]] + boxes[1:].tolist()))
        else:
            atomic_write_text(paths["boxes"], format_pysot_rows(boxes))
    return {"frames": frames, "tracked": tracked, "seconds": spent, "fps": tracked / spent if spent > 0 else float("inf")}


# ---------------------------------------------------------------------- what produced a results folder
def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run_record(spec: TrackerSpec, dataset_name: str) -> Dict[str, object]:
    """What produces the results of ``spec``: the resolved config's digest (YAML, its bases
    and the overrides together), the snapshot's digest and the fast path; plus, for a
    reader, the paths and overrides as given. Raises ``ConfigError`` for a bad config."""
    from pysot.config import load_cfg, load_cfg_from_checkpoint

    if spec.snapshot and not os.path.isfile(spec.snapshot):
        raise FileNotFoundError(f"--snapshot {spec.snapshot}: file not found")
    # No config file: the snapshot's own (TrackerSpec), which its digest then covers.
    cfg = (load_cfg(spec.config, list(spec.opts)) if spec.config
           else load_cfg_from_checkpoint(spec.snapshot, list(spec.opts)))
    cfg.pop("CONFIG_FILE", None)  # the same experiment read from another path is the same run
    return {
        "dataset": dataset_name,
        "config": os.path.abspath(spec.config) if spec.config else None,
        "opts": list(spec.opts),
        "config_sha256": hashlib.sha256(cfg.dump().encode()).hexdigest(),
        "snapshot": os.path.abspath(spec.snapshot) if spec.snapshot else None,
        "snapshot_sha256": file_sha256(spec.snapshot) if spec.snapshot else None,
        "fast": bool(spec.fast),
    }


def _describe_difference(old: Dict[str, object], new: Dict[str, object]) -> str:
    parts = []
    if old.get("config_sha256") != new["config_sha256"]:
        parts.append(f"config {old.get('config')} {' '.join(old.get('opts') or [])} vs "
                     f"{new['config']} {' '.join(new['opts'])}".replace("  ", " "))
    if old.get("snapshot_sha256") != new["snapshot_sha256"]:
        parts.append(f"snapshot {old.get('snapshot')} vs {new['snapshot']} (different content)")
    if bool(old.get("fast")) != new["fast"]:
        parts.append(f"--fast {'on' if old.get('fast') else 'off'} vs {'on' if new['fast'] else 'off'}")
    return "; ".join(parts)


def _previous_run(results_dir: str, dataset: Dataset) -> Tuple[Optional[Dict[str, object]], List[str]]:
    """The folder's run record (``{}`` when unreadable, ``None`` when absent) and the result
    files of ``dataset``'s videos it holds."""
    # <video>.txt too: the one-pass layout, which eval.py prefers, left by an older GOT-10k run
    files = [p for n in dataset.videos if _is_plain_name(n)
             for p in dict.fromkeys([*result_paths(results_dir, dataset.protocol, n).values(),
                                     os.path.join(results_dir, f"{n}.txt")]) if os.path.isfile(p)]
    path = os.path.join(results_dir, RUN_RECORD)
    if not os.path.isfile(path):
        return None, files
    try:
        with open(path, encoding="utf-8") as f:
            old = json.load(f)
    except (OSError, ValueError):
        old = {}
    return (old if isinstance(old, dict) else {}), files


def _is_plain_name(name: str) -> bool:
    try:
        check_path_component(name, "name")
    except ValueError:
        return False
    return True


def _same_run(old: Optional[Dict[str, object]], record: Dict[str, object]) -> bool:
    return old is not None and all(old.get(k) == record[k] for k in RUN_RECORD_KEYS)


def check_results_folder(results_dir: str, dataset: Dataset, record: Dict[str, object]) -> None:
    """Raise ``ValueError`` when ``results_dir`` holds results of another run (or results
    without a run record): they would be taken as done and mixed with this run's."""
    old, files = _previous_run(results_dir, dataset)
    if files and not _same_run(old, record):
        why = (f"was produced by another run ({_describe_difference(old, record)})" if old
               else f"holds results without a {RUN_RECORD} saying what produced them")
        raise ValueError(f"{results_dir} {why}; refusing to mix results: pass --overwrite to replace them, "
                         f"or --tracker-name to write elsewhere")


def claim_results_folder(results_dir: str, dataset: Dataset, record: Dict[str, object], overwrite: bool) -> None:
    """Make ``results_dir`` this run's: with ``overwrite``, remove the result files of
    another run (only those of this dataset's videos); write ``run.json``."""
    old, files = _previous_run(results_dir, dataset)
    if overwrite and files:
        logger.warning("--overwrite: removing %d result files in %s", len(files), results_dir)
        for p in files:
            os.remove(p)
    if overwrite or not _same_run(old, record):
        atomic_write_text(os.path.join(results_dir, RUN_RECORD), json.dumps(record, indent=1) + "\n")


# ---------------------------------------------------------------------- worker processes
PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_CHECK_SECONDS = 1.0


def die_with_parent(parent_pid: int) -> None:
    """Make this worker end when the parent does, however the parent ends (SIGKILL included).

    Linux: the kernel sends SIGKILL on the parent's death (``PR_SET_PDEATHSIG``).
    Everywhere, and for the moment before ``prctl`` took effect: a daemon thread
    exits the process once it has been re-parented.
    """
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _worker_main(conn, spec: TrackerSpec, dataset_name: str, dataset_root: str, results_dir: str,
                 parent_pid: int) -> None:
    """A worker: build the tracker, then track the videos the parent sends until ``None``.

    Messages to the parent: ``("ready"|"init_failed"|"done"|"failed", video, payload)``.
    """
    import torch

    die_with_parent(parent_pid)
    ignore_sigint_in_worker()
    torch.set_num_threads(1)  # one process per core; intra-op threads would only contend
    # The parent logs each finished video above its progress bar; a worker's own info lines
    # (one "loaded N tensors" each) would print straight through that bar.
    get_logger().setLevel(logging.WARNING)
    try:
        tracker = build_tracker_from_spec(spec)
        dataset = build_dataset(dataset_name, dataset_root)
    except Exception as e:  # reported by the parent, which stops the run
        conn.send(("init_failed", None, error_text(e)))
        return
    conn.send(("ready", None, None))
    while True:
        try:
            name = conn.recv()
        except EOFError:  # the parent is gone
            return
        if name is None:
            return
        try:
            stats = run_video(tracker, dataset[name], dataset.protocol, results_dir)
        except Exception as e:
            conn.send(("failed", name, error_text(e)))
        else:
            conn.send(("done", name, stats))


def _death_reason(process) -> str:
    process.join(timeout=5)
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"its worker process was killed by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"its worker process was killed by signal {-code}"
    return f"its worker process exited (code {code})"


@dataclass
class _Worker:
    process: object
    conn: object
    video: Optional[str] = None


def run_in_workers(spec: TrackerSpec, dataset_name: str, dataset_root: str, results_dir: str,
                   todo: Sequence[str], workers: int,
                   on_done: Callable[[str, Dict[str, float]], None]) -> Dict[str, str]:
    """Track ``todo`` in ``workers`` spawned processes; ``on_done(video, stats)`` per finished video.

    Returns ``{video: why it failed}``: a video whose worker raised, or died (``kill -9``,
    out of memory), fails alone and the other workers go on; videos left when no worker
    remains are failed too. A worker that cannot build the tracker stops the run
    (``BenchmarkError``): every other one would fail the same way. However this function
    ends (error, Ctrl-C), no worker outlives it.
    """
    ctx = mp.get_context("spawn")
    pending = list(todo)
    failures: Dict[str, str] = {}
    pool: List[_Worker] = []
    try:
        for _ in range(min(workers, len(pending))):
            parent_end, child_end = ctx.Pipe()
            process = ctx.Process(target=_worker_main, daemon=True, name="pysot-test-worker",
                                  args=(child_end, spec, dataset_name, dataset_root, results_dir, os.getpid()))
            process.start()
            child_end.close()  # the parent's copy; the pipe then reports EOF when the worker dies
            pool.append(_Worker(process, parent_end))
        while pool and (pending or any(w.video for w in pool)):
            ready = mp.connection.wait([w.conn for w in pool] + [w.process.sentinel for w in pool])
            for w in list(pool):
                if w.conn not in ready and w.process.sentinel not in ready:
                    continue
                try:
                    kind, name, payload = w.conn.recv() if w.conn.poll() else ("died", None, None)
                except (EOFError, OSError):
                    kind, name, payload = "died", None, None
                if kind == "init_failed":
                    raise BenchmarkError(f"a worker could not start: {payload}")
                if kind == "died":
                    if w.video is not None:
                        failures[w.video] = _death_reason(w.process)
                    else:
                        logger.error("a worker died before tracking any video: %s", _death_reason(w.process))
                    w.conn.close()
                    pool.remove(w)
                    continue
                if kind == "done":
                    on_done(name, payload)
                elif kind == "failed":
                    failures[name] = payload
                w.video = pending.pop(0) if pending else None
                if w.video is not None:
                    w.conn.send(w.video)
        for name in pending:
            failures[name] = "not tracked: no worker left"
        for w in pool:  # all work is done: idle workers exit on None
            try:
                w.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        for w in pool:
            w.process.join(timeout=max(0.0, deadline - time.monotonic()))
    finally:
        # Interrupted (Ctrl-C, SIGTERM, an error): a video in flight would be lost anyway
        # (results are written whole), so the workers are killed at once, not awaited.
        for w in pool:
            if w.process.is_alive():
                w.process.kill()
            w.process.join()
    return failures


def run_benchmark(
    spec: TrackerSpec,
    dataset_name: str,
    dataset_root: str,
    results_dir: str,
    workers: int = 1,
    videos: Optional[Sequence[str]] = None,
    progress: bool = True,
    overwrite: bool = False,
) -> Dict[str, Dict[str, float]]:
    """Track every video of the benchmark that has no result yet; returns per-video stats.

    ``results_dir`` is ``results/<dataset>/<tracker>``; ``videos`` restricts the run.
    Raises ``ValueError`` for a video name that is no plain file name, for a folder
    another run produced (unless ``overwrite``: its results are removed first), and
    :class:`BenchmarkError` naming the videos that failed (the finished ones are kept).
    """
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    if workers < 1:
        raise ValueError(f"--workers {workers}: give at least 1")
    dataset = build_dataset(dataset_name, dataset_root)
    names = resolve_video_names(dataset, videos) if videos else list(dataset.videos)
    for name in names:
        check_path_component(name, f"{dataset.name} ({dataset.root}): video name")
    record = run_record(spec, dataset.name)
    if overwrite:
        todo = list(names)
    else:
        check_results_folder(results_dir, dataset, record)
        todo = [n for n in names if not is_done(results_dir, dataset.protocol, n)]
    if len(todo) < len(names) and progress:
        logger.info("%d of %d videos already done in %s; skipping them", len(names) - len(todo), len(names), results_dir)
    stats: Dict[str, Dict[str, float]] = {}
    if not todo:
        return stats
    check_frames_present(dataset, todo)
    claim_results_folder(results_dir, dataset, record, overwrite)
    failures: Dict[str, str] = {}
    # Log lines go through tqdm.write, so they print above the bar instead of through it.
    with tqdm(total=len(todo), desc=f"{dataset.name}", unit="video", disable=not progress) as bar, \
            logging_redirect_tqdm([get_logger()]):
        def done(name: str, s: Dict[str, float]) -> None:
            _collect([(name, s)], stats, bar, progress)

        if workers <= 1:
            tracker = build_tracker_from_spec(spec)
            for name in todo:
                done(name, run_video(tracker, dataset[name], dataset.protocol, results_dir))
        else:
            failures = run_in_workers(spec, dataset_name, dataset_root, results_dir, todo, workers, done)
    if failures:
        listed = "; ".join(f"{name}: {why}" for name, why in failures.items())
        raise BenchmarkError(f"{len(failures)} of {len(todo)} videos failed ({listed}); the {len(stats)} finished "
                             f"are kept in {results_dir}: run the same command again to retry the rest")
    return stats


def resolve_video_names(dataset: Dataset, names: Sequence[str]) -> List[str]:
    """``names`` as the dataset spells them (matched case-insensitively); an unknown name
    is a :class:`DatasetError` listing what the dataset holds, raised before any work."""
    by_lower = {n.lower(): n for n in dataset.videos}
    resolved, unknown = [], []
    for name in names:
        found = name if name in dataset.videos else by_lower.get(name.lower())
        (resolved if found else unknown).append(found or name)
    if unknown:
        known = list(dataset.videos)
        shown = ", ".join(known[:20]) + (f", ... ({len(known)} in all)" if len(known) > 20 else "")
        raise DatasetError(f"{dataset.name} ({dataset.root}) has no video {', '.join(unknown)}; it has: {shown}")
    return resolved


def check_frames_present(dataset: Dataset, names: Sequence[str]) -> None:
    """Fail early, naming a missing frame, when the images are absent: an annotations-only
    json can be evaluated but not tracked."""
    for name in names:
        video = dataset[name]
        if not video.img_paths:
            raise DatasetError(f"{dataset.name}: video '{name}' lists no frames; tracking needs the images")
        if not os.path.isfile(video.img_paths[0]):
            raise DatasetError(f"{dataset.name}: frame {video.img_paths[0]} of video '{name}' not found; tracking "
                               f"needs the benchmark's images under --dataset-root (evaluation needs only the annotations)")


def _collect(results, stats: Dict[str, Dict[str, float]], bar, verbose: bool = True) -> None:
    for name, s in results:
        stats[name] = s
        bar.set_postfix_str(f"{name} {s['fps']:.1f} fps")
        bar.update(1)
        if verbose:
            skipped = f" ({s['tracked']} tracked, the rest skipped after failures)" if s["tracked"] < s["frames"] else ""
            logger.info("%s: %d frames%s, %.1f fps", name, s["frames"], skipped, s["fps"])
