"""Name -> class registries that turn YAML ``TYPE`` strings into components.

Contract for members: a registered object is a callable (usually a class)
that is constructed from plain keyword arguments only. It never reads a
global configuration; the builders in ``pysot.models`` / ``pysot.tracker``
map a config node onto those keyword arguments.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, Iterator, Optional


class RegistryError(KeyError):
    """Unknown or duplicate name in a :class:`Registry`."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class Registry:
    """A mapping ``name -> object`` filled with the :meth:`register` decorator.

    >>> BACKBONES = Registry("backbones")
    >>> @BACKBONES.register()
    ... class TinyNet: ...
    >>> BACKBONES.get("TinyNet")
    <class 'pysot.core.registry.TinyNet'>

    Lookups are exact first, then case-insensitive, so the lower-case names of
    the original PySOT YAMLs (``resnet50``) and CamelCase class names both work.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: Dict[str, Any] = {}

    def register(self, name: Optional[str] = None, *aliases: str) -> Callable[[Any], Any]:
        """Decorator registering an object under ``name`` (default: its ``__name__``)."""

        def deco(obj: Any) -> Any:
            for key in (name or obj.__name__, *aliases):
                self._add(key, obj)
            return obj

        return deco

    def _add(self, key: str, obj: Any) -> None:
        if key in self._entries:
            raise RegistryError(
                f"'{key}' is already registered in the {self.name} registry "
                f"(as {self._entries[key]!r}); pick another name"
            )
        self._entries[key] = obj

    def get(self, name: str) -> Any:
        if name in self._entries:
            return self._entries[name]
        lowered = {k.lower(): v for k, v in self._entries.items()}
        if isinstance(name, str) and name.lower() in lowered:
            return lowered[name.lower()]
        known = ", ".join(sorted(self._entries)) or "(none)"
        raise RegistryError(f"no '{name}' in the {self.name} registry; registered: {known}")

    def build(self, name: str, kwargs: Optional[Dict[str, Any]] = None, where: str = "") -> Any:
        """Look ``name`` up and call it with ``kwargs``.

        ``where`` names the config key (and file) the values came from, so a
        wrong keyword is reported against the YAML rather than deep in a class.
        """
        obj = self.get(name)
        kwargs = dict(kwargs or {})
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            sig = None
        if sig is not None:
            params = sig.parameters.values()
            if not any(p.kind is p.VAR_KEYWORD for p in params):
                accepted = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
                unknown = sorted(set(kwargs) - set(accepted))
                if unknown:
                    raise TypeError(
                        f"{where or self.name}: {name} does not take {', '.join(unknown)}; "
                        f"it accepts: {', '.join(accepted) or '(nothing)'}"
                    )
        return obj(**kwargs)

    def __contains__(self, name: str) -> bool:
        try:
            self.get(name)
        except RegistryError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.name!r}, {sorted(self._entries)})"


BACKBONES = Registry("backbones")
NECKS = Registry("necks")
HEADS = Registry("heads")  # RPN heads and the SiamFC correlation head (cfg.RPN.TYPE)
MASK_HEADS = Registry("mask heads")  # cfg.MASK.TYPE
REFINE_HEADS = Registry("refine heads")  # cfg.REFINE.TYPE
TRACKERS = Registry("trackers")  # cfg.TRACK.TYPE
DATASETS = Registry("datasets")  # benchmark loaders of toolkit.datasets
