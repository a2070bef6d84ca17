#!/usr/bin/python3
"""safetensors writer round trip: random tensors of every dtype and random
metadata, read back with the tests' own reader (header length a multiple of
8, tensors 64-byte aligned, exact bytes)."""

import json
import os
import random
import struct
import tempfile
import unittest

import numpy as np

import convert_test_env

convert_test_env.add_import_paths()
import safetensors_writer  # noqa: E402
import st_read  # noqa: E402


class SafetensorsWriterTest(unittest.TestCase):
    def test_round_trip(self):
        rng = np.random.default_rng(3)
        kinds = [np.float32, np.float16, np.int8, np.uint8, np.int32]
        for trial in range(6):
            tensors = {}
            for i in range(int(rng.integers(1, 9))):
                dtype = kinds[int(rng.integers(0, len(kinds)))]
                shape = [int(d) for d in rng.integers(1, 6, int(rng.integers(0, 5)))]
                if np.issubdtype(dtype, np.floating):
                    value = rng.normal(0, 10, shape).astype(dtype)
                else:
                    info = np.iinfo(dtype)
                    value = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
                tensors["t%d.%s" % (i, "é" if i == 3 else "x")] = value
            metadata = {"k%d" % i: "".join(random.Random(i + trial).choice("ab\"\\{é ")
                                           for _ in range(i * 7)) for i in range(4)}
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "t.safetensors")
                size = safetensors_writer.write_safetensors(path, tensors, metadata)
                self.assertEqual(size, os.path.getsize(path))
                with open(path, "rb") as f:
                    (header_len,) = struct.unpack("<Q", f.read(8))
                self.assertEqual((8 + header_len) % 64, 0)
                back, meta, header = st_read.read(path)
            self.assertEqual(meta, metadata)
            self.assertEqual(list(back), list(tensors))
            for name, value in tensors.items():
                self.assertEqual(back[name].dtype, value.dtype)
                self.assertEqual(back[name].shape, value.shape)
                np.testing.assert_array_equal(back[name], value)
                self.assertEqual(header[name]["dtype"],
                                 {np.float32: "F32", np.float16: "F16", np.int8: "I8",
                                  np.uint8: "U8", np.int32: "I32"}[value.dtype.type])

    def test_big_endian_input_is_stored_little_endian(self):
        value = np.arange(5, dtype=">f4")
        data = safetensors_writer.encode_safetensors({"x": value}, {})
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + n])
        begin, end = header["x"]["data_offsets"]
        np.testing.assert_array_equal(np.frombuffer(data[8 + n + begin:8 + n + end], "<f4"), value)

    def test_rejects_bad_input(self):
        with self.assertRaisesRegex(ValueError, "float64 cannot be stored"):
            safetensors_writer.encode_safetensors({"w": np.zeros(3)}, {})
        with self.assertRaisesRegex(TypeError, "must be strings"):
            safetensors_writer.encode_safetensors({}, {"a": 1})
        with self.assertRaisesRegex(ValueError, "__metadata__"):
            safetensors_writer.encode_safetensors({"__metadata__": np.zeros(1, np.float32)}, {})


if __name__ == "__main__":
    unittest.main()
