"""Corpus readers: every source becomes the same list of ClipRecord."""
from toolchain.corpus.records import ClipRecord, ScanResult

__all__ = ["ClipRecord", "ScanResult"]
