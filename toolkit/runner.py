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

Writes are atomic and a video whose result file exists is skipped, so an
interrupted run resumes where it stopped. With ``workers > 1`` videos run in
spawned processes, one model per process, one torch thread each.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from pysot.utils.bbox import polygon_to_xywh_axis_aligned
from pysot.utils.log import get_logger
from toolkit.cli import ignore_sigint_in_worker
from toolkit.datasets import Dataset, DatasetError, Video, build_dataset
from toolkit.utils.region import region_overlaps
from toolkit.utils.results import VOT_FAILURE, VOT_INIT, VOT_SKIP, write_rows, write_values

logger = get_logger("toolkit.runner")

VOT_SKIP_FRAMES = 5  # re-initialise this many frames after a failure


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


def init_box(region: np.ndarray) -> List[float]:
    """``x, y, w, h`` to initialise from a ground-truth row (box, or VOT polygon -> axis-aligned box)."""
    region = np.asarray(region, dtype=np.float64)
    if region.size == 4:
        return [float(v) for v in region]
    cx, cy, w, h = polygon_to_xywh_axis_aligned(region)
    return [cx - (w - 1) / 2, cy - (h - 1) / 2, w, h]


def result_paths(results_dir: str, protocol: str, video: str) -> Dict[str, str]:
    """Files written for one video, in the original PySOT layout."""
    if protocol == "vot":
        folder = os.path.join(results_dir, "baseline", video)
        return {"boxes": os.path.join(folder, f"{video}_001.txt")}
    if protocol == "vot_lt":
        folder = os.path.join(results_dir, "longterm", video)
        return {
            "boxes": os.path.join(folder, f"{video}_001.txt"),
            "confidence": os.path.join(folder, f"{video}_001_confidence.value"),
        }
    return {"boxes": os.path.join(results_dir, f"{video}.txt")}


def is_done(results_dir: str, protocol: str, video: str) -> bool:
    return all(os.path.isfile(p) for p in result_paths(results_dir, protocol, video).values())


def track_one_pass(tracker, video: Video) -> Tuple[np.ndarray, np.ndarray, float]:
    """``[N, 4]`` boxes (row 0 = init box), ``[N]`` scores (NaN on frame 0), seconds spent."""
    n = video.num_frames
    boxes = np.full((n, 4), np.nan)
    scores = np.full(n, np.nan)
    spent = 0.0
    for i in range(n):
        img = video.read_frame(i)
        t = time.perf_counter()
        if i == 0:
            box = init_box(video.init_region)
            tracker.init(img, box)
            boxes[0] = box
        else:
            out = tracker.track(img)
            boxes[i] = out["bbox"]
            scores[i] = float(out.get("best_score", np.nan))
        spent += time.perf_counter() - t
    return boxes, scores, spent


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
            tracker.init(img, init_box(video.gt[i]))
            rows.append([VOT_INIT])
            spent += time.perf_counter() - t
            continue
        out = tracker.track(img)
        spent += time.perf_counter() - t
        region = out.get("polygon")
        region = list(np.asarray(region, dtype=np.float64).ravel()) if region is not None else list(out["bbox"])
        overlap = region_overlaps([region], [video.gt[i]], bounds)[0]  # the VOT toolkit's raster overlap
        if overlap > 0:
            rows.append(region)
        else:
            rows.append([VOT_FAILURE])
            next_init = i + skip
    return rows, spent


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
        write_rows(paths["boxes"], rows)
        tracked = sum(1 for r in rows if r != [VOT_SKIP])
    else:
        boxes, scores, spent = track_one_pass(tracker, video)
        if protocol == "vot_lt":
            write_rows(paths["boxes"], [[VOT_INIT]] + boxes[1:].tolist())
            write_values(paths["confidence"], np.concatenate([[1.0], scores[1:]]))
        else:
            write_rows(paths["boxes"], boxes)
    return {"frames": frames, "tracked": tracked, "seconds": spent, "fps": tracked / spent if spent > 0 else float("inf")}


# ---------------------------------------------------------------------- worker processes
_WORKER: Dict[str, object] = {}


def _worker_init(spec: TrackerSpec, dataset_name: str, dataset_root: str, results_dir: str) -> None:
    import torch

    ignore_sigint_in_worker()
    torch.set_num_threads(1)  # one process per core; intra-op threads would only contend
    # The parent logs each finished video above its progress bar; a worker's own info lines
    # (one "loaded N tensors" each) would print straight through that bar.
    get_logger().setLevel(logging.WARNING)
    _WORKER["tracker"] = build_tracker_from_spec(spec)
    _WORKER["dataset"] = build_dataset(dataset_name, dataset_root)
    _WORKER["results_dir"] = results_dir


def _worker_run(video_name: str) -> Tuple[str, Dict[str, float]]:
    dataset: Dataset = _WORKER["dataset"]  # type: ignore[assignment]
    stats = run_video(_WORKER["tracker"], dataset[video_name], dataset.protocol, _WORKER["results_dir"])  # type: ignore[arg-type]
    return video_name, stats


def run_benchmark(
    spec: TrackerSpec,
    dataset_name: str,
    dataset_root: str,
    results_dir: str,
    workers: int = 1,
    videos: Optional[Sequence[str]] = None,
    progress: bool = True,
) -> Dict[str, Dict[str, float]]:
    """Track every video of the benchmark that has no result yet; returns per-video stats.

    ``results_dir`` is ``results/<dataset>/<tracker>``; ``videos`` restricts the run.
    """
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    dataset = build_dataset(dataset_name, dataset_root)
    names = resolve_video_names(dataset, videos) if videos else list(dataset.videos)
    todo = [n for n in names if not is_done(results_dir, dataset.protocol, n)]
    if len(todo) < len(names) and progress:
        logger.info("%d of %d videos already done in %s; skipping them", len(names) - len(todo), len(names), results_dir)
    stats: Dict[str, Dict[str, float]] = {}
    if not todo:
        return stats
    check_frames_present(dataset, todo)
    # Log lines go through tqdm.write, so they print above the bar instead of through it.
    with tqdm(total=len(todo), desc=f"{dataset.name}", unit="video", disable=not progress) as bar, \
            logging_redirect_tqdm([get_logger()]):
        if workers <= 1:
            tracker = build_tracker_from_spec(spec)
            results = ((n, run_video(tracker, dataset[n], dataset.protocol, results_dir)) for n in todo)
            _collect(results, stats, bar, progress)
        else:
            ctx = mp.get_context("spawn")
            with ctx.Pool(min(workers, len(todo)), initializer=_worker_init,
                          initargs=(spec, dataset_name, dataset_root, results_dir)) as pool:
                _collect(pool.imap_unordered(_worker_run, todo), stats, bar, progress)
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
