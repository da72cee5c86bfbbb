"""Shared fixtures: small corpora written in the exact real formats."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def tone_word(rng: np.random.Generator, seconds: float, rate: int, base_hz: float) -> np.ndarray:
    """A voiced-sounding burst (harmonics + envelope) standing in for a spoken word."""
    t = np.arange(int(seconds * rate)) / rate
    envelope = np.sin(np.pi * t / t[-1]) ** 2
    wave = sum(np.sin(2 * np.pi * base_hz * k * t) / k for k in range(1, 6))
    return (0.3 * envelope * wave + 0.003 * rng.normal(size=t.size)).astype(np.float32)


@pytest.fixture(scope="session")
def synth_corpus(tmp_path_factory) -> Path:
    """A real `kws synth` corpus: 3 languages × 3 words × 6 variants (MSWC layout, opus)."""
    from toolchain.corpus.synth import SynthConfig, synthesise

    out = tmp_path_factory.mktemp("synth") / "corpus"
    synthesise(SynthConfig(("en", "de", "fr"), 3, 6, 0), out, progress=False)
    return out


@pytest.fixture()
def synthesised_twice(tmp_path):
    """`check(config)`: synthesises `config` twice and returns the first corpus's scan, having asserted
    what every voice family's corpus promises: MSWC layout, every clip read, voice-disjoint splits,
    a word in the first clip, and byte-identical reruns."""
    import hashlib

    from toolchain.audio import load_clip
    from toolchain.corpus.mswc import read_mswc
    from toolchain.corpus.synth import split_counts, synthesise

    def digest(root: Path) -> dict:
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"}

    def check(config):
        synthesise(config, tmp_path / "a", progress=False)
        result = read_mswc(tmp_path / "a")
        assert len(result.clips) == len(config.languages) * config.words_per_language * config.variants and not result.skipped
        assert all(c.speaker.startswith(f"{config.engine}-") for c in result.clips)
        speakers = {split: {c.speaker for c in result.clips if c.split == split} for split in split_counts(config.variants)}
        assert not speakers["train"] & speakers["test"] and not speakers["train"] & speakers["dev"]
        clip = load_clip(result.clips[0].path)
        assert np.sqrt(np.mean((clip / 32768.0) ** 2)) > 0.01  # a word, not silence
        synthesise(config, tmp_path / "b", progress=False)
        assert digest(tmp_path / "a") == digest(tmp_path / "b")
        return result

    return check


@pytest.fixture()
def speech_commands_dir(tmp_path) -> Path:
    root = tmp_path / "speech_commands"
    rng = np.random.default_rng(1)
    for word, hz in (("yes", 180.0), ("no", 240.0)):
        (root / word).mkdir(parents=True)
        for speaker in ("0a7c2a8d", "1b2c3d4e", "2f3e4d5c"):
            sf.write(root / word / f"{speaker}_nohash_0.wav", tone_word(rng, 0.6, 16000, hz), 16000, subtype="PCM_16")
    (root / "_background_noise_").mkdir()
    sf.write(root / "_background_noise_" / "white_noise.wav", rng.normal(0, 0.1, 16000 * 3).astype(np.float32), 16000)
    (root / "validation_list.txt").write_text("yes/1b2c3d4e_nohash_0.wav\nno/1b2c3d4e_nohash_0.wav\n")
    (root / "testing_list.txt").write_text("yes/2f3e4d5c_nohash_0.wav\nno/2f3e4d5c_nohash_0.wav\n")
    return root


@pytest.fixture(scope="session")
def tiny_embedding(synth_corpus, tmp_path_factory) -> Path:
    """A real (if barely trained) embedding artifact: 2 epochs × 3 steps on the synth fixture."""
    from toolchain.embedding.train import TrainConfig, train_embedding

    out = tmp_path_factory.mktemp("emb") / "embedding"
    train_embedding(TrainConfig(synth_corpus, out, ("en", "de", "fr"), 2, epochs=2, batch_size=16, max_steps_per_epoch=3), progress=False)
    return out


@pytest.fixture(scope="session")
def shots_dir(synth_corpus, tmp_path_factory) -> Path:
    """Five recordings of a word outside the tiny embedding's vocabulary (word index 2), 48 kHz opus."""
    import shutil

    out = tmp_path_factory.mktemp("shots") / "gelb"
    out.mkdir()
    for i, path in enumerate(sorted((synth_corpus / "de" / "clips" / "w002").glob("*.opus"))[:5]):
        shutil.copy(path, out / f"{i}.opus")
    return out


@pytest.fixture(scope="session")
def keyword_model(tiny_embedding, shots_dir, tmp_path_factory) -> Path:
    from toolchain.fewshot.enroll import enroll

    out = tmp_path_factory.mktemp("kw") / "kw"
    enroll([("gelb", shots_dir)], out, tiny_embedding)
    return out


@pytest.fixture()
def read_only_dir(tmp_path, monkeypatch) -> Path:
    """A folder no one may write into, root included: mode 555 for a user, `chattr +i` for root
    (root ignores mode bits); where neither works, os.access is made to say so (the refusal path)."""
    import shutil
    import subprocess

    folder = tmp_path / "read_only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
    elif shutil.which("chattr") and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
        yield folder
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if Path(path) == folder else real_access(path, mode, **kw))
        yield folder


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: minutes, not seconds; still run by `make test`")


@pytest.fixture(scope="session")
def tflm_tree():
    """The TFLM tree and ARM tools the firmware tests build with (toolchain/firmware/tools.py).
    Missing: skipped with what to install, or failed where `.ci/run` requires them (KWS_REQUIRE_FIRMWARE=1)."""
    from toolchain.errors import KwsError
    from toolchain.firmware import tools

    try:
        tools.require_tools()
        return tools.find_tflm_tree()
    except KwsError as exc:
        if os.environ.get("KWS_REQUIRE_FIRMWARE") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
