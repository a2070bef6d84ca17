"""TFLite SSD detectors (TF Object Detection API exports) -> ConvertedModel.

The graph is read, not assumed: the MobileNet backbone is walked from the
input; the box and class predictors are found by tracing the two
concatenations back from TFLite_Detection_PostProcess (or from the raw
outputs of a file without it); the feature maps they read are backbone taps
or the extra layers, which are walked from the last tap. The post-process
options (a flexbuffer) give the box coder and NMS settings, and the constant
anchor tensor becomes the F32 `anchors` tensor."""

import dataclasses

import numpy as np
from flatbuffers import flexbuffers

import converted_model
import tflite_convert
import tflite_graph
import tflite_reader

RecognitionError = tflite_graph.RecognitionError
POSTPROCESS = "CUSTOM:TFLite_Detection_PostProcess"


@dataclasses.dataclass
class SsdGraph:
    backbone: object          # tflite_graph.Backbone
    input: object
    first: object
    feature_taps: list        # tap names of the backbone maps the first predictors read
    extras: list              # [(reduce Layer, conv Layer)]
    heads: list               # [(box Layer, class Layer)] in anchor order
    box_output: object        # concatenated box encodings tensor
    class_output: object      # concatenated class logits tensor
    scores: object            # LOGISTIC output, or None
    postprocess: object       # the custom operator, or None
    anchors: object           # constant anchor tensor, or None


def is_ssd(model):
    return any(op.opcode == POSTPROCESS for op in model.operators) or any(
        "BoxPredictor" in model.tensors[i].name for op in model.operators for i in op.outputs)


def _producer(w, tensor):
    return w.producer.get(tensor.index)


def _back_through(w, tensor, opcodes):
    """Follows producers of `opcodes` (visiting them) back from `tensor`."""
    while True:
        op = _producer(w, tensor)
        if op is None or op.opcode not in opcodes:
            return tensor, op
        w.visited.add(op.index)
        tensor = w.tensor(op.inputs[0])


def _predictors(w, tensor, what):
    """The predictor convolutions feeding the concatenation behind `tensor`
    (through reshapes), in concatenation order: [(op, feature map tensor)]."""
    t, op = _back_through(w, tensor, ("RESHAPE",))
    if op is None or op.opcode != "CONCATENATION":
        raise RecognitionError("%s: the %s %s is not produced by a CONCATENATION of predictor "
                               "outputs (found %s)" % (w.where(), what, t.describe(),
                                                       op.describe() if op else "a graph input"))
    w.visited.add(op.index)
    found = []
    for index in op.inputs:
        part, conv = _back_through(w, w.tensor(index), ("RESHAPE",))
        if conv is None or conv.opcode != "CONV_2D":
            raise RecognitionError("%s: input %s of the %s concatenation %s does not come from a "
                                   "CONV_2D predictor" % (w.where(), part.describe(), what,
                                                          op.describe()))
        # Visited now, so that the walk of the extra layers cannot take it.
        w.visited.add(conv.index)
        source = w.tensor(conv.inputs[0])
        feeder = _producer(w, source)
        if feeder is not None and feeder.opcode == "DEPTHWISE_CONV_2D" and \
                feeder.index not in w.visited:
            raise RecognitionError("%s: %s reads the depthwise %s: SSDLite predictors "
                                   "(depthwise3x3) are not supported from TFLite"
                                   % (w.where(), conv.describe(), feeder.describe()))
        found.append((conv, source))
    return found


