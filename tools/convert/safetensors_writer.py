"""Writes a safetensors file: u64 header length, JSON header, raw tensor data.

Each tensor starts at a 64-byte aligned offset (relative to the data start,
which is itself 64-byte aligned in the file because the header is padded with
spaces), so a loader may use fp32 data in place with aligned vector loads.
The gaps are zero bytes; the header's data_offsets describe only the tensors."""

import json
import struct

import numpy as np

ALIGNMENT = 64
DTYPE_NAMES = {np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("i1"): "I8",
               np.dtype("u1"): "U8", np.dtype("<i4"): "I32"}


def _align(n, to):
    return (n + to - 1) // to * to


def encode_safetensors(tensors, metadata):
    """tensors: ordered mapping name -> numpy array (dtype f32, f16, i8, u8 or
    i32); metadata: mapping str -> str. Returns the file bytes."""
    header = {}
    if metadata:
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError("metadata %r: keys and values must be strings" % (key,))
        header["__metadata__"] = dict(metadata)
    blobs, offset = [], 0
    for name, array in tensors.items():
        if name == "__metadata__":
            raise ValueError("'__metadata__' cannot be a tensor name")
        array = np.asarray(array)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if dtype not in DTYPE_NAMES:
            raise ValueError("tensor '%s': dtype %s cannot be stored (use f32, f16, i8, u8, "
                             "i32)" % (name, array.dtype))
        data = array.astype(dtype.newbyteorder("<"), copy=False).tobytes()
        offset = _align(offset, ALIGNMENT)
        header[name] = {"dtype": DTYPE_NAMES[dtype], "shape": [int(d) for d in array.shape],
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append((offset, data))
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    header_len = _align(8 + len(text), ALIGNMENT) - 8
    text += b" " * (header_len - len(text))
    body = bytearray(offset)
    for begin, data in blobs:
        body[begin:begin + len(data)] = data
    return struct.pack("<Q", header_len) + text + bytes(body)


def write_safetensors(path, tensors, metadata):
    data = encode_safetensors(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)
