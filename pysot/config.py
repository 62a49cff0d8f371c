"""The public import path of the configuration: ``from pysot.config import get_cfg, load_cfg``.

The schema itself is defined in :mod:`pysot.core.config`, which stays importable
for code written against it; docs, examples, tools and tests use this path.
"""
from __future__ import annotations

import os
import tempfile
from typing import Optional

from pysot.core.config import CN, Config, ConfigError, get_cfg, load_cfg, merge_cfg_file

__all__ = ["CN", "Config", "ConfigError", "get_cfg", "load_cfg", "load_cfg_from_checkpoint", "merge_cfg_file"]


def load_cfg_from_checkpoint(path: str, opts: Optional[list] = None) -> CN:
    """The config a checkpoint stores (its ``"config"`` YAML text) + ``KEY VALUE`` overrides.

    Training checkpoints, :func:`~pysot.utils.checkpoint.export_for_inference` files and
    converted DaSiamRPN models store it; an original PySOT model-zoo file does not
    (:class:`ConfigError` then says to pass the experiment YAML).
    """
    from pysot.utils.checkpoint import load_checkpoint

    text = load_checkpoint(path).get("config")
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{path}: the checkpoint stores no config; pass the experiment YAML "
                          "(--config experiments/<name>/config.yaml)")
    # Through a file so the stored text gets exactly the checks and _BASE_-free merge of a YAML.
    fd, tmp = tempfile.mkstemp(suffix=".yaml", prefix="pysot_stored_cfg_")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        try:
            cfg = load_cfg(tmp, opts)
        except ConfigError as e:
            raise ConfigError(str(e).replace(tmp, f"{path} (stored config)")) from None
    finally:
        os.unlink(tmp)
    cfg.CONFIG_FILE = f"{path} (stored config)"
    return cfg
