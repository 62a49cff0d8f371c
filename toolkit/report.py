"""Terminal tables (best value per column highlighted) and JSON reports of evaluation results."""
from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from toolkit.utils.results import atomic_write_text

try:
    from colorama import Fore, Style

    _BEST, _RESET = Fore.GREEN + Style.BRIGHT, Style.RESET_ALL
except ImportError:  # colour is optional
    _BEST, _RESET = "", ""

# (summary key, column title, higher is better)
COLUMNS = {
    "ope": [("success_auc", "Success", True), ("precision", "Precision", True)],
    "ope_norm": [
        ("success_auc", "Success", True),
        ("precision", "Precision", True),
        ("norm_precision_auc", "NP AUC", True),
        ("norm_precision@0.2", "NP@0.2", True),
    ],
    "vot": [("eao", "EAO", True), ("accuracy", "Accuracy", True), ("robustness", "Robustness", False), ("lost", "Lost", False)],
    "vot_lt": [("f_score", "F-score", True), ("precision", "Precision", True), ("recall", "Recall", True)],
    "got10k": [("ao", "AO", True), ("sr0.5", "SR0.5", True), ("sr0.75", "SR0.75", True)],
}


def stdout_color() -> bool:
    """Colour the table only on a terminal, and never when ``NO_COLOR`` is set."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def columns_for(summary: Dict[str, float], protocol: str) -> List[Tuple[str, str, bool]]:
    if protocol == "ope" and "norm_precision_auc" in summary:
        return COLUMNS["ope_norm"]
    return COLUMNS[protocol]


def rank_key(summary: Dict[str, float], protocol: str) -> float:
    """Sort key that puts the best result first: the protocol's first column, negated when higher is
    better; an undefined (NaN) score ranks last (e.g. EAO of videos shorter than its interval)."""
    key, _, higher = columns_for(summary, protocol)[0]
    value = summary[key]
    if math.isnan(value):
        return math.inf
    return -value if higher else value


def format_table(summaries: Dict[str, Dict[str, float]], protocol: str, title: str = "", color: bool = True) -> str:
    """Rows sorted by the first column (best first); the best value of each column coloured."""
    if not summaries:
        return "(no trackers)"
    cols = columns_for(next(iter(summaries.values())), protocol)
    order = sorted(summaries, key=lambda t: rank_key(summaries[t], protocol))
    name_w = max(len("Tracker"), *(len(t) for t in order))
    widths = [max(len(c[1]), 7) for c in cols]
    best = {}
    for key, _, higher in cols:
        values = [summaries[t][key] for t in order if not math.isnan(summaries[t][key])]
        best[key] = (max(values) if higher else min(values)) if values else None
    sep = "-" * (name_w + 3 + sum(w + 3 for w in widths))
    lines = [title] if title else []
    lines += [sep, "| " + "Tracker".ljust(name_w) + " | " + " | ".join(c[1].center(w) for c, w in zip(cols, widths)) + " |", sep]
    for t in order:
        cells = []
        for (key, _, _), w in zip(cols, widths):
            v = summaries[t][key]
            text = (f"{v:.1f}" if key == "lost" else f"{v:.3f}").center(w)
            if color and best[key] is not None and v == best[key] and len(order) > 1:
                text = f"{_BEST}{text}{_RESET}"
            cells.append(text)
        lines.append("| " + t.ljust(name_w) + " | " + " | ".join(cells) + " |")
    lines.append(sep)
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def result_to_dict(result: Any) -> Dict[str, Any]:
    """Summary, per-video scores and curves of one tracker, JSON-ready."""
    out: Dict[str, Any] = {"summary": result.summary()}
    if hasattr(result, "per_video"):
        per_video = result.per_video() if callable(result.per_video) else result.per_video
        out["per_video"] = per_video
    if hasattr(result, "success") and result.success is not None:
        out["success_curve"] = result.success.mean(axis=0)
        out["precision_curve"] = result.precision.mean(axis=0)
    if getattr(result, "success_curve", None) is not None:  # GOT-10k: 101 thresholds, as its toolkit's report
        out["success_curve"] = result.success_curve
    if getattr(result, "eao_curve", None) is not None:
        out["eao_curve"] = result.eao_curve
        out["eao_by_tag"] = result.eao_by_tag
    return _plain(out)


def write_json(path: str, dataset: str, protocol: str, results: Dict[str, Any], timings: Optional[Dict[str, Any]] = None) -> None:
    """Machine-readable report: per tracker summary, per-video scores, curves, timings."""
    doc = {
        "dataset": dataset,
        "protocol": protocol,
        "trackers": {t: dict(result_to_dict(r), **({"timing": _plain(timings[t])} if timings else {})) for t, r in results.items()},
    }
    atomic_write_text(path, json.dumps(doc, indent=1))
