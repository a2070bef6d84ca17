"""Recognizes a MobileNet V1 or V2 classifier (or feature extractor) in the
operator graph of a TFLite model. The walk starts at the model input and
follows the data: stem convolution, the depthwise-separable blocks (V1) or
inverted residual blocks (V2), global pooling, then the optional classifier
head. Whatever does not fit (an unknown op, a wrong kernel or stride, an op
left over) raises RecognitionError naming the operator and tensor."""

import dataclasses

import arch_spec


class RecognitionError(arch_spec.ArchitectureError):
    """The operator graph is not a MobileNet mnet can run."""


@dataclasses.dataclass
class Layer:
    name: str          # mnet tensor prefix: "conv0", "blocks.3.dw", "classifier"
    tap: str           # feature tap of its output: "conv0", "block3/depthwise", ...
    kind: str          # "conv", "depthwise" or "fc"
    op: object         # tflite_reader.Operator
    weight: object     # tflite_reader.Tensor holding the constant weights
    bias: object       # tflite_reader.Tensor or None
    output: object     # tflite_reader.Tensor after the fused activation
    stride: int = 1
    dilation: int = 1
    activation: str = "NONE"   # "NONE", "RELU" or "RELU6", as the graph applies it


@dataclasses.dataclass
class Graph:
    architecture: str
    input: object            # the model's input tensor
    first: object            # the tensor conv0 reads (after a QUANTIZE, if any)
    layers: list
    residual_outputs: dict   # block index -> ADD output tensor (V2)
    pool: object             # output tensor of the global pooling
    logits: object           # output tensor of the classifier, or None
    probabilities: object    # softmax output, or None
    widths: dict             # "stem", "blocks" (list of outputs), "last"
    pool_op: str = "AVERAGE_POOL_2D"  # or "MEAN" (its int8 arithmetic differs)


@dataclasses.dataclass
class Backbone:
    architecture: str
    layers: list
    residual: dict           # block index -> ADD output tensor (V2)
    widths: dict
    output: object           # the last backbone tensor
    taps: dict               # tap name -> tensor ("block13/expand", "conv_last", ...)
    output_stride: int


def effective_activation(op, output):
    """The activation a layer applies. Quantized TOCO graphs often fuse none
    and let the output range clamp instead; the TF op name left in the
    tensor name (".../Relu6") then says what the float network did."""
    fused = op.options.get("fused_activation_function", "NONE")
    if fused != "NONE":
        return fused
    leaf = output.name.split(";")[-1].rsplit("/", 1)[-1]
    act = {"Relu6": "RELU6", "Relu": "RELU"}.get(leaf, "NONE")
    q = output.quantization
    if act != "NONE" and q is not None:
        qmin = -128 if output.type == "int8" else 0
        lowest = (qmin - float(q.zero_point[0])) * float(q.scale[0])
        if abs(lowest) > float(q.scale[0]) / 2:
            raise RecognitionError("%s is named after a %s but its quantized range starts at %g, "
                                   "not 0" % (output.describe(), leaf, lowest))
    return act


