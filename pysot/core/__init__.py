from pysot.core.config import get_cfg, load_cfg  # noqa: F401
from pysot.core.registry import Registry  # noqa: F401
