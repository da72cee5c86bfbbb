"""Outputs are sacred: where a command may write, its lock, and atomic replacement that never loses `--out`."""
from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from toolchain import artifacts
from toolchain.artifacts import read_manifest, recover_staging, staged_directory, write_json_atomic
from toolchain.errors import KwsError
from toolchain.outputs import claim_artifact, claim_files, claim_folder, claim_next_version


def _artifact(path: Path, kind: str = "model", version: int = 1) -> Path:
    with staged_directory(path) as stage:
        (stage / "weights.bin").write_bytes(b"\x01" * 8)
        write_json_atomic(stage / "manifest.json", {"kind": kind, "version": version})
    return path


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_an_absent_or_empty_out_is_claimed_and_an_existing_artifact_needs_force(tmp_path):
    with claim_artifact(tmp_path / "new", "model"):
        pass
    (tmp_path / "empty").mkdir()
    with claim_artifact(tmp_path / "empty", "model"):
        pass
    old = _artifact(tmp_path / "old")
    with pytest.raises(KwsError, match="already holds a model; add --force"):
        with claim_artifact(old, "model"):
            pass
    with claim_artifact(old, "model", force=True):
        _artifact(old, version=2)
    assert read_manifest(old, "model")["version"] == 2
    assert read_manifest(old)["files"] == ["manifest.json", "weights.bin"]  # what a later --force may replace


def test_the_file_list_is_the_artifacts_own_even_when_its_manifest_was_copied_from_a_parent(tmp_path):
    parent = _artifact(tmp_path / "parent")
    with staged_directory(tmp_path / "child") as stage:
        (stage / "model.tflite").write_bytes(b"\x02")
        write_json_atomic(stage / "manifest.json", {**read_manifest(parent), "kind": "converted"})
    assert read_manifest(tmp_path / "child")["files"] == ["manifest.json", "model.tflite"]
    with claim_artifact(tmp_path / "child", "converted", force=True):  # nothing looks foreign
        pass


@pytest.mark.parametrize("case", ["document", "other kind", "added file", "build folder", "a file"])
def test_what_is_not_the_artifact_is_refused_even_with_force_and_left_alone(tmp_path, case):
    out = tmp_path / "out"
    if case == "document":
        out.mkdir()
        (out / "thesis.tex").write_text("precious")
        message = r"holds files that are not a model \(thesis.tex\)"
    elif case == "other kind":
        _artifact(out, kind="embedding")
        message = "holds a 'embedding' artifact, not a 'model'"
    elif case == "added file":
        _artifact(out)
        (out / "notes.txt").write_text("precious")
        message = r"changed since \(notes.txt\)"
    elif case == "build folder":
        _artifact(out)
        for k in range(7):
            (out / "build" / "obj").mkdir(parents=True, exist_ok=True)
            (out / "build" / "obj" / f"{k}.o").write_bytes(b"\x7fELF")
        message = r"changed since \(build/\);"
    else:
        out.write_text("precious")
        message = "is a file"
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(KwsError, match=message):
        with claim_artifact(out, "model", force=True):
            pytest.fail("the claim must refuse before the block runs")
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("where", ["is", "inside", "contains"])
def test_an_out_that_is_inside_or_around_an_input_is_refused(tmp_path, where):
    shots = tmp_path / "shots"
    shots.mkdir()
    (shots / "a.wav").write_bytes(b"RIFF")
    out = {"is": shots, "inside": shots / "model", "contains": tmp_path}[where]
    with pytest.raises(KwsError, match=f"--out {out}: {dict(inside='lies inside', contains='contains').get(where, where)} "
                                       f"the input --shots"):
        with claim_artifact(out, "model", inputs={"--shots": shots}):
            pass
    assert (shots / "a.wav").read_bytes() == b"RIFF"


