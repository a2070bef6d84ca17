"""Reads a .tflite file (TFLite flatbuffer, schema v3) into plain Python
objects: tensors with shape, type, constant data and quantization, and
operators with their builtin options. Only what the MobileNet converters need
is decoded. Every offset is checked against the file size first, so a
truncated or corrupt file raises TFLiteFormatError instead of reading garbage
(Python slicing would silently cut short, negative struct offsets wrap)."""

import dataclasses
import struct

import flatbuffers
import numpy as np

import tflite_schema as schema


class TFLiteFormatError(ValueError):
    """The file is not a well-formed TFLite flatbuffer."""


@dataclasses.dataclass
class Quantization:
    scale: np.ndarray          # float64, one value or one per channel
    zero_point: np.ndarray     # int64, same length as scale
    quantized_dimension: int

    @property
    def per_channel(self):
        return self.scale.size > 1


@dataclasses.dataclass
class Tensor:
    index: int
    name: str
    shape: tuple
    type: str                  # "float32", "uint8", "int8", "int32", ...
    buffer: int
    data: object               # numpy array in `shape`, or None (activation)
    quantization: object       # Quantization or None

    def describe(self):
        return "tensor %d '%s' %s %s" % (self.index, self.name, self.type,
                                         list(self.shape))


@dataclasses.dataclass
class Operator:
    index: int
    opcode: str                # "CONV_2D", ... or "BUILTIN_<n>" / "CUSTOM:<name>"
    inputs: list               # tensor indices, -1 = optional input absent
    outputs: list
    options: dict
    custom_options: bytes = b""  # raw custom options (a flexbuffer for custom ops)

    def describe(self):
        return "operator %d (%s)" % (self.index, self.opcode)


@dataclasses.dataclass
class Model:
    path: str
    version: int
    description: str
    tensors: list
    operators: list
    inputs: list
    outputs: list


class _Table:
    """A flatbuffers Table whose every access is bounds-checked first."""

    def __init__(self, buf, pos, what):
        self.buf, self.what = buf, what
        size = len(buf)
        if pos < 0 or pos + 4 > size:
            raise TFLiteFormatError("%s: table offset %d outside the file (%d bytes)"
                                    % (what, pos, size))
        vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        if vtable < 0 or vtable + 4 > size:
            raise TFLiteFormatError("%s: vtable offset %d outside the file" % (what, vtable))
        vtable_len = struct.unpack_from("<H", buf, vtable)[0]
        if vtable_len < 4 or vtable + vtable_len > size:
            raise TFLiteFormatError("%s: vtable of %d bytes runs past the end of the file"
                                    % (what, vtable_len))
        self.table = flatbuffers.table.Table(buf, pos)

    def _field(self, index):
        return self.table.Offset(4 + 2 * index)

    def _check(self, begin, nbytes, field):
        if begin < 0 or begin + nbytes > len(self.buf):
            raise TFLiteFormatError("%s.%s: %d bytes at offset %d run past the end of "
                                    "the file (%d bytes; truncated?)"
                                    % (self.what, field, nbytes, begin, len(self.buf)))

    def scalar(self, index, fmt, default, field=""):
        off = self._field(index)
        if not off:
            return default
        pos = self.table.Pos + off
        self._check(pos, struct.calcsize(fmt), field)
        return struct.unpack_from("<" + fmt, self.buf, pos)[0]

    def _vector_start(self, index, elem_size, field):
        off = self._field(index)
        if not off:
            return None, 0
        ref = self.table.Pos + off
        self._check(ref, 4, field)
        start = ref + struct.unpack_from("<I", self.buf, ref)[0]
        self._check(start, 4, field)
        count = struct.unpack_from("<I", self.buf, start)[0]
        self._check(start + 4, count * elem_size, field)
        return start + 4, count

    def array(self, index, dtype, field=""):
        dtype = np.dtype(dtype)
        start, count = self._vector_start(index, dtype.itemsize, field)
        if start is None:
            return np.zeros(0, dtype)
        return np.frombuffer(self.buf, dtype, count, start).copy()

    def string(self, index, field=""):
        start, count = self._vector_start(index, 1, field)
        if start is None:
            return ""
        return bytes(self.buf[start:start + count]).decode("utf-8", "replace")

    def tables(self, index, what):
        start, count = self._vector_start(index, 4, what)
        out = []
        for i in range(count if start is not None else 0):
            ref = start + 4 * i
            out.append(_Table(self.buf, ref + struct.unpack_from("<I", self.buf, ref)[0],
                              "%s[%d]" % (what, i)))
        return out

    def table_field(self, index, what):
        off = self._field(index)
        if not off:
            return None
        ref = self.table.Pos + off
        self._check(ref, 4, what)
        return _Table(self.buf, ref + struct.unpack_from("<I", self.buf, ref)[0], what)


