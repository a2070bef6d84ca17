"""TFLite (float, uint8 per-tensor, int8 per-channel) MobileNet -> ConvertedModel.

Quantized weights are dequantized as (q - zero_point) * scale, per output
channel when the file has one scale per channel; int32 biases with the bias
scale stored in the file. The raw integer tensors are kept as <name>.q in
mnet's layout, and mnet.quantization records their parameters and those of
every activation, keyed by feature tap."""

import numpy as np

import arch_spec
import converted_model
import tflite_graph
import tflite_reader


def dequantize(tensor):
    """Real values of a constant tensor as float64, in the tensor's own layout."""
    data = tensor.data
    if tensor.type in ("float32", "float16"):
        return data.astype(np.float64)
    q = tensor.quantization
    if q is None:
        raise arch_spec.ArchitectureError("%s is an integer constant without quantization "
                                          "parameters" % tensor.describe())
    shape = [1] * data.ndim
    if q.per_channel:
        axis = q.quantized_dimension
        if axis >= data.ndim or data.shape[axis] != q.scale.size:
            raise arch_spec.ArchitectureError(
                "%s: %d scales along dimension %d do not match the shape"
                % (tensor.describe(), q.scale.size, axis))
        shape[axis] = q.scale.size
    scale = q.scale.reshape(shape)
    zero_point = q.zero_point.astype(np.float64).reshape(shape)
    return (data.astype(np.float64) - zero_point) * scale


def _to_mnet_layout(layer, array):
    """Weights of a layer from TFLite's layout to mnet's, for floats and raw ints."""
    if layer.kind == "depthwise":
        return np.ascontiguousarray(array.transpose(3, 1, 2, 0))   # [1,kh,kw,C] -> [C,kh,kw,1]
    if layer.kind == "fc":
        return np.ascontiguousarray(array.reshape(array.shape[0], -1))  # [N,1,1,C] -> [N,C]
    return np.ascontiguousarray(array)                               # conv: already OHWI


def _quant_entry(tensor, raw_name, axis_after):
    q = tensor.quantization
    return {"raw": raw_name, "scale": [float(s) for s in q.scale],
            "zero_point": [int(z) for z in q.zero_point], "axis": axis_after}


def _activation(tensor):
    q = tensor.quantization
    if q is None:
        return None
    return {"scale": float(q.scale[0]), "zero_point": int(q.zero_point[0])}


def _bias_or_zeros(layer):
    if layer.bias is not None:
        return dequantize(layer.bias)
    return np.zeros(layer.weight.shape[0] if layer.kind != "depthwise" else layer.weight.shape[3])


def convert_layers(layers):
    """Float tensors in mnet's layout for every layer, and for quantized
    graphs the raw tensors and quantization entries. Returns (tensors, raw,
    qtensors, activations, quantized, per_channel)."""
    tensors, raw, qtensors, activations = {}, {}, {}, {}
    quantized = layers[0].weight.type in ("uint8", "int8")
    per_channel = False
    for layer in layers:
        w, b = layer.weight, layer.bias
        tensors[layer.name + ".weight"] = _to_mnet_layout(layer, dequantize(w))
        tensors[layer.name + ".bias"] = _bias_or_zeros(layer)
        if (w.type in ("uint8", "int8")) != quantized:
            raise arch_spec.ArchitectureError("%s: %s mixes float and quantized weights"
                                              % (layer.op.describe(), w.describe()))
        if not quantized:
            continue
        if b is None or b.type != "int32":
            raise arch_spec.ArchitectureError("%s: quantized layer without an int32 bias"
                                              % layer.op.describe())
        per_channel = per_channel or w.quantization.per_channel
        raw_w = layer.name + ".weight.q"
        raw[raw_w] = _to_mnet_layout(layer, w.data)
        # Per-channel axes point at the output channel, which is axis 0 in mnet's layout.
        qtensors[layer.name + ".weight"] = _quant_entry(w, raw_w, 0)
        raw[layer.name + ".bias.q"] = np.ascontiguousarray(b.data.astype(np.int32))
        qtensors[layer.name + ".bias"] = _quant_entry(b, layer.name + ".bias.q", 0)
        activations[layer.tap] = _activation(layer.output)
    return tensors, raw, qtensors, activations, quantized, per_channel


def input_normalization(graph_input, mean, std):
    """mean/std given, or derived from a quantized input's scale and zero point."""
    if mean is not None and std is not None:
        return mean, std
    source_q = graph_input.quantization
    if source_q is None:
        raise arch_spec.ArchitectureError(
            "%s: the float input carries no normalization; give --mean and --std"
            % graph_input.describe())
    # real = (q - zp) * scale, so the network input is (pixel - zp) / (1 / scale).
    # Scales are float32 in the file: 1/scale of 1/127.5 reads 127.49999.
    return ([float(source_q.zero_point[0])] * 3,
            [float("%.6g" % (1.0 / source_q.scale[0]))] * 3)


def backbone_multiplier(graph):
    """(depth multiplier, last 1x1 width or None for V1) of a recognized
    backbone, from its layer widths."""
    widths = graph.widths
    if graph.architecture == "mobilenet_v1":
        return arch_spec.derive_v1_multiplier([widths["stem"]] + widths["blocks"]), None
    return arch_spec.derive_v2_multiplier(widths["stem"], widths["blocks"]), widths["last"]


def convert_graph(graph, name=None, mean=None, std=None):
    """graph: tflite_graph.Graph. mean/std override the input normalization
    (needed for float models, whose files do not say)."""
    tensors, raw, qtensors, activations, quantized, per_channel = convert_layers(graph.layers)
    for block, tensor in graph.residual_outputs.items():
        if quantized:
            # the projection before the residual add keeps its own parameters
            activations["block%d/project" % block] = activations["block%d/output" % block]
            activations["block%d/output" % block] = _activation(tensor)

    dm, last = backbone_multiplier(graph)
    num_classes = tensors["classifier.weight"].shape[0] if "classifier.weight" in tensors else 0

    mean, std = input_normalization(graph.input, mean, std)

    quantization = None
    if quantized:
        activations["pool"] = _activation(graph.pool)
        quantization = {
            "scheme": "int8_per_channel" if per_channel else "uint8_asymmetric",
            "input": _activation(graph.first),
            "tensors": qtensors,
            "activations": activations,
        }
        if graph.pool_op == "MEAN":
            quantization["pool_op"] = "mean"
        if graph.first is not graph.input:
            quantization["model_input"] = _activation(graph.input)
        if graph.logits is not None:
            quantization["output"] = _activation(graph.logits)
        if graph.probabilities is not None and graph.probabilities.quantization is not None:
            quantization["probabilities"] = _activation(graph.probabilities)

    height, width = graph.input.shape[1:3]
    family = "V1" if graph.architecture == "mobilenet_v1" else "V2"
    kind = ("TFLite int8 per-channel, dequantized" if per_channel else
            "TFLite uint8, dequantized" if quantized else "TFLite float")
    default_name = "MobileNet %s %r %d (%s)" % (family, float(dm), height, kind)
    return converted_model.ConvertedModel(
        architecture=graph.architecture, name=name or default_name, depth_multiplier=dm,
        padding="tf_same", input_height=height, input_width=width, mean=mean, std=std,
        num_classes=num_classes, tensors=tensors, last_channels=last, raw_tensors=raw,
        quantization=quantization)


def convert_tflite(path, head_path=None, name=None, mean=None, std=None):
    model = tflite_reader.read_tflite(path)
    head = tflite_reader.read_tflite(head_path) if head_path else None
    return convert_graph(tflite_graph.recognize(model, head), name, mean, std)
