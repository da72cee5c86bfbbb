"""Artifacts are directories with a manifest.json; they appear whole or not at all."""
from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import secrets
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


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the OS or file system lacks it."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _sibling_pattern(final: Path) -> re.Pattern:
    return re.compile(rf"^\.{re.escape(final.name)}\.(staging|old)\.(\d+)\.")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_staging(final: Path) -> None:
    """Tidy what killed runs left beside `final`: a backup whose replacement never arrived goes back
    into place; other staging and backup folders of dead processes are removed. Live ones are kept."""
    final = Path(final)
    if not final.parent.is_dir():
        return
    pattern = _sibling_pattern(final)
    for entry in sorted(final.parent.iterdir()):
        match = pattern.match(entry.name)
        if not match or _pid_alive(int(match.group(2))):
            continue
        if match.group(1) == "old" and not os.path.lexists(final):
            os.replace(entry, final)
        else:
            shutil.rmtree(entry, ignore_errors=True)


def directory_kind(directory: Path, manifest_name: str = MANIFEST) -> str | None:
    """The `kind` of the artifact in `directory`, or None when it holds no readable manifest."""
    try:
        manifest = json.loads((Path(directory) / manifest_name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest.get("kind") if isinstance(manifest, dict) else None


def artifact_files(directory: Path, manifest_name: str = MANIFEST) -> dict[str, str | None] | None:
    """The files the artifact in `directory` was written with (relative path → sha256 where known),
    or None for an artifact from before manifests listed them."""
    try:
        listed = json.loads((Path(directory) / manifest_name).read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(listed, dict):
        return {**listed, manifest_name: None}
    if isinstance(listed, list):
        return {name: None for name in listed} | {manifest_name: None}
    return None


def _list_files(stage: Path, manifest_name: str) -> None:
    """Record every file of the artifact in its manifest, so a later `--force` can tell them from a user's.

    A list copied from a parent's manifest is replaced; a dict of hashes the writer made itself is kept.
    """
    path = stage / manifest_name
    if not path.is_file():
        return
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(manifest, dict) and not isinstance(manifest.get("files"), dict):
        names = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
        write_json_atomic(path, {**manifest, "files": names})


def _replace_directory(staging: Path, final: Path) -> None:
    """Put `staging` at `final`; at no instant is `final` missing when it existed before."""
    if not os.path.lexists(final):
        os.replace(staging, final)
        return
    if final.is_symlink() or not final.is_dir():
        raise KwsError(f"{final}: is a file, not a folder; it was left as it was (choose another --out)")
    if _exchange(staging, final):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the previous version
        return
    # No atomic exchange here: a kill between the two renames leaves the backup, which
    # recover_staging puts back on the next run that writes `final`.
    backup = final.with_name(f".{final.name}.old.{os.getpid()}.{secrets.token_hex(4)}")
    os.replace(final, backup)
    os.replace(staging, final)
    shutil.rmtree(backup, ignore_errors=True)


@contextlib.contextmanager
def staged_directory(final: Path, overwrite: bool = True, manifest_name: str = MANIFEST) -> Iterator[Path]:
    """Yield a temp directory that replaces `final` only if the block finishes.

    An exception or a kill leaves `final` exactly as it was (a stale sibling at worst, removed by the
    next run). A `final` that holds another kind of artifact, or no artifact at all, is never replaced:
    callers check that before their work (toolchain.outputs); this is the last line.
    """
    final = Path(final)
    if final.exists() and not overwrite:
        raise KwsError(f"{final}: already exists (choose another --out)")
    final.parent.mkdir(parents=True, exist_ok=True)
    recover_staging(final)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.staging.{os.getpid()}.", dir=final.parent))
    staging.chmod(0o777 & ~_UMASK)
    try:
        yield staging
        _list_files(staging, manifest_name)
        if final.is_dir() and any(final.iterdir()):
            found, made = directory_kind(final, manifest_name), directory_kind(staging, manifest_name)
            if found is None or found != made:
                raise KwsError(f"{final}: holds {'a ' + repr(found) if found else 'files that are not an artifact'}, "
                               f"not a {made!r}; it was left as it was (choose another --out)")
        _replace_directory(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def load_keras_model(path: Path, remedy: str):
    """An artifact's .keras file; a damaged one is a one-line error naming it and `remedy`.

    Keras reports a truncated archive as anything from BadZipFile to "File not found", so every
    failure to load is caught here, and only here.
    """
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise bad_input(path, f"cannot load the Keras model ({type(exc).__name__}); the file is damaged or truncated: {remedy}") from exc


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
    except UnicodeDecodeError as exc:
        raise bad_input(path, "not text: restore the artifact or write it again") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("kind"), str):
        raise bad_input(path, "not a manifest (a JSON object with a \"kind\"): not an artifact written by this toolchain")
    if expected_kind and manifest["kind"] != expected_kind:
        raise bad_input(directory, f"is a {manifest['kind']!r} artifact, expected {expected_kind!r}")
    return manifest


def read_cache_entry(path: Path, shape: tuple[int, ...], dtype) -> "np.ndarray | None":
    """A cached array, or None when it is missing or damaged (truncated, wrong shape or type):
    a cache entry is recomputed and rewritten, never trusted and never a reason to fail."""
    import numpy as np

    try:
        value = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if value.shape != tuple(shape) or value.dtype != np.dtype(dtype):
        return None
    return value
