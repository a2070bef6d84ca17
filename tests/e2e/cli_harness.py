"""What the end-to-end tests share: where the sources, the build and the
bundled files are, the CLI's documented exit codes (docs/CLI.md), a tally of
checks that keeps going after a failure, and a way to run `mnet`.

The tests are scripts run by CTest; Python puts a script's own folder first on
sys.path, so `from cli_harness import ...` finds this file."""
import os
import subprocess
import sys
import time

SOURCE = os.environ.get("MNET_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("MNET_BUILD_DIR", os.path.join(SOURCE, "build"))
MNET = os.path.join(BUILD, "mnet")
MODELS = os.path.join(SOURCE, "models")
IMAGES = os.path.join(SOURCE, "examples", "images")

EXIT_USAGE, EXIT_BAD_IMAGE, EXIT_BAD_MODEL, EXIT_INTERNAL = 2, 3, 4, 5

_tally = {"checks": 0, "failures": []}


def check(condition, what):
    """Counts one check; a failed one is reported at once and remembered."""
    _tally["checks"] += 1
    if not condition:
        _tally["failures"].append(what)
        print("FAIL:", what, file=sys.stderr)


def failures():
    return list(_tally["failures"])


def summary():
    """Prints the tally and returns the script's exit status."""
    count, failed = _tally["checks"], len(_tally["failures"])
    print(f"{count - failed} passed, {failed} failed")
    return 1 if failed else 0


def run(args, cwd=None, stdout=subprocess.PIPE, timeout=600):
    """Runs `mnet ARGS`; the result carries .out and .err as text and
    .seconds, the wall time."""
    started = time.monotonic()
    result = subprocess.run([MNET] + list(args), cwd=cwd, stdout=stdout,
                            stderr=subprocess.PIPE, timeout=timeout)
    result.seconds = time.monotonic() - started
    result.out = result.stdout.decode("utf-8") if result.stdout is not None else ""
    result.err = result.stderr.decode("utf-8", "replace")
    return result
