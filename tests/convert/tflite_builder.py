"""Writes small synthetic TFLite flatbuffers for the converter tests, with
the flatbuffers Builder (its own encoding of the schema, apart from the
reader): a MobileNet V1 of any depth multiplier and input size with random
float32, uint8 per-tensor or int8 per-channel weights, and the expected
dequantized tensors in mnet's layout, computed here from the random values.
`mutate` hooks break the graph in one place for the error tests."""

import flatbuffers
import numpy as np

# Builtin operator codes, tensor types and options union types of schema.fbs.
OP = {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 4, "AVERAGE_POOL_2D": 1, "RESHAPE": 22,
      "SOFTMAX": 25, "MAX_POOL_2D": 17, "TANH": 28}
TYPE = {"float32": 0, "int32": 2, "uint8": 3, "int8": 9}
OPTIONS_TYPE = {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 2, "AVERAGE_POOL_2D": 5,
                "MAX_POOL_2D": 5, "SOFTMAX": 9, "RESHAPE": 17}
RELU6, NONE = 3, 0
V1_STRIDES = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
V1_WIDTHS = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]


class Builder:
    def __init__(self):
        self.tensors = []   # (name, shape, type, buffer, quant)
        self.buffers = [b""]
        self.ops = []       # (opcode name, inputs, outputs, options dict)

    def tensor(self, name, shape, type_name, data=None, scale=None, zero_point=None, axis=0):
        buffer = 0
        if data is not None:
            self.buffers.append(np.ascontiguousarray(data).tobytes())
            buffer = len(self.buffers) - 1
        quant = None
        if scale is not None:
            quant = (np.atleast_1d(np.asarray(scale, np.float32)),
                     np.atleast_1d(np.asarray(zero_point, np.int64)), axis)
        self.tensors.append((name, list(shape), TYPE[type_name], buffer, quant))
        return len(self.tensors) - 1

    def op(self, opcode, inputs, outputs, **options):
        self.ops.append((opcode, list(inputs), list(outputs), options))

    def finish(self, inputs, outputs):
        b = flatbuffers.Builder(1 << 16)

        def int_vector(values, fmt="int32"):
            return b.CreateNumpyVector(np.asarray(values, fmt))

        buffer_offsets = []
        for data in self.buffers:
            vec = b.CreateNumpyVector(np.frombuffer(data, np.uint8)) if data else None
            b.StartObject(3)
            if vec is not None:
                b.PrependUOffsetTRelativeSlot(0, vec, 0)
            buffer_offsets.append(b.EndObject())

        tensor_offsets = []
        for name, shape, type_code, buffer, quant in self.tensors:
            name_off = b.CreateString(name)
            shape_off = int_vector(shape)
            quant_off = None
            if quant is not None:
                scale_off = b.CreateNumpyVector(quant[0])
                zp_off = b.CreateNumpyVector(quant[1])
                b.StartObject(7)
                b.PrependUOffsetTRelativeSlot(2, scale_off, 0)
                b.PrependUOffsetTRelativeSlot(3, zp_off, 0)
                b.PrependInt32Slot(6, quant[2], 0)
                quant_off = b.EndObject()
            b.StartObject(5)
            b.PrependUOffsetTRelativeSlot(0, shape_off, 0)
            b.PrependInt8Slot(1, type_code, 0)
            b.PrependUint32Slot(2, buffer, 0)
            b.PrependUOffsetTRelativeSlot(3, name_off, 0)
            if quant_off is not None:
                b.PrependUOffsetTRelativeSlot(4, quant_off, 0)
            tensor_offsets.append(b.EndObject())

        codes = sorted({op[0] for op in self.ops}, key=lambda c: OP[c])
        op_offsets = []
        for opcode, ins, outs, options in self.ops:
            options_off = self._options(b, opcode, options)
            in_off, out_off = int_vector(ins), int_vector(outs)
            b.StartObject(5)
            b.PrependUint32Slot(0, codes.index(opcode), 0)
            b.PrependUOffsetTRelativeSlot(1, in_off, 0)
            b.PrependUOffsetTRelativeSlot(2, out_off, 0)
            if options_off is not None:
                b.PrependUint8Slot(3, OPTIONS_TYPE[opcode], 0)
                b.PrependUOffsetTRelativeSlot(4, options_off, 0)
            op_offsets.append(b.EndObject())

        def table_vector(offsets):
            b.StartVector(4, len(offsets), 4)
            for off in reversed(offsets):
                b.PrependUOffsetTRelative(off)
            return b.EndVector()

        tensors_vec = table_vector(tensor_offsets)
        ops_vec = table_vector(op_offsets)
        in_vec, out_vec = int_vector(inputs), int_vector(outputs)
        graph_name = b.CreateString("main")
        b.StartObject(5)
        b.PrependUOffsetTRelativeSlot(0, tensors_vec, 0)
        b.PrependUOffsetTRelativeSlot(1, in_vec, 0)
        b.PrependUOffsetTRelativeSlot(2, out_vec, 0)
        b.PrependUOffsetTRelativeSlot(3, ops_vec, 0)
        b.PrependUOffsetTRelativeSlot(4, graph_name, 0)
        graph = b.EndObject()

        code_offsets = []
        for c in codes:
            b.StartObject(4)
            b.PrependInt8Slot(0, min(OP[c], 127), 0)
            b.PrependInt32Slot(2, 1, 0)
            b.PrependInt32Slot(3, OP[c], 0)
            code_offsets.append(b.EndObject())
        codes_vec = table_vector(code_offsets)
        graphs_vec = table_vector([graph])
        buffers_vec = table_vector(buffer_offsets)
        description = b.CreateString("synthetic test model")
        b.StartObject(5)
        b.PrependUint32Slot(0, 3, 0)
        b.PrependUOffsetTRelativeSlot(1, codes_vec, 0)
        b.PrependUOffsetTRelativeSlot(2, graphs_vec, 0)
        b.PrependUOffsetTRelativeSlot(3, description, 0)
        b.PrependUOffsetTRelativeSlot(4, buffers_vec, 0)
        b.Finish(b.EndObject(), file_identifier=b"TFL3")
        return bytes(b.Output())

    @staticmethod
    def _options(b, opcode, o):
        if opcode in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            dw = opcode == "DEPTHWISE_CONV_2D"
            b.StartObject(7 if dw else 6)
            b.PrependInt8Slot(0, o.get("padding", 0), 0)
            b.PrependInt32Slot(1, o["stride"], 0)
            b.PrependInt32Slot(2, o["stride"], 0)
            if dw:
                b.PrependInt32Slot(3, 1, 0)
            b.PrependInt8Slot(4 if dw else 3, o["activation"], 0)
            b.PrependInt32Slot(5 if dw else 4, 1, 1)
            b.PrependInt32Slot(6 if dw else 5, 1, 1)
            return b.EndObject()
        if opcode in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            b.StartObject(6)
            b.PrependInt8Slot(0, 1, 0)
            b.PrependInt32Slot(1, 1, 0)
            b.PrependInt32Slot(2, 1, 0)
            b.PrependInt32Slot(3, o["filter"], 0)
            b.PrependInt32Slot(4, o["filter"], 0)
            return b.EndObject()
        if opcode == "RESHAPE":
            shape = b.CreateNumpyVector(np.asarray(o["new_shape"], np.int32))
            b.StartObject(1)
            b.PrependUOffsetTRelativeSlot(0, shape, 0)
            return b.EndObject()
        if opcode == "SOFTMAX":
            b.StartObject(1)
            b.PrependFloat32Slot(0, 1.0, 0.0)
            return b.EndObject()
        return None


