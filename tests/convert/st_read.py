"""A small safetensors reader for the tests, written apart from the
converter's writer: it parses the file byte by byte and checks the layout
rules of docs/MODEL_FORMAT.md (and the writer's 64-byte alignment)."""

import json
import struct

import numpy as np

DTYPES = {"F32": "<f4", "F16": "<f2", "I8": "i1", "U8": "u1", "I32": "<i4"}


def read(path, alignment=64):
    """Returns (tensors: name -> array, metadata: dict, header: dict)."""
    with open(path, "rb") as f:
        blob = f.read()
    assert len(blob) >= 8, "file shorter than the length prefix"
    (header_len,) = struct.unpack("<Q", blob[:8])
    assert header_len % 8 == 0, "header length %d is not a multiple of 8" % header_len
    assert 8 + header_len <= len(blob), "header runs past the end"
    text = blob[8:8 + header_len].decode("utf-8")
    assert text.rstrip(" ") == text.rstrip(), "header padding must be spaces"
    header = json.loads(text)
    data = blob[8 + header_len:]
    metadata = header.pop("__metadata__", {})
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    tensors, ranges = {}, []
    for name, info in header.items():
        begin, end = info["data_offsets"]
        assert begin % alignment == 0, "%s starts at %d, not %d-aligned" % (name, begin, alignment)
        assert 0 <= begin <= end <= len(data), "%s: range outside the data" % name
        dtype = np.dtype(DTYPES[info["dtype"]])
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        assert count * dtype.itemsize == end - begin, "%s: size mismatch" % name
        tensors[name] = np.frombuffer(data[begin:end], dtype).reshape(info["shape"])
        ranges.append((begin, end, name))
    ranges.sort()
    for (b0, e0, n0), (b1, _, n1) in zip(ranges, ranges[1:]):
        assert e0 <= b1, "%s and %s overlap" % (n0, n1)
    return tensors, metadata, header


def read_json_metadata(metadata):
    """The structured metadata values decoded."""
    out = dict(metadata)
    for key in ("mnet.config", "mnet.labels", "mnet.provenance", "mnet.quantization"):
        if key in out:
            out[key] = json.loads(out[key])
    return out
