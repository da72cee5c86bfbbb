"""One exception type for every user-facing failure, printed by the CLI as one line."""
from __future__ import annotations

from pathlib import Path


class KwsError(Exception):
    """A problem the user can fix; its message names the file and the reason."""


def bad_input(path: str | Path, reason: str) -> KwsError:
    return KwsError(f"{path}: {reason}")
