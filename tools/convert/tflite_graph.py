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
              role=None):
        opcode = {"conv": "CONV_2D", "depthwise": "DEPTHWISE_CONV_2D"}[kind]
        role = role or "%s (%s)" % (name, kind)
        op = self.next_op(tensor, (opcode,), role)
        weight = self.constant(1, op, "the weights")
        bias = self.constant(2, op, "the bias")
        shape = weight.shape
        where = "%s: %s (%s)" % (self.where(), op.describe(), name)
        if len(shape) != 4 or shape[1] != kernel or shape[2] != kernel:
            raise RecognitionError("%s: weights %s, expected a %dx%d kernel"
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
        if (opts["dilation_h_factor"], opts["dilation_w_factor"]) != (1, 1):
            raise RecognitionError("%s: dilation %d x %d is not used by a MobileNet classifier"
                                   % (where, opts["dilation_h_factor"], opts["dilation_w_factor"]))
        if kernel > 1 and opts["padding"] != "SAME":
            raise RecognitionError("%s: padding %s, only TF SAME is supported"
                                   % (where, opts["padding"]))
        act = opts["fused_activation_function"]
        if activation is not None and act != activation:
            raise RecognitionError("%s: fused activation %s, expected %s" % (where, act, activation))
        out = self.tensor(op.outputs[0])
        return Layer(name, tap, kind, op, weight, bias, out)


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


def recognize(model, head=None):
    """Walks `model` (tflite_reader.Model); `head`, when given, is a second
    model whose input is the pooled output of the first (the split MobileNet V1
    files). Returns a Graph."""
    w = _Walker(model)
    if len(model.inputs) != 1:
        raise RecognitionError("%s: %d graph inputs, a classifier has one"
                               % (model.path, len(model.inputs)))
    graph_input = w.tensor(model.inputs[0])
    if len(graph_input.shape) != 4 or graph_input.shape[3] != 3:
        raise RecognitionError("%s: input %s, expected [1,H,W,3]"
                               % (model.path, graph_input.describe()))
    t = graph_input
    op = w.next_op(t, ("QUANTIZE",), "", optional=True)
    if op is not None:
        t = w.tensor(op.outputs[0])
    first = t
    layers = [w.layer(t, "conv", "conv0", "conv0", 3, 2, "RELU6", "the stem convolution")]
    t = layers[0].output

    # Depthwise then a 1x1: ReLU6 after it means V1, a linear bottleneck V2.
    dw = w.layer(t, "depthwise", "blocks.0.dw", "block0/depthwise", 3, 1, "RELU6")
    pw_op = w.next_op(dw.output, ("CONV_2D",), "the pointwise convolution of block 0")
    w.visited.discard(pw_op.index)
    act = pw_op.options["fused_activation_function"]
    if act == "RELU6":
        architecture = "mobilenet_v1"
    elif act == "NONE":
        architecture = "mobilenet_v2"
    else:
        raise RecognitionError("%s: %s after the first depthwise has activation %s; MobileNet V1 "
                               "uses RELU6, V2 none" % (model.path, pw_op.describe(), act))
    layers.append(dw)
    residual = {}
    if architecture == "mobilenet_v1":
        t = dw.output
        for i in range(13):
            if i:
                dw = w.layer(t, "depthwise", "blocks.%d.dw" % i, "block%d/depthwise" % i, 3,
                             arch_spec.V1_DW_STRIDES[i], "RELU6")
                layers.append(dw)
            pw = w.layer(dw.output, "conv", "blocks.%d.pw" % i, "block%d/output" % i, 1, 1, "RELU6")
            layers.append(pw)
            t = pw.output
        widths = {"stem": layers[0].weight.shape[0],
                  "blocks": [l.weight.shape[0] for l in layers if l.name.endswith(".pw")],
                  "last": 0}
    else:
        strides = [s for _, _, _, s, _ in arch_spec.v2_blocks(1.0)[1]]
        block_in = layers[0].output
        t = dw.output
        outputs = []
        for i in range(17):
            if i:
                ex = w.layer(block_in, "conv", "blocks.%d.expand" % i, "block%d/expand" % i, 1, 1,
                             "RELU6")
                dw = w.layer(ex.output, "depthwise", "blocks.%d.dw" % i, "block%d/depthwise" % i,
                             3, strides[i], "RELU6")
                layers += [ex, dw]
            pr = w.layer(dw.output, "conv", "blocks.%d.project" % i, "block%d/output" % i, 1, 1,
                         "NONE")
            layers.append(pr)
            t = pr.output
            if strides[i] == 1 and block_in.shape[-1] == t.shape[-1]:
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
            outputs.append(t.shape[-1])
            block_in = t
        last = 0
        op = w.next_op(t, ("CONV_2D",), "", optional=True)
        if op is not None:
            w.visited.discard(op.index)
            conv_last = w.layer(t, "conv", "conv_last", "conv_last", 1, 1, "RELU6")
            layers.append(conv_last)
            t = conv_last.output
            last = conv_last.weight.shape[0]
        widths = {"stem": layers[0].weight.shape[0], "blocks": outputs, "last": last}

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
                 probabilities, widths)


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
