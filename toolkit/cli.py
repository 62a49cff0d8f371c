"""What the command-line tools share: one-line error reports and a clean Ctrl-C.

A bad path, a malformed result file, an unknown config key or benchmark name is
the user's to fix, and its message already names the file, line or argument;
a traceback would only bury it. :func:`run_main` prints such errors as one
``error:`` line and returns exit code 2; Ctrl-C returns 130 after a short note.
"""
from __future__ import annotations

import logging
import signal
from typing import Callable

#: Exceptions whose message is the report: our own errors derive from these
#: (ConfigError, DatasetError, ResultFormatError, VideoSourceError: ValueError;
#: RegistryError, CheckpointMismatchError: KeyError; CheckpointError: RuntimeError),
#: and so do a missing file (OSError) and "no CUDA GPU" (RuntimeError).
USER_ERRORS = (OSError, ValueError, KeyError, RuntimeError)

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130  # the shell's code for a SIGINT


def error_text(error: BaseException) -> str:
    """The message of ``error``; a ``KeyError``'s without the quotes ``str()`` adds."""
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    return str(error) or type(error).__name__


def run_main(main: Callable[[], int], logger: logging.Logger, interrupted: str = "interrupted") -> int:
    """``main()``'s exit code; a user error is logged as one line (exit 2), Ctrl-C as ``interrupted`` (130)."""
    try:
        return main()
    except USER_ERRORS as e:
        logger.error(error_text(e))
        return EXIT_ERROR
    except KeyboardInterrupt:
        logger.warning(interrupted)
        return EXIT_INTERRUPTED


def ignore_sigint_in_worker() -> None:
    """Pool initializer: Ctrl-C reaches the whole process group, but only the parent should
    handle it (it terminates the pool); workers would each print a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

