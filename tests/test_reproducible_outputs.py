"""Same inputs and seed, same bytes: `kws enroll` and `kws convert` outputs compared file by file.

The only values allowed to differ are the run's durations in manifest.json (`training.wall_time_s`,
`conversion.wall_time_s`), kept there because tools read them (README "Reproducible outputs").
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolchain.cli import main


def _files(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def _without_wall_time(node):
    """The manifest with every `wall_time_s` removed, wherever it sits."""
    if isinstance(node, dict):
        return {key: _without_wall_time(value) for key, value in node.items() if key != "wall_time_s"}
    if isinstance(node, list):
        return [_without_wall_time(value) for value in node]
    return node


def _assert_same_outputs(a: Path, b: Path, must_hold: str) -> None:
    files = _files(a)
    assert files == _files(b) and Path(must_hold) in files
    manifests = [json.loads((folder / "manifest.json").read_text()) for folder in (a, b)]
    assert _without_wall_time(manifests[0]) == _without_wall_time(manifests[1])
    differing = [str(f) for f in files if f != Path("manifest.json") and (a / f).read_bytes() != (b / f).read_bytes()]
    assert not differing


@pytest.mark.slow  # two `kws enroll` processes
def test_two_enrolments_with_the_same_inputs_and_seed_are_byte_identical(tiny_embedding, shots_dir, tmp_path):
    """Each run is its own process, as `kws enroll` is: Keras numbers auto-named layers per process."""
    kws = Path(sys.executable).with_name("kws")
    runs = [subprocess.Popen([str(kws), "enroll", "--keyword", "gelb", "--shots", str(shots_dir), "--embedding", str(tiny_embedding),
                              "--seed", "3", "--out", str(tmp_path / name)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name in ("a", "b")]
    for run in runs:
        _, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    _assert_same_outputs(tmp_path / "a", tmp_path / "b", "model.keras")


def test_two_conversions_of_one_model_are_byte_identical(keyword_model, tmp_path):
    for name in ("a", "b"):
        result = CliRunner().invoke(main, ["convert", str(keyword_model), "--out", str(tmp_path / name), "--per-class", "10"])
        assert result.exit_code == 0, result.output
    _assert_same_outputs(tmp_path / "a", tmp_path / "b", "model_int8.tflite")
