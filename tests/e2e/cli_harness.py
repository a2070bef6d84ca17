"""What the end-to-end tests share: where the sources, the build, the
bundled and the shared files are, the CLI's documented exit codes
(docs/CLI.md), a tally of checks that keeps going after a failure, a way to
run `mnet`, and the skip and report-and-exit steps of the oracle comparisons.

The tests are scripts run by CTest; Python puts a script's own folder first on
sys.path, so `from cli_harness import ...` finds this file."""
import json
import os
import subprocess
import sys
import time

SOURCE = os.environ.get("MNET_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tools", "eval"))
from boxes import iou  # noqa: E402

box_iou = iou  # the tests import it from here
BUILD = os.environ.get("MNET_BUILD_DIR", os.path.join(SOURCE, "build"))
SHARED = os.environ.get("MNET_SHARED_DIR", os.path.join(SOURCE, "..", "shared"))
MNET = os.path.join(BUILD, "mnet")
MODELS = os.path.join(SOURCE, "models")
IMAGES = os.path.join(SOURCE, "examples", "images")
ARMNN_FIXTURES = os.path.join(SOURCE, "tests", "fixtures", "armnn")

EXIT_USAGE, EXIT_BAD_IMAGE, EXIT_BAD_MODEL, EXIT_INTERNAL = 2, 3, 4, 5
SKIPPED = 77  # CTest's skip code


def skip(why):
    """Ends the script as skipped."""
    print("SKIP:", why)
    sys.exit(SKIPPED)


def require_cli(*paths):
    """Ends the script as skipped unless `mnet` is built and every one of
    `paths` (the bundled models a test needs) exists."""
    if not os.access(MNET, os.X_OK):
        skip("%s not built" % MNET)
    for path in paths:
        if not os.path.exists(path):
            skip("%s missing" % path)

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


def report_and_exit(results, report, report_name):
    """Writes `report` as JSON to $MNET_BUILD_DIR/report_name (read for
    bench/RESULTS.md), prints the tally of `results` (one bool per model
    checked) and exits: 0 when all passed, else 1."""
    with open(os.path.join(BUILD, report_name), "w") as f:
        json.dump(report, f, indent=1)
    passed = sum(results)
    print("%d passed, %d failed" % (passed, len(results) - passed))
    sys.exit(0 if passed == len(results) else 1)
