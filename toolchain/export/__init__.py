"""Firmware export: turn a converted model into C sources, headers and a board project."""
