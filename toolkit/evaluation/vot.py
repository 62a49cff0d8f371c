"""VOT short-term baseline evaluation: accuracy, robustness (failures) and EAO.

Protocol (VOT2016-2019 baseline experiment):

* The tracker starts on frame 0; when its region stops overlapping the ground
  truth (overlap 0, both clipped to the image) the frame is a *failure* (line
  ``2``), the next frames are skipped (``0``) and the tracker is re-initialised
  5 frames after the failure (line ``1``).
* Overlap: IoU of the regions counted in pixels inside the image, as the VOT
  toolkit rasterizes them (:func:`toolkit.utils.region.raster_overlap`; a box
  ``x,y,w,h`` is the polygon with corners ``x .. x+w``). ``overlap="geometric"``
  uses exact areas of the regions clipped to ``[0, width] x [0, height]``
  instead; it runs about 0.005 EAO lower on VOT2018, because rasterizing
  counts the boundary pixels of both regions.
* Accuracy: mean overlap over the tracked frames, leaving out the ``burnin``
  (10) frames that start at every (re-)initialisation; frames of all sequences
  are pooled (each frame weighs 1), repetitions averaged.
* Robustness: failures per 100 frames (``lost / total frames * 100``, the number
  VOT2018 tables report); ``lost`` is the failure count, averaged over repetitions.
* EAO: each run is cut into fragments, one per (re-)initialisation, running to
  the next failure (then padded with overlap 0 to the longest sequence: a
  failed tracker stays failed) or to the end of the sequence (then unknown
  beyond it). The expected overlap for length ``Ns`` averages, over fragments
  known at frame ``Ns``, the mean overlap of frames ``1 .. Ns-1`` (the
  initialisation frame is excluded); EAO is the mean of that curve over the
  edition's interval ``[low, high]`` (VOT2018: 100-356). Fragments weigh
  ``1 / repetitions``; for a tag, by the share of their frames carrying it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from toolkit.utils.region import Bounds, region_overlaps
from toolkit.utils.results import VOT_FAILURE, VOT_INIT, VOTTrajectory


def run_overlaps(traj: VOTTrajectory, gt: np.ndarray, bounds: Bounds, method: str = "raster") -> np.ndarray:
    """``[N]`` overlap with the ground truth per frame; NaN on marker lines (init/failure/skip)."""
    n = min(len(traj.codes), len(gt))
    overlaps = np.full(len(traj.codes), np.nan)
    tracked = np.flatnonzero(traj.codes[:n] == -1)
    if len(tracked):
        overlaps[tracked] = region_overlaps([traj.regions[i] for i in tracked], gt[tracked], bounds, method)
    return overlaps


def burnin_mask(codes: np.ndarray, burnin: int) -> np.ndarray:
    """``[N]`` bool: frames within ``burnin`` frames from an initialisation (that frame included)."""
    mask = np.zeros(len(codes), dtype=bool)
    for start in np.flatnonzero(codes == VOT_INIT):
        mask[start : start + burnin] = True
    return mask


def run_fragments(codes: np.ndarray, overlaps: np.ndarray, length: int) -> Tuple[np.ndarray, List[Tuple[int, int]]]:
    """Fragments of one run as rows of a ``[F, length]`` array (NaN = unknown) and their
    ``(start, stop)`` frame spans. See the module docstring for the rules."""
    values = np.nan_to_num(overlaps, nan=0.0)
    inits = np.flatnonzero(codes == VOT_INIT)
    failures = np.flatnonzero(codes == VOT_FAILURE)
    if len(inits) == 0 or inits[0] != 0:
        inits = np.concatenate([[0], inits[inits != 0]])  # the first frame always initialises
    rows, spans = [], []
    for start in inits:
        after = failures[failures > start]
        row = np.full(length, np.nan)
        if len(after):
            stop = int(after[0]) + 1
            row[:] = 0.0
        else:
            stop = len(values)
        seg = values[start:stop][:length]
        row[: len(seg)] = seg
        rows.append(row)
        spans.append((int(start), stop))
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
    acc_sum, acc_count, lost, frames = 0.0, 0, 0.0, 0
    per_video = {}
    for name in names:
        reps = runs[name]
        if not reps:
            raise ValueError(f"{tracker}: no runs for video '{name}'")
        video_acc, video_lost = [], []
        for traj in reps:
            ov = run_overlaps(traj, gts[name], bounds.get(name), overlap)
            scored = ov[~burnin_mask(traj.codes, burnin)]
            scored = scored[~np.isnan(scored)]
            # Pool frames across videos, but let each repetition weigh 1/reps.
            acc_sum += scored.sum() / len(reps)
            acc_count += len(scored) / len(reps)
            video_acc.append(scored.mean() if len(scored) else np.nan)
            video_lost.append(len(traj.failures))
            rows, spans = run_fragments(traj.codes, ov, length)
            fragments.append(rows)
            spans_of.extend((name, s) for s in spans)
            weights_of.extend([1.0 / len(reps)] * len(rows))
        lost += float(np.mean(video_lost))
        frames += len(gts[name])
        per_video[name] = {"accuracy": float(np.nanmean(video_acc)) if np.isfinite(video_acc).any() else float("nan"),
                           "lost": float(np.mean(video_lost))}
    fragments_arr = np.concatenate(fragments) if fragments else np.zeros((0, length))
    base_weights = np.asarray(weights_of)
    eao_by_tag, curve_all = {}, None
    for tag in tag_names:
        if tag == "all":
            w = base_weights
        else:
            share = np.array([tags[name][tag][start:stop].mean() if stop > start else 0.0 for name, (start, stop) in spans_of])
            w = base_weights * share
        curve = expected_overlap_curve(fragments_arr, w)
        eao_by_tag[tag] = eao_from_curve(curve, interval)
        if tag == "all":
            curve_all = curve
    return VOTResult(
        tracker=tracker,
        accuracy=acc_sum / acc_count if acc_count else float("nan"),
        robustness=lost / frames * 100.0 if frames else float("nan"),
        lost=lost,
        eao=eao_by_tag["all"],
        eao_curve=curve_all,
        eao_by_tag=eao_by_tag,
        per_video=per_video,
    )
