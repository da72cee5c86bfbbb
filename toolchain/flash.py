"""Build and flash an exported firmware project (see toolchain/export/firmware.py).

    flash("nano33ble", Path("runs/hello/firmware"), dry_run=True, port=None)

returns the commands it runs (or would run, with `dry_run`), one list of arguments each.
`project_dir` is either the export directory (with firmware_manifest.json) or the sketch/CMake
project folder inside it.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from toolchain.errors import KwsError, bad_input
from toolchain.export.firmware import BOARDS, FIRMWARE_MANIFEST

ARDUINO_CORE = "arduino:mbed_nano"
ARDUINO_LIBRARY = "Arduino_TensorFlowLite"
INSTALL = {
    "arduino-cli": (
        "curl -fsSL https://raw.githubusercontent.com/arduino/arduino-cli/master/install.sh | sh, then "
        f"`arduino-cli core install {ARDUINO_CORE}` and `arduino-cli lib install {ARDUINO_LIBRARY}`"
    ),
    "cmake": "pip install cmake (or: sudo apt-get install cmake)",
    "arm-none-eabi-gcc": "sudo apt-get install gcc-arm-none-eabi (or the Arm GNU Toolchain from developer.arm.com)",
    "pyocd": "pip install pyocd",
}
PORT_PLACEHOLDER = "<port>"
TARGET_PLACEHOLDER = "<pyocd-target>"


def flash(
    board: str,
    project_dir: Path,
    dry_run: bool = False,
    port: str | None = None,
    target: str | None = None,
) -> list[list[str]]:
    """Compile the project and write it to the board; return the commands.

    Args:
        board: `nano33ble` (arduino-cli) or `cortex-m` (CMake + pyOCD).
        project_dir: export directory or the project folder inside it.
        dry_run: only return the commands; nothing is checked or run. Unknown values appear as
            placeholders (`<port>`, `<pyocd-target>`).
        port: serial port of the Arduino (found with `arduino-cli board list` when omitted), or
            the probe's unique id for pyOCD (`--uid`).
        target: pyOCD target name (e.g. `stm32f746zg`); defaults to the one given at export.
    """
    if board not in BOARDS:
        raise KwsError(f"--board {board}: unknown board, choose one of {', '.join(BOARDS)}")
    spec = BOARDS[board]
    project, manifest = _project(spec.name, Path(project_dir))
    if spec.builder == "arduino":
        if not (project / f"{project.name}.ino").is_file():
            raise bad_input(project, f"not an Arduino sketch folder (no {project.name}.ino)")
        tools = ["arduino-cli"]
    else:
        if not (project / "CMakeLists.txt").is_file():
            raise bad_input(project, "not a CMake project (no CMakeLists.txt)")
        target = target or manifest.get("pyocd_target")
        tools = ["cmake", "arm-none-eabi-gcc", "pyocd"]

    if not dry_run:
        for tool in tools:
            if shutil.which(tool) is None:
                raise KwsError(f"{tool} not found on PATH; install it: {INSTALL[tool]}")
        if spec.builder == "cmake" and not target:
            raise KwsError("cortex-m: no pyOCD target; pass --target (list them with `pyocd list --targets`)")
        if spec.builder == "arduino" and port is None:
            port = _detect_arduino_port(spec.fqbn)

    if spec.builder == "arduino":
        commands = [
            ["arduino-cli", "compile", "--fqbn", spec.fqbn, str(project)],
            ["arduino-cli", "upload", "-p", port or PORT_PLACEHOLDER, "--fqbn", spec.fqbn, str(project)],
        ]
    else:
        build = project / "build"
        upload = ["pyocd", "flash", "--target", target or TARGET_PLACEHOLDER]
        if port:
            upload += ["--uid", port]
        commands = [
            ["cmake", "-S", str(project), "-B", str(build), f"-DCMAKE_TOOLCHAIN_FILE={project / 'arm-none-eabi.cmake'}"],
            ["cmake", "--build", str(build)],
            upload + [str(build / "kws_app.hex")],
        ]
    if not dry_run:
        for command in commands:
            _run(command)
    return commands


def _project(board: str, directory: Path) -> tuple[Path, dict]:
    """The project folder and the export's firmware manifest ({} when given the folder itself)."""
    if not directory.is_dir():
        raise bad_input(directory, "not a directory")
    manifest_path = directory / FIRMWARE_MANIFEST
    if not manifest_path.is_file():
        return directory, {}
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise bad_input(manifest_path, f"corrupt JSON ({exc.msg})") from exc
    if manifest.get("board") != board:
        raise bad_input(directory, f"was exported for board {manifest.get('board')!r}, not {board!r}; export again")
    return directory / manifest["project"], manifest


def _detect_arduino_port(fqbn: str) -> str:
    listing = _run(["arduino-cli", "board", "list", "--format", "json"], capture=True)
    try:
        data = json.loads(listing or "[]")
    except json.JSONDecodeError as exc:
        raise KwsError(f"arduino-cli board list: unreadable output ({exc.msg}); pass --port") from exc
    # arduino-cli >= 0.33 wraps the list in {"detected_ports": [...]}; older versions print it bare.
    entries = data.get("detected_ports", []) if isinstance(data, dict) else data
    ports = []
    for entry in entries or []:
        boards = entry.get("matching_boards") or entry.get("boards") or []
        address = (entry.get("port") or {}).get("address") or entry.get("address")
        if address and any(b.get("fqbn") == fqbn for b in boards):
            ports.append(address)
    if not ports:
        raise KwsError(
            f"no board with FQBN {fqbn} found by `arduino-cli board list`: plug it in over USB "
            "(double-tap reset if it does not show up), or pass --port"
        )
    if len(ports) > 1:
        raise KwsError(f"several {fqbn} boards connected ({', '.join(ports)}); choose one with --port")
    return ports[0]


def _run(command: list[str], capture: bool = False) -> str | None:
    try:
        done = subprocess.run(command, check=True, text=True, capture_output=capture)
    except FileNotFoundError as exc:
        tool = Path(command[0]).name
        raise KwsError(f"{tool} not found on PATH; install it: {INSTALL.get(tool, tool)}") from exc
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip().splitlines()[-1:] if capture else []
        hint = f" (missing core or library? `arduino-cli core install {ARDUINO_CORE}` and `arduino-cli lib install {ARDUINO_LIBRARY}`)" if command[0] == "arduino-cli" else ""
        raise KwsError(f"`{' '.join(command)}` failed with exit code {exc.returncode}{': ' + detail[0] if detail else ''}{hint}") from exc
    return done.stdout if capture else None
