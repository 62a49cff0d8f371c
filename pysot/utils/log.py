"""Concise coloured console logging shared by the library and the tools."""
from __future__ import annotations

import logging
import os
import sys
from typing import Optional

try:
    import colorama

    colorama.just_fix_windows_console()
    _COLORS = {
        logging.DEBUG: colorama.Style.DIM,
        logging.INFO: "",
        logging.WARNING: colorama.Fore.YELLOW,
        logging.ERROR: colorama.Fore.RED,
        logging.CRITICAL: colorama.Fore.RED + colorama.Style.BRIGHT,
    }
    _RESET = colorama.Style.RESET_ALL
    _DIM = colorama.Style.DIM
except ImportError:  # colour is a nicety, never a requirement
    _COLORS, _RESET, _DIM = {}, "", ""


class _Formatter(logging.Formatter):
    def __init__(self, color: bool) -> None:
        super().__init__()
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.exc_info:
            msg = msg + "\n" + self.formatException(record.exc_info)
        stamp = self.formatTime(record, "%H:%M:%S")
        level = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        if not self.color:
            return f"[{stamp} {record.name}] {level}{msg}"
        return f"{_DIM}[{stamp} {record.name}]{_RESET} {_COLORS.get(record.levelno, '')}{level}{msg}{_RESET}"


_configured = False


def get_logger(name: str = "pysot", level: Optional[int] = None) -> logging.Logger:
    """A logger under the ``pysot`` hierarchy; the first call installs one stderr handler.

    Colour is used only when stderr is a terminal and ``NO_COLOR`` is unset.
    """
    global _configured
    root = logging.getLogger("pysot")
    if not _configured:
        handler = logging.StreamHandler(sys.stderr)
        color = bool(_COLORS) and sys.stderr.isatty() and "NO_COLOR" not in os.environ
        handler.setFormatter(_Formatter(color))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False
        _configured = True
    logger = root if name == "pysot" else root.getChild(name.removeprefix("pysot."))
    if level is not None:
        logger.setLevel(level)
    return logger


def add_file_handler(path: str) -> logging.Handler:
    """Also write the ``pysot`` logs (uncoloured) to ``path``; used by the trainer.

    Returns the handler: give it to :func:`remove_file_handler` when the work is done, or
    a later run in the same process (a notebook, a test) would still write into this file.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(_Formatter(False))
    get_logger().addHandler(handler)
    return handler


def remove_file_handler(handler: logging.Handler) -> None:
    """Detach and close a handler :func:`add_file_handler` returned."""
    get_logger().removeHandler(handler)
    handler.close()
