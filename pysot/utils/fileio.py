"""Atomic file writes: a reader, or a resumed run, never sees half a file."""
from __future__ import annotations

import contextlib
import os
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "w", fsync: bool = False) -> Iterator[IO]:
    """Write ``path`` through a temporary sibling ``<path>.tmp<pid>``, moved onto ``path``
    (``os.replace``) when the block ends without an error.

    On an error the temporary file is removed and ``path`` keeps its previous
    content. The temporary name does not end like the final one, so a file left
    behind by a killed process is never taken for a result (``*.txt``) or a
    checkpoint. Text mode writes UTF-8; ``fsync`` flushes to disk before the move.
    """
    if "w" not in mode:
        raise ValueError(f"atomic_open({path!r}): mode must write, got {mode!r}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def check_path_component(name: str, what: str) -> str:
    """Return ``name`` if it can be used as one file or folder name, else raise ``ValueError``.

    A name read from a dataset json or typed as ``--tracker-name`` becomes part of a
    path under the results folder; a separator, ``..`` or an absolute path would put
    the file somewhere else (``../../escaped``, ``/tmp/x/owned``).
    """
    bad = (not isinstance(name, str) or name in ("", ".", "..") or "\0" in name
           or any(sep and sep in name for sep in ("/", "\\", os.sep, os.altsep)))
    if bad:
        raise ValueError(f"{what} {name!r}: not usable as a file name (empty, '.', '..', or containing a path "
                         "separator); result files stay inside the results folder")
    return name


def process_alive(pid: object) -> bool:
    """Whether a process ``pid`` runs on this machine (any user's): how a lock, staging folder or
    partial file left by a killed run is told from one whose writer still works."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # running, as another user
        return True
    return True