def _quantized_weights(rng, shape, mode, channel_axis):
    """Random integer weights and their parameters; returns (q, scale, zp, real)."""
    if mode == "uint8":
        q = rng.integers(0, 256, shape, dtype=np.int64).astype(np.uint8)
        scale = np.float32(rng.uniform(0.002, 0.05))
        zp = int(rng.integers(60, 200))
        real = (q.astype(np.float64) - zp) * np.float64(scale)
        return q, scale, zp, real
    channels = shape[channel_axis]
    q = rng.integers(-127, 128, shape, dtype=np.int64).astype(np.int8)
    scale = rng.uniform(0.001, 0.05, channels).astype(np.float32)
    bshape = [1] * len(shape)
    bshape[channel_axis] = channels
    real = q.astype(np.float64) * scale.astype(np.float64).reshape(bshape)
    return q, scale, np.zeros(channels, np.int64), real


def mnet_layout(kind, weights):
    """A TFLite weight tensor (conv [O,kh,kw,I], depthwise [1,kh,kw,C],
    classifier [N,1,1,C]) in the layout the converter stores: depthwise
    [C,kh,kw,1], classifier [N,C], conv unchanged."""
    if kind == "dw":
        return weights[0].transpose(2, 0, 1)[..., None]
    if kind == "fc":
        return weights[:, 0, 0, :]
    return weights