class _Walker:
    def __init__(self, model, visited=None):
        self.model = model
        self.visited = set() if visited is None else visited
        self.consumers = {}
        self.producer = {}
        for op in model.operators:
            for t in op.inputs:
                if t >= 0:
                    self.consumers.setdefault(t, []).append(op)
            for t in op.outputs:
                self.producer[t] = op

    def tensor(self, index):
        return self.model.tensors[index]

    def where(self):
        return self.model.path

    def next_op(self, tensor, opcodes, role, optional=False):
        """The one not yet visited operator that reads `tensor`; it must have
        one of `opcodes`."""
        ops = [op for op in self.consumers.get(tensor.index, []) if op.index not in self.visited]
        if not ops:
            if optional:
                return None
            raise RecognitionError("%s: %s ends the graph, but %s (%s) was expected"
                                   % (self.where(), tensor.describe(), role, "/".join(opcodes)))
        matching = [op for op in ops if op.opcode in opcodes]
        if not matching:
            if optional:
                return None
            op = ops[0]
            raise RecognitionError("%s: %s reads %s where %s (%s) was expected"
                                   % (self.where(), op.describe(), tensor.describe(), role,
                                      "/".join(opcodes)))
        op = matching[0]
        self.visited.add(op.index)
        return op

    def constant(self, index, op, role):
        """The constant data of input `index` of `op`, looking through a
        DEQUANTIZE of a float16 constant."""
        if index >= len(op.inputs) or op.inputs[index] < 0:
            return None
        tensor = self.tensor(op.inputs[index])
        if tensor.data is None:
            source = self.producer.get(tensor.index)
            if source is not None and source.opcode == "DEQUANTIZE":
                inner = self.tensor(source.inputs[0])
                if inner.data is not None:
                    self.visited.add(source.index)
                    return inner
            raise RecognitionError("%s: %s of %s is %s, which is not a constant"
                                   % (self.where(), role, op.describe(), tensor.describe()))
        return tensor

    def layer(self, tensor, kind, name, tap, kernel, stride=None, activation=None,
              role=None, dilation=1):
        opcode = {"conv": "CONV_2D", "depthwise": "DEPTHWISE_CONV_2D"}[kind]
        role = role or "%s (%s)" % (name, kind)
        op = self.next_op(tensor, (opcode,), role)
        return self.layer_of(op, tensor, kind, name, tap, kernel, stride, activation, dilation)

    def layer_of(self, op, tensor, kind, name, tap, kernel, stride=None, activation=None,
                 dilation=1):
        """A Layer from a known operator `op` that reads `tensor`; checks as
        layer() does. kernel None accepts any square kernel."""
        self.visited.add(op.index)
        weight = self.constant(1, op, "the weights")
        bias = self.constant(2, op, "the bias")
        shape = weight.shape
        where = "%s: %s (%s)" % (self.where(), op.describe(), name)
        if kernel is None and len(shape) == 4 and shape[1] == shape[2]:
            kernel = shape[1]
        if len(shape) != 4 or shape[1] != kernel or shape[2] != kernel:
            raise RecognitionError("%s: weights %s, expected a %sx%s kernel"
                                   % (where, weight.describe(), kernel, kernel))
        if kind == "depthwise":
            if shape[0] != 1 or op.options.get("depth_multiplier", 1) not in (0, 1):
                raise RecognitionError("%s: depthwise weights %s, expected [1,%d,%d,C] with depth "
                                       "multiplier 1" % (where, weight.describe(), kernel, kernel))
            if shape[3] != tensor.shape[-1]:
                raise RecognitionError("%s: %d depthwise channels for an input of %d"
                                       % (where, shape[3], tensor.shape[-1]))
        elif shape[3] != tensor.shape[-1]:
            raise RecognitionError("%s: weights %s read %d channels, the input has %d"
                                   % (where, weight.describe(), shape[3], tensor.shape[-1]))
        opts = op.options
        strides = (opts["stride_h"], opts["stride_w"])
        if stride is not None and strides != (stride, stride):
            raise RecognitionError("%s: stride %s, expected %d" % (where, strides, stride))
        if strides[0] != strides[1] or strides[0] not in (1, 2):
            raise RecognitionError("%s: stride %s, expected 1 or 2 in both directions"
                                   % (where, strides))
        dilations = (opts["dilation_h_factor"], opts["dilation_w_factor"])
        if dilations[0] != dilations[1] or dilations[0] < 1:
            raise RecognitionError("%s: dilation %d x %d, expected equal factors"
                                   % (where, dilations[0], dilations[1]))
        if dilation is not None and dilations[0] != dilation:
            raise RecognitionError("%s: dilation %d, expected %d" % (where, dilations[0], dilation))
        if kernel > 1 and opts["padding"] != "SAME":
            raise RecognitionError("%s: padding %s, only TF SAME is supported"
                                   % (where, opts["padding"]))
        out = self.tensor(op.outputs[0])
        act = effective_activation(op, out)
        if activation is not None and act != activation:
            raise RecognitionError("%s: activation %s, expected %s" % (where, act, activation))
        return Layer(name, tap, kind, op, weight, bias, out, strides[0], dilations[0], act)


