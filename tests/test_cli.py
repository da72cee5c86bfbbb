"""The CLI repeats no default or list the library owns, and starts without loading TensorFlow."""
import dataclasses
import subprocess
import sys

from click.testing import CliRunner

from toolchain.cli import main


def _defaults(command: str) -> dict:
    ctx = main.commands[command].make_context(command, [], resilient_parsing=True)
    return {param.name: param.get_default(ctx) for param in main.commands[command].params}


def test_training_and_evaluation_defaults_are_the_dataclasses():
    from toolchain.embedding.train import TrainConfig
    from toolchain.fewshot.evaluate import EvalConfig

    train = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    shown = _defaults("train-embedding")
    for name in ("words_per_language", "architecture", "epochs", "batch_size", "learning_rate", "head_epochs"):
        assert shown[name] == train[name], name
    evaluation = {f.name: f.default for f in dataclasses.fields(EvalConfig)}
    shown = _defaults("eval-fewshot")
    for name in ("targets_per_group", "shots", "threshold"):
        assert shown[name] == evaluation[name], name


def test_a_changed_library_default_is_what_the_cli_uses(monkeypatch):
    from toolchain.convert import keyword_model
    from toolchain.fewshot import enroll

    monkeypatch.setattr(enroll, "DEFAULT_THRESHOLD", 0.65)
    monkeypatch.setattr(keyword_model, "DEFAULT_PER_CLASS", 7)
    assert _defaults("enroll")["threshold"] == 0.65
    assert "[default: 0.65" in CliRunner().invoke(main, ["enroll", "--help"]).output
    assert _defaults("convert")["per_class"] == 7


def test_architecture_choices_come_from_the_registry():
    from toolchain.embedding.registry import ARCHITECTURES

    result = CliRunner().invoke(main, ["train-embedding", "--corpus", "c", "--out", "o", "--architecture", "resnet"])
    assert result.exit_code == 2
    assert all(name in result.output for name in ARCHITECTURES) and "resnet" in result.output


def test_starting_the_cli_does_not_load_tensorflow():
    code = "import sys, toolchain.cli; print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
