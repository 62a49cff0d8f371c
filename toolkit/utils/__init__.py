"""Overlaps (:mod:`.region`) and tolerant result-file I/O (:mod:`.results`)."""