def _outputs(w, model):
    """(box tensor, class tensor, scores or None, postprocess op or None, anchors or None)."""
    post = [op for op in model.operators if op.opcode == POSTPROCESS]
    if len(post) > 1:
        raise RecognitionError("%s: %d detection post-process operators" % (model.path, len(post)))
    if post:
        op = post[0]
        w.visited.add(op.index)
        if len(op.inputs) != 3:
            raise RecognitionError("%s: %s has %d inputs, expected boxes, scores, anchors"
                                   % (model.path, op.describe(), len(op.inputs)))
        box, scores, anchors = (w.tensor(i) for i in op.inputs)
        if anchors.data is None:
            raise RecognitionError("%s: the anchors %s of %s are not a constant"
                                   % (model.path, anchors.describe(), op.describe()))
        logits, logistic = _back_through(w, scores, ())
        if logistic is None or logistic.opcode != "LOGISTIC":
            raise RecognitionError("%s: the scores %s are not produced by LOGISTIC (sigmoid)"
                                   % (model.path, scores.describe()))
        w.visited.add(logistic.index)
        logits = w.tensor(logistic.inputs[0])
        return box, logits, scores, op, anchors
    if len(model.outputs) != 2:
        raise RecognitionError("%s: no TFLite_Detection_PostProcess and %d outputs; a raw SSD has "
                               "two (box encodings, class predictions)"
                               % (model.path, len(model.outputs)))
    first, second = (w.tensor(i) for i in model.outputs)
    if "box" in second.name.lower() and "box" not in first.name.lower():
        first, second = second, first
    return first, second, None, None, None


def recognize_ssd(model):
    w = tflite_graph._Walker(model)
    graph_input, first = tflite_graph.walk_input(w, model, "an SSD")
    # The V2 detectors build their extra layers on Conv_1, which must be there.
    peek = tflite_graph._Walker(model)
    v2 = tflite_graph.walk_backbone(peek, first).architecture == "mobilenet_v2"
    body = tflite_graph.walk_backbone(w, first, conv_last="required" if v2 else "absent")

    box, logits, scores, post, anchors = _outputs(w, model)
    box_heads = _predictors(w, box, "box encodings")
    class_heads = _predictors(w, logits, "class predictions")
    if [t.index for _, t in box_heads] != [t.index for _, t in class_heads]:
        raise RecognitionError("%s: box predictors read %s, class predictors %s: they must read "
                               "the same feature maps in the same order"
                               % (model.path, [t.describe() for _, t in box_heads],
                                  [t.describe() for _, t in class_heads]))
    maps = [t for _, t in box_heads]
    tap_of = {t.index: name for name, t in body.taps.items()}
    feature_taps = []
    for t in maps:
        if t.index not in tap_of:
            break
        feature_taps.append(tap_of[t.index])
    if not feature_taps or feature_taps[-1] != _last_tap(body):
        raise RecognitionError("%s: the predictors read the backbone tensors %s; the last of "
                               "them must be the backbone output %s (the extra layers start there)"
                               % (model.path, feature_taps, _last_tap(body)))
    for name in feature_taps:
        if name not in ("conv0",) and not name.startswith("block") and name != "conv_last":
            raise RecognitionError("%s: unexpected feature tap %s" % (model.path, name))

    extras, t = [], maps[len(feature_taps) - 1]
    for i in range(len(maps) - len(feature_taps)):
        reduce = w.layer(t, "conv", "extras.%d.reduce" % i, "extra%d/reduce" % i, 1, 1, "RELU6",
                         "the 1x1 reduction of extra layer %d" % i)
        conv = w.layer(reduce.output, "conv", "extras.%d.conv" % i, "extra%d/output" % i, 3, 2,
                       "RELU6", "the 3x3 stride-2 convolution of extra layer %d" % i)
        want = maps[len(feature_taps) + i]
        if conv.output.index != want.index:
            raise RecognitionError("%s: extra layer %d produces %s but predictor %d reads %s"
                                   % (model.path, i, conv.output.describe(),
                                      len(feature_taps) + i, want.describe()))
        extras.append((reduce, conv))
        t = conv.output

    heads = []
    for l, ((box_op, source), (class_op, _)) in enumerate(zip(box_heads, class_heads)):
        layers = []
        for op, part in ((box_op, "box"), (class_op, "class")):
            layer = w.layer_of(op, source, "conv", "heads.%d.%s" % (l, part),
                               "head%d/%s" % (l, part), None, 1, "NONE", dilation=1)
            layers.append(layer)
        heads.append(tuple(layers))
    kernels = {h.weight.shape[1] for pair in heads for h in pair}
    if len(kernels) != 1 or kernels.pop() not in (1, 3):
        raise RecognitionError("%s: predictor kernels %s; all must be 1x1 or all 3x3"
                               % (model.path, sorted({h.weight.shape[1] for p in heads for h in p})))
    tflite_graph._check_all_visited(w)
    return SsdGraph(body, graph_input, first, feature_taps, extras, heads, box, logits, scores,
                    post, anchors)


