"""Argument parsing the command-line tools share: one spelling of the config and its overrides.

Every tool that reads an experiment accepts both spellings the tools grew:

* ``--cfg X.yaml`` or ``--config X.yaml`` (the same option);
* ``KEY VALUE`` overrides after ``--opts`` (``train.py``'s spelling) and/or as
  trailing positional words (``demo.py``/``test.py``'s); both may be mixed and
  flags may follow them (``--opts TRACK.LR 0.3 --device cpu``).

:func:`add_config_arguments` adds the options, :func:`parse_tool_args` parses
and merges the overrides into ``args.opts`` (a flat ``[KEY, VALUE, ...]`` list).
"""
from __future__ import annotations

import argparse
import re
from typing import List, Optional, Sequence, Tuple

#: What a config override key looks like (TRACK.LR, DATASET.SEARCH.SHIFT): used to tell
#: overrides from the values of a multi-value option typed just before them.
CONFIG_KEY = re.compile(r"^[A-Z][A-Z0-9_]*\.[A-Z0-9_.]+$")


def add_config_arguments(parser: argparse.ArgumentParser, required: bool = True,
                         config_help: str = "experiment YAML") -> None:
    """``--cfg/--config`` (dest ``config``), ``--opts KEY VALUE ...`` and positional ``KEY VALUE ...``."""
    parser.add_argument("--config", "--cfg", dest="config", required=required, default=None, help=config_help)
    parser.add_argument("--opts", dest="opts_flag", nargs="*", action="extend", default=[], metavar="KEY VALUE",
                        help="config overrides (may also be given without --opts, after the other arguments)")
    parser.add_argument("opts", nargs="*", default=[], metavar="KEY VALUE", help="config overrides")


def add_fast_arguments(parser: argparse.ArgumentParser) -> None:
    """``--fast`` / ``--no-fast`` (dest ``fast``: ``None`` = the config's ``TRACK.FAST``, on by default)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--fast", dest="fast", action="store_true", default=None,
                       help="inference fast path (BN folding, fused ops; docs/speed.md); on the CPU it is the "
                            "default, this also turns it on for CUDA")
    group.add_argument("--no-fast", dest="fast", action="store_false",
                       help="track with the plain model (same as TRACK.FAST False)")


def add_precision_argument(parser: argparse.ArgumentParser) -> None:
    """``--precision float32|bf16`` (dest ``precision``), the same as the override ``TRACK.PRECISION``."""
    parser.add_argument("--precision", choices=["float32", "bf16"], default=None,
                        help="network arithmetic (default: the config's TRACK.PRECISION, float32); bf16 is opt-in, "
                             "faster where the arithmetic dominates, not parity-exact (docs/speed.md)")


def precision_overrides(args: argparse.Namespace) -> list:
    """``args.opts`` with ``--precision`` appended as ``TRACK.PRECISION`` (recorded with the run)."""
    opts = list(getattr(args, "opts", None) or [])
    if getattr(args, "precision", None):
        opts += ["TRACK.PRECISION", args.precision]
    return opts


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    """``--threads N`` (dest ``threads``); see :mod:`pysot.utils.threads` for the default."""
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="torch CPU threads (default: OMP_NUM_THREADS, else one per usable core; idle "
                             "threads sleep instead of spinning: OMP_WAIT_POLICY=PASSIVE; docs/speed.md)")


def parse_tool_args(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]] = None,
                    split_from: Sequence[str] = ()) -> argparse.Namespace:
    """Parse ``argv`` (flags may follow overrides) and merge ``--opts`` and positional overrides.

    ``split_from`` names multi-value options (dest names) whose values may run into
    the overrides (``--video ball1 TRACK.LR 0.3``): from the first ``KEY``-looking
    value on, the rest moves to the overrides.
    """
    args = parser.parse_intermixed_args(None if argv is None else list(argv))
    opts = list(getattr(args, "opts_flag", None) or []) + list(args.opts or [])
    for dest in split_from:
        values, moved = split_overrides(getattr(args, dest))
        if moved:
            if not values:
                parser.error(f"--{dest.replace('_', '-')} needs at least one value before the overrides")
            setattr(args, dest, values)
            opts += moved
    args.opts = opts
    if hasattr(args, "opts_flag"):
        del args.opts_flag
    return args


def split_overrides(values: Optional[List[str]]) -> Tuple[Optional[List[str]], List[str]]:
    """``(values before the first KEY, the KEY VALUE words from there on)``."""
    first_key = next((i for i, v in enumerate(values or []) if CONFIG_KEY.match(v)), None)
    if first_key is None:
        return values, []
    return values[:first_key], values[first_key:]