def _read_options(op_table, opcode, what):
    layouts = {
        "CONV_2D": (schema.CONV2D_OPTIONS, {"padding": "B", "stride_w": "i", "stride_h": "i",
                                            "fused_activation_function": "B",
                                            "dilation_w_factor": "i", "dilation_h_factor": "i"}),
        "DEPTHWISE_CONV_2D": (schema.DEPTHWISE_OPTIONS,
                              {"padding": "B", "stride_w": "i", "stride_h": "i",
                               "depth_multiplier": "i", "fused_activation_function": "B",
                               "dilation_w_factor": "i", "dilation_h_factor": "i"}),
        "AVERAGE_POOL_2D": (schema.POOL2D_OPTIONS,
                            {"padding": "B", "stride_w": "i", "stride_h": "i",
                             "filter_width": "i", "filter_height": "i",
                             "fused_activation_function": "B"}),
        "ADD": (schema.ADD_OPTIONS, {"fused_activation_function": "B"}),
        "FULLY_CONNECTED": (schema.FULLY_CONNECTED_OPTIONS,
                            {"fused_activation_function": "B", "keep_num_dims": "B"}),
        "SOFTMAX": (schema.SOFTMAX_OPTIONS, {"beta": "f"}),
        "MEAN": (schema.REDUCER_OPTIONS, {"keep_dims": "B"}),
        "CONCATENATION": (schema.CONCATENATION_OPTIONS,
                          {"axis": "i", "fused_activation_function": "B"}),
        "RESIZE_BILINEAR": (schema.RESIZE_BILINEAR_OPTIONS,
                            {"align_corners": "B", "half_pixel_centers": "B"}),
    }
    defaults = {"dilation_w_factor": 1, "dilation_h_factor": 1, "depth_multiplier": 1,
                "beta": 1.0}
    options = {}
    table = op_table.table_field(schema.OPERATOR["builtin_options"], what + ".builtin_options")
    if opcode == "RESHAPE":
        options["new_shape"] = (table.array(schema.RESHAPE_OPTIONS["new_shape"], "<i4")
                                .tolist() if table else None)
        return options
    if opcode not in layouts:
        return options
    slots, formats = layouts[opcode]
    for name, fmt in formats.items():
        default = defaults.get(name, 0)
        value = table.scalar(slots[name], fmt, default, name) if table else default
        options[name] = value
    if "padding" in options:
        options["padding"] = schema.PADDING.get(options["padding"], "UNKNOWN")
    if "fused_activation_function" in options:
        options["fused_activation_function"] = schema.ACTIVATIONS.get(
            options["fused_activation_function"], "UNKNOWN")
    return options


def _read_quantization(tensor_table, what):
    table = tensor_table.table_field(schema.TENSOR["quantization"], what + ".quantization")
    if table is None:
        return None
    scale = table.array(schema.QUANTIZATION["scale"], "<f4", "scale").astype(np.float64)
    zero_point = table.array(schema.QUANTIZATION["zero_point"], "<i8", "zero_point")
    if scale.size == 0:
        return None
    if zero_point.size == 0:
        zero_point = np.zeros(scale.size, np.int64)
    if zero_point.size != scale.size:
        raise TFLiteFormatError("%s: %d scales but %d zero points"
                                % (what, scale.size, zero_point.size))
    dim = table.scalar(schema.QUANTIZATION["quantized_dimension"], "i", 0,
                       "quantized_dimension")
    return Quantization(scale, zero_point, int(dim))


def _read_buffers(model_table, buf):
    buffers = []
    for i, table in enumerate(model_table.tables(schema.MODEL["buffers"], "buffers")):
        data = table.array(schema.BUFFER["data"], "u1", "data")
        if data.size == 0:
            # Models above 2 GiB keep tensor data after the flatbuffer.
            offset = table.scalar(schema.BUFFER["offset"], "Q", 0, "offset")
            size = table.scalar(schema.BUFFER["size"], "Q", 0, "size")
            if offset > 1:
                if offset + size > len(buf):
                    raise TFLiteFormatError("buffer %d: %d bytes at offset %d run past the "
                                            "end of the file" % (i, size, offset))
                data = np.frombuffer(buf, np.uint8, size, offset).copy()
        buffers.append(data)
    return buffers


