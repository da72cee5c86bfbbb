"""The frontend travels with the artifact: one chosen at training time is the one every later step uses.

A 32-channel frontend changes the feature map to 49×32, so any step that fell back to the
reference 40-channel frontend would hand a network maps of the wrong shape and fail.
"""
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from toolchain.cli import main
from toolchain.errors import KwsError
from toolchain.frontend import FrontendParams

NARROW = FrontendParams(num_channels=32)


@pytest.fixture(scope="module")
def narrow_embedding(synth_corpus, tmp_path_factory):
    from toolchain.embedding.train import TrainConfig, train_embedding

    out = tmp_path_factory.mktemp("narrow") / "embedding"
    train_embedding(TrainConfig(synth_corpus, out, ("en", "de", "fr"), 2, epochs=1, batch_size=16, max_steps_per_epoch=2,
                                frontend=NARROW), progress=False)
    return out


@pytest.mark.slow
def test_a_non_default_frontend_is_honoured_from_training_to_streaming(narrow_embedding, synth_corpus, tmp_path):
    from toolchain.convert.artifact import load_converted_model
    from toolchain.convert.keyword_model import convert_keyword_model
    from toolchain.corpus.mswc import read_mswc
    from toolchain.embedding.artifact import load_embedding
    from toolchain.fewshot.enroll import enroll
    from toolchain.simulate.clips import simulate
    from toolchain.simulate.stream import stream

    embedding = load_embedding(narrow_embedding)
    assert embedding.frontend == NARROW and embedding.trunk.input_shape == (None, 49, 32)
    assert embedding.unknown_bank()[0].shape[1:] == (49, 32)

    # the keyword is a word of the corpus (its training voices), so that simulate finds test clips of it
    clips = read_mswc(synth_corpus).clips
    word = next(c.label for c in clips if c.split == "test")
    shots = tmp_path / "shots"
    shots.mkdir()
    for i, clip in enumerate([c for c in clips if c.label == word and c.split == "train"][:3]):
        shutil.copy(clip.path, shots / f"{i}.opus")
    enroll([(word, shots)], tmp_path / "kw", narrow_embedding)
    convert_keyword_model(tmp_path / "kw", tmp_path / "converted", per_class=5)
    model = load_converted_model(tmp_path / "converted")
    assert model.frontend == NARROW and model.model_input.shape == (1, 49, 32)

    report = simulate(tmp_path / "converted", synth_corpus, tmp_path / "sim" / "report.json", max_drop=100.0)
    assert report["n"] > 0 and report["agreement_tflm_litert"] > 0.9

    recording = np.concatenate([np.zeros(8000, np.float32), sf.read(next(iter(sorted(shots.iterdir()))), dtype="float32")[0],
                                np.zeros(16000, np.float32)])
    sf.write(tmp_path / "recording.wav", recording, 48000)
    assert isinstance(stream(tmp_path / "converted", tmp_path / "recording.wav"), list)  # TFLM took 49×32 windows
    # the rate rule of enroll holds for stream too: 8 kHz is refused, not resampled
    sf.write(tmp_path / "8k.wav", recording[::6], 8000)
    with pytest.raises(KwsError, match="8k.wav: sample rate 8000 Hz is below 16000 Hz"):
        stream(tmp_path / "converted", tmp_path / "8k.wav")


@pytest.mark.slow
def test_an_artifact_whose_manifest_names_another_frontend_is_refused(narrow_embedding, shots_dir, tmp_path):
    lying = tmp_path / "lying"
    shutil.copytree(narrow_embedding, lying)
    manifest = json.loads((lying / "manifest.json").read_text())
    manifest["frontend"] = FrontendParams().to_dict()
    (lying / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(main, ["enroll", "--embedding", str(lying), "--keyword", "gelb", "--shots", str(shots_dir),
                                       "--out", str(tmp_path / "kw")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {lying}: the network takes 49×32 feature maps but its frontend makes 49×40; "
        "the manifest and the model disagree, rebuild it"]
    assert not (tmp_path / "kw").exists()
