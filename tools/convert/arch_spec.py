"""What a MobileNet V1 / V2 looks like in an mnet file (docs/MODEL_FORMAT.md):
channel widths for a depth multiplier, strides, tensor names and shapes, and
the checks every converter runs before writing."""

V1_BASE_WIDTHS = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]
V1_DW_STRIDES = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
V2_SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
               (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
V2_STANDARD_MULTIPLIERS = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4]
V1_STANDARD_MULTIPLIERS = [0.25, 0.5, 0.75, 1.0]


class ArchitectureError(ValueError):
    """The weights do not describe a network mnet supports."""


def make_divisible(value, divisor=8, min_value=None):
    rounded = max(divisor if min_value is None else min_value,
                  int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def v1_widths(dm):
    """Output widths of conv0 and of the 13 pointwise layers."""
    return [max(8, int(c * dm)) for c in V1_BASE_WIDTHS]


def v2_blocks(dm, divisor=8):
    """(in, expanded, out, stride, t) of the 17 inverted residual blocks, and
    the stem width. `divisor` is TF-slim's divisible_by for the layer widths
    (DeepLab's MobileNet V2 uses 1 when dm != 1); widths never drop below 8
    and expansions are always multiples of 8."""
    stem = make_divisible(32 * dm, divisor, 8)
    blocks, width = [], stem
    for t, c, n, s in V2_SETTINGS:
        out = make_divisible(c * dm, divisor, 8)
        for i in range(n):
            expanded = make_divisible(width * t) if t != 1 else width
            blocks.append((width, expanded, out, s if i == 0 else 1, t))
            width = out
    return stem, blocks


def v2_default_last_channels(dm):
    return 1280 if dm <= 1.0 else make_divisible(1280 * dm)


def expected_shapes(architecture, dm, num_classes, last_channels=None, divisor=8):
    """Ordered mapping tensor name -> shape for a network."""
    shapes = {}
    if architecture == "mobilenet_v1":
        widths = v1_widths(dm)
        shapes["conv0.weight"] = [widths[0], 3, 3, 3]
        shapes["conv0.bias"] = [widths[0]]
        for i in range(13):
            c_in, c_out = widths[i], widths[i + 1]
            shapes["blocks.%d.dw.weight" % i] = [c_in, 3, 3, 1]
            shapes["blocks.%d.dw.bias" % i] = [c_in]
            shapes["blocks.%d.pw.weight" % i] = [c_out, 1, 1, c_in]
            shapes["blocks.%d.pw.bias" % i] = [c_out]
        features = widths[-1]
    elif architecture == "mobilenet_v2":
        stem, blocks = v2_blocks(dm, divisor)
        shapes["conv0.weight"] = [stem, 3, 3, 3]
        shapes["conv0.bias"] = [stem]
        for i, (c_in, c_exp, c_out, _, t) in enumerate(blocks):
            if t != 1:
                shapes["blocks.%d.expand.weight" % i] = [c_exp, 1, 1, c_in]
                shapes["blocks.%d.expand.bias" % i] = [c_exp]
            shapes["blocks.%d.dw.weight" % i] = [c_exp, 3, 3, 1]
            shapes["blocks.%d.dw.bias" % i] = [c_exp]
            shapes["blocks.%d.project.weight" % i] = [c_out, 1, 1, c_exp]
            shapes["blocks.%d.project.bias" % i] = [c_out]
        if last_channels is None:
            last_channels = v2_default_last_channels(dm)
        features = blocks[-1][2]
        if last_channels:
            shapes["conv_last.weight"] = [last_channels, 1, 1, features]
            shapes["conv_last.bias"] = [last_channels]
            features = last_channels
    else:
        raise ArchitectureError("unknown architecture '%s'" % architecture)
    if num_classes:
        shapes["classifier.weight"] = [num_classes, features]
        shapes["classifier.bias"] = [num_classes]
    return shapes


def check_tensor_shapes(tensors, architecture, dm, num_classes, last_channels=None,
                        expected=None):
    """Raises ArchitectureError naming the first tensor that is missing, extra
    or of the wrong shape. Raw quantized tensors (<name>.q) must match their
    float twin. `expected` (name -> shape) replaces the classifier shapes."""
    if expected is None:
        expected = expected_shapes(architecture, dm, num_classes, last_channels)
    for name, shape in expected.items():
        if name not in tensors:
            raise ArchitectureError("%s dm %g: tensor '%s' %s is missing"
                                    % (architecture, dm, name, shape))
        found = list(tensors[name].shape)
        if found != shape:
            raise ArchitectureError("%s dm %g: tensor '%s' has shape %s, expected %s"
                                    % (architecture, dm, name, found, shape))
    for name, array in tensors.items():
        if name in expected:
            continue
        base = name[:-2] if name.endswith(".q") else None
        if base in expected:
            if list(array.shape) != expected[base]:
                raise ArchitectureError("raw tensor '%s' has shape %s, expected %s"
                                        % (name, list(array.shape), expected[base]))
            continue
        raise ArchitectureError("%s dm %g: unexpected tensor '%s' %s"
                                % (architecture, dm, name, list(array.shape)))


def derive_v1_multiplier(widths):
    """widths: conv0 output then the 13 pointwise outputs, as found."""
    if len(widths) != 14:
        raise ArchitectureError("MobileNet V1 has 14 convolution widths, found %d" % len(widths))
    candidates = V1_STANDARD_MULTIPLIERS + [widths[-1] / 1024.0]
    for dm in candidates:
        if v1_widths(dm) == list(widths):
            return dm
    raise ArchitectureError("MobileNet V1 widths %s match no depth multiplier (1024*dm = %d "
                            "gives %s)" % (list(widths), widths[-1],
                                           v1_widths(widths[-1] / 1024.0)))


def derive_v2_multiplier(stem, block_outputs):
    """stem width and the 17 block output widths, as found."""
    dm, divisor = derive_v2_multiplier_and_divisor(stem, block_outputs, (8,))
    return dm


def derive_v2_multiplier_and_divisor(stem, block_outputs, divisors=(8, 1)):
    """(dm, divisible_by) that reproduce the widths; divisor 8 first."""
    if len(block_outputs) != 17:
        raise ArchitectureError("MobileNet V2 has 17 blocks, found %d" % len(block_outputs))
    candidates = V2_STANDARD_MULTIPLIERS + [round(block_outputs[-1] / 320.0, 4),
                                            round(block_outputs[-1] / 320.0, 2)]
    for divisor in divisors:
        for dm in candidates:
            expected_stem, blocks = v2_blocks(dm, divisor)
            if expected_stem == stem and [b[2] for b in blocks] == list(block_outputs):
                return dm, divisor
    raise ArchitectureError("MobileNet V2 widths (stem %d, blocks %s) match no depth multiplier"
                            % (stem, list(block_outputs)))
