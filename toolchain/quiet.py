"""Keep native libraries' chatter (TFLM, the TFLite converter) off the user's terminal."""
from __future__ import annotations

import contextlib
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