def _walk_pool(w, t):
    op = w.next_op(t, ("AVERAGE_POOL_2D", "MEAN"), "the global average pooling")
    where = "%s: %s" % (w.where(), op.describe())
    if op.opcode == "AVERAGE_POOL_2D":
        window = (op.options["filter_height"], op.options["filter_width"])
        if window != tuple(t.shape[1:3]):
            raise RecognitionError("%s: pooling window %s on a %s input is not global"
                                   % (where, window, list(t.shape[1:3])))
    else:
        axes = w.tensor(op.inputs[1]).data
        if axes is None or sorted(axes.reshape(-1).tolist()) != [1, 2]:
            raise RecognitionError("%s: MEAN over axes %s, expected [1, 2]"
                                   % (where, None if axes is None else axes.tolist()))
    return w.tensor(op.outputs[0])


def walk_head(w, t):
    """From the pooled features: 1x1 conv or fully connected, reshapes,
    softmax, output (de)quantize. Returns (classifier Layer, logits, probabilities);
    (None, None, None) when the graph ends at the pooling."""
    op = w.next_op(t, ("CONV_2D", "FULLY_CONNECTED", "RESHAPE"), "the classifier", optional=True)
    if op is None:
        rest = [o for o in w.consumers.get(t.index, []) if o.index not in w.visited]
        if rest:
            raise RecognitionError("%s: %s reads the pooled features %s; expected the classifier "
                                   "(CONV_2D/FULLY_CONNECTED/RESHAPE)"
                                   % (w.where(), rest[0].describe(), t.describe()))
        return None, None, None
    if op.opcode == "RESHAPE":
        t = w.tensor(op.outputs[0])
        op = w.next_op(t, ("FULLY_CONNECTED",), "the classifier")
    where = "%s: %s (classifier)" % (w.where(), op.describe())
    weight = w.constant(1, op, "the classifier weights")
    bias = w.constant(2, op, "the classifier bias")
    channels = t.shape[-1]
    if op.opcode == "CONV_2D":
        if len(weight.shape) != 4 or weight.shape[1:] != (1, 1, channels):
            raise RecognitionError("%s: weights %s, expected [classes,1,1,%d]"
                                   % (where, weight.describe(), channels))
    elif len(weight.shape) != 2 or weight.shape[1] != channels:
        raise RecognitionError("%s: weights %s, expected [classes,%d]"
                               % (where, weight.describe(), channels))
    act = op.options.get("fused_activation_function", "NONE")
    if act != "NONE":
        raise RecognitionError("%s: the logits have a fused %s" % (where, act))
    logits = w.tensor(op.outputs[0])
    classifier = Layer("classifier", "logits", "fc", op, weight, bias, logits)
    t, probabilities = logits, None
    while True:
        op = w.next_op(t, ("RESHAPE", "SOFTMAX", "QUANTIZE", "DEQUANTIZE"), "the output",
                       optional=True)
        if op is None:
            break
        t = w.tensor(op.outputs[0])
        if op.opcode == "SOFTMAX":
            probabilities = t
    return classifier, logits, probabilities


def _check_all_visited(w):
    for op in w.model.operators:
        if op.index not in w.visited:
            names = ", ".join(w.tensor(i).describe() for i in op.inputs if i >= 0)
            raise RecognitionError("%s: %s (reading %s) is not part of a MobileNet V1/V2 "
                                   "classifier graph" % (w.where(), op.describe(), names))


def walk_input(w, model, what):
    """The model input and the tensor the stem reads (after a QUANTIZE)."""
    if len(model.inputs) != 1:
        raise RecognitionError("%s: %d graph inputs, %s has one" % (model.path, len(model.inputs),
                                                                   what))
    graph_input = w.tensor(model.inputs[0])
    if len(graph_input.shape) != 4 or graph_input.shape[3] != 3:
        raise RecognitionError("%s: input %s, expected [1,H,W,3]"
                               % (model.path, graph_input.describe()))
    t = graph_input
    op = w.next_op(t, ("QUANTIZE",), "", optional=True)
    if op is not None:
        t = w.tensor(op.outputs[0])
    return graph_input, t


