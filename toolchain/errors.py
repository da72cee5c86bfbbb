"""One exception type for every user-facing failure, printed by the CLI as one line."""
from __future__ import annotations

import errno
from pathlib import Path


class KwsError(Exception):
    """A problem the user can fix; its message names the file and the reason."""


def bad_input(path: str | Path, reason: str) -> KwsError:
    return KwsError(f"{path}: {reason}")


_OS_FIXES = {
    errno.EACCES: "no permission; choose another location or fix its permissions",
    errno.EPERM: "operation not permitted; choose another location or fix its permissions",
    errno.EROFS: "read-only file system; choose a writable location",
    errno.ENOSPC: "no space left on the device; free some space or choose another location",
    errno.EDQUOT: "disk quota exceeded; free some space or choose another location",
    errno.ENAMETOOLONG: "file name too long; choose a shorter name",
    errno.ENOENT: "not found; check the path",
    errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
    errno.EISDIR: "is a folder where a file was expected; check the path",
}


def os_error_line(exc: OSError) -> str:
    """An OS failure as one line naming the path and what to do about it."""
    where = f"{exc.filename}: " if exc.filename else ""
    return where + _OS_FIXES.get(exc.errno, exc.strerror or str(exc) or type(exc).__name__)
