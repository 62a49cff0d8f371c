"""CPU thread defaults for the tracking tools that do not collapse on a shared machine.

Why: torch's pip wheels run their CPU kernels on GNU OpenMP (libgomp). By
default a libgomp thread that reaches the end of a parallel region *spins*
(busy-waits) for its partners. Tracking one frame runs hundreds of small
parallel regions (every convolution and element-wise op of a batch-1 crop).
When other processes hold the cores, the partner thread is often descheduled
for a whole scheduler time slice, and the spinning thread burns the very
CPU share it would need: on a busy 2-core machine the demo ran at 1.8 fps
(26-28 fps with one thread; issue #13), and at 1 fps beside two busy loops.

The tools therefore make idle OpenMP threads sleep instead of spin
(``OMP_WAIT_POLICY=PASSIVE``, unless the variable is set; libgomp reads it
when torch is first imported, so :func:`configure_threads` must run before
that) and keep one thread per usable core: on a busy machine the scheduler
shares the cores per thread, so fewer threads only lower our share (measured:
2 passive threads tracked 2-4x faster than 1 beside other work; docs/speed.md).
``--threads N`` or ``OMP_NUM_THREADS`` choose the count.

The library's own entry points (``build_tracker``, the toolkit runner, training) call
:func:`use_default_threads`, so a notebook gets the same behaviour without knowing about
OpenMP: ``import pysot`` sets ``OMP_WAIT_POLICY=PASSIVE`` (unless set) when torch is not
imported yet; where torch came first with spinning threads, tracking runs on one thread,
which never waits for a partner (see :func:`use_default_threads`).
"""
from __future__ import annotations

import os
import sys
from typing import Optional

_state = {"chosen": False, "late_policy": False}  # threads chosen (by anyone's call here); policy set after torch


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def configure_threads(threads: Optional[int] = None) -> int:
    """Set the wait policy (if unset) and torch's intra-op threads; returns the thread count.

    ``threads``: explicit count (``--threads``); ``None``: ``OMP_NUM_THREADS`` when set,
    else :func:`usable_cores`.
    """
    if threads is not None and threads < 1:
        raise ValueError(f"--threads {threads}: give at least 1")
    if "OMP_WAIT_POLICY" not in os.environ:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        _state["late_policy"] = "torch" in sys.modules  # libgomp read the policy when torch was imported
    _state["chosen"] = True
    import torch

    if threads is None:
        if os.environ.get("OMP_NUM_THREADS", "").strip():
            return torch.get_num_threads()  # the user's choice, already applied by the runtime
        threads = usable_cores()
    torch.set_num_threads(threads)
    return threads


def passive_wait_in_effect() -> bool:
    """Whether torch's OpenMP threads sleep when idle: ``OMP_WAIT_POLICY=PASSIVE`` was set
    before torch was imported (by the user, ``import pysot`` or :func:`configure_threads`)."""
    return os.environ.get("OMP_WAIT_POLICY", "").strip().upper() == "PASSIVE" and not _state["late_policy"]


def use_default_threads() -> int:
    """The fast thread behaviour for the library's entry points; returns the thread count.

    Once per process, and never over a choice already made (``OMP_NUM_THREADS``,
    :func:`configure_threads` / ``--threads``): with passive waiting in effect (the usual case:
    ``import pysot`` came before torch), :func:`configure_threads`' one thread per usable core;
    where torch was imported first with OpenMP's default spinning, one thread: spinning
    partners collapse throughput on a busy machine (NanoTrack V2: 2.8-3.5 fps instead of 37-83
    beside other work, issue 18), and a single thread never waits for one.
    """
    if "torch" not in sys.modules or (not _state["chosen"] and passive_wait_in_effect()
                                      and not os.environ.get("OMP_NUM_THREADS", "").strip()):
        return configure_threads()
    import torch

    if _state["chosen"] or os.environ.get("OMP_NUM_THREADS", "").strip():
        return torch.get_num_threads()
    _state["chosen"] = True
    torch.set_num_threads(1)
    from pysot.utils.log import get_logger

    get_logger("pysot.threads").info(
        "torch was imported before pysot, with OpenMP threads that spin: tracking on 1 CPU thread (import "
        "pysot before torch, or set OMP_WAIT_POLICY=PASSIVE, to use %d; docs/speed.md)", usable_cores())
    return 1


def _cpu_times(cpus) -> dict:
    """``{cpu: (idle, total)}`` jiffies of the given CPUs from ``/proc/stat`` (Linux)."""
    out = {}
    with open("/proc/stat", "r", encoding="ascii") as f:
        for line in f:
            name, _, rest = line.partition(" ")
            if not name.startswith("cpu") or name == "cpu":
                continue
            index = int(name[3:])
            if index in cpus:
                values = [int(v) for v in rest.split()]
                idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
                out[index] = (idle, sum(values[:8]))
    return out


def free_cores(sample_seconds: float = 0.3) -> float:
    """How many of this process's usable cores are idle now (0 .. :func:`usable_cores`).

    Linux: the idle share of each CPU in this process's affinity over ``sample_seconds``
    (``/proc/stat``), summed. Elsewhere: usable cores minus the 1-minute load average.
    Worker counts are chosen from this (``--workers auto``): on a machine other people
    load, one worker per *free* core is the most that can run without queueing behind them.
    """
    import time

    usable = usable_cores()
    try:
        cpus = os.sched_getaffinity(0)
        before = _cpu_times(cpus)
        time.sleep(sample_seconds)
        after = _cpu_times(cpus)
        idle = 0.0
        for cpu, (idle1, total1) in after.items():
            idle0, total0 = before.get(cpu, (idle1, total1))
            if total1 > total0:
                idle += (idle1 - idle0) / (total1 - total0)
        if after:
            return max(0.0, min(float(usable), idle))
    except (AttributeError, OSError, ValueError, IndexError):
        pass
    try:
        return max(0.0, usable - os.getloadavg()[0])
    except (AttributeError, OSError):
        return float(usable)


def auto_workers(jobs: Optional[int] = None, sample_seconds: float = 0.3) -> int:
    """Worker processes for ``--workers auto``: one per free core (rounded, at least 1),
    and no more than ``jobs`` (videos or settings) when given."""
    workers = max(1, int(free_cores(sample_seconds) + 0.5))
    return min(workers, jobs) if jobs else workers


def loader_workers(configured: int, processes: int = 1) -> int:
    """DataLoader workers for ``TRAIN.NUM_WORKERS``: ``-1`` (the default) shares the usable cores
    among the ``processes`` training processes of this machine (at least 1 each), so the data
    pipeline gets what the machine has; ``0`` loads in the training process; ``n > 0`` is kept,
    but never above that share: the release YAMLs ask for 8 on any machine, and more loader
    processes than cores only contend (torch warns about it)."""
    share = max(1, usable_cores() // max(1, int(processes)))
    if int(configured) < 0:
        return share
    workers = min(int(configured), share)
    if workers < int(configured) and (int(configured), workers) not in _SAID_WORKERS:
        _SAID_WORKERS.add((int(configured), workers))  # once, not every epoch
        from pysot.utils.log import get_logger

        get_logger("pysot.threads").info("TRAIN.NUM_WORKERS %d: %d DataLoader workers (the usable CPU cores)",
                                         int(configured), workers)
    return workers


_SAID_WORKERS: set = set()
