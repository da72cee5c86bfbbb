"""Where a command may write, checked before any work and held under a lock while it writes.

A command writes only into an absent path, an empty folder, or an artifact of its own kind that it
replaces on purpose (`--force`, or the next `--add-to` version). It never writes into, over or
around one of its inputs, and never deletes a file it did not write.

    with claim_artifact(out, "keyword_model", inputs={"--shots": shots}, force=False):
        ...  # train, then write through artifacts.staged_directory(out)
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Callable, Iterator, Mapping

from toolchain.artifacts import MANIFEST, artifact_files, directory_kind, recover_staging, sha256_file
from toolchain.errors import KwsError

# room for the siblings a write puts beside the output: ".NAME.staging.PID.RANDOM", ".NAME.lock"
_SIBLING_BYTES = len("..staging.4194304.") + 8
_LISTED = 5  # file names quoted in one error line


def check_path(path: Path, option: str = "--out") -> None:
    """Refuse, before any work, a path the file system could not create or we could not write."""
    path = Path(os.path.abspath(path))
    existing = path
    while not os.path.lexists(existing):
        existing = existing.parent
    if existing != path and not existing.is_dir():
        raise KwsError(f"{option} {path}: {existing} is a file, not a folder; choose another {option}")
    folder = path.parent if existing == path else existing
    name_max = os.pathconf(folder, "PC_NAME_MAX")
    path_max = os.pathconf(folder, "PC_PATH_MAX")
    created = path.relative_to(existing).parts if existing != path else ()
    for part in dict.fromkeys((*created, path.name)):
        if len(os.fsencode(part)) + _SIBLING_BYTES > name_max:
            raise KwsError(f"{option} {path}: the name {part[:40]}… is {len(os.fsencode(part))} bytes; this file system "
                           f"allows {name_max - _SIBLING_BYTES} here (with room for the staging copy); choose a shorter name")
    if len(os.fsencode(str(path))) + _SIBLING_BYTES >= path_max:
        raise KwsError(f"{option} {path}: the path is longer than this system allows ({path_max} bytes); choose a shorter one")
    for place in (folder, path) if path.is_dir() else (folder,):
        if not os.access(place, os.W_OK | os.X_OK):
            raise KwsError(f"{option} {path}: {place} is not writable (read-only or no permission); "
                           f"choose another {option} or fix its permissions")


def refuse_overlap(out: Path, inputs: Mapping[str, Path | None], option: str = "--out") -> None:
    """An output that is, contains or lies inside an input would overwrite or mix with it."""
    target = Path(os.path.realpath(out))
    for name, source in inputs.items():
        if source is None:
            continue
        source = Path(os.path.realpath(source))
        if target == source:
            relation = "is"
        elif source in target.parents:
            relation = "lies inside"
        elif target in source.parents:
            relation = "contains"
        else:
            continue
        raise KwsError(f"{option} {out}: {relation} the input {name} {source}; choose an {option} outside every input")


def _files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if not p.is_dir())


def _named(names: list[str]) -> str:
    more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
    return ", ".join(names[:_LISTED]) + more


def _foreign_files(directory: Path, manifest_name: str) -> list[str]:
    """Files in an artifact that it was not written with, or that changed since (where hashes are known);
    a folder holding none of the artifact's files is named once (`build/`), not file by file."""
    listed = artifact_files(directory, manifest_name)
    if listed is None:  # written before manifests listed their files: nothing to tell them apart by
        return []
    foreign = []
    for name in _files(directory):
        if name in listed and (listed[name] is None or sha256_file(directory / name) == listed[name]):
            continue
        parts = name.split("/")
        folders = ("/".join(parts[:depth]) + "/" for depth in range(1, len(parts)))
        name = next((f for f in folders if not any(own.startswith(f) for own in listed)), name)
        if name not in foreign:
            foreign.append(name)
    return foreign


@contextlib.contextmanager
def _lock(target: Path, option: str) -> Iterator[None]:
    """Hold `.NAME.lock` beside `target`; a second writer of the same path fails with one line."""
    fd = _try_lock(target)
    if fd is None:
        raise KwsError(f"{option} {target}: another kws run ({_holder(target)}) is writing it; "
                       f"wait for it to finish or choose another {option}")
    try:
        yield
    finally:
        _unlock(target, fd)


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def _try_lock(target: Path) -> int | None:
    """The locked descriptor, or None when another process holds it. Lock files are removed on
    release, so the inode is checked after locking (a racing release may have unlinked ours)."""
    path = _lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)


def _unlock(target: Path, fd: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_lock_path(target))
    os.close(fd)


def _holder(target: Path) -> str:
    try:
        return f"pid {int(_lock_path(target).read_text().strip())}"
    except (OSError, ValueError):
        return "pid unknown"


