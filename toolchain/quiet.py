"""Keep native libraries' chatter (TensorFlow's C++ log, TFLM, the TFLite converter) off the user's terminal."""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import io
import os
import sys


@contextlib.contextmanager
def quiet_native_output():
    """Redirect fds 1 and 2 (C++ logging) and Python's stdout while a noisy call runs."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        for fd, keep in zip((1, 2), saved):
            os.dup2(keep, fd)
            os.close(keep)
        os.close(null)


class _QuietLoader(importlib.abc.Loader):
    """Runs the wrapped loader with fds 1 and 2 muted."""

    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def __getattr__(self, name):  # resource readers, is_package, …: the wrapped loader's own
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        with quiet_native_output():
            self._loader.exec_module(module)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Mutes TensorFlow's first import, then steps aside.

    TensorFlow's C++ libraries log through absl before absl::InitializeLog runs (oneDNN notice, "Could
    not find cuda drivers"), and those lines ignore TF_CPP_MIN_LOG_LEVEL; only muting the file
    descriptors while the import runs keeps them off the terminal.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        with contextlib.suppress(ValueError):  # another thread got here first
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def silence_tensorflow() -> None:
    """Keep TensorFlow's C++ log lines off the terminal: call before anything imports TensorFlow.

    Level 3 also hides C++ errors such as "failed call to cuInit" on machines without a GPU; Python
    exceptions still reach the user. Set TF_CPP_MIN_LOG_LEVEL yourself to see the C++ log again.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())
