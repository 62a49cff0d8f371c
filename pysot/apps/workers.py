"""``--workers`` of tools/test.py and tools/hp_search.py: a count, or ``auto`` (one per idle core).

Each worker is a spawned process tracking with one thread; the parent only hands out videos
(or settings) and waits. On N idle cores N workers run N times the frames of one (minus
their start-up: a process, torch's import and a model each). On a machine that other
people load, workers beyond the idle cores queue behind them, so ``auto`` counts the
cores that are idle now (:func:`pysot.utils.threads.free_cores`) and a count above that
is warned about. The default stays 1 worker: one process that uses every thread for each
frame, which needs no start-up and is the better choice on a few cores.
"""
from __future__ import annotations

from typing import Optional, Union

__all__ = ["workers_type", "resolve_workers"]


def workers_type(text: str) -> str:
    """argparse ``type`` of ``--workers``: kept as text; :func:`resolve_workers` checks it
    (so that a bad value is reported as one log line and exit 2, like the tools' other checks)."""
    return str(text)


def resolve_workers(value: Union[str, int], logger=None, jobs: Optional[int] = None) -> int:
    """The worker count for ``--workers value``: an integer >= 1, or ``auto``.

    ``auto``: one per idle core, at most ``jobs``. An explicit count above the idle cores is
    kept (the user chose it) but warned about. ``ValueError`` (one line naming
    ``--workers``) for anything else.
    """
    from pysot.utils.threads import auto_workers, free_cores

    text = str(value).strip()
    if text.lower() == "auto":
        workers = auto_workers(jobs)
        if logger is not None:
            logger.info("--workers auto: %d worker(s), one per idle core", workers)
        return workers
    try:
        workers = int(text)
    except ValueError:
        raise ValueError(f"--workers {text}: give a count >= 1 or 'auto'") from None
    if workers < 1:
        raise ValueError(f"--workers {text}: give at least 1")
    if workers > 1 and logger is not None:
        free = free_cores()
        if workers > free + 0.5:
            logger.warning("--workers %d but only %.1f core(s) are idle now: the extra workers wait for other "
                           "processes' cores (--workers auto picks the idle ones)", workers, free)
    return workers
