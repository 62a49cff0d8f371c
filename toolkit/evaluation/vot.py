"""VOT short-term baseline evaluation: accuracy, robustness (failures) and EAO.

Protocol (VOT2016-2019 baseline experiment):

* The tracker starts on frame 0; when its region stops overlapping the ground
  truth (overlap 0, both clipped to the image) the frame is a *failure* (line
  ``2``), the next frames are skipped (``0``) and the tracker is re-initialised
  5 frames after the failure (line ``1``).
* Overlap: IoU of the regions counted in pixels, exactly as the VOT toolkit's
  C region code rasterizes them (:func:`toolkit.utils.region.raster_overlap`;
  a box ``x,y,w,h`` is the polygon with corners ``x .. x+w``).
  ``overlap="geometric"`` uses exact areas of the regions clipped to
  ``[0, width] x [0, height]`` instead (about 0.002 EAO lower on VOT2018).

The numbers are those of the original PySOT's toolkit (its AR and EAO
benchmarks), quirks included:

* Accuracy: overlaps bounded by ``(width, height)``, leaving out the ``burnin``
  (10) frames that start at every (re-)initialisation; a frame's overlap is
  averaged over the repetitions that scored it, then frames of all sequences
  are pooled (each frame weighs 1).
* Robustness: failures per 100 frames (``lost / total frames * 100``, the number
  VOT2018 tables report); ``lost`` is the failure count, averaged over repetitions.
* EAO: overlaps bounded by ``(width - 1, height - 1)`` (PySOT's EAO benchmark
  differs from its accuracy there). Each run is cut into fragments starting at
  frame 0 and 5 frames after each failure (:func:`run_fragments`): one that
  ends in a failure is padded with overlap 0 to the longest sequence (a failed
  tracker stays failed), the last is unknown beyond the end of the sequence.
  The expected overlap for length ``Ns`` averages, over fragments known at
  frame ``Ns``, the mean overlap of frames ``1 .. Ns-1`` (the initialisation
  frame is excluded); EAO is the mean of that curve over the edition's interval
  ``[low, high]`` (VOT2018: 100-356). Fragments weigh ``1 / repetitions``; for
  a tag, times the share of the fragment's frames (through the next start)
  carrying it.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from toolkit.utils.region import Bounds, raster_overlap, region_overlaps, rows_to_polygons
from toolkit.utils.results import VOT_FAILURE, VOT_INIT, VOT_SKIP_FRAMES, VOTTrajectory


def run_overlaps(traj: VOTTrajectory, gt: np.ndarray, bounds: Bounds, method: str = "raster") -> np.ndarray:
    """``[N]`` overlap with the ground truth per frame; NaN on marker lines (init/failure/skip)."""
    n = min(len(traj.codes), len(gt))
    overlaps = np.full(len(traj.codes), np.nan)
    tracked = np.flatnonzero(traj.codes[:n] == -1)
    if len(tracked):
        overlaps[tracked] = region_overlaps([traj.regions[i] for i in tracked], gt[tracked], bounds, method)
    return overlaps


def eao_overlaps(traj: VOTTrajectory, gt: np.ndarray, bounds: Bounds, overlaps: np.ndarray) -> np.ndarray:
    """The raster overlaps PySOT's EAO benchmark uses: bounded by ``(width - 1, height - 1)``
    where its accuracy uses ``(width, height)`` (``overlaps``). Only frames with a region
    reaching past column ``width - 1`` or row ``height - 1`` can differ; they are recomputed."""
    if bounds is None:
        return overlaps
    width, height = bounds
    tracked = np.flatnonzero(np.isfinite(overlaps))
    if len(tracked) == 0:
        return overlaps
    pred = rows_to_polygons([traj.regions[i] for i in tracked])
    truth = rows_to_polygons(gt[tracked])

    def reach(polys):  # the C code rounds the float32 bounding box outward
        far = np.ceil(np.nan_to_num(polys).astype(np.float32)).max(axis=1)
        return (far[:, 0] > width - 1) | (far[:, 1] > height - 1)

    edge = reach(pred) | reach(truth)
    out = overlaps.copy()
    if edge.any():
        out[tracked[edge]] = raster_overlap(pred[edge], truth[edge], (width - 1, height - 1))
    return out


def burnin_mask(codes: np.ndarray, burnin: int) -> np.ndarray:
    """``[N]`` bool: frames within ``burnin`` frames from an initialisation (that frame included)."""
    mask = np.zeros(len(codes), dtype=bool)
    for start in np.flatnonzero(codes == VOT_INIT):
        mask[start : start + burnin] = True
    return mask


def run_fragments(
    codes: np.ndarray, overlaps: np.ndarray, length: int, skip_frames: int = VOT_SKIP_FRAMES
) -> Tuple[np.ndarray, List[Tuple[int, int, float]]]:
    """Fragments of one run as rows of a ``[F, length]`` array (NaN = unknown), and for
    each the frames ``(start, stop, count)`` its tag weight is ``tag[start:stop].sum() / count`` of.

    As PySOT's EAO benchmark: a fragment starts at frame 0 or ``skip_frames`` after a
    failure; one that ends in a failure runs to the next start (included), then zeros
    to ``length`` (a failed tracker stays failed); the last runs to the end of the
    sequence and is unknown beyond. A failure within the last ``skip_frames - 1``
    frames, whose re-initialisation would fall past the end, does not cut: the last
    fragment then holds the failure as zeros and ends with the sequence.
    """
    n = len(overlaps)
    values = np.nan_to_num(overlaps, nan=0.0)
    failures = np.flatnonzero(codes[:n] == VOT_FAILURE)
    starts = [0] + [int(f) + skip_frames for f in failures if f + skip_frames <= n]
    rows, spans = [], []
    for i, start in enumerate(starts):
        if i + 1 < len(starts):
            stop = starts[i + 1] + 1
            row = np.zeros(length)
            spans.append((start, stop, float(stop - start)))
        else:
            stop = n
            row = np.full(length, np.nan)
            # PySOT's denominator; the 1e-16 keeps an empty last fragment (failure on the
            # 5th frame from the end) at weight 0 instead of 0/0.
            spans.append((start, stop, (n - start) + (1e-16 if len(failures) else 0.0)))
        seg = values[start:stop][:length]
        row[: len(seg)] = seg
        rows.append(row)
    return np.asarray(rows).reshape(-1, length), spans


def expected_overlap_curve(fragments: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``[L]`` expected average overlap for sequence lengths ``1..L`` (index ``Ns - 1``).

    ``fragments [F, L]`` (NaN where unknown), ``weights [F]``. Length 1 is the
    initialisation frame alone: its expected overlap is 1 by definition.
    """
    num, length = fragments.shape
    curve = np.full(length, np.nan)
    if length == 0:
        return curve
    curve[0] = 1.0
    if num == 0:
        return curve
    # mean of frames 1..i of every fragment, for every i, via a running sum.
    running = np.cumsum(np.nan_to_num(fragments[:, 1:], nan=0.0), axis=1)
    means = running / np.arange(1, length)[None, :]
    known = ~np.isnan(fragments[:, 1:])
    w = weights[:, None] * known
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        curve[1:] = np.where(total > 0, (means * w).sum(axis=0) / np.where(total > 0, total, 1), np.nan)
    return curve


