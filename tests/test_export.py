"""Firmware export: generated C compiles on the host and says exactly what the model and manifest say."""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from toolchain.artifacts import sha256_file
from toolchain.convert import cost
from toolchain.errors import KwsError
from toolchain.export.c_arrays import c_string
from toolchain.export import firmware
from toolchain.export.firmware import FIRMWARE_MANIFEST, TEMPLATES, export_firmware
from toolchain.export.settings_header import frontend_constant_name, tensor_arena_size
from toolchain.frontend import FrontendParams, quantize_filterbank
from toolchain.streaming import StreamingParams, audio_ring_samples
from toolchain.tflite.flatbuffer import model_io, model_ops, total_macs
from toolchain.tflite.micro import TFLM_OPS

LABELS = ["_silence_", "_unknown_", "hello"]
needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="host g++ not installed")


def _tiny_int8_model() -> bytes:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((49, 40))
    x = tf.keras.layers.Reshape((49, 40, 1))(inputs)
    x = tf.keras.layers.Conv2D(4, (5, 5), strides=(4, 4), activation="relu")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    outputs = tf.keras.layers.Dense(len(LABELS), activation="softmax")(x)
    model = tf.keras.Model(inputs, outputs)

    def representative():
        rng = np.random.default_rng(0)
        for _ in range(8):
            sample = rng.integers(-128, 128, size=(1, 49, 40)).astype(np.float32)
            sample.flat[0], sample.flat[1] = -128.0, 127.0  # pin the range: input scale 1, zero point 0
            yield [sample]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


@pytest.fixture(scope="module")
def tflite_bytes() -> bytes:
    return _tiny_int8_model()


