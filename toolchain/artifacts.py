"""Artifacts are directories with a manifest.json; they appear whole or not at all."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from toolchain.errors import KwsError, bad_input

MANIFEST = "manifest.json"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # once, at import: setting the umask is process-wide


def _public_temp_file(directory: Path, name: str) -> tuple[int, str]:
    """mkstemp, but with the mode an ordinary open() would give (mkstemp makes it owner-only)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
    os.fchmod(fd, 0o666 & ~_UMASK)
    return fd, tmp


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temp file beside `path`, then rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _public_temp_file(path.parent, path.name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=False, ensure_ascii=False)
            handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _public_temp_file(path.parent, path.name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def staged_directory(final: Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temp directory that replaces `final` only if the block finishes.

    An exception or a kill leaves `final` exactly as it was (a stale `.staging` sibling at worst).
    """
    final = Path(final)
    if final.exists() and not overwrite:
        raise KwsError(f"{final}: already exists (choose another --out)")
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.staging.", dir=final.parent))
    staging.chmod(0o777 & ~_UMASK)
    try:
        yield staging
        if final.exists():
            backup = final.with_name(f".{final.name}.old.{os.getpid()}")
            os.replace(final, backup)
            os.replace(staging, final)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_manifest(directory: Path, expected_kind: str | None = None) -> dict:
    path = Path(directory) / MANIFEST
    if not Path(directory).is_dir():
        raise bad_input(directory, "not a directory")
    if not path.is_file():
        raise bad_input(directory, f"no {MANIFEST}: not an artifact written by this toolchain")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise bad_input(path, f"corrupt JSON ({exc.msg} at line {exc.lineno})") from exc
    if expected_kind and manifest.get("kind") != expected_kind:
        raise bad_input(directory, f"is a {manifest.get('kind')!r} artifact, expected {expected_kind!r}")
    return manifest