def eao_from_curve(curve: np.ndarray, interval: Tuple[int, int]) -> float:
    """Mean of the expected-overlap curve over sequence lengths ``low..high`` (inclusive)."""
    low, high = interval
    part = curve[low - 1 : high]
    part = part[~np.isnan(part)]
    return float(part.mean()) if len(part) else float("nan")


@dataclass
class VOTResult:
    tracker: str
    accuracy: float
    robustness: float
    lost: float
    eao: float
    eao_curve: np.ndarray
    eao_by_tag: Dict[str, float] = field(default_factory=dict)
    per_video: Dict[str, Dict[str, float]] = field(default_factory=dict)

    def summary(self) -> Dict[str, float]:
        return {"accuracy": self.accuracy, "robustness": self.robustness, "lost": self.lost, "eao": self.eao}


def evaluate_vot(
    tracker: str,
    runs: Dict[str, Sequence[VOTTrajectory]],
    gts: Dict[str, np.ndarray],
    bounds: Dict[str, Bounds],
    interval: Tuple[int, int],
    burnin: int = 10,
    tags: Optional[Dict[str, Dict[str, np.ndarray]]] = None,
    overlap: str = "raster",
) -> VOTResult:
    """Accuracy, robustness and EAO of one tracker.

    ``runs``: video -> its repetitions; ``gts``: video -> ``[N, 4|8]`` regions;
    ``bounds``: video -> ``(width, height)`` or None; ``tags``: video -> tag -> ``[N]`` bool;
    ``overlap``: ``"raster"`` (VOT toolkit pixel counting, the published numbers) or ``"geometric"``.
    """
    names = list(gts)
    length = max(len(gts[n]) for n in names)
    tag_names = ["all"] + sorted(set.intersection(*[set(tags[n]) for n in names])) if tags else ["all"]
    fragments, spans_of, weights_of = [], [], []
    pooled, lost, frames = [], 0.0, 0
    per_video = {}
    for name in names:
        reps = runs[name]
        if not reps:
            raise ValueError(f"{tracker}: no runs for video '{name}'")
        scored, video_lost = [], []
        for traj in reps:
            ov = run_overlaps(traj, gts[name], bounds.get(name), overlap)
            scored.append(np.where(burnin_mask(traj.codes, burnin), np.nan, ov))
            video_lost.append(len(traj.failures))
            if overlap == "raster":
                ov = eao_overlaps(traj, gts[name], bounds.get(name), ov)
            rows, spans = run_fragments(traj.codes, ov, length)
            fragments.append(rows)
            spans_of.extend((name, s) for s in spans)
            weights_of.extend([1.0 / len(reps)] * len(rows))
        # As PySOT: a frame's overlap is averaged over the repetitions that scored it, then
        # frames of all videos are pooled.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # frames no repetition scored
            per_frame = np.nanmean(np.stack(scored), axis=0)
        pooled.append(per_frame)
        lost += float(np.mean(video_lost))
        frames += len(gts[name])
        known = per_frame[~np.isnan(per_frame)]
        per_video[name] = {"accuracy": float(known.mean()) if len(known) else float("nan"),
                           "lost": float(np.mean(video_lost))}
    fragments_arr = np.concatenate(fragments) if fragments else np.zeros((0, length))
    base_weights = np.asarray(weights_of)
    eao_by_tag, curve_all = {}, None
    for tag in tag_names:
        flags = (lambda name: 1.0) if tag == "all" else (lambda name, t=tag: tags[name][t])
        share = np.array([np.sum(np.broadcast_to(flags(name), len(gts[name]))[start:stop]) / count if count else 0.0
                          for name, (start, stop, count) in spans_of])
        curve = expected_overlap_curve(fragments_arr, base_weights * share)
        eao_by_tag[tag] = eao_from_curve(curve, interval)
        if tag == "all":
            curve_all = curve
    all_scored = np.concatenate(pooled) if pooled else np.zeros(0)
    all_scored = all_scored[~np.isnan(all_scored)]
    return VOTResult(
        tracker=tracker,
        accuracy=float(all_scored.mean()) if len(all_scored) else float("nan"),
        robustness=lost / frames * 100.0 if frames else float("nan"),
        lost=lost,
        eao=eao_by_tag["all"],
        eao_curve=curve_all,
        eao_by_tag=eao_by_tag,
        per_video=per_video,
    )
