"""TFLite DeepLabv3 segmenters (MobileNet V2 + mobile ASPP) -> ConvertedModel.

The graph is walked from the input: a dilated MobileNet V2 backbone (its
output stride follows from the strides found), then the two ASPP branches on
the backbone output (global AVERAGE_POOL_2D -> 1x1 conv -> RESIZE_BILINEAR,
and a 1x1 conv), their CONCATENATION (a QUANTIZE requantizing the pooled
branch is looked through), the 1x1 projection and the 1x1 logits. What
follows the logits (RESIZE_BILINEAR to the input size, ARG_MAX) is dropped:
an mnet DeepLab outputs the low-resolution logits."""

import dataclasses

import converted_model
import arch_spec
import tflite_convert
import tflite_graph
import tflite_reader

RecognitionError = tflite_graph.RecognitionError
TRAILING = ("RESIZE_BILINEAR", "ARG_MAX", "QUANTIZE", "DEQUANTIZE", "SOFTMAX")


@dataclasses.dataclass
class DeeplabGraph:
    backbone: object          # tflite_graph.Backbone
    input: object
    first: object
    head_layers: list         # aspp.pool, aspp.conv0, aspp.project, logits
    activation: str           # "relu" or "relu6"
    align_corners: bool
    logits: object
    # uint8 parameters of the ASPP tensors that are not layer outputs, keyed
    # by mnet tap (global pool, broadcast before any QUANTIZE, concatenation)
    aspp_tensors: dict = dataclasses.field(default_factory=dict)


def is_deeplab(model):
    opcodes = {op.opcode for op in model.operators}
    return "RESIZE_BILINEAR" in opcodes and "CONCATENATION" in opcodes and \
        not any(op.startswith("CUSTOM:") for op in opcodes)


def _global_pool(w, t):
    op = w.next_op(t, ("AVERAGE_POOL_2D",), "the ASPP image pooling (AVERAGE_POOL_2D)")
    window = (op.options["filter_height"], op.options["filter_width"])
    if window != tuple(t.shape[1:3]) or op.options["padding"] != "VALID":
        raise RecognitionError("%s: %s pools %s %s over a %s map; the ASPP image pooling is "
                               "global" % (w.where(), op.describe(), window,
                                           op.options["padding"], list(t.shape[1:3])))
    return w.tensor(op.outputs[0])


def _resize_convention(w, op):
    align = bool(op.options.get("align_corners", 0))
    half = bool(op.options.get("half_pixel_centers", 0))
    if align == half:
        raise RecognitionError("%s: %s has align_corners %s and half_pixel_centers %s; mnet "
                               "resizes with align_corners or with half-pixel centres, not both "
                               "or neither" % (w.where(), op.describe(), align, half))
    return align