@pytest.fixture()
def model_dir(tmp_path: Path, tflite_bytes: bytes) -> Path:
    directory = tmp_path / "converted"
    directory.mkdir()
    (directory / "model_int8.tflite").write_bytes(tflite_bytes)
    (directory / "model_float.tflite").write_bytes(b"unused")
    (directory / "model.keras").write_bytes(b"unused")
    input_info, output_info = model_io(tflite_bytes)
    manifest = {
        "kind": "converted_keyword_model",
        "frontend": FrontendParams().to_dict(),
        "labels": LABELS,
        "threshold": 0.8,
        "streaming": StreamingParams(smoothing_window_ms=1000).to_dict(),
        "quantization": {
            "input": {"scale": input_info.scale, "zero_point": input_info.zero_point},
            "output": {"scale": output_info.scale, "zero_point": output_info.zero_point},
        },
        "ops": ["SOFTMAX"],  # deliberately wrong: the exporter must read the flatbuffer
        "arena_bytes": 52000,
        "embedding_hash": "emb-123",
        "model_sha256": "not-checked-here",
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def _compile_and_run(tmp_path: Path, source: str, include_dirs: list[Path], extra_sources: list[Path] = ()) -> str:
    program = tmp_path / "probe.cc"
    program.write_text(source)
    binary = tmp_path / "probe"
    command = ["g++", "-std=c++17", "-Wall", "-Werror", "-O0", "-o", str(binary), str(program), *map(str, extra_sources)]
    command += [f"-I{d}" for d in include_dirs]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return subprocess.run([str(binary)], check=True, capture_output=True, text=True, cwd=tmp_path).stdout


@needs_gxx
def test_model_data_reproduces_the_tflite_bytes(tmp_path, model_dir, tflite_bytes):
    out = tmp_path / "fw"
    summary = export_firmware(model_dir, "nano33ble", out)
    source = (out / "model_data.cc").read_text()
    assert "alignas(16) const unsigned char g_model[] = {" in source
    assert "extern const unsigned char g_model[];" in (out / "model_data.h").read_text()
    printed = _compile_and_run(
        tmp_path,
        '#include <cstdio>\n#include <cstdint>\n#include "model_data.h"\n'
        "int main() {\n"
        '  FILE* f = std::fopen("dump.bin", "wb");\n'
        "  std::fwrite(g_model, 1, g_model_len, f);\n  std::fclose(f);\n"
        '  std::printf("%u %d", g_model_len, static_cast<int>(reinterpret_cast<std::uintptr_t>(g_model) % 16));\n}\n',
        [out],
        [out / "model_data.cc"],
    )
    assert (tmp_path / "dump.bin").read_bytes() == tflite_bytes
    assert printed == f"{len(tflite_bytes)} 0"
    assert summary["model_bytes"] == len(tflite_bytes)
    # The sketch gets the same source as .cpp: arduino-cli does not compile .cc files.
    sketch = Path(summary["project_dir"])
    assert sketch.name == "kws_keyword" and (sketch / "kws_keyword.ino").is_file()
    assert (sketch / "model_data.cpp").read_text() == source and not (sketch / "model_data.cc").exists()


def test_model_ops_come_from_the_flatbuffer(tmp_path, model_dir, tflite_bytes):
    ops = model_ops(tflite_bytes)
    assert ops == sorted(set(ops))
    assert {"CONV_2D", "FULLY_CONNECTED", "SOFTMAX"} <= set(ops)
    summary = export_firmware(model_dir, "cortex-m", tmp_path / "fw")
    assert summary["ops"] == ops and summary["op_count"] == len(ops)  # not the manifest's ["SOFTMAX"]
    with pytest.raises(KwsError, match="TFL3"):
        model_ops(b"\x00" * 64)


@needs_gxx
def test_resolver_registers_exactly_the_model_ops(tmp_path, model_dir, tflite_bytes):
    out = tmp_path / "fw"
    export_firmware(model_dir, "cortex-m", out)
    # A stand-in for TFLM's header: every Add* method records its name, capacity is checked.
    stub = tmp_path / "stub" / "tensorflow/lite/micro"
    stub.mkdir(parents=True)
    methods = "\n".join(f'  TfLiteStatus {m}() {{ return Add("{m}"); }}' for m in sorted(set(TFLM_OPS.values())))
    (stub / "micro_mutable_op_resolver.h").write_text(
        "#pragma once\n#include <cstdio>\n"
        "enum TfLiteStatus { kTfLiteOk, kTfLiteError };\n"
        "namespace tflite {\ntemplate <unsigned int N> class MicroMutableOpResolver {\n public:\n"
        "  static constexpr unsigned int kCapacity = N;\n  unsigned int count = 0;\n"
        '  TfLiteStatus Add(const char* name) { if (count == N) return kTfLiteError; ++count; std::printf("%s\\n", name); return kTfLiteOk; }\n'
        f"{methods}\n}};\n}}\n"
    )
    printed = _compile_and_run(
        tmp_path,
        '#include <cstdio>\n#include "op_resolver.h"\n'
        "int main() {\n  KwsOpResolver resolver;\n  if (RegisterKwsOps(resolver) != kTfLiteOk) return 1;\n"
        '  std::printf("N=%u\\n", KwsOpResolver::kCapacity);\n}\n',
        [out, tmp_path / "stub"],
    )
    ops = model_ops(tflite_bytes)
    assert printed.splitlines() == [TFLM_OPS[op] for op in ops] + [f"N={len(ops)}"]


def test_unsupported_op_fails_before_anything_is_written(tmp_path, model_dir, monkeypatch):
    monkeypatch.delitem(TFLM_OPS, "CONV_2D")
    out = tmp_path / "fw"
    with pytest.raises(KwsError, match="CONV_2D"):
        export_firmware(model_dir, "nano33ble", out)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".fw")]


def test_inconsistent_artifacts_are_refused(tmp_path, model_dir):
    manifest = json.loads((model_dir / "manifest.json").read_text())
    manifest["labels"] = LABELS + ["extra"]
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(KwsError, match=r"output is int8 \[1, 3\], expected int8 \[1, 4\]"):
        export_firmware(model_dir, "nano33ble", tmp_path / "fw")
    manifest["labels"] = LABELS
    manifest["frontend"] = FrontendParams(num_channels=32).to_dict()
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(KwsError, match="expected int8 \\[1, 49, 32\\]"):
        export_firmware(model_dir, "nano33ble", tmp_path / "fw")
    assert not (tmp_path / "fw").exists()