@contextlib.contextmanager
def claim_artifact(out: Path, kind: str, *, inputs: Mapping[str, Path | None] = {}, force: bool = False,
                   option: str = "--out", manifest_name: str = MANIFEST) -> Iterator[Path]:
    """Check `out` may become a `kind` artifact and hold its lock until the block ends.

    Allowed: an absent path, an empty folder, or (with `force`) an artifact of the same kind that
    holds nothing but its own files. Refused: a file, another kind, foreign files (named), an input.
    """
    out = Path(out)
    if not Path(os.path.abspath(out)).name or os.path.abspath(out) == os.getcwd():
        raise KwsError(f"{option} {str(out)!r}: names the current folder or the root; give the {kind} a folder of its own")
    check_path(out, option)
    refuse_overlap(out, inputs, option)
    with _lock(out, option):
        recover_staging(out)
        _check_artifact_target(out, kind, force, option, manifest_name)
        yield out


def _check_artifact_target(out: Path, kind: str, force: bool, option: str, manifest_name: str) -> None:
    if not os.path.lexists(out):
        return
    if out.is_symlink():
        raise KwsError(f"{option} {out}: is a symbolic link; give the folder itself or another {option}")
    if not out.is_dir():
        raise KwsError(f"{option} {out}: is a file; {option} names a folder for the {kind}; choose another {option}")
    present = _files(out)
    if not present:
        return
    found = directory_kind(out, manifest_name)
    if found is None:
        raise KwsError(f"{option} {out}: holds files that are not a {kind} ({_named(present)}); "
                       f"choose a new or empty folder")
    if found != kind:
        raise KwsError(f"{option} {out}: holds a {found!r} artifact, not a {kind!r}; choose another {option}")
    if not force:
        raise KwsError(f"{option} {out}: already holds a {kind}; add --force to replace it, or choose another {option}")
    foreign = _foreign_files(out, manifest_name)
    if foreign:
        raise KwsError(f"{option} {out}: holds files the {kind} did not write or that changed since ({_named(foreign)}); "
                       f"move them out before --force replaces it")


@contextlib.contextmanager
def claim_next_version(path_for: Callable[[int], Path], first: int, *, inputs: Mapping[str, Path | None] = {},
                       option: str = "--add-to") -> Iterator[tuple[int, Path]]:
    """Reserve the lowest version ≥ `first` whose folder neither exists nor is being written, and hold it.

    Two runs extending the same model at once get different versions; an existing version is never replaced.
    """
    version = first
    while True:
        out = path_for(version)
        if not os.path.lexists(out):
            check_path(out, option)
            refuse_overlap(out, inputs, option)
            fd = _try_lock(out)
            if fd is not None:
                if not os.path.lexists(out):
                    break
                _unlock(out, fd)
        version += 1
    try:
        recover_staging(out)
        yield version, out
    finally:
        _unlock(out, fd)


@contextlib.contextmanager
def claim_files(paths: list[Path], *, inputs: Mapping[str, Path | None] = {}, force: bool = False,
                option: str = "--out") -> Iterator[list[Path]]:
    """Files a command writes whole (an .npz, a report and its pictures): an existing one only with `force`."""
    paths = [Path(p) for p in paths]
    for path in paths:
        check_path(path, option)
        refuse_overlap(path, inputs, option)
    with _lock(paths[0], option):
        for path in paths:
            if path.is_dir():
                raise KwsError(f"{option} {paths[0]}: {path} is a folder; {option} names a file; choose another {option}")
        existing = [str(p) for p in paths if os.path.lexists(p)]
        if existing and not force:
            raise KwsError(f"{option} {paths[0]}: {_named(existing)} already exists; add --force to replace it, "
                           f"or choose another {option}")
        yield paths


@contextlib.contextmanager
def claim_folder(out: Path, *, inputs: Mapping[str, Path | None] = {}, force: bool = False, option: str = "--out",
                 own: Callable[[str], bool] | None = None) -> Iterator[Path]:
    """A folder a command writes its named files into, leaving anything else in it alone.

    Absent or empty: fine. Holding only files `own` recognises (a run to resume): fine. Anything
    else: only with `force`, because same-named files will be overwritten.
    """
    out = Path(out)
    check_path(out, option)
    refuse_overlap(out, inputs, option)
    with _lock(out, option):
        if os.path.lexists(out) and not out.is_dir():
            raise KwsError(f"{option} {out}: is a file; {option} names a folder; choose another {option}")
        present = _files(out) if out.is_dir() else []
        others = list(dict.fromkeys(name.split("/")[0] + ("/" if "/" in name else "")
                                    for name in present if own is None or not own(name)))
        if others and not force:
            raise KwsError(f"{option} {out}: the folder is not empty ({_named(others)}); add --force to write into it "
                           f"(same-named files are overwritten, nothing else is touched), or choose another {option}")
        yield out

