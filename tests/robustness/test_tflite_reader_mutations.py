"""Mutation test of the converter's TFLite reader (tools/convert/tflite_reader.py)
on the real .tflite files of the bundled models (MNET_SHARED_DIR/models).

Damaged files (bit flips, 32-bit words overwritten with extreme values,
truncation, zeroed or swapped ranges) must either parse or fail with the
reader's own error (TFLiteFormatError, a ValueError) -- never another
exception -- within PER_PARSE_SECONDS each and within an address-space limit,
so that a corrupt file cannot hang the converter or make it allocate
without bound. Mutations aim mostly at the flatbuffer tables and vectors
(everything outside the weight buffers), where a wrong offset matters.

Runs for about TOTAL_SECONDS (env MNET_TFLITE_MUTATION_SECONDS overrides);
failing inputs are written to $MNET_BUILD_DIR/tflite_mutations/.
Exit 77 (skipped) when no .tflite file is present.
"""
import glob
import os
import random
import resource
import signal
import struct
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("MNET_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tools", "convert"))

import tflite_reader  # noqa: E402
import tflite_schema as schema  # noqa: E402

TOTAL_SECONDS = float(os.environ.get("MNET_TFLITE_MUTATION_SECONDS", "18"))
PER_PARSE_SECONDS = 5
ADDRESS_SPACE_BYTES = 3 << 30
MAX_FILE_BYTES = 5 << 20  # the larger detectors add time, not new structure
INTERESTING_WORDS = [0, 1, 2, 3, 4, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000,
                     0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 0x40000000]


class ParseTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise ParseTimeout()


def weight_ranges(data):
    """(start, end) of every buffer's bytes, read with the reader's own
    bounds-checked tables; mutations inside them only change weights."""
    root = tflite_reader._Table(data, struct.unpack_from("<I", data, 0)[0], "model")
    ranges = []
    for table in root.tables(schema.MODEL["buffers"], "buffers"):
        start, count = table._vector_start(schema.BUFFER["data"], 1, "data")
        if start is not None and count > 64:
            ranges.append((start, start + count))
    return sorted(ranges)


def structural_positions(size, ranges):
    """Sorted list of (start, end) spans outside the weight buffers."""
    spans, at = [], 0
    for start, end in ranges:
        if start > at:
            spans.append((at, start))
        at = max(at, end)
    if at < size:
        spans.append((at, size))
    return spans


def pick_position(rng, size, spans):
    if spans and rng.random() < 0.85:
        start, end = rng.choice(spans)
        return rng.randrange(start, end)
    return rng.randrange(size)


def mutate(rng, data, spans):
    buf = bytearray(data)
    kind = rng.randrange(6)
    if kind == 0:  # a few bit flips
        for _ in range(rng.randint(1, 4)):
            at = pick_position(rng, len(buf), spans)
            buf[at] ^= 1 << rng.randrange(8)
    elif kind == 1:  # an aligned word set to an extreme value
        at = pick_position(rng, len(buf), spans) & ~3
        if at + 4 <= len(buf):
            struct.pack_into("<I", buf, at, rng.choice(INTERESTING_WORDS))
    elif kind == 2:  # a word nudged: offsets and counts off by a little
        at = pick_position(rng, len(buf), spans) & ~3
        if at + 4 <= len(buf):
            value = struct.unpack_from("<I", buf, at)[0]
            struct.pack_into("<I", buf, at, (value + rng.choice([-8, -4, -1, 1, 4, 8, 1 << 20]))
                             & 0xFFFFFFFF)
    elif kind == 3:  # truncation
        del buf[rng.randrange(len(buf)):]
    elif kind == 4:  # a zeroed range
        at = pick_position(rng, len(buf), spans)
        length = rng.randint(1, 64)
        buf[at:at + length] = bytes(min(length, len(buf) - at))
    else:  # two ranges swapped (a table pointing at the wrong thing)
        length = rng.randint(4, 32)
        a = pick_position(rng, len(buf), spans)
        b = pick_position(rng, len(buf), spans)
        if max(a, b) + length <= len(buf) and abs(a - b) >= length:
            buf[a:a + length], buf[b:b + length] = buf[b:b + length], buf[a:a + length]
    return bytes(buf)


def main():
    shared = os.environ.get("MNET_SHARED_DIR", os.path.join(SOURCE, "..", "shared"))
    paths = sorted(p for p in glob.glob(os.path.join(shared, "models", "**", "*.tflite"),
                                        recursive=True)
                   if os.path.getsize(p) <= MAX_FILE_BYTES)
    if not paths:
        print("skipped: no .tflite files under %s/models" % shared)
        return 77
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))
    signal.signal(signal.SIGALRM, on_alarm)
    out_dir = os.path.join(os.environ.get("MNET_BUILD_DIR", "/tmp"), "tflite_mutations")

    sources = []
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        tflite_reader.parse_tflite(data, path)  # the pristine file must parse
        sources.append((os.path.basename(path), data,
                        structural_positions(len(data), weight_ranges(data))))

    rng = random.Random(0x7F11E)
    counts = {"parsed": 0, "rejected": 0}
    failures = []
    slowest = 0.0
    deadline = time.monotonic() + TOTAL_SECONDS
    iteration = 0
    while time.monotonic() < deadline:
        name, data, spans = sources[iteration % len(sources)]
        iteration += 1
        mutated = mutate(rng, data, spans)
        start = time.monotonic()
        signal.alarm(PER_PARSE_SECONDS)
        problem = None
        try:
            tflite_reader.parse_tflite(mutated, name)
            counts["parsed"] += 1
        except ValueError:  # TFLiteFormatError is one
            counts["rejected"] += 1
        except ParseTimeout:
            problem = "no answer within %d s" % PER_PARSE_SECONDS
        except Exception as exc:  # noqa: BLE001 -- any other exception is the bug
            problem = "%s: %s\n%s" % (type(exc).__name__, exc, traceback.format_exc(limit=4))
        finally:
            signal.alarm(0)
        slowest = max(slowest, time.monotonic() - start)
        if problem:
            os.makedirs(out_dir, exist_ok=True)
            saved = os.path.join(out_dir, "%s.%d.tflite" % (name, iteration))
            with open(saved, "wb") as f:
                f.write(mutated)
            failures.append("%s (saved as %s): %s" % (name, saved, problem))

    total = counts["parsed"] + counts["rejected"] + len(failures)
    print("%d mutations of %d files: %d parsed, %d rejected with TFLiteFormatError/ValueError, "
          "%d other failures; slowest parse %.3f s"
          % (total, len(sources), counts["parsed"], counts["rejected"], len(failures), slowest))
    for failure in failures[:10]:
        print("FAIL:", failure)
    if total < 100:
        print("FAIL: only %d mutations ran" % total)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