def test_refuses_to_replace_a_directory_that_is_not_an_export(tmp_path, model_dir):
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("do not delete")
    with pytest.raises(KwsError, match=r"not a firmware_export \(thesis.tex\)"):
        export_firmware(model_dir, "nano33ble", precious, force=True)
    assert (precious / "thesis.tex").read_text() == "do not delete"
    export_firmware(model_dir, "nano33ble", tmp_path / "fw")
    with pytest.raises(KwsError, match="already holds a firmware_export; add --force"):
        export_firmware(model_dir, "cortex-m", tmp_path / "fw")
    export_firmware(model_dir, "cortex-m", tmp_path / "fw", force=True)  # an earlier export is replaced whole
    assert not (tmp_path / "fw" / "nano33ble").exists()


def test_reexport_names_and_keeps_files_the_user_added_or_edited(tmp_path, model_dir):
    out = tmp_path / "fw"
    project = Path(export_firmware(model_dir, "cortex-m", out)["project_dir"])
    (project / "sensor.c").write_text("int user_code;")
    with pytest.raises(KwsError, match=r"changed since \(cortex-m/kws_app/sensor.c\)"):
        export_firmware(model_dir, "cortex-m", out, force=True)
    (project / "sensor.c").unlink()
    (project / "main.cc").write_text("// edited by hand")
    with pytest.raises(KwsError, match=r"changed since \(cortex-m/kws_app/main.cc\)"):
        export_firmware(model_dir, "cortex-m", out, force=True)
    assert (project / "main.cc").read_text() == "// edited by hand"


def test_firmware_manifest_lists_every_file_with_its_hash(tmp_path, model_dir, tflite_bytes):
    out = tmp_path / "fw"
    export_firmware(model_dir, "cortex-m", out, cpu="cortex-m7", pyocd_target="stm32f746zg")
    manifest = json.loads((out / FIRMWARE_MANIFEST).read_text())
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {FIRMWARE_MANIFEST}
    assert set(manifest["files"]) == on_disk
    assert all(sha256_file(out / name) == digest for name, digest in manifest["files"].items())
    assert manifest["board"] == "cortex-m" and manifest["pyocd_target"] == "stm32f746zg"
    assert manifest["source"]["model_sha256"] == sha256_file(model_dir / "model_int8.tflite")
    project = out / manifest["project"]
    assert {"CMakeLists.txt", "main.cc", "arm-none-eabi.cmake", "recognizer.h", "model_data.cc"} <= {p.name for p in project.iterdir()}
    assert 'set(KWS_CPU "cortex-m7"' in (project / "kws_target.cmake").read_text()
    with pytest.raises(KwsError, match="unknown core"):
        export_firmware(model_dir, "cortex-m", tmp_path / "fw2", cpu="cortex-a53")
    with pytest.raises(KwsError, match="unknown board"):
        export_firmware(model_dir, "esp32", tmp_path / "fw2")


@needs_gxx
def test_settings_header_compiles_and_matches_the_manifest(tmp_path, model_dir, tflite_bytes):
    out = tmp_path / "fw"
    export_firmware(model_dir, "nano33ble", out)
    header = (out / "model_settings.h").read_text()
    for field in dataclasses.fields(FrontendParams):
        assert f" {frontend_constant_name(field.name)} = " in header, field.name
    printed = _compile_and_run(
        tmp_path,
        '#include <cstdio>\n#include "model_settings.h"\n'
        "int main() {\n"
        '  std::printf("%d\\n", kCategoryCount);\n'
        '  for (int i = 0; i < kCategoryCount; ++i) std::printf("%s %d\\n", kCategoryLabels[i], kCategoryIsKeyword[i]);\n'
        '  std::printf("%.6f %d %d %d\\n", kDetectionThreshold, kSmoothingWindowMs, kSuppressionMs, kMinimumCount);\n'
        '  std::printf("%d %d %d %d\\n", kFrontendWindowSizeMs, kFrontendWindowStepMs, kFeatureSliceCount, kFeatureSliceSize);\n'
        '  std::printf("%.2f %d %.3f %d\\n", kFrontendUpperBandLimit, kFrontendEnablePcan, kFrontendPcanStrength, kFrontendValueDiv);\n'
        '  std::printf("%.8f %d %d\\n", kOutputScale, kOutputZeroPoint, kTensorArenaSize);\n'
        '  std::printf("%s %s\\n", kModelSha256, kEmbeddingHash);\n}\n',
        [out],
    )
    _, output_info = model_io(tflite_bytes)
    fe = FrontendParams()
    assert printed.splitlines() == [
        "3",
        "_silence_ 0",
        "_unknown_ 0",
        "hello 1",
        "0.800000 1000 1500 3",
        f"{fe.window_size_ms} {fe.window_step_ms} {fe.num_frames} {fe.num_channels}",
        f"{fe.upper_band_limit:.2f} {int(fe.enable_pcan)} {fe.pcan_strength:.3f} {fe.value_div}",
        f"{output_info.scale:.8f} {output_info.zero_point} {tensor_arena_size(52000)}",
        f"{sha256_file(model_dir / 'model_int8.tflite')} emb-123",
    ]
    assert tensor_arena_size(52000) >= 52000 + 4096 and tensor_arena_size(52000) % 1024 == 0


