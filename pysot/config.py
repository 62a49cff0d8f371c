"""The public import path of the configuration: ``from pysot.config import get_cfg, load_cfg``.

The schema itself is defined in :mod:`pysot.core.config`, which stays importable
for code written against it; docs, examples, tools and tests use this path.
"""
from pysot.core.config import CN, Config, ConfigError, get_cfg, load_cfg, merge_cfg_file

__all__ = ["CN", "Config", "ConfigError", "get_cfg", "load_cfg", "merge_cfg_file"]
