"""How the oracle fixtures (tests/fixtures/armnn, tests/fixtures/tflite) store
arrays in JSON, both ways: the writers here (armnn_fixtures.py,
armnn_raw_fixtures.py, tflite_fixtures.py) encode with b64 / zlib_b64, the
tests decode with b64_array / zlib_array, so the format lives in one place.
NumPy only (no PIL, no pyarmnn), so any test can import it."""

import base64
import json
import os
import zlib

import numpy as np


def b64(data):
    """Raw bytes (or a bytes-like array) as base64 text."""
    return base64.b64encode(bytes(data)).decode("ascii")


def zlib_b64(array):
    """An array's bytes (C order) zlib-compressed at level 9, as base64 text."""
    return b64(zlib.compress(np.ascontiguousarray(array).tobytes(), 9))


def b64_array(text, dtype):
    """The 1-D array of `dtype` that b64 stored."""
    return np.frombuffer(base64.b64decode(text), dtype)


def zlib_array(text, dtype, shape):
    """The array of `dtype` and `shape` that zlib_b64 stored."""
    return np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype).reshape(shape)


def read_fixture(folder, name):
    """The fixture folder/name as parsed JSON, or None when the file is absent."""
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)