def walk_backbone(w, first, conv_last="optional", dilated=False):
    """The MobileNet V1 or V2 body from the stem's input tensor `first`.
    conv_last: "optional" (taken when a 1x1 conv follows block 16, V2),
    "required" or "absent". dilated: strided depthwise layers may run at
    stride 1 with dilated successors (DeepLab); the pattern is checked here.
    Returns a Backbone."""
    model = w.model
    layers = [w.layer(first, "conv", "conv0", "conv0", 3, 2, "RELU6", "the stem convolution")]
    t = layers[0].output

    # Depthwise then a 1x1: ReLU6 after it means V1, a linear bottleneck V2.
    dw = w.layer(t, "depthwise", "blocks.0.dw", "block0/depthwise", 3, 1, "RELU6")
    pw_op = w.next_op(dw.output, ("CONV_2D",), "the pointwise convolution of block 0")
    w.visited.discard(pw_op.index)
    act = effective_activation(pw_op, w.tensor(pw_op.outputs[0]))
    if act == "RELU6":
        architecture = "mobilenet_v1"
    elif act == "NONE":
        architecture = "mobilenet_v2"
    else:
        raise RecognitionError("%s: %s after the first depthwise has activation %s; MobileNet V1 "
                               "uses RELU6, V2 none" % (model.path, pw_op.describe(), act))
    layers.append(dw)
    residual, taps = {}, {"conv0": layers[0].output, "block0/depthwise": dw.output}
    if architecture == "mobilenet_v1":
        if dilated:
            raise RecognitionError("%s: a dilated backbone must be MobileNet V2" % model.path)
        t = dw.output
        for i in range(13):
            if i:
                dw = w.layer(t, "depthwise", "blocks.%d.dw" % i, "block%d/depthwise" % i, 3,
                             arch_spec.V1_DW_STRIDES[i], "RELU6")
                layers.append(dw)
                taps[dw.tap] = dw.output
            pw = w.layer(dw.output, "conv", "blocks.%d.pw" % i, "block%d/output" % i, 1, 1, "RELU6")
            layers.append(pw)
            t = taps[pw.tap] = pw.output
        widths = {"stem": layers[0].weight.shape[0],
                  "blocks": [l.weight.shape[0] for l in layers if l.name.endswith(".pw")],
                  "last": 0}
        return Backbone(architecture, layers, residual, widths, t, taps, 32)

    strides = [s for _, _, _, s, _ in arch_spec.v2_blocks(1.0)[1]]
    block_in = layers[0].output
    t = dw.output
    outputs = []
    for i in range(17):
        if i:
            ex = w.layer(block_in, "conv", "blocks.%d.expand" % i, "block%d/expand" % i, 1, 1,
                         "RELU6")
            stride = None if dilated and strides[i] == 2 else strides[i]
            dw = w.layer(ex.output, "depthwise", "blocks.%d.dw" % i, "block%d/depthwise" % i,
                         3, stride, "RELU6", dilation=None if dilated else 1)
            layers += [ex, dw]
            taps[ex.tap] = ex.output
            taps[dw.tap] = dw.output
        pr = w.layer(dw.output, "conv", "blocks.%d.project" % i, "block%d/output" % i, 1, 1,
                     "NONE")
        layers.append(pr)
        t = pr.output
        if dw.stride == 1 and block_in.shape[-1] == t.shape[-1]:
            add = w.next_op(t, ("ADD",), "the residual ADD of block %d" % i)
            other = [x for x in add.inputs if x != t.index]
            if other != [block_in.index]:
                raise RecognitionError("%s: %s of block %d adds %s, expected the block input %s"
                                       % (model.path, add.describe(), i,
                                          [w.tensor(x).describe() for x in other],
                                          block_in.describe()))
            if add.options.get("fused_activation_function", "NONE") != "NONE":
                raise RecognitionError("%s: %s has a fused activation" % (model.path,
                                                                           add.describe()))
            t = w.tensor(add.outputs[0])
            residual[i] = t
        taps["block%d/output" % i] = t
        outputs.append(t.shape[-1])
        block_in = t
    output_stride = _check_dilation_pattern(model, [l for l in layers if l.kind == "depthwise"],
                                            strides)
    last = 0
    if conv_last != "absent":
        op = w.next_op(t, ("CONV_2D",), "the final 1x1 convolution (conv_last)",
                       optional=conv_last == "optional")
        if op is not None:
            w.visited.discard(op.index)
            conv_last_layer = w.layer(t, "conv", "conv_last", "conv_last", 1, 1, "RELU6")
            layers.append(conv_last_layer)
            t = taps["conv_last"] = conv_last_layer.output
            last = conv_last_layer.weight.shape[0]
    widths = {"stem": layers[0].weight.shape[0], "blocks": outputs, "last": last}
    return Backbone(architecture, layers, residual, widths, t, taps, output_stride)


