"""One run at a time per results folder: ``<folder>/run.lock``.

Two ``tools/test.py`` runs (or two ``tools/hp_search.py`` searches) writing into one
folder at the same time would each skip the other's finished videos and leave a folder
mixed from two configs under one ``run.json``. :func:`folder_lock` takes an exclusive
``flock`` on ``run.lock`` for the duration of a run and writes who holds it (pid, host,
start time, command line), so a second run is refused with a line naming the first.

The kernel drops a ``flock`` when its process dies, however it dies (``kill -9``
included), so a lock file left by a killed run is taken over with a warning instead of
blocking the folder forever. Where ``fcntl`` is missing (Windows) the lock is the file
itself, created exclusively; a file whose pid is no longer running on this host is
taken as stale.
"""
from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from typing import Dict, Iterator, Optional

from pysot.utils.fileio import process_alive
from pysot.utils.log import get_logger

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = get_logger("toolkit.lock")

LOCK_FILE = "run.lock"


class FolderLockedError(OSError):
    """Another live run holds the folder; the message names it (pid, host, start, command)."""


def holder_record() -> Dict[str, object]:
    """What a lock file says about the run holding it."""
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "command": " ".join([os.path.basename(sys.executable)] + sys.argv)}


def describe_holder(record: Optional[Dict[str, object]]) -> str:
    if not record:
        return "a run that has not written its record yet"
    return (f"pid {record.get('pid')} on {record.get('host')} since {record.get('started')} "
            f"({record.get('command')})")


def _read_record(fd: int) -> Optional[Dict[str, object]]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 1 << 16)
        record = json.loads(data.decode("utf-8")) if data.strip() else None
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _acquire_flock(path: str) -> int:
    """The locked file's descriptor; -1 when the file system cannot lock (warned)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            record = _read_record(fd)
            os.close(fd)
            raise FolderLockedError(f"{os.path.dirname(path)} is in use by another run: {describe_holder(record)}; "
                                    "wait for it to finish, or write elsewhere (--tracker-name / --results-dir)") from None
        except OSError as e:  # a file system without flock (some network mounts): ENOLCK, ENOTSUP
            os.close(fd)
            logger.warning("%s: cannot lock this folder (%s); another run writing into it at the same time "
                           "would not be detected", os.path.dirname(path), e.strerror or e)
            return -1
        # Its previous holder removes the file as it releases it: a lock taken on the removed
        # file would not exclude a run that creates a new one. Retry on the current file.
        try:
            current = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            current = False
        if current:
            return fd
        os.close(fd)


def _acquire_exclusive_file(path: str) -> int:  # pragma: no cover - without fcntl
    while True:
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            fd = os.open(path, os.O_RDONLY)
            record = _read_record(fd)
            os.close(fd)
            if record and record.get("host") == socket.gethostname() and not process_alive(record.get("pid")):
                logger.warning("%s: removing the lock of a run that is no longer running (%s)", path,
                               describe_holder(record))
                os.remove(path)
                continue
            raise FolderLockedError(f"{os.path.dirname(path)} is in use by another run: {describe_holder(record)}; "
                                    f"wait for it to finish, or remove {path} if that run is gone") from None


@contextlib.contextmanager
def folder_lock(folder: str) -> Iterator[str]:
    """Hold ``<folder>/run.lock`` (the folder is created) for the block; yields the lock path.

    Raises :class:`FolderLockedError` at once, without waiting, when a live run holds it.
    """
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, LOCK_FILE)
    fd = _acquire_flock(path) if fcntl is not None else _acquire_exclusive_file(path)
    if fd < 0:  # not lockable here (said above): run unlocked
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.remove(path)
        return
    try:
        stale = _read_record(fd)
        if stale:
            logger.warning("%s: a run that was killed left its lock (%s); taking it over", folder,
                           describe_holder(stale))
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(holder_record()) + "\n").encode("utf-8"))
        yield path
    finally:
        # Removed while still held, so no other run ever locks a file about to disappear.
        with contextlib.suppress(OSError):
            os.remove(path)
        os.close(fd)  # releases the flock