def recognize_deeplab(model):
    w = tflite_graph._Walker(model)
    graph_input, first = tflite_graph.walk_input(w, model, "a DeepLab segmenter")
    body = tflite_graph.walk_backbone(w, first, conv_last="absent", dilated=True)
    if body.architecture != "mobilenet_v2":
        raise RecognitionError("%s: DeepLab needs a MobileNet V2 backbone" % model.path)
    features = body.output
    conventions = []

    pooled = _global_pool(w, features)
    pool = w.layer(pooled, "conv", "aspp.pool", "aspp/pool_conv", 1, 1, None,
                   "the 1x1 convolution of the ASPP image pooling")
    resize = w.next_op(pool.output, ("RESIZE_BILINEAR",), "the broadcast of the pooled features")
    conventions.append(_resize_convention(w, resize))
    branch = w.tensor(resize.outputs[0])
    if tuple(branch.shape[1:3]) != tuple(features.shape[1:3]):
        raise RecognitionError("%s: %s resizes the pooled features to %s, the feature map is %s"
                               % (model.path, resize.describe(), list(branch.shape[1:3]),
                                  list(features.shape[1:3])))
    requantize = w.next_op(branch, ("QUANTIZE",), "", optional=True)
    if requantize is not None:
        branch = w.tensor(requantize.outputs[0])
    conv0 = w.layer(features, "conv", "aspp.conv0", "aspp/conv0", 1, 1, None,
                    "the 1x1 ASPP branch")
    concat = w.next_op(conv0.output, ("CONCATENATION",), "the ASPP concatenation")
    if concat.options.get("axis") not in (3, -1):
        raise RecognitionError("%s: %s concatenates along axis %s, expected channels"
                               % (model.path, concat.describe(), concat.options.get("axis")))
    if concat.inputs != [branch.index, conv0.output.index]:
        raise RecognitionError("%s: %s concatenates %s; expected the image pooling %s, then the "
                               "1x1 branch %s" % (model.path, concat.describe(),
                                                  [w.tensor(i).describe() for i in concat.inputs],
                                                  branch.describe(), conv0.output.describe()))
    merged = w.tensor(concat.outputs[0])
    project = w.layer(merged, "conv", "aspp.project", "aspp/output", 1, 1, None,
                      "the ASPP projection")
    logits = w.layer(project.output, "conv", "logits", "logits", 1, 1, "NONE", "the logits")

    acts = {pool.activation, conv0.activation, project.activation}
    if len(acts) != 1 or acts & {"NONE"}:
        raise RecognitionError("%s: ASPP activations %s (pool, 1x1, projection); they must all "
                               "be RELU or RELU6" % (model.path, [pool.activation,
                                                                  conv0.activation,
                                                                  project.activation]))
    t = logits.output
    while True:
        op = w.next_op(t, TRAILING, "", optional=True)
        if op is None:
            break
        if op.opcode == "RESIZE_BILINEAR":
            conventions.append(_resize_convention(w, op))
        t = w.tensor(op.outputs[0])
    if len(set(conventions)) != 1:
        raise RecognitionError("%s: the RESIZE_BILINEAR operators disagree on align_corners"
                               % model.path)
    tflite_graph._check_all_visited(w)
    aspp_tensors = {"aspp/pool": pooled, "aspp/pool_broadcast": w.tensor(resize.outputs[0]),
                    "aspp/concat": merged}
    return DeeplabGraph(body, graph_input, first, [pool, conv0, project, logits],
                        acts.pop().lower(), conventions[0], logits.output, aspp_tensors)


def convert_deeplab(graph, name=None, mean=None, std=None, fill=None):
    body = graph.backbone
    tensors, raw, qtensors, activations, quantized, per_channel = \
        tflite_convert.convert_layers(body.layers + graph.head_layers)
    dm, divisor = arch_spec.derive_v2_multiplier_and_divisor(body.widths["stem"],
                                                             body.widths["blocks"])
    mean, std = tflite_convert.input_normalization(graph.input, mean, std)
    quantization = None
    if quantized:
        for block, tensor in body.residual.items():
            # the projection before the residual add keeps its own parameters
            activations["block%d/project" % block] = activations["block%d/output" % block]
            activations["block%d/output" % block] = tflite_convert._activation(tensor)
        for tap, tensor in graph.aspp_tensors.items():
            activations[tap] = tflite_convert._activation(tensor)
        quantization = {"scheme": "int8_per_channel" if per_channel else "uint8_asymmetric",
                        "input": tflite_convert._activation(graph.first),
                        "tensors": qtensors, "activations": activations,
                        "output": tflite_convert._activation(graph.logits)}
        if graph.first is not graph.input:
            quantization["model_input"] = tflite_convert._activation(graph.input)
    aspp_channels = graph.head_layers[0].weight.shape[0]
    num_classes = graph.head_layers[-1].weight.shape[0]
    head = {"aspp": "mobile", "aspp_channels": int(aspp_channels), "atrous_rates": [],
            "separable": False, "activation": graph.activation,
            "align_corners": graph.align_corners, "decoder": None}
    height, width = graph.input.shape[1:3]
    kind = ("TFLite int8 per-channel, dequantized" if per_channel else
            "TFLite uint8, dequantized" if quantized else "TFLite float")
    default_name = "DeepLabv3 MobileNet V2 %r OS%d %d (%s)" % (float(dm), body.output_stride,
                                                             height, kind)
    return converted_model.ConvertedModel(
        architecture="deeplabv3", name=name or default_name, depth_multiplier=dm,
        padding="tf_same", input_height=height, input_width=width, mean=mean, std=std,
        num_classes=int(num_classes), tensors=tensors, last_channels=0, fit="letterbox",
        raw_tensors=raw, quantization=quantization, backbone="mobilenet_v2", head=head,
        output_stride=body.output_stride, fill=fill if fill is not None else [127.5] * 3,
        divisible_by=divisor)


def convert_tflite_deeplab(path, name=None, mean=None, std=None, fill=None):
    model = tflite_reader.read_tflite(path)
    return convert_deeplab(recognize_deeplab(model), name, mean, std, fill)
