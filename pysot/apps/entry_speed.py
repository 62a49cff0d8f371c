"""Tracking speed through each way in, on a machine whose cores are busy (issue 18, docs/speed.md).

The OpenMP wait policy is fixed when torch is first imported, so each way in needs its own
process. One *round* starts one process per setup, in an order that rotates every round; each
process builds the embedded default model (NanoTrack V2) the way that entry point does, tracks a
generated clip, and reports frames per second over the tracked frames only (start-up, model
building and the fast path's check are left out). Medians over rounds, and the median of the
per-round ratios to the baseline. ``busy`` processes spin on a core each throughout, as other
users' jobs do on a shared machine.

Setups (``SETUPS``):

* ``notebook_before``: what a notebook got before issue 18: ``import torch`` first (OpenMP spins),
  torch's own thread count (one per core), ``build_tracker``'s old default;
* ``notebook``: ``import torch`` first, then the library's own default (``build_tracker`` picks);
* ``notebook_pysot_first``: ``import pysot`` before torch (idle threads sleep), library default;
* ``tool``: what tools/demo.py and tools/test.py do (``configure_threads()`` before torch).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Dict, List, Optional

import numpy as np

_BUILD = """
from pysot.config import load_cfg_from_checkpoint
from pysot.data import DEFAULT_MODEL
from pysot.datasets.synthetic import render_clip
from pysot.models import build_model
from pysot.tracker import build_tracker
from pysot.utils.model_load import load_pretrain
import logging; logging.getLogger("pysot").setLevel(logging.WARNING)
cfg = load_cfg_from_checkpoint(DEFAULT_MODEL)
model = build_model(cfg).eval()
load_pretrain(model, DEFAULT_MODEL)
"""
_TRACK = """
frames, gt = render_clip(num_frames=FRAMES + 1, seed=5)
tracker.init(frames[0], [float(v) for v in gt[0]])
for frame in frames[1:6]:
    tracker.track(frame)  # warm-up: first calls allocate
start = time.perf_counter()
for frame in frames[1:]:
    tracker.track(frame)
seconds = time.perf_counter() - start
print(json.dumps({"fps": FRAMES / seconds, "threads": torch.get_num_threads(),
                  "wait_policy": os.environ.get("OMP_WAIT_POLICY")}))
"""
SETUPS: Dict[str, str] = {
    # The old default: no thread choice anywhere (torch's count), OpenMP spinning.
    "notebook_before": "import json, os, time, torch\nn = torch.get_num_threads()\n" + _BUILD
                       + "tracker = build_tracker(cfg, model)\ntorch.set_num_threads(n)\n" + _TRACK,
    "notebook": "import json, os, time, torch\n" + _BUILD + "tracker = build_tracker(cfg, model)\n" + _TRACK,
    "notebook_pysot_first": "import pysot\nimport json, os, time, torch\n" + _BUILD
                            + "tracker = build_tracker(cfg, model)\n" + _TRACK,
    "tool": "from pysot.utils.threads import configure_threads\nconfigure_threads()\n"
            "import json, os, time, torch\n" + _BUILD + "tracker = build_tracker(cfg, model)\n" + _TRACK,
}
BASELINE = "notebook_before"


def _env() -> Dict[str, str]:
    """The caller's environment without the settings under test (a fresh shell's)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_setup(name: str, frames: int, timeout: float = 600) -> Dict[str, object]:
    """One process of setup ``name``: ``{"fps", "threads", "wait_policy"}``."""
    code = SETUPS[name].replace("FRAMES", str(int(frames)))
    proc = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"setup {name} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def start_busy_loops(count: int) -> List[subprocess.Popen]:
    """``count`` processes that each spin on a core until stopped (:func:`stop_busy_loops`)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def stop_busy_loops(loops: List[subprocess.Popen]) -> None:
    for p in loops:
        p.kill()
        p.wait()


def entry_point_speed(rounds: int = 5, frames: int = 60, busy: int = 1,
                      setups: Optional[List[str]] = None, progress: bool = True) -> Dict[str, object]:
    """Interleaved rounds of every setup beside ``busy`` spinning processes (see the module doc)."""
    from tqdm import tqdm

    names = list(setups or SETUPS)
    runs: Dict[str, List[Dict[str, object]]] = {n: [] for n in names}
    loops = start_busy_loops(busy)
    started = time.time()
    try:
        with tqdm(total=rounds * len(names), desc="entry points", unit="run", disable=not progress) as bar:
            for r in range(rounds):
                order = names[r % len(names):] + names[:r % len(names)]  # each setup leads equally often
                for name in order:
                    runs[name].append(run_setup(name, frames))
                    bar.update(1)
    finally:
        stop_busy_loops(loops)
    report: Dict[str, object] = {"rounds": rounds, "frames": frames, "busy_loops": busy,
                                 "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                 else os.cpu_count(),
                                 "seconds": time.time() - started, "setups": {}}
    for name in names:
        fps = [float(x["fps"]) for x in runs[name]]
        entry = {"fps_median": float(np.median(fps)), "fps": fps, "threads": runs[name][0]["threads"],
                 "wait_policy": runs[name][0]["wait_policy"]}
        if BASELINE in runs and name != BASELINE:
            entry["ratio_to_before_median"] = float(np.median(
                [a / b for a, b in zip(fps, (float(x["fps"]) for x in runs[BASELINE]))]))
        report["setups"][name] = entry  # type: ignore[index]
    return report


__all__ = ["BASELINE", "SETUPS", "entry_point_speed", "run_setup", "start_busy_loops", "stop_busy_loops"]
