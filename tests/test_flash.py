"""Flashing: the right commands for each board, nothing run in a dry run, clear errors otherwise."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolchain import flash as flash_module
from toolchain.errors import KwsError
from toolchain.export.firmware import FIRMWARE_MANIFEST
from toolchain.flash import flash

FQBN = "arduino:mbed_nano:nano33ble"


def _export(tmp_path: Path, board: str, project: str, **extra) -> Path:
    """A minimal export directory: what flash() reads, without building a model."""
    out = tmp_path / "fw"
    folder = out / board / project
    folder.mkdir(parents=True)
    if board == "nano33ble":
        (folder / f"{project}.ino").write_text("void setup() {}\nvoid loop() {}\n")
    else:
        (folder / "CMakeLists.txt").write_text("project(kws_app)\n")
    (out / FIRMWARE_MANIFEST).write_text(json.dumps({"board": board, "project": f"{board}/{project}", **extra}))
    return out


@pytest.fixture()
def nothing_runs(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a dry run must not run anything")

    monkeypatch.setattr(flash_module, "_run", refuse)
    monkeypatch.setattr(flash_module.shutil, "which", refuse)


def test_dry_run_nano33ble(tmp_path, nothing_runs):
    out = _export(tmp_path, "nano33ble", "kws_keyword")
    sketch = str(out / "nano33ble" / "kws_keyword")
    assert flash("nano33ble", out, dry_run=True, port=None) == [
        ["arduino-cli", "compile", "--fqbn", FQBN, sketch],
        ["arduino-cli", "upload", "-p", "<port>", "--fqbn", FQBN, sketch],
    ]
    # The sketch folder itself is accepted too.
    assert flash("nano33ble", Path(sketch), dry_run=True, port="/dev/ttyACM0")[1][3] == "/dev/ttyACM0"


def test_dry_run_cortex_m(tmp_path, nothing_runs):
    out = _export(tmp_path, "cortex-m", "kws_app", pyocd_target="stm32f746zg")
    project = out / "cortex-m" / "kws_app"
    build = project / "build"
    assert flash("cortex-m", out, dry_run=True, port=None) == [
        ["cmake", "-S", str(project), "-B", str(build), f"-DCMAKE_TOOLCHAIN_FILE={project / 'arm-none-eabi.cmake'}"],
        ["cmake", "--build", str(build)],
        ["pyocd", "flash", "--target", "stm32f746zg", str(build / "kws_app.hex")],
    ]
    assert flash("cortex-m", out, dry_run=True, port="0240000034", target="nrf52840")[2][2:6] == ["--target", "nrf52840", "--uid", "0240000034"]


@pytest.mark.parametrize(
    "board, project, missing, install",
    [
        ("cortex-m", "kws_app", "pyocd", "pip install pyocd"),
        ("nano33ble", "kws_keyword", "arduino-cli", "arduino-cli core install arduino:mbed_nano"),
    ],
)
def test_missing_tool_names_its_install_command(tmp_path, monkeypatch, board, project, missing, install):
    out = _export(tmp_path, board, project, pyocd_target="stm32f746zg")
    monkeypatch.setattr(flash_module.shutil, "which", lambda tool: None if tool == missing else f"/usr/bin/{tool}")
    monkeypatch.setattr(flash_module, "_run", lambda *a, **k: pytest.fail("ran a command with a tool missing"))
    with pytest.raises(KwsError, match=missing) as error:
        flash(board, out, dry_run=False, port="/dev/ttyACM0")
    assert install in str(error.value)


@pytest.mark.parametrize(
    "listing",
    [
        {"detected_ports": [
            {"port": {"address": "/dev/ttyS0"}},
            {"port": {"address": "/dev/ttyACM0"}, "matching_boards": [{"name": "Arduino Nano 33 BLE", "fqbn": FQBN}]},
        ]},
        [{"port": {"address": "/dev/ttyACM0"}, "matching_boards": [{"fqbn": FQBN}]}],
    ],
)
def test_port_is_detected_and_commands_run_in_order(tmp_path, monkeypatch, listing):
    out = _export(tmp_path, "nano33ble", "kws_keyword")
    ran = []
    monkeypatch.setattr(flash_module.shutil, "which", lambda tool: f"/usr/bin/{tool}")

    def fake_run(command, capture=False):
        ran.append(command)
        return json.dumps(listing) if capture else None

    monkeypatch.setattr(flash_module, "_run", fake_run)
    commands = flash("nano33ble", out, dry_run=False, port=None)
    assert ran == [["arduino-cli", "board", "list", "--format", "json"], *commands]
    assert commands[1][:4] == ["arduino-cli", "upload", "-p", "/dev/ttyACM0"]


def test_no_board_connected_is_a_clear_error(tmp_path, monkeypatch):
    out = _export(tmp_path, "nano33ble", "kws_keyword")
    monkeypatch.setattr(flash_module.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(flash_module, "_run", lambda command, capture=False: '{"detected_ports": []}' if capture else pytest.fail("uploaded"))
    with pytest.raises(KwsError, match="no board with FQBN arduino:mbed_nano:nano33ble found.*--port"):
        flash("nano33ble", out, dry_run=False, port=None)


def test_wrong_board_or_folder_is_refused(tmp_path):
    out = _export(tmp_path, "nano33ble", "kws_keyword")
    with pytest.raises(KwsError, match="exported for board 'nano33ble'"):
        flash("cortex-m", out, dry_run=True, port=None)
    with pytest.raises(KwsError, match="not an Arduino sketch folder"):
        flash("nano33ble", tmp_path, dry_run=True, port=None)
    with pytest.raises(KwsError, match="unknown board"):
        flash("esp32", out, dry_run=True, port=None)


def test_cortex_m_without_target_asks_for_one(tmp_path, monkeypatch):
    out = _export(tmp_path, "cortex-m", "kws_app")
    monkeypatch.setattr(flash_module.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    with pytest.raises(KwsError, match="--target"):
        flash("cortex-m", out, dry_run=False, port=None)


def test_failing_or_absent_command_becomes_a_kws_error():
    with pytest.raises(KwsError, match="exit code 1"):
        flash_module._run(["false"])
    with pytest.raises(KwsError, match="pip install pyocd"):
        flash_module._run(["/nonexistent/pyocd", "--version"])
