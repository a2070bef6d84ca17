"""Shared setup of the converter tests: import paths, data folders, skips."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("MNET_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
SHARED_DIR = os.environ.get("MNET_SHARED_DIR", os.path.join(SOURCE_DIR, "..", "shared"))
MODELS_DIR = os.path.join(SHARED_DIR, "models")
CONVERTER_DIR = os.path.join(SOURCE_DIR, "tools", "convert")
CONVERTER = os.path.join(CONVERTER_DIR, "mnet_convert.py")
SKIPPED = 77


def add_import_paths():
    """Puts tools/convert, this folder and tests/models on sys.path (done on
    import; a test that needs nothing else from here calls it to say so)."""
    for path in (CONVERTER_DIR, HERE, os.path.join(SOURCE_DIR, "tests", "models")):
        if path not in sys.path:
            sys.path.insert(0, path)


add_import_paths()


def shared_model(relative):
    return os.path.join(MODELS_DIR, relative)


def require_shared_models(*relative):
    """Skips the whole script (exit 77) unless the pretrained files exist."""
    missing = [p for p in relative if not os.path.exists(shared_model(p))]
    if missing:
        print("SKIP: pretrained files missing: %s" % ", ".join(missing))
        sys.exit(SKIPPED)


def skip_test_without_shared_models(*relative):
    """Inside a unittest test or setUpClass: skips just that test (class)
    unless the pretrained files exist; the script's other tests still run."""
    import unittest
    missing = [p for p in relative if not os.path.exists(shared_model(p))]
    if missing:
        raise unittest.SkipTest("pretrained files missing: %s" % ", ".join(missing))
