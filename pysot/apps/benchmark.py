"""Speed measurements behind tools/benchmark.py.

Method (this 2-core machine drifts by +-15% from minute to minute):

* A (plain eager model, as built) and B (:func:`~pysot.models.fast.optimize_for_inference`)
  are timed in the same process, alternating A, B, A, B, ... on the same
  frames after a few warm-up rounds; we report the median time of each and
  the median of the per-round ratios A/B, which cancels slow drift.
* The matrix-multiply peak is measured in the same run (large fp32
  ``torch.mm``, median of several), and the model's FLOPs per frame are counted
  with ``torch.utils.flop_counter.FlopCounterMode`` (multiply-add = 2 FLOPs;
  convolutions and matmuls only), giving achieved FLOP/s and its fraction of
  the peak: the distance to the physical limit.
* A frame is one full ``tracker.track(img)`` step: crop, network, post-processing.
"""
from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from pysot.utils.fileio import atomic_open
from pysot.utils.log import get_logger

logger = get_logger("pysot.benchmark")

__all__ = ["interleaved_times", "median_ratio", "matmul_peak_gflops", "count_flops", "benchmark_experiment",
           "data_pipeline_pairs_per_second", "workers_scaling", "write_json", "benchmark_nanotrack",
           "worker_scaling", "compare_precision", "benchmark_vittrack"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_times(steps: Dict[str, Callable[[int], Any]], warmup: int, rounds: int,
                      device: torch.device = torch.device("cpu")) -> Dict[str, List[float]]:
    """Seconds per call of each ``steps[name](round_index)``, alternating the steps round by round.

    The order rotates every round, so each step follows each other step equally often: a step
    finds the caches as the previous one left them, and a fixed order would always hand the
    same step the same neighbour.
    """
    times: Dict[str, List[float]] = {name: [] for name in steps}
    names = list(steps)
    for index in range(warmup + rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            step = steps[name]
            _sync(device)
            start = time.perf_counter()
            step(index)
            _sync(device)
            if index >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def median_ratio(slow: Sequence[float], fast: Sequence[float]) -> float:
    """Median over rounds of ``slow[i] / fast[i]`` (the speed-up, robust to drift between rounds)."""
    return float(statistics.median(a / b for a, b in zip(slow, fast)))


def matmul_peak_gflops(device: torch.device, size: int = 2048, reps: int = 5) -> Dict[str, float]:
    """Median fp32 matrix-multiply throughput (GFLOP/s) of ``size``-square products, two ways.

    ``torch_mm``: ``torch.mm`` (MKL / cuBLAS). ``conv_gemm``: the same product as a 1x1
    convolution (``[1, size, 64, size/64]`` pixels x ``size`` channels), i.e. the GEMM kernel the
    networks' convolutions actually run on (oneDNN on the CPU, which on some CPUs uses wider
    vector units than MKL's ``mm``). ``peak`` is the larger: the reference for peak fractions.
    """
    g = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=g).to(device)
    b = torch.randn(size, size, generator=g).to(device)
    pixels = torch.randn(1, size, 64, max(1, size // 64), generator=g).to(device)
    weight = torch.randn(size, size, 1, 1, generator=g).to(device)
    if device.type == "cpu":
        pixels = pixels.contiguous(memory_format=torch.channels_last)
    products = {"torch_mm": (lambda: torch.mm(a, b), 2.0 * size ** 3),
                "conv_gemm": (lambda: F.conv2d(pixels, weight), 2.0 * size * size * pixels.shape[2] * pixels.shape[3])}
    with torch.no_grad():
        times = interleaved_times({name: (lambda i, fn=fn: fn()) for name, (fn, _) in products.items()}, 1, reps,
                                  device)
    out = {name: flop / statistics.median(times[name]) / 1e9 for name, (_, flop) in products.items()}
    out["peak"] = max(out.values())
    return out


def machine_info() -> Dict[str, Any]:
    """What a figure was measured on: CPU model and the vector ISA torch dispatches to, threads,
    load, and the GPU's name when present. Two machines of one cloud type can differ by 2x in
    fp32 GEMM throughput (e.g. AVX-512 on a 256- or 512-bit data path), so a figure needs this."""
    import platform

    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", "r", encoding="utf-8", errors="replace") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass
    info: Dict[str, Any] = {"cpu": model, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                            "torch": torch.__version__, "threads": torch.get_num_threads(),
                            "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs (2 per multiply-add) of the convolutions and matmuls run by ``fn()``."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return int(counter.get_total_flops())


def _clip(num_frames: int, size=(640, 480), seed: int = 0):
    from pysot.datasets.synthetic import render_clip

    return render_clip(num_frames=num_frames, size=size, seed=seed)


def _summary(seconds: Sequence[float], flops: int, peak: float, targets: int = 1) -> Dict[str, float]:
    median = float(statistics.median(seconds))
    gflops = flops * targets / median / 1e9
    return {"ms_per_frame": 1e3 * median, "fps": 1.0 / median, "achieved_gflops": gflops,
            "peak_fraction": gflops / peak if peak > 0 else float("nan")}


def benchmark_experiment(config: str, device: torch.device, warmup: int = 3, rounds: int = 7,
                         batch_sizes: Sequence[int] = (1, 4), batch_rounds: int = 3, peak_gflops: float = 0.0,
                         fast_kwargs: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Plain vs fast tracker on one experiment (synthetic weights: speed does not depend on values).

    Returns FLOPs per frame, plain / fast timings with FLOP/s and peak fraction,
    the median speed-up, the largest relative output difference (parity), and per
    batch size N: :class:`~pysot.tracker.MultiTracker` throughput (whole steps: N crops on
    the host, one batched forward, N post-processings) and the network's alone
    (``network_target_frames_per_s``: ``track`` on ``[N, 3, S, S]`` already on the device),
    which shows how much of a GPU step the host-side crops take.
    """
    from pysot.config import load_cfg
    from pysot.models import build_model
    from pysot.models.fast import compare_outputs, optimize_for_inference
    from pysot.tracker import MultiTracker, build_tracker

    cfg = load_cfg(config)
    torch.manual_seed(0)
    plain_model = build_model(cfg).to(device).eval()
    size = int(cfg.TRACK.INSTANCE_SIZE)
    fast_model = optimize_for_inference(plain_model, device, search_size=size, **(fast_kwargs or {}))
    g = torch.Generator().manual_seed(1)
    z = (torch.rand(1, 3, 127, 127, generator=g) * 255).to(device)
    x = (torch.rand(1, 3, size, size, generator=g) * 255).to(device)
    with torch.no_grad():
        plain_model.template(z)
        flops = count_flops(lambda: plain_model.track(x))
        reference = plain_model.track(x)
    fast_model.template(z)
    parity = compare_outputs(reference, fast_model.track(x))

    frames, gt = _clip(warmup + rounds + 1)
    trackers = {"plain": build_tracker(cfg, plain_model, fast=False), "fast": build_tracker(cfg, fast_model)}
    for tracker in trackers.values():
        tracker.init(frames[0], gt[0])
    times = interleaved_times({name: (lambda i, t=t: t.track(frames[1 + i])) for name, t in trackers.items()},
                              warmup, rounds, device)
    result: Dict[str, Any] = {
        "config": config,
        "instance_size": size,
        "gflop_per_frame": flops / 1e9,
        "plain": _summary(times["plain"], flops, peak_gflops),
        "fast": _summary(times["fast"], flops, peak_gflops),
        "speedup_median": median_ratio(times["plain"], times["fast"]),
        "parity_max_rel_err": parity,
        "batched": {},
    }
    for n in batch_sizes:
        if n < 1:
            raise ValueError(f"batch sizes must be >= 1, got {n}")
        xb = (torch.rand(n, 3, size, size, generator=g) * 255).to(device)
        fast_model.template(z.expand(n, -1, -1, -1).contiguous())
        network = interleaved_times({"net": lambda i: fast_model.track(xb)}, 1, batch_rounds, device)["net"]
        clip, boxes = _clip(batch_rounds + 2, seed=2)
        # N boxes spread around the target: every target keeps its own state.
        offsets = np.linspace(-40, 40, n)
        multi = MultiTracker.from_config(cfg, fast_model)
        x, y, w, h = boxes[0]
        multi.init(clip[0], [[x + d, y - d / 2, w, h] for d in offsets])
        batched = interleaved_times({"multi": lambda i: multi.track(clip[1 + i])}, 1, batch_rounds, device)
        result["batched"][str(n)] = dict(_summary(batched["multi"], flops, peak_gflops, targets=n),
                                         target_frames_per_s=n / float(statistics.median(batched["multi"])),
                                         network_target_frames_per_s=n / float(statistics.median(network)))
    return result


def data_pipeline_pairs_per_second(num_pairs: int = 64, num_videos: int = 6, num_frames: int = 8) -> Dict[str, float]:
    """Training pairs per second of ``pysot.datasets`` (crops, augmentation, anchor targets), one process."""
    from pysot.config import get_cfg
    from pysot.config import CN
    from pysot.datasets.dataset import build_train_dataset
    from pysot.datasets.synthetic import write_crop511_dataset

    with tempfile.TemporaryDirectory() as root:
        paths = write_crop511_dataset(root, num_videos=num_videos, num_frames=num_frames, seed=0)
        cfg = get_cfg()
        cfg.DATASET.NAMES = ["SYN"]
        node = CN()
        node.ROOT, node.ANNO, node.FRAME_RANGE, node.NUM_USE = paths["root"], paths["anno"], 4, -1
        cfg.DATASET.SYN = node
        cfg.TRAIN.OUTPUT_SIZE = 25
        dataset = build_train_dataset(cfg, length=num_pairs)
        dataset[0]
        start = time.perf_counter()
        for i in range(num_pairs):
            dataset[i]
        seconds = time.perf_counter() - start
    return {"pairs": num_pairs, "seconds": seconds, "pairs_per_s": num_pairs / seconds}


def _write_otb_benchmark(root: str, num_videos: int, num_frames: int) -> None:
    """A small OTB-format benchmark (``OTB100.json`` + images) of synthetic clips."""
    import cv2

    meta = {}
    for k in range(num_videos):
        clip, gt = _clip(num_frames, size=(320, 240), seed=10 + k)
        name = f"Clip{k}"
        os.makedirs(os.path.join(root, name, "img"), exist_ok=True)
        names = []
        for i, img in enumerate(clip):
            rel = f"{name}/img/{i + 1:04d}.jpg"
            cv2.imwrite(os.path.join(root, rel), img)
            names.append(rel)
        meta[name] = {"video_dir": name, "init_rect": gt[0].tolist(), "img_names": names,
                      "gt_rect": gt.tolist(), "attr": []}
    with open(os.path.join(root, "OTB100.json"), "w") as f:
        json.dump(meta, f)


def workers_scaling(config: str, workers: Sequence[int] = (1, 2), num_videos: int = 4,
                    num_frames: int = 60, device: str = "cpu") -> Dict[str, Any]:
    """Wall time of tools/test.py's runner (``run_benchmark``) on a synthetic benchmark per worker count.

    ``workers=k > 1`` spawns ``k`` processes of one torch thread each (the runner's policy);
    ``workers=1`` tracks in this process, timed twice: with one thread (``"1"``, the unit the
    workers scale) and with torch's default threads (``"1_default_threads"``, intra-op
    parallelism instead of video-level). Times include process start-up and model
    construction, as a user sees them.
    """
    from toolkit.runner import TrackerSpec, run_benchmark

    out: Dict[str, Any] = {"config": config, "videos": num_videos, "frames_per_video": num_frames, "runs": {}}
    threads = torch.get_num_threads()
    runs = [(str(k), k, 1 if k == 1 else threads) for k in workers]
    if 1 in workers and threads > 1:
        runs.append(("1_default_threads", 1, threads))
    with tempfile.TemporaryDirectory() as root:
        _write_otb_benchmark(os.path.join(root, "data"), num_videos, num_frames)
        for label, k, in_process_threads in runs:
            torch.set_num_threads(in_process_threads)
            try:
                start = time.perf_counter()
                run_benchmark(TrackerSpec(config, None, device, []), "OTB100", os.path.join(root, "data"),
                              os.path.join(root, f"results_{label}"), workers=k, progress=False)
                seconds = time.perf_counter() - start
            finally:
                torch.set_num_threads(threads)
            out["runs"][label] = {"workers": k, "seconds": seconds, "frames_per_s": num_videos * num_frames / seconds}
    first = out["runs"][runs[0][0]]["seconds"]
    for run in out["runs"].values():
        run["speedup"] = first / run["seconds"]
    return out


def write_json(path: str, data: Dict[str, Any]) -> None:
    """Atomic JSON write (:func:`pysot.utils.fileio.atomic_open`)."""
    with atomic_open(path) as f:
        json.dump(data, f, indent=2)


def benchmark_nanotrack(config: str, snapshot: str, opencv_backbone: str, opencv_neckhead: str,
                        frames: Sequence[np.ndarray], init_box: Sequence[float], warmup: int = 5,
                        rounds: Optional[int] = None, threads: Optional[int] = None) -> Dict[str, Any]:
    """NanoTrack on real frames: our tracker (plain and fast path) vs OpenCV's ``cv2.TrackerNano``.

    The three trackers are initialised on ``frames[0]`` with ``init_box`` and then track the same
    frames, interleaved frame by frame (plain, fast, OpenCV; each keeps its own state), in one
    process on the CPU with the same thread count for torch and OpenCV (``threads``, default
    torch's). A frame is one full ``track``/``update`` call (crop, networks, post-processing).
    ``opencv_backbone``/``opencv_neckhead``: the ONNX pair OpenCV runs (the authors' files or ours
    from ``tools/export_onnx.py --opencv``). Returns per tracker ``ms_per_frame``/``fps``
    (medians over the timed frames; for ours also the ``model`` class run) and the median per-frame ratios
    ``fast_vs_opencv`` / ``plain_vs_opencv`` (> 1: ours is faster).
    """
    import cv2

    from pysot.config import load_cfg
    from pysot.models import build_model
    from pysot.models.fast import optimize_for_inference
    from pysot.tracker import build_tracker
    from pysot.utils.model_load import load_pretrain

    if not hasattr(cv2, "TrackerNano_create"):
        raise RuntimeError("this OpenCV build has no cv2.TrackerNano (opencv-python >= 4.7 has it)")
    previous_threads = (torch.get_num_threads(), cv2.getNumThreads())
    threads = int(threads or torch.get_num_threads())
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    try:
        cfg = load_cfg(config)
        model = build_model(cfg).eval()
        load_pretrain(model, snapshot, strict=True)
        size = int(cfg.TRACK.INSTANCE_SIZE)
        fast_model = optimize_for_inference(model, "cpu", search_size=size)
        params = cv2.TrackerNano_Params()
        params.backbone, params.neckhead = opencv_backbone, opencv_neckhead
        opencv = cv2.TrackerNano_create(params)
        plain, fast = build_tracker(cfg, model, fast=False), build_tracker(cfg, fast_model)
        frames = list(frames)
        rounds = min(int(rounds or len(frames) - 1 - warmup), len(frames) - 1 - warmup)
        if rounds < 1:
            raise ValueError(f"{len(frames)} frames are too few for {warmup} warm-up frames and one timed frame")
        plain.init(frames[0], init_box)
        fast.init(frames[0], init_box)
        opencv.init(frames[0], tuple(int(round(v)) for v in init_box))
        steps = {"plain": lambda i: plain.track(frames[1 + i]), "fast": lambda i: fast.track(frames[1 + i]),
                 "opencv": lambda i: opencv.update(frames[1 + i])}
        times = interleaved_times(steps, warmup, rounds)
    finally:
        torch.set_num_threads(previous_threads[0])
        cv2.setNumThreads(previous_threads[1])
    result: Dict[str, Any] = {"config": config, "snapshot": snapshot, "opencv_backbone": opencv_backbone,
                              "opencv_neckhead": opencv_neckhead, "threads": threads, "warmup_frames": warmup,
                              "timed_frames": rounds, "opencv_version": cv2.__version__}
    for name, seconds in times.items():
        median = float(statistics.median(seconds))
        result[name] = {"ms_per_frame": 1e3 * median, "fps": 1.0 / median}
    result["plain"]["model"], result["fast"]["model"] = type(plain.model).__name__, type(fast.model).__name__
    result["fast_vs_opencv"] = median_ratio(times["opencv"], times["fast"])
    result["plain_vs_opencv"] = median_ratio(times["opencv"], times["plain"])
    return result


# ------------------------------------------------------------------ worker scaling
def _load() -> Dict[str, Any]:
    """Load average and idle cores now: every scaling figure is read against them."""
    from pysot.utils.threads import free_cores, usable_cores

    return {"load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
            "usable_cores": usable_cores(), "idle_cores": round(free_cores(), 2)}


def _timed_test_run(spec, dataset_name: str, root: str, out_dir: str, workers: int) -> Dict[str, Any]:
    """tools/test.py's runner over the whole dataset in ``workers`` spawned one-thread processes."""
    from toolkit.datasets import build_dataset
    from toolkit.runner import run_in_workers

    dataset = build_dataset(dataset_name, root)
    names = list(dataset.videos)
    stats: Dict[str, Dict[str, float]] = {}
    start = time.perf_counter()
    failures = run_in_workers(spec, dataset_name, root, out_dir, names, workers,
                              lambda name, s: stats.__setitem__(name, s))
    seconds = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"scaling run with {workers} worker(s) failed: {failures}")
    frames = int(sum(s["tracked"] for s in stats.values()))
    return {"workers": workers, "seconds": seconds, "frames": frames, "frames_per_s": frames / seconds,
            # tracking alone, summed over videos: what a worker does once it is up
            "tracking_seconds": float(sum(s["seconds"] for s in stats.values()))}


def _timed_hp_search(spec, dataset_name: str, root: str, out_dir: str, workers: int, settings) -> Dict[str, Any]:
    """tools/hp_search.py's search of ``settings`` in ``workers`` processes (1: in this process, as the tool)."""
    import contextlib
    import io

    from toolkit.datasets import build_dataset
    from toolkit.hp_search import search

    dataset = build_dataset(dataset_name, root)
    frames_per_setting = sum(dataset[n].num_frames for n in dataset.videos)
    start = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):  # its progress bar
        search(spec, settings, dataset_name, root, out_dir, "scaling", workers=workers)
    seconds = time.perf_counter() - start
    frames = frames_per_setting * len(settings)
    return {"workers": workers, "seconds": seconds, "frames": frames, "frames_per_s": frames / seconds}


def worker_scaling(config: str, workers: Sequence[int], dataset_name: str = "", dataset_root: str = "",
                   num_videos: int = 8, num_frames: int = 60, settings: int = 0, repeats: int = 1,
                   snapshot: Optional[str] = None) -> Dict[str, Any]:
    """Throughput of tools/test.py (and tools/hp_search.py) with ``--workers N`` against one worker.

    Every run tracks the whole dataset (``dataset_name`` at ``dataset_root``, or a synthetic
    OTB-format one of ``num_videos`` x ``num_frames``) in spawned worker processes of one
    thread each, as the tools do; the one-worker unit is such a process too, so start-up
    (process, imports, model) is in both. Runs of different counts alternate ``repeats``
    times (1, N, 1, N, ...). ``frames_per_s`` is frames over wall time; ``speedup`` the median
    of the per-repeat ratios to one worker; ``efficiency = speedup / N`` (1.0: linear; the
    issue's goal is >= 0.8 on N idle cores). The load and the idle cores are recorded before
    and after: figures taken beside other work are not a scaling measurement.
    ``settings > 0`` also times hp_search over that many settings (its workers=1 runs in
    process with one thread, as the tool does).
    """
    from toolkit.hp_search import grid_settings
    from toolkit.runner import TrackerSpec

    workers = sorted(set(int(w) for w in workers) | {1})
    spec = TrackerSpec(config, snapshot, "cpu", [])
    out: Dict[str, Any] = {"config": config, "workers": workers, "repeats": repeats, "load_before": _load()}
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the in-process hp_search unit; the parent otherwise only waits
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if dataset_name:
                name, root = dataset_name, dataset_root
            else:
                name, root = "OTB100", os.path.join(tmp, "data")
                _write_otb_benchmark(root, num_videos, num_frames)
                out["synthetic"] = {"videos": num_videos, "frames_per_video": num_frames}
            out["dataset"] = {"name": name, "root": root}
            runs: Dict[str, List[Dict[str, Any]]] = {f"test_{k}": [] for k in workers}
            grid = []
            if settings > 0:
                grid = grid_settings([0.04 + 0.01 * i for i in range(settings)], [0.44], [0.3])
                runs.update({f"hp_search_{k}": [] for k in workers})
            for r in range(repeats):
                for k in (workers if r % 2 == 0 else workers[::-1]):
                    runs[f"test_{k}"].append(_timed_test_run(spec, name, root, os.path.join(tmp, f"t{r}_{k}"), k))
                    if grid:
                        runs[f"hp_search_{k}"].append(
                            _timed_hp_search(spec, name, root, os.path.join(tmp, f"h{r}_{k}"), k, grid))
    finally:
        torch.set_num_threads(previous_threads)
    out["load_after"] = _load()
    summary: Dict[str, Any] = {}
    for key, rs in runs.items():
        tool, k = key.rsplit("_", 1)
        base = runs[f"{tool}_1"]
        speedups = [b["seconds"] / x["seconds"] for b, x in zip(base, rs)]
        summary[key] = {"tool": tool, "workers": int(k), "runs": rs,
                        "frames_per_s": float(statistics.median(x["frames_per_s"] for x in rs)),
                        "speedup": float(statistics.median(speedups)),
                        "efficiency": float(statistics.median(speedups)) / int(k)}
    out["results"] = summary
    return out


# ------------------------------------------------------------------ reduced precision
def _sequence_boxes(folder: str) -> np.ndarray:
    """Ground truth ``[N, 4]`` x, y, w, h of a VOT (polygon or box) or OTB sequence folder."""
    from pysot.utils.bbox import polygon_to_xywh_axis_aligned

    for name in ("groundtruth.txt", "groundtruth_rect.txt"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            rows = []
            with open(path) as f:
                for line in f:
                    values = [float(v) for v in line.replace("\t", ",").replace(" ", ",").strip().split(",") if v]
                    if len(values) == 4:
                        rows.append(values)
                    else:
                        cx, cy, w, h = polygon_to_xywh_axis_aligned(np.array(values))
                        rows.append([cx - (w - 1) / 2, cy - (h - 1) / 2, w, h])
            return np.array(rows, dtype=np.float64)
    raise ValueError(f"{folder}: no groundtruth.txt or groundtruth_rect.txt")


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of ``[N, 4]`` x, y, w, h boxes, row by row (0 where either is empty)."""
    x1, y1 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x2, y2 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]), np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def compare_precision(config: str, snapshot: Optional[str], sequences: Sequence[str], warmup: int = 3,
                      threads: Optional[int] = None, max_frames: int = 0) -> Dict[str, Any]:
    """``TRACK.PRECISION float32`` vs ``bf16`` of one tracker on real sequences, interleaved frame by frame.

    Both trackers start from the sequence's first ground-truth box and track every frame
    (each its own state), alternating in rotating order in one process. Per sequence:
    median ms/frame of each (after ``warmup`` frames) and the median per-frame ratio
    ``bf16_speedup`` (> 1: bf16 is faster); the mean IoU with the ground truth of each and
    its change; the drift of the bf16 boxes from the float32 ones (centre distance, px:
    max and mean; and the frame where it first exceeds 1 px). ``max_frames > 0``: only the
    first frames of each sequence.
    """
    from pysot.config import load_cfg
    from pysot.io.video import open_frames
    from pysot.models import build_model
    from pysot.tracker import build_tracker
    from pysot.utils.model_load import load_pretrain

    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads or previous))
    try:
        cfg = load_cfg(config)
        model = build_model(cfg).eval()
        if snapshot:
            load_pretrain(model, snapshot, strict=True)
        trackers = {"float32": build_tracker(cfg, model, precision="float32"),
                    "bf16": build_tracker(cfg, model, precision="bf16")}
        out: Dict[str, Any] = {"config": config, "snapshot": snapshot, "threads": torch.get_num_threads(),
                               "sequences": {}}
        for folder in sequences:
            gt = _sequence_boxes(folder)
            frames = list(open_frames(folder))
            n = min(len(frames), len(gt), max_frames or len(frames))
            if n <= warmup + 1:
                raise ValueError(f"{folder}: {n} frames are too few for {warmup} warm-up frames")
            boxes = {k: [gt[0].tolist()] for k in trackers}
            for t in trackers.values():
                t.init(frames[0], gt[0].tolist())

            def step(name):
                return lambda i: boxes[name].append(trackers[name].track(frames[1 + i])["bbox"])

            times = interleaved_times({k: step(k) for k in trackers}, 0, n - 1)
            timed = {k: v[warmup:] for k, v in times.items()}
            b32, b16 = np.array(boxes["float32"]), np.array(boxes["bf16"])
            iou32, iou16 = _iou(b32, gt[:n]), _iou(b16, gt[:n])
            drift = np.hypot((b16[:, 0] + b16[:, 2] / 2) - (b32[:, 0] + b32[:, 2] / 2),
                             (b16[:, 1] + b16[:, 3] / 2) - (b32[:, 1] + b32[:, 3] / 2))
            over = np.nonzero(drift > 1.0)[0]
            out["sequences"][os.path.basename(os.path.normpath(folder))] = {
                "frames": n, "float32_ms": 1e3 * float(statistics.median(timed["float32"])),
                "bf16_ms": 1e3 * float(statistics.median(timed["bf16"])),
                "bf16_speedup": median_ratio(timed["float32"], timed["bf16"]),
                "float32_mean_iou": float(iou32.mean()), "bf16_mean_iou": float(iou16.mean()),
                "mean_iou_change": float(iou16.mean() - iou32.mean()),
                "drift_max_px": float(drift.max()), "drift_mean_px": float(drift.mean()),
                "first_frame_over_1px": int(over[0]) if len(over) else None}
    finally:
        torch.set_num_threads(previous)
    return out


def benchmark_vittrack(config: str, snapshot: str, onnx_path: str, frames: Sequence[np.ndarray],
                       init_box: Sequence[float], warmup: int = 5, rounds: Optional[int] = None,
                       threads: Optional[int] = None) -> Dict[str, Any]:
    """VitTrack on real frames: our ``VitTracker`` (PyTorch) vs OpenCV's ``cv2.TrackerVit`` running
    ``onnx_path`` (our export of the same weights, ``tools/export_onnx.py --opencv``).

    Both are initialised on ``frames[0]`` with ``init_box`` (integers, as OpenCV takes it) and track the
    same frames interleaved frame by frame, in one process on the CPU with the same thread count for
    torch and OpenCV (``threads``, default torch's); a frame is one full ``track``/``update`` call.
    ``snapshot`` may be empty (random weights: speed does not depend on them). Returns per tracker
    ``ms_per_frame``/``fps`` (medians over the timed frames), ``ours_vs_opencv`` (median per-frame
    ratio, > 1: ours is faster) and ``max_box_difference_px`` between the two trackers' boxes.
    """
    import cv2

    from pysot.config import load_cfg
    from pysot.models import build_model
    from pysot.tracker import build_tracker
    from pysot.utils.model_load import load_pretrain

    if not hasattr(cv2, "TrackerVit_create"):
        raise RuntimeError("this OpenCV build has no cv2.TrackerVit (opencv-python >= 4.9 has it)")
    previous_threads = (torch.get_num_threads(), cv2.getNumThreads())
    threads = int(threads or torch.get_num_threads())
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    boxes: Dict[str, List[List[float]]] = {"ours": [], "opencv": []}
    try:
        cfg = load_cfg(config, ["TRACK.POSTPROCESS", "opencv"])
        model = build_model(cfg).eval()
        if snapshot:
            load_pretrain(model, snapshot, strict=True)
        params = cv2.TrackerVit_Params()
        params.net = onnx_path
        params.tracking_score_threshold = float(cfg.TRACK.SCORE_THRESHOLD)
        opencv = cv2.TrackerVit_create(params)
        ours = build_tracker(cfg, model)
        frames = list(frames)
        rounds = min(int(rounds or len(frames) - 1 - warmup), len(frames) - 1 - warmup)
        if rounds < 1:
            raise ValueError(f"{len(frames)} frames are too few for {warmup} warm-up frames and one timed frame")
        init = [int(v) for v in init_box]
        ours.init(frames[0], init)
        opencv.init(frames[0], tuple(init))

        def step_ours(i: int) -> None:
            boxes["ours"].append(ours.track(frames[1 + i])["bbox"])

        def step_opencv(i: int) -> None:
            found, box = opencv.update(frames[1 + i])
            boxes["opencv"].append(list(box) if found else (boxes["opencv"][-1] if boxes["opencv"] else init))

        times = interleaved_times({"ours": step_ours, "opencv": step_opencv}, warmup, rounds)
    finally:
        torch.set_num_threads(previous_threads[0])
        cv2.setNumThreads(previous_threads[1])
    result: Dict[str, Any] = {"config": config, "snapshot": snapshot, "opencv_net": onnx_path, "threads": threads,
                              "warmup_frames": warmup, "timed_frames": rounds, "opencv_version": cv2.__version__}
    for name, seconds in times.items():
        median = float(statistics.median(seconds))
        result[name] = {"ms_per_frame": 1e3 * median, "fps": 1.0 / median}
    result["ours_vs_opencv"] = median_ratio(times["opencv"], times["ours"])
    result["max_box_difference_px"] = float(np.abs(np.array(boxes["ours"]) - np.array(boxes["opencv"])).max())
    return result