@pytest.mark.parametrize("out", ["", ".", "/"])
def test_an_artifact_never_replaces_the_current_folder_or_the_root(tmp_path, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(KwsError, match="names the current folder or the root"):
        with claim_artifact(Path(out), "model"):
            pass


def test_a_name_the_file_system_cannot_hold_is_refused_before_work(tmp_path):
    with pytest.raises(KwsError, match="choose a shorter name"):
        with claim_artifact(tmp_path / ("k" * 250), "model"):
            pass
    with pytest.raises(KwsError, match="is a file, not a folder"):
        (tmp_path / "f").write_text("x")
        with claim_artifact(tmp_path / "f" / "out", "model"):
            pass


def _hold(target: str, ready, release) -> None:
    with claim_artifact(Path(target), "model"):
        ready.set()
        release.wait(30)


def test_a_second_writer_of_the_same_out_fails_clearly_while_the_first_holds_it(tmp_path):
    context = multiprocessing.get_context("fork")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(str(tmp_path / "out"), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(KwsError, match=f"another kws run \\(pid {holder.pid}\\) is writing it"):
            with claim_artifact(tmp_path / "out", "model"):
                pass
    finally:
        release.set()
        holder.join(30)
    with claim_artifact(tmp_path / "out", "model"):  # released: free again, and no lock file left behind
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def _reserve(base: str, results, ready, release) -> None:
    with claim_next_version(lambda v: Path(f"{base}-v{v}"), 2) as (version, out):
        _artifact(out, version=version)
        results.put(version)
        ready.set()
        release.wait(30)


def test_concurrent_new_versions_get_distinct_numbers_and_an_existing_one_is_skipped(tmp_path):
    context = multiprocessing.get_context("fork")
    results, ready, release = context.Queue(), context.Event(), context.Event()
    base = str(tmp_path / "kw")
    first = context.Process(target=_reserve, args=(base, results, ready, release))
    first.start()
    assert ready.wait(30)  # the first holds v2 (and has written it) while the second reserves
    with claim_next_version(lambda v: Path(f"{base}-v{v}"), 2) as (version, out):
        assert version == 3 and out == tmp_path / "kw-v3"
    release.set()
    first.join(30)
    assert results.get(timeout=5) == 2
    with claim_next_version(lambda v: Path(f"{base}-v{v}"), 2) as (version, _):
        assert version == 3  # v2 exists and is never replaced; v3 was only reserved, never written


def test_stale_staging_of_dead_runs_is_removed_and_a_lost_final_is_restored(tmp_path):
    final = _artifact(tmp_path / "art")
    dead, alive = _dead_pid(), os.getpid()
    (tmp_path / f".art.staging.{dead}.abcd").mkdir()
    (tmp_path / f".art.staging.{alive}.efgh").mkdir()
    recover_staging(final)
    assert not (tmp_path / f".art.staging.{dead}.abcd").exists() and (tmp_path / f".art.staging.{alive}.efgh").exists()
    # A run killed between the two renames of the fallback path: the backup exists, `final` does not.
    os.rename(final, tmp_path / f".art.old.{dead}.1234")
    recover_staging(final)
    assert read_manifest(final, "model")["version"] == 1


def test_replacing_an_artifact_never_leaves_out_missing(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    if not artifacts._exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("no renameat2 RENAME_EXCHANGE on this system: the backup path below covers it")
    final = _artifact(tmp_path / "art")
    present = []
    for name in ("replace", "rename"):
        real = getattr(os, name)
        monkeypatch.setattr(artifacts.os, name, lambda src, dst, real=real: (real(src, dst), present.append(os.path.lexists(final))))
    real_rmtree = shutil.rmtree

    def rmtree(path, *args, **kwargs):  # the old version is deleted only once the new one is in place
        present.append(read_manifest(final, "model")["version"] == 2)
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(artifacts.shutil, "rmtree", rmtree)
    _artifact(final, version=2)
    assert present and all(present) and read_manifest(final, "model")["version"] == 2


def test_without_an_atomic_exchange_a_kill_between_renames_is_recovered(tmp_path, monkeypatch):
    final = _artifact(tmp_path / "art")
    monkeypatch.setattr(artifacts, "_exchange", lambda a, b: False)
    real_replace, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed between the renames")
        return real_replace(src, dst)

    monkeypatch.setattr(artifacts.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        _artifact(final, version=2)
    monkeypatch.setattr(artifacts.os, "replace", real_replace)
    monkeypatch.setattr(artifacts, "_pid_alive", lambda pid: False)  # as the next run sees it, once this one is gone
    recover_staging(final)
    assert read_manifest(final, "model")["version"] == 1


def test_files_and_folders_are_replaced_only_with_force(tmp_path):
    report = tmp_path / "r.json"
    report.write_text("{}")
    with pytest.raises(KwsError, match="already exists; add --force"):
        with claim_files([report, tmp_path / "r.png"], option="--report"):
            pass
    with claim_files([report], force=True):
        pass
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "mine.txt").write_text("x")
    with pytest.raises(KwsError, match=r"not empty \(mine.txt\); add --force"):
        with claim_folder(tmp_path / "reports"):
            pass
    with claim_folder(tmp_path / "reports", own=lambda rel: rel == "mine.txt"):  # a run to resume
        pass
    with pytest.raises(KwsError, match="is a file"):
        with claim_folder(report, force=True):
            pass


def test_a_read_only_parent_is_refused_before_work(tmp_path, read_only_dir):
    with pytest.raises(KwsError, match="is not writable"):
        with claim_artifact(read_only_dir / "out", "model"):
            pass
    with pytest.raises(KwsError, match="is not writable"):
        with claim_files([read_only_dir / "r.json"]):
            pass
