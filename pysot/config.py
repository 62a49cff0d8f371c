"""``from pysot.config import get_cfg`` — see :mod:`pysot.core.config`."""
from pysot.core.config import CN, ConfigError, get_cfg, load_cfg, merge_cfg_file

__all__ = ["CN", "ConfigError", "get_cfg", "load_cfg", "merge_cfg_file"]
