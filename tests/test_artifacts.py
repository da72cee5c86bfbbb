"""Atomic artifact writes: whole or not at all, with the permissions an ordinary write would give."""
from __future__ import annotations

import os
import stat

import pytest

from toolchain import artifacts
from toolchain.artifacts import read_manifest, staged_directory, write_bytes_atomic, write_json_atomic
from toolchain.errors import KwsError


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_atomic_writes_follow_the_umask_not_mkstemps_owner_only_mode(tmp_path, monkeypatch, umask, file_mode, dir_mode):
    monkeypatch.setattr(artifacts, "_UMASK", umask)  # read once at import; the process's umask is not touched here
    write_json_atomic(tmp_path / "a.json", {"kind": "x"})
    write_bytes_atomic(tmp_path / "b.bin", b"\x00\x01")
    with staged_directory(tmp_path / "artifact") as stage:
        (stage / "f.txt").write_text("hi")
    assert _mode(tmp_path / "a.json") == file_mode and _mode(tmp_path / "b.bin") == file_mode
    assert _mode(tmp_path / "artifact") == dir_mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "artifact", "b.bin"]  # no temp files left


def test_a_failed_stage_leaves_the_previous_artifact_whole(tmp_path):
    with staged_directory(tmp_path / "artifact") as stage:
        write_json_atomic(stage / "manifest.json", {"kind": "model", "version": 1})
    with pytest.raises(RuntimeError):
        with staged_directory(tmp_path / "artifact") as stage:
            write_json_atomic(stage / "manifest.json", {"kind": "model", "version": 2})
            raise RuntimeError("killed half-way")
    assert read_manifest(tmp_path / "artifact", "model")["version"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["artifact"]
    with pytest.raises(KwsError, match="not a directory"):
        read_manifest(tmp_path / "missing")