def make_v1(dm, size, mode, seed, num_classes=11, mutate=None):
    """Returns (tflite bytes, expected float tensors in mnet layout, expected
    raw tensors, input (scale, zero_point) or None)."""
    rng = np.random.default_rng(seed)
    widths = [max(8, int(c * dm)) for c in V1_WIDTHS]
    b = Builder()
    expected, raw = {}, {}
    act_type = {"float32": "float32", "uint8": "uint8", "int8": "int8"}[mode]

    def activation_params():
        if mode == "float32":
            return {}
        return {"scale": np.float32(rng.uniform(0.01, 0.1)),
                "zero_point": int(rng.integers(0, 50)) if mode == "uint8" else -128}

    in_params = {"scale": np.float32(1 / 128.0), "zero_point": 128} if mode == "uint8" else (
        {"scale": np.float32(1 / 128.0), "zero_point": 0} if mode == "int8" else {})
    x = b.tensor("input", [1, size, size, 3], act_type, **in_params)
    x_scale = in_params.get("scale")
    spatial = size

    def layer(name, kind, x, x_scale, cin, cout, kernel, stride, activation, out_spatial):
        # TFLite layouts: conv [O,kh,kw,I], depthwise [1,kh,kw,C], classifier [N,1,1,C].
        shape = [1, kernel, kernel, cin] if kind == "dw" else [cout, kernel, kernel, cin]
        axis = 3 if kind == "dw" else 0
        if mode == "float32":
            real = rng.normal(0, 0.3, shape)
            w = b.tensor(name + "/weights", shape, "float32", real.astype(np.float32))
            real = real.astype(np.float32).astype(np.float64)
            bias_real = rng.normal(0, 0.2, cout).astype(np.float32)
            bias = b.tensor(name + "/bias", [cout], "float32", bias_real)
            bias_real = bias_real.astype(np.float64)
        else:
            q, scale, zp, real = _quantized_weights(rng, shape, mode, axis)
            w = b.tensor(name + "/weights", shape, mode, q, scale, zp, axis)
            bias_scale = np.float32(x_scale) * np.asarray(scale, np.float32)
            bias_q = rng.integers(-5000, 5000, cout).astype(np.int32)
            bias = b.tensor(name + "/bias", [cout], "int32", bias_q, bias_scale,
                            np.zeros(np.size(bias_scale), np.int64))
            bias_real = bias_q.astype(np.float64) * np.asarray(bias_scale, np.float64)
            raw[name + ".weight.q"] = mnet_layout(kind, q)
            raw[name + ".bias.q"] = bias_q
        expected[name + ".weight"] = mnet_layout(kind, real)
        expected[name + ".bias"] = bias_real
        out_params = activation_params()
        y = b.tensor(name + "/out", [1, out_spatial, out_spatial, cout], act_type, **out_params)
        opcode = "DEPTHWISE_CONV_2D" if kind == "dw" else "CONV_2D"
        if mutate == "stride" and name == "blocks.1.dw":
            stride = 1
        b.op(opcode, [x, w, bias], [y], stride=stride, activation=activation)
        return y, out_params.get("scale")

    spatial = -(-size // 2)
    x, x_scale = layer("conv0", "conv", x, x_scale, 3, widths[0], 3, 2, RELU6, spatial)
    for i in range(13):
        c = widths[i]
        if mutate == "unknown_op" and i == 4:
            y = b.tensor("tanh_out", [1, spatial, spatial, c], act_type,
                         **({"scale": x_scale, "zero_point": 0} if mode != "float32" else {}))
            b.op("TANH", [x], [y])
            x = y
        spatial = -(-spatial // V1_STRIDES[i])
        x, x_scale = layer("blocks.%d.dw" % i, "dw", x, x_scale, c, c, 3, V1_STRIDES[i], RELU6,
                           spatial)
        # "shape": these pointwise weights claim more input channels than the tensor has.
        cin = c + 8 if (mutate == "shape" and i == 7) else c
        x, x_scale = layer("blocks.%d.pw" % i, "conv", x, x_scale, cin, widths[i + 1], 1, 1,
                           RELU6, spatial)
    pool_params = activation_params()
    pooled = b.tensor("pool", [1, 1, 1, widths[-1]], act_type, **pool_params)
    b.op("AVERAGE_POOL_2D", [x], [pooled], filter=spatial)
    logits, _ = layer("classifier", "fc", pooled, pool_params.get("scale"), widths[-1],
                      num_classes, 1, 1, NONE, 1)
    shape = b.tensor("shape", [2], "int32", np.array([1, num_classes], np.int32))
    flat_params = {} if mode == "float32" else {"scale": np.float32(0.1), "zero_point": 0}
    flat = b.tensor("flat", [1, num_classes], act_type, **flat_params)
    b.op("RESHAPE", [logits, shape], [flat], new_shape=[1, num_classes])
    prob_params = {} if mode == "float32" else {"scale": np.float32(1 / 256.0),
                                                "zero_point": 0 if mode == "uint8" else -128}
    prob = b.tensor("prob", [1, num_classes], act_type, **prob_params)
    b.op("SOFTMAX", [flat], [prob])
    return b.finish([0], [prob]), expected, raw, in_params