@needs_gxx
def test_labels_with_awkward_characters_survive_as_c_strings(tmp_path):
    labels = ['say "hi"', "back\\slash", "caf\u00e9", "what??!"]
    (tmp_path / "labels.h").write_text("const char* kLabels[] = {" + ", ".join(map(c_string, labels)) + "};\n")
    printed = _compile_and_run(
        tmp_path, '#include <cstdio>\n#include "labels.h"\nint main() { for (auto l : kLabels) std::printf("%s\\n", l); }\n', [tmp_path]
    )
    assert printed.splitlines() == labels


@needs_gxx
def test_device_feature_mapping_equals_the_host_frontend(tmp_path, model_dir):
    out = tmp_path / "fw"
    export_firmware(model_dir, "nano33ble", out)
    printed = _compile_and_run(
        tmp_path,
        '#include <cstdio>\n#include "feature_quantize.h"\n'
        'int main() { for (int v = 0; v < 65536; ++v) std::printf("%d\\n", QuantizeFeature(static_cast<uint16_t>(v))); }\n',
        [out / "nano33ble" / "kws_keyword"],
    )
    device = np.array(printed.split(), dtype=np.int64)
    host = quantize_filterbank(np.arange(65536), FrontendParams())
    np.testing.assert_array_equal(device, host)


@needs_gxx
def test_recognizer_averages_requires_count_and_suppresses(tmp_path):
    # Labels: 0 = _silence_ (never reported), 1 = hello, 2 = stop. Window 100 ms, suppression 300 ms,
    # minimum 3 inferences, threshold 0.6; one inference every 20 ms.
    printed = _compile_and_run(
        tmp_path,
        '#include <cstdio>\n#include "recognizer.h"\n'
        "const bool kKeyword[3] = {false, true, true};\n"
        "int main() {\n"
        "  Recognizer<3, 8> r(kKeyword, 0.6f, 100, 300, 3);\n"
        "  const float silence[3] = {1.0f, 0.0f, 0.0f};\n"
        "  const float hello[3] = {0.0f, 1.0f, 0.0f};\n"
        "  const float half[3] = {0.5f, 0.5f, 0.0f};\n"
        "  auto show = [](int t, Recognition x) { std::printf(\"%d %d %d\\n\", t, x.label, x.is_new); };\n"
        "  for (int t = 0; t < 200; t += 20) show(t, r.Process(silence, t));\n"
        "  for (int t = 200; t < 300; t += 20) show(t, r.Process(hello, t));\n"
        "  for (int t = 300; t < 700; t += 20) show(t, r.Process(half, t));\n"
        "  r.Reset();\n"
        "  for (int t = 0; t < 60; t += 20) show(t, r.Process(hello, t));\n"
        "}\n",
        [TEMPLATES / "common"],
    )
    rows = [tuple(map(int, line.split())) for line in printed.splitlines()]
    events = {t: (label, new) for t, label, new in rows[:-3]}
    assert all(events[t] == (-1, 0) for t in range(0, 200, 20))  # silence is never a keyword
    # hello at 200, 220: averages 0.2, 0.4 over the 100 ms window; at 240 three of five rows are hello.
    assert events[200] == (-1, 0) and events[220] == (-1, 0)
    assert events[240] == (1, 1)
    assert events[260] == (1, 0) and events[280] == (1, 0)  # still detected, but suppressed
    # 0.5 stays below 0.6 once the window holds only half-posteriors: no detection.
    assert all(events[t][0] == -1 for t in range(400, 700, 20))
    # After a reset the window needs minimum_count inferences again.
    assert rows[-3:] == [(0, -1, 0), (20, -1, 0), (40, 1, 1)]