def _check_dilation_pattern(model, depthwise, nominal_strides):
    """Output stride of a V2 backbone from its depthwise strides, and a check
    that strides and dilations follow TF-slim's rule for that output stride:
    once the stride reached it, a nominal stride-2 layer runs at stride 1
    with the current rate, and the rate doubles for the layers after it."""
    current = 2  # the stem
    for layer in depthwise:
        current *= layer.stride
    output_stride, current, rate = current, 2, 1
    for i, layer in enumerate(depthwise):
        nominal = nominal_strides[i]
        if current == output_stride:
            expected = (1, rate)
            rate *= nominal
        else:
            expected = (nominal, 1)
            current *= nominal
        if (layer.stride, layer.dilation) != expected:
            raise RecognitionError(
                "%s: %s (block %d depthwise) has stride %d dilation %d; output stride %d needs "
                "stride %d dilation %d" % (model.path, layer.op.describe(), i, layer.stride,
                                           layer.dilation, output_stride, expected[0],
                                           expected[1]))
    return output_stride


def recognize(model, head=None):
    """Walks `model` (tflite_reader.Model); `head`, when given, is a second
    model whose input is the pooled output of the first (the split MobileNet V1
    files). Returns a Graph."""
    w = _Walker(model)
    graph_input, first = walk_input(w, model, "a classifier")
    body = walk_backbone(w, first)
    architecture, layers, residual, widths = (body.architecture, body.layers, body.residual,
                                              body.widths)
    t = body.output

    pool = _walk_pool(w, t)
    logits = probabilities = None
    if head is None:
        classifier, logits, probabilities = walk_head(w, pool)
        if classifier:
            layers.append(classifier)
        _check_all_visited(w)
    else:
        _check_all_visited(w)
        if model.outputs != [pool.index]:
            raise RecognitionError("%s: with --head the model must end at the pooling, its "
                                   "outputs are %s" % (model.path,
                                                       [w.tensor(i).describe() for i in model.outputs]))
        hw = _Walker(head)
        if len(head.inputs) != 1:
            raise RecognitionError("%s: the head has %d inputs, expected 1"
                                   % (head.path, len(head.inputs)))
        seam = hw.tensor(head.inputs[0])
        _check_seam(pool, seam, model.path, head.path)
        classifier, logits, probabilities = walk_head(hw, seam)
        if classifier is None:
            raise RecognitionError("%s: no classifier found after the input %s"
                                   % (head.path, seam.describe()))
        layers.append(classifier)
        _check_all_visited(hw)
    return Graph(architecture, graph_input, first, layers, residual, pool, logits,
                 probabilities, widths, w.producer[pool.index].opcode)


def _check_seam(pool, seam, model_path, head_path):
    if tuple(pool.shape[-1:]) != tuple(seam.shape[-1:]) or pool.type != seam.type:
        raise RecognitionError("%s output %s does not match %s input %s"
                               % (model_path, pool.describe(), head_path, seam.describe()))
    qa, qb = pool.quantization, seam.quantization
    if (qa is None) != (qb is None):
        raise RecognitionError("%s output %s and %s input %s: only one is quantized"
                               % (model_path, pool.describe(), head_path, seam.describe()))
    if qa is not None:
        if (qa.scale.size != qb.scale.size or abs(qa.scale - qb.scale).max() > 1e-7 * qa.scale.max()
                or (qa.zero_point != qb.zero_point).any()):
            raise RecognitionError("%s output quantization (scale %s, zero point %s) differs from "
                                   "%s input (scale %s, zero point %s)"
                                   % (model_path, qa.scale.tolist(), qa.zero_point.tolist(),
                                      head_path, qb.scale.tolist(), qb.zero_point.tolist()))
