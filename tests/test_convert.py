"""`kws convert` on an enrolled keyword model: int8 in/out, measured arena, report, refusals."""
import json

import pytest
from click.testing import CliRunner

from toolchain.cli import main
from toolchain.convert import keyword_model as converter
from toolchain.errors import KwsError
from toolchain.tflite.flatbuffer import model_io


def test_convert_writes_int8_model_and_report(keyword_model, tmp_path):
    out = tmp_path / "conv"
    result = CliRunner().invoke(main, ["convert", str(keyword_model), "--out", str(out), "--per-class", "20"])
    assert result.exit_code == 0, result.output
    int8 = (out / "model_int8.tflite").read_bytes()
    model_input, model_output = model_io(int8)
    assert model_input.dtype == "int8" and model_output.dtype == "int8"
    assert (model_input.scale, model_input.zero_point) == (1.0, 0)
    report = json.loads((out / "report.json").read_text())
    assert report["flash_bytes"] == len(int8)
    assert 10_000 < report["arena_bytes_measured"] < 256_000
    assert all(op["tflm_supported"] for op in report["ops"])
    assert report["total_macs"] == sum(row["macs"] for row in report["layers"]) > 1_000_000
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "converted_keyword_model" and manifest["labels"][-1] == "gelb"


def test_unsupported_op_is_named_before_anything_is_written(keyword_model, tmp_path, monkeypatch):
    monkeypatch.setattr(converter, "TFLM_OPS", {k: v for k, v in converter.TFLM_OPS.items() if k != "DEPTHWISE_CONV_2D"})
    out = tmp_path / "conv"
    with pytest.raises(KwsError, match="no kernel for DEPTHWISE_CONV_2D"):
        converter.convert_keyword_model(keyword_model, out, per_class=10)
    assert not out.exists()


def test_directory_without_metadata_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "no manifest.json" in result.output


def test_a_keyword_model_whose_manifest_names_another_frontend_is_refused_before_converting(keyword_model, tmp_path):
    import shutil

    copy = tmp_path / "kw"
    shutil.copytree(keyword_model, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["frontend"]["num_channels"] = 32
    (copy / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(main, ["convert", str(copy), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {copy / 'model.keras'}: the network takes 49×40 feature maps but its frontend makes 49×32; "
        "the manifest and the model disagree, rebuild it"]
    assert not (tmp_path / "o").exists()