def test_export_slows_inference_to_what_the_board_sustains(tmp_path, model_dir, monkeypatch):
    summary = export_firmware(model_dir, "nano33ble", tmp_path / "fast")
    assert not summary["realtime"]["slowed_down"] and summary["realtime"]["inference_stride_ms"] == 20
    # the same board, were each MAC 1000× dearer: the estimate outgrows 20 ms and the stride follows
    slow_core = dataclasses.replace(cost.CORE_MODELS["cortex-m4@64MHz"], cycles_per_mac=8200.0)
    monkeypatch.setitem(cost.CORE_MODELS, "cortex-m4@64MHz", slow_core)
    summary = export_firmware(model_dir, "nano33ble", tmp_path / "slow")
    realtime = summary["realtime"]
    assert realtime["slowed_down"] and realtime["inference_stride_ms"] % 20 == 0
    assert realtime["inference_stride_ms"] >= realtime["latency_ms_estimate"] * firmware.REALTIME_MARGIN
    header = (tmp_path / "slow" / "model_settings.h").read_text()
    assert f"kInferenceStrideMs = {realtime['inference_stride_ms']};" in header
    assert f"kMinimumCount = {realtime['streaming']['minimum_count']};" in header
    ring = audio_ring_samples(16000, realtime["inference_stride_ms"])
    assert f"kAudioRingSamples = {ring};" in header and ring & (ring - 1) == 0
    assert ring >= 16 * (realtime["inference_stride_ms"] + 256)  # audio heard during an inference is kept
    assert audio_ring_samples(16000, 20) == 8192 and audio_ring_samples(16000, 760) == 16384
    assert realtime["keeps_up"]
    chosen = export_firmware(model_dir, "nano33ble", tmp_path / "chosen", inference_stride_ms=100)["realtime"]
    assert chosen["inference_stride_ms"] == 100 and chosen["streaming"]["minimum_count"] == 3
    # a stride shorter than the inference is the user's call, but flagged, and the ring still holds one inference
    assert not chosen["keeps_up"] and chosen["audio_ring_samples"] >= 16 * (chosen["latency_ms_estimate"] + 256)
    with pytest.raises(KwsError, match="multiple of the frontend step"):
        export_firmware(model_dir, "nano33ble", tmp_path / "odd", inference_stride_ms=30)


def test_generic_board_paces_itself_only_when_its_clock_is_known(tmp_path, model_dir, monkeypatch):
    unknown = export_firmware(model_dir, "cortex-m", tmp_path / "a", cpu="cortex-m7")["realtime"]
    assert unknown["latency_ms_estimate"] is None and unknown["inference_stride_ms"] == 20 and unknown["keeps_up"]
    monkeypatch.setitem(cost.CYCLES_PER_MAC, "cortex-m7", (4400.0, "1000× dearer, to outgrow 20 ms"))
    known = export_firmware(model_dir, "cortex-m", tmp_path / "b", cpu="cortex-m7", clock_mhz=100)["realtime"]
    macs = total_macs((model_dir / "model_int8.tflite").read_bytes())
    assert known["latency_ms_estimate"] == pytest.approx(macs * 4400.0 / 100e6 * 1000, abs=0.01)
    assert known["core"] == "cortex-m7 @ 100 MHz" and known["inference_stride_ms"] > 20 and known["keeps_up"]
    with pytest.raises(KwsError, match="no latency model for cortex-m0plus"):
        export_firmware(model_dir, "cortex-m", tmp_path / "c", cpu="cortex-m0plus", clock_mhz=48)