def parse_tflite(data, path="<memory>"):
    """Decodes the first subgraph of a TFLite model held in `data` (bytes)."""
    buf = bytes(data)
    if len(buf) < 8:
        raise TFLiteFormatError("%s: %d bytes is too short for a TFLite file" % (path, len(buf)))
    if buf[4:8] != b"TFL3":
        raise TFLiteFormatError("%s: file identifier is %r, expected b'TFL3' (not a TFLite "
                                "model)" % (path, buf[4:8]))
    try:
        model = _Table(buf, struct.unpack_from("<I", buf, 0)[0], "model")
        version = model.scalar(schema.MODEL["version"], "I", 0, "version")
        if version != 3:
            raise TFLiteFormatError("%s: schema version %d, expected 3" % (path, version))
        codes = []
        for table in model.tables(schema.MODEL["operator_codes"], "operator_codes"):
            old = table.scalar(schema.OPERATOR_CODE["deprecated_builtin_code"], "b", 0)
            new = table.scalar(schema.OPERATOR_CODE["builtin_code"], "i", 0)
            code = max(old, new)  # newer files keep codes above 127 only in builtin_code
            custom = table.string(schema.OPERATOR_CODE["custom_code"])
            if custom:
                codes.append("CUSTOM:" + custom)
            else:
                codes.append(schema.BUILTIN_OPERATORS.get(code, "BUILTIN_%d" % code))
        buffers = _read_buffers(model, buf)
        subgraphs = model.tables(schema.MODEL["subgraphs"], "subgraphs")
        if not subgraphs:
            raise TFLiteFormatError("%s: the model has no subgraph" % path)
        graph = subgraphs[0]

        tensors = []
        for i, table in enumerate(graph.tables(schema.SUBGRAPH["tensors"], "tensors")):
            what = "tensor %d" % i
            name = table.string(schema.TENSOR["name"], "name")
            shape = tuple(int(v) for v in table.array(schema.TENSOR["shape"], "<i4", "shape"))
            type_code = table.scalar(schema.TENSOR["type"], "b", 0, "type")
            if type_code not in schema.TENSOR_TYPES:
                raise TFLiteFormatError("%s: tensor %d '%s' has unsupported type code %d"
                                        % (path, i, name, type_code))
            type_name, np_type = schema.TENSOR_TYPES[type_code]
            buffer_index = table.scalar(schema.TENSOR["buffer"], "I", 0, "buffer")
            if buffer_index >= len(buffers):
                raise TFLiteFormatError("%s: tensor %d '%s' refers to buffer %d of %d"
                                        % (path, i, name, buffer_index, len(buffers)))
            raw = buffers[buffer_index]
            array = None
            if raw.size:
                count = int(np.prod(shape)) if shape else 1
                itemsize = np.dtype(np_type).itemsize
                if raw.size != count * itemsize:
                    raise TFLiteFormatError(
                        "%s: tensor %d '%s' shape %s (%s) needs %d bytes, its buffer %d has %d"
                        % (path, i, name, list(shape), type_name, count * itemsize,
                           buffer_index, raw.size))
                array = raw.view(np_type).reshape(shape)
            tensors.append(Tensor(i, name, shape, type_name, buffer_index, array,
                                  _read_quantization(table, what)))

        def check_indices(indices, what):
            for t in indices:
                if t < -1 or t >= len(tensors):
                    raise TFLiteFormatError("%s: %s refers to tensor %d of %d"
                                            % (path, what, t, len(tensors)))
            return [int(t) for t in indices]

        operators = []
        for i, table in enumerate(graph.tables(schema.SUBGRAPH["operators"], "operators")):
            code_index = table.scalar(schema.OPERATOR["opcode_index"], "I", 0, "opcode_index")
            if code_index >= len(codes):
                raise TFLiteFormatError("%s: operator %d uses opcode index %d of %d"
                                        % (path, i, code_index, len(codes)))
            opcode = codes[code_index]
            what = "operator %d (%s)" % (i, opcode)
            inputs = check_indices(table.array(schema.OPERATOR["inputs"], "<i4"), what)
            outputs = check_indices(table.array(schema.OPERATOR["outputs"], "<i4"), what)
            custom = b""
            if opcode.startswith("CUSTOM:"):
                custom = table.array(schema.OPERATOR["custom_options"], "u1",
                                     "custom_options").tobytes()
            operators.append(Operator(i, opcode, inputs, outputs,
                                      _read_options(table, opcode, what), custom))
        inputs = check_indices(graph.array(schema.SUBGRAPH["inputs"], "<i4"), "subgraph inputs")
        outputs = check_indices(graph.array(schema.SUBGRAPH["outputs"], "<i4"),
                                "subgraph outputs")
        description = model.string(schema.MODEL["description"])
    except TFLiteFormatError as exc:
        if str(exc).startswith(path):
            raise
        raise TFLiteFormatError("%s: %s" % (path, exc)) from None
    except (struct.error, ValueError, IndexError) as exc:
        raise TFLiteFormatError("%s: corrupt flatbuffer (%s)" % (path, exc)) from None
    return Model(path, int(version), description, tensors, operators, inputs, outputs)


def read_tflite(path):
    with open(path, "rb") as f:
        return parse_tflite(f.read(), str(path))
