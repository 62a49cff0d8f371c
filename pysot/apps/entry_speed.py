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

Work other than tracking one clip (``WORK_SETUPS``, ``--entry-work``), each against its state
before issue 18 (rate: items per second of the timed part):

* ``train_before`` / ``train``: ``pysot.training.train`` of the tiny model for a few iterations
  on a small generated crop-511 set (iterations/s, model building and data loading included);
  before: torch first, spinning, torch's thread count; now: as tools/train.py starts;
* ``synthetic_eval_before`` / ``synthetic_eval``: the held-out synthetic-clip evaluation of the
  tiny model (clips/s); before: spinning threads and a fast-path tracker built per clip, as the
  old loop did; now: as ``python -m pysot.training.synthetic_eval`` starts.
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
from pysot.utils.threads import passive_wait_in_effect
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
                  "wait_policy": "passive" if passive_wait_in_effect() else "spinning"}))
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

_TINY = "import os; TINY = os.path.join(os.path.dirname(os.path.dirname(pysot.__file__)), 'experiments', " \
        "'siamrpn_alex_tiny', 'config.yaml')\n"
# Before issue 18: spinning threads (torch imported first, OMP_WAIT_POLICY unset), torch's count.
_BEFORE = "import torch\nn = torch.get_num_threads()\nimport pysot\nfrom pysot.utils import threads\n" \
          "threads.configure_threads(n)  # marks the choice made: torch's count, the policy already fixed\n"
_NOW = "import pysot\nfrom pysot.utils.threads import configure_threads\nconfigure_threads()\nimport torch\n"
_TRAIN = _TINY + """import json, time, logging
from pysot.utils.threads import passive_wait_in_effect
from pysot.config import load_cfg
from pysot.training.trainer import train
logging.getLogger("pysot").setLevel(logging.WARNING)
cfg = load_cfg(TINY, ["DATASET.SYNTHETIC.ROOT", __DATA__ + "/crop511", "DATASET.SYNTHETIC.ANNO", __DATA__ + "/train.json",
                      "TRAIN.NUM_WORKERS", "0", "TRAIN.BATCH_SIZE", "8", "TRAIN.SNAPSHOT_DIR", __OUT__,
                      "TRAIN.LOG_DIR", __OUT__ + "/logs", "TRAIN.PRINT_FREQ", "1000"])
start = time.perf_counter()
train(cfg, device="cpu", stop_after=ITEMS)
print(json.dumps({"fps": ITEMS / (time.perf_counter() - start), "threads": torch.get_num_threads(),
                  "wait_policy": "passive" if passive_wait_in_effect() else "spinning"}))
"""
_EVAL = _TINY + """import json, time, logging
from pysot.utils.threads import passive_wait_in_effect
import numpy as np
from pysot.config import load_cfg
from pysot.models import build_model
from pysot.training.synthetic_eval import synthetic_success
from pysot.data import TINY_MODEL
from pysot.utils.model_load import load_pretrain
logging.getLogger("pysot").setLevel(logging.WARNING)
cfg = load_cfg(TINY)
model = build_model(cfg).eval()
load_pretrain(model, TINY_MODEL)
start = time.perf_counter()
EVALUATE
print(json.dumps({"fps": ITEMS / (time.perf_counter() - start), "threads": torch.get_num_threads(),
                  "wait_policy": "passive" if passive_wait_in_effect() else "spinning"}))
"""
# The evaluation loop as it was: a tracker (fast-path copy and its check) built for every clip.
_EVAL_BEFORE = """from pysot.datasets.synthetic import render_clip
from pysot.tracker import build_tracker
from pysot.training.synthetic_eval import HELD_OUT_SEED, success_auc, track_clip
for seed in range(ITEMS):
    frames, gt = render_clip(num_frames=20, seed=HELD_OUT_SEED + seed, num_distractors=1,
                             same_category_distractors=False)
    success_auc(gt[1:], track_clip(build_tracker(cfg, model), frames, gt[0])[1:])"""
_EVAL_NOW = "synthetic_success(cfg, model, range(ITEMS), 20)"
WORK_SETUPS: Dict[str, str] = {
    "train_before": _BEFORE + _TRAIN,
    "train": _NOW + _TRAIN,
    "synthetic_eval_before": _BEFORE + _EVAL.replace("EVALUATE", _EVAL_BEFORE),
    "synthetic_eval": _NOW + _EVAL.replace("EVALUATE", _EVAL_NOW),
}
#: Each setup's "before issue 18" counterpart, for the ratios.
BASELINES = {"notebook": BASELINE, "notebook_pysot_first": BASELINE, "tool": BASELINE,
             "train": "train_before", "synthetic_eval": "synthetic_eval_before"}


def _env() -> Dict[str, str]:
    """The caller's environment without the settings under test (a fresh shell's)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_setup(name: str, frames: int, timeout: float = 600, data: str = "", out: str = "") -> Dict[str, object]:
    """One process of setup ``name``: ``{"fps", "threads", "wait_policy"}`` (``fps``: items per
    second; ``frames``: the items, i.e. frames, iterations or clips; ``data``/``out``: the training
    set and a scratch folder of the ``train`` setups)."""
    code = {**SETUPS, **WORK_SETUPS}[name]
    code = code.replace("FRAMES", str(int(frames))).replace("ITEMS", str(int(frames)))
    code = code.replace("__DATA__", repr(data)).replace("__OUT__", repr(os.path.join(out, name)))
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
    """Interleaved rounds of every setup beside ``busy`` spinning processes (see the module doc).

    ``frames``: tracked frames (tracking setups), training iterations or evaluated clips (``WORK_SETUPS``).
    """
    import tempfile

    from tqdm import tqdm

    names = list(setups or SETUPS)
    runs: Dict[str, List[Dict[str, object]]] = {n: [] for n in names}
    scratch = tempfile.TemporaryDirectory(prefix="pysot_entry_speed_")
    data = ""
    if any(n.startswith("train") for n in names):
        from pysot.datasets.synthetic import write_crop511_dataset

        data = os.path.join(scratch.name, "data")
        write_crop511_dataset(data, num_videos=4, num_frames=8, seed=1)
    loops = start_busy_loops(busy)
    started = time.time()
    try:
        with tqdm(total=rounds * len(names), desc="entry points", unit="run", disable=not progress) as bar:
            for r in range(rounds):
                order = names[r % len(names):] + names[:r % len(names)]  # each setup leads equally often
                for name in order:
                    runs[name].append(run_setup(name, frames, data=data, out=scratch.name))
                    bar.update(1)
    finally:
        stop_busy_loops(loops)
        scratch.cleanup()
    report: Dict[str, object] = {"rounds": rounds, "frames": frames, "busy_loops": busy,
                                 "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                 else os.cpu_count(),
                                 "seconds": time.time() - started, "setups": {}}
    for name in names:
        fps = [float(x["fps"]) for x in runs[name]]
        entry = {"fps_median": float(np.median(fps)), "fps": fps, "threads": runs[name][0]["threads"],
                 "wait_policy": runs[name][0]["wait_policy"]}
        before = BASELINES.get(name)
        if before in runs:
            entry["ratio_to_before_median"] = float(np.median(
                [a / b for a, b in zip(fps, (float(x["fps"]) for x in runs[before]))]))
        report["setups"][name] = entry  # type: ignore[index]
    return report


__all__ = ["BASELINE", "BASELINES", "SETUPS", "WORK_SETUPS", "entry_point_speed", "run_setup", "start_busy_loops", "stop_busy_loops"]