def _last_tap(body):
    return "conv_last" if body.widths["last"] else ("block12/output"
                                                      if body.architecture == "mobilenet_v1"
                                                      else "block16/output")


def postprocess_options(op):
    """The flexbuffer options of TFLite_Detection_PostProcess as a dict."""
    if not op.custom_options:
        raise RecognitionError("%s has no custom options" % op.describe())
    try:
        options = flexbuffers.Loads(op.custom_options)
    except Exception as exc:  # the flexbuffers decoder raises assorted errors
        raise RecognitionError("%s: custom options are not a readable flexbuffer (%s)"
                               % (op.describe(), exc)) from None
    if not isinstance(options, dict):
        raise RecognitionError("%s: custom options are a %s, expected a map"
                               % (op.describe(), type(options).__name__))
    return options


def _f32(value):
    """A float32 option as the shortest decimal that reads back the same."""
    return float("%.7g" % float(value))


def nms_config(options, where):
    required = ("num_classes", "max_detections", "nms_iou_threshold", "nms_score_threshold",
                "y_scale", "x_scale", "h_scale", "w_scale")
    missing = [k for k in required if k not in options]
    if missing:
        raise RecognitionError("%s: post-process options lack %s" % (where, ", ".join(missing)))
    regular = bool(options.get("use_regular_nms", False))
    nms = {"variant": "regular" if regular else "fast",
           "iou_threshold": _f32(options["nms_iou_threshold"]),
           "score_threshold": _f32(options["nms_score_threshold"]),
           "max_detections": int(options["max_detections"]),
           "max_classes_per_detection": int(options.get("max_classes_per_detection", 1))}
    # TFLite uses 100 when the option is absent; fast NMS never reads it, and
    # the V2 COCO export stores 0 there, which is not a valid count.
    per_class = int(options.get("detections_per_class", 100))
    if per_class > 0 or regular:
        nms["detections_per_class"] = per_class
    coder = [_f32(options[k]) for k in ("y_scale", "x_scale", "h_scale", "w_scale")]
    return nms, coder, int(options["num_classes"])