ARDUINO_STAND_INS = {
    # Only the Arduino core and its PDM library stand in (declarations, as the sketch uses them);
    # TFLM and the micro frontend are the real headers of the tree the firmware builds against.
    "Arduino.h": "#pragma once\n#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n"
                 "#define LED_BUILTIN 13\n#define HIGH 1\n#define LOW 0\n#define OUTPUT 1\n"
                 "void pinMode(int, int);\nvoid digitalWrite(int, int);\nuint32_t millis();\nuint32_t micros();\n"
                 "struct SerialPort {\n  void begin(long);\n  template <class T> void print(T);\n"
                 "  template <class T> void print(T, int);\n  template <class T> void println(T);\n  void println();\n};\n"
                 "extern SerialPort Serial;\n",
    "PDM.h": "#pragma once\nstruct PdmMicrophone {\n  void onReceive(void (*)());\n  int begin(int, long);\n"
             "  void setGain(int);\n  int available();\n  int read(void*, int);\n};\nextern PdmMicrophone PDM;\n",
    "TensorFlowLite.h": "#pragma once\n",  # the Arduino library's umbrella header: includes nothing the sketch needs
}
# The Nano 33 BLE's core (arduino:mbed_nano, mbed OS): Cortex-M4F with the softfp float ABI. mbed OS 6
# compiles C++ as gnu++14, but TFLM at the tree's commit needs C++17 (`if constexpr` in
# kernels/internal/common.h): the sketch must be built as gnu++17 (firmware_export/README.md).
NANO_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=softfp", "-std=gnu++17", "-Os",
              "-fno-exceptions", "-fno-rtti", "-Wall", "-Werror", "-DTF_LITE_STATIC_MEMORY", "-DCMSIS_NN"]
NANO_C_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=softfp", "-std=gnu11", "-Os", "-Wall", "-Werror"]


def compile_nano_sketch(sketch: Path, tflm_tree, tmp_path: Path) -> list[str]:
    """Compile every source of an exported sketch for the Nano's core against the real TFLM and
    frontend headers (only the Arduino core and PDM library stand in); the sources compiled."""
    stand_ins = tmp_path / "stand_ins"
    stand_ins.mkdir(exist_ok=True)
    for name, text in ARDUINO_STAND_INS.items():
        (stand_ins / name).write_text(text)
    tflm = tflm_tree.tflm_dir("cmsis-nn")
    includes = [stand_ins, tflm, tflm / "third_party/flatbuffers/include", tflm / "third_party/gemmlowp",
                tflm / "third_party/ruy", tflm_tree.frontend_dir, tflm_tree.frontend_dir / "third_party/kissfft"]
    sources = sorted(p.name for p in sketch.iterdir() if p.suffix in (".ino", ".cpp", ".c"))
    for source in sources:
        # arduino-cli compiles .c files as C with the core's C flags, the rest as C++ after Arduino.h
        language = ["arm-none-eabi-gcc", *NANO_C_FLAGS, "-x", "c"] if source.endswith(".c") else \
            ["arm-none-eabi-g++", *NANO_FLAGS, "-include", "Arduino.h", "-x", "c++"]
        command = [*language[:-2], f"-I{sketch}", *(f"-I{d}" for d in includes), *language[-2:],
                   "-c", str(sketch / source), "-o", str(tmp_path / f"{source}.o")]
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0, f"{source}:\n{result.stderr[-3000:]}"
        assert (tmp_path / f"{source}.o").stat().st_size > 0
    return sources


def test_sketch_compiles_for_the_nano_against_real_tflm(tmp_path, model_dir, tflm_tree):
    sketch = Path(export_firmware(model_dir, "nano33ble", tmp_path / "fw")["project_dir"])
    sources = compile_nano_sketch(sketch, tflm_tree, tmp_path)
    assert sources == ["audio_capture.cpp", "feature_stream.cpp", "frontend_tables.c", "kws_keyword.ino", "model_data.cpp"]