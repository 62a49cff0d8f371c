"""Building one registered component from its config section (``TYPE`` + ``KWARGS``).

Shared by every model kind (:mod:`pysot.models.model_builder`'s Siamese models and
:mod:`pysot.models.one_stream`), so that neither imports the other for it.
"""
from __future__ import annotations

import inspect
from typing import Optional

import torch.nn as nn

from pysot.config import CN, ConfigError
from pysot.core.registry import Registry, RegistryError


def build_component(registry: Registry, node: CN, key: str, source: str, anchor_num: Optional[int] = None) -> nn.Module:
    """``registry.build(node.TYPE, node.KWARGS)`` with errors naming the file and key: one config
    section (``BACKBONE``, ``RPN``, ``CENTER``...) made into its component, for every model kind."""
    prefix = f"{source}: " if source else ""
    try:
        component = registry.get(node.TYPE)
    except RegistryError as e:
        raise ConfigError(f"{prefix}{key}.TYPE: {e}") from None
    kwargs = dict(node.KWARGS)
    if anchor_num is not None and "anchor_num" in inspect.signature(component).parameters:
        # The anchor count follows RATIOS x SCALES; a YAML value must agree with it.
        given = kwargs.setdefault("anchor_num", anchor_num)
        if given != anchor_num:
            raise ConfigError(
                f"{prefix}{key}.KWARGS.anchor_num is {given} but ANCHOR.RATIOS x ANCHOR.SCALES "
                f"gives {anchor_num} anchors"
            )
    where = f"{prefix}{key}.KWARGS"
    try:
        return registry.build(node.TYPE, kwargs, where=where)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        message = str(e)
        raise ConfigError(message if message.startswith(where) else f"{where} ({node.TYPE}): {message}") from None