def convert_ssd(graph, name=None, mean=None, std=None, anchors_config=None, score=None):
    """graph: SsdGraph. anchors_config: generator object for files without an
    anchor tensor. score: "sigmoid"/"softmax" for files without LOGISTIC."""
    body = graph.backbone
    layers = list(body.layers)
    for reduce, conv in graph.extras:
        layers += [reduce, conv]
    for box, cls in graph.heads:
        layers += [box, cls]
    tensors, raw, qtensors, activations, quantized, per_channel = \
        tflite_convert.convert_layers(layers)
    for block, tensor in body.residual.items():
        if quantized:
            # the projection before the residual add keeps its own parameters
            activations["block%d/project" % block] = activations["block%d/output" % block]
            activations["block%d/output" % block] = tflite_convert._activation(tensor)

    per_location, columns = [], None
    for l, (box, cls) in enumerate(graph.heads):
        a, rest = divmod(box.weight.shape[0], 4)
        if rest or a == 0 or cls.weight.shape[0] % a:
            raise RecognitionError("predictor %d: %d box and %d class channels are not A*4 and "
                                   "A*classes" % (l, box.weight.shape[0], cls.weight.shape[0]))
        per_location.append(a)
        c = cls.weight.shape[0] // a
        if columns not in (None, c):
            raise RecognitionError("predictor %d has %d class columns, the others %d"
                                   % (l, c, columns))
        columns = c
    num_classes = columns - 1

    if graph.postprocess is not None:
        options = postprocess_options(graph.postprocess)
        nms, coder, post_classes = nms_config(options, graph.postprocess.describe())
        if post_classes != num_classes:
            raise RecognitionError("%s says %d classes, the predictors have %d columns (%d + "
                                   "background)" % (graph.postprocess.describe(), post_classes,
                                                    columns, num_classes))
    else:
        nms, coder = {"variant": "fast", "iou_threshold": 0.6, "score_threshold": 1e-8,
                      "max_detections": 100, "max_classes_per_detection": 1,
                      "detections_per_class": 100}, [10.0, 10.0, 5.0, 5.0]
    if graph.scores is not None:
        score = "sigmoid"
    elif score is None:
        raise RecognitionError("the graph applies no score function to the class predictions; "
                               "say which (--ssd-score sigmoid|softmax)")

    if graph.anchors is not None:
        anchors = tflite_convert.dequantize(graph.anchors)
        total = sum(int(np.prod(h.output.shape[1:3])) * a
                    for (h, _), a in zip(graph.heads, per_location))
        if anchors.shape != (total, 4):
            raise RecognitionError("%s: %s anchors, the predictors make %d"
                                   % (graph.anchors.describe(), list(anchors.shape), total))
        tensors["anchors"] = anchors
        anchor_spec = "tensor"
        if quantized and graph.anchors.quantization is not None:
            raw["anchors.q"] = np.ascontiguousarray(graph.anchors.data)
            qtensors["anchors"] = tflite_convert._quant_entry(graph.anchors, "anchors.q", 0)
    elif anchors_config is None:
        raise RecognitionError("the file has no anchor tensor; give the generator (--anchors "
                               "'{\"type\": \"tf_ssd\", ...}')")
    else:
        anchor_spec = anchors_config

    head = {
        "feature_taps": graph.feature_taps,
        "extra_layers": [[r.weight.shape[0], c.weight.shape[0]] for r, c in graph.extras],
        "extra_depthwise": False,
        "predictor": "conv%dx%d" % ((graph.heads[0][0].weight.shape[1],) * 2),
        "anchors_per_location": per_location,
        "anchors": anchor_spec,
        "box_coder": coder,
        "box_order": "yxhw",
        "score": score,
        "background_class": True,
        "nms": nms,
    }
    dm, last = tflite_convert.backbone_multiplier(body)
    mean, std = tflite_convert.input_normalization(graph.input, mean, std)

    quantization = None
    if quantized:
        for key, tensor in (("box_encodings", graph.box_output),
                            ("class_predictions", graph.class_output),
                            ("scores", graph.scores)):
            if tensor is not None and tensor.quantization is not None:
                activations[key] = tflite_convert._activation(tensor)
        quantization = {"scheme": "int8_per_channel" if per_channel else "uint8_asymmetric",
                        "input": tflite_convert._activation(graph.first),
                        "tensors": qtensors, "activations": activations}
        if graph.first is not graph.input:
            quantization["model_input"] = tflite_convert._activation(graph.input)

    height, width = graph.input.shape[1:3]
    family = "V1" if body.architecture == "mobilenet_v1" else "V2"
    kind = ("TFLite int8 per-channel, dequantized" if per_channel else
            "TFLite uint8, dequantized" if quantized else "TFLite float")
    return converted_model.ConvertedModel(
        architecture="ssd", name=name or "SSD MobileNet %s %r %d (%s)" % (family, float(dm),
                                                                         height, kind),
        depth_multiplier=dm, padding="tf_same", input_height=height, input_width=width,
        mean=mean, std=std, num_classes=num_classes, tensors=tensors, last_channels=last,
        fit="stretch", raw_tensors=raw, quantization=quantization, backbone=body.architecture,
        head=head)


def convert_tflite_ssd(path, name=None, mean=None, std=None, anchors_config=None, score=None):
    model = tflite_reader.read_tflite(path)
    return convert_ssd(recognize_ssd(model), name, mean, std, anchors_config, score)
