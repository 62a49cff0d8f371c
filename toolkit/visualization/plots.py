"""Success / precision plots (overall and per attribute) and EAO curves, as PNG or PDF."""
from __future__ import annotations

import os
import re
from typing import Dict, List, Optional, Tuple

import numpy as np

from pysot.utils.fileio import atomic_open

from toolkit.evaluation.ope import NORM_PRECISION_THRESHOLDS, PRECISION_AT, PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS, OPEResult
from toolkit.evaluation.vot import VOTResult


def load_pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str) -> str:
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format=os.path.splitext(path)[1][1:], dpi=150, bbox_inches="tight")
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def plot_ope(
    results: Dict[str, OPEResult],
    out_dir: str,
    dataset: str,
    attribute: Optional[str] = None,
    fmt: str = "png",
) -> List[str]:
    """Success and precision (and normalized precision) plots; legend ranked by score.

    With ``attribute``, only the videos carrying it are used (titles say how many).
    Returns the written file paths.
    """
    plt = load_pyplot()
    if attribute:
        results = {
            t: r.subset([v for v in r.videos if attribute in r.attributes.get(v, [])]) for t, r in results.items()
        }
        results = {t: r for t, r in results.items() if r.videos}
        if not results:
            return []
    count = len(next(iter(results.values())).videos)
    suffix = f" - {attribute} ({count})" if attribute else ""
    tag = f"_{_slug(attribute)}" if attribute else ""
    paths = []
    panels: List[Tuple[str, np.ndarray, str, str, str]] = [
        ("success", SUCCESS_THRESHOLDS, "Overlap threshold", "Success rate", "Success plots of OPE"),
        ("precision", PRECISION_THRESHOLDS, "Location error threshold (px)", "Precision", "Precision plots of OPE"),
    ]
    if all(r.norm_precision is not None for r in results.values()):
        panels.append(("norm_precision", NORM_PRECISION_THRESHOLDS, "Normalized location error threshold",
                       "Normalized precision", "Normalized precision plots of OPE"))
    for kind, xs, xlabel, ylabel, title in panels:
        scores = {}
        for t, r in results.items():
            curves = getattr(r, kind)
            mean = curves.mean(axis=0)
            score = mean[int(np.flatnonzero(xs == PRECISION_AT)[0])] if kind == "precision" else mean.mean()
            scores[t] = (score, mean)
        fig, ax = plt.subplots(figsize=(6, 4.5))
        for t, (score, mean) in sorted(scores.items(), key=lambda kv: -kv[1][0]):
            ax.plot(xs, mean, linewidth=2, label=f"[{score:.3f}] {t}")
        ax.set(xlabel=xlabel, ylabel=ylabel, title=f"{title} on {dataset}{suffix}", xlim=(xs[0], xs[-1]), ylim=(0, 1.0))
        ax.grid(True, linestyle=":")
        ax.legend(loc="lower left" if kind == "success" else "lower right", fontsize=8)
        paths.append(save_figure(fig, os.path.join(out_dir, f"{kind}{tag}.{fmt}")))
        plt.close(fig)
    return paths


def plot_eao(results: Dict[str, VOTResult], out_dir: str, dataset: str, interval: Tuple[int, int], fmt: str = "png") -> List[str]:
    """Expected-average-overlap curves with the EAO interval shaded, plus an EAO ranking plot."""
    plt = load_pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for t, r in sorted(results.items(), key=lambda kv: -kv[1].eao):
        lengths = np.arange(1, len(r.eao_curve) + 1)
        ax.plot(lengths, r.eao_curve, linewidth=1.5, label=f"[{r.eao:.3f}] {t}")
    ax.axvspan(interval[0], interval[1], color="grey", alpha=0.15, label=f"interval {interval[0]}-{interval[1]}")
    ax.set(xlabel="Sequence length (frames)", ylabel="Expected overlap", title=f"EAO curve on {dataset}", ylim=(0, 1))
    ax.grid(True, linestyle=":")
    ax.legend(fontsize=8)
    paths = [save_figure(fig, os.path.join(out_dir, f"eao_curve.{fmt}"))]
    plt.close(fig)
    ranked = sorted(results.items(), key=lambda kv: -kv[1].eao)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(range(1, len(ranked) + 1), [r.eao for _, r in ranked], "o")
    for i, (t, r) in enumerate(ranked, start=1):
        ax.annotate(t, (i, r.eao), textcoords="offset points", xytext=(4, 4), fontsize=8)
    # Ranks are whole numbers: without explicit ticks a single tracker gets an axis 0.96, 0.98, ...
    ax.set_xticks(range(1, len(ranked) + 1))
    ax.set(xlabel="Rank", ylabel="EAO", title=f"EAO ranking on {dataset}", xlim=(0.5, len(ranked) + 0.5))
    ax.grid(True, linestyle=":")
    paths.append(save_figure(fig, os.path.join(out_dir, f"eao_rank.{fmt}")))
    plt.close(fig)
    return paths
