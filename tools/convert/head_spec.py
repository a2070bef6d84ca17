"""What the SSD and DeepLab heads look like in an mnet file
(docs/MODEL_FORMAT.md, "SSD detectors" and "DeepLab segmenters"): feature
tap widths and sizes of the MobileNet backbones, and the tensor names and
shapes of extra layers, box predictors, ASPP, decoder and logits, computed
from the config alone."""

import arch_spec

ArchitectureError = arch_spec.ArchitectureError
SSD_PREDICTORS = ("conv1x1", "conv3x3", "depthwise3x3")


def _halve(size):
    # TF SAME and symmetric padding agree for 3x3 stride 2: ceil(size / 2).
    return (size + 1) // 2


def _parse_tap(tap):
    """("block", i, part) for "block{i}/{part}", or (tap, None, None)."""
    if tap.startswith("block") and "/" in tap:
        index, part = tap[5:].split("/", 1)
        if index.isdigit():
            return "block", int(index), part
    return tap, None, None


def tap_geometry(backbone, dm, last_channels, tap, height, width, divisor=8):
    """(channels, height, width) of a backbone tap for an input size."""
    kind, i, part = _parse_tap(tap)
    h, w = _halve(height), _halve(width)
    if backbone == "mobilenet_v1":
        widths = arch_spec.v1_widths(dm)
        if kind == "conv0":
            return widths[0], h, w
        if kind != "block" or not 0 <= i < 13 or part not in ("depthwise", "output"):
            raise ArchitectureError("mobilenet_v1 has no feature tap '%s'" % tap)
        for s in arch_spec.V1_DW_STRIDES[:i + 1]:
            if s == 2:
                h, w = _halve(h), _halve(w)
        return (widths[i] if part == "depthwise" else widths[i + 1]), h, w
    if backbone != "mobilenet_v2":
        raise ArchitectureError("unknown backbone '%s'" % backbone)
    stem, blocks = arch_spec.v2_blocks(dm, divisor)
    if kind == "conv0":
        return stem, h, w
    if kind == "conv_last":
        if not last_channels:
            raise ArchitectureError("tap 'conv_last' needs last_channels > 0")
        for block in blocks:
            if block[3] == 2:
                h, w = _halve(h), _halve(w)
        return last_channels, h, w
    parts = ("expand", "depthwise", "output")
    if kind != "block" or not 0 <= i < 17 or part not in parts or (part == "expand" and i == 0):
        raise ArchitectureError("mobilenet_v2 has no feature tap '%s'" % tap)
    for block in blocks[:i + (part != "expand")]:
        if block[3] == 2:
            h, w = _halve(h), _halve(w)
    c_in, c_exp, c_out = blocks[i][:3]
    return {"expand": c_exp, "depthwise": c_exp, "output": c_out}[part], h, w


def _conv(shapes, name, out, kernel, cin):
    shapes[name + ".weight"] = [out, kernel, kernel, cin]
    shapes[name + ".bias"] = [out]


def _dw(shapes, name, channels):
    shapes[name + ".weight"] = [channels, 3, 3, 1]
    shapes[name + ".bias"] = [channels]


def ssd_feature_maps(backbone, dm, last_channels, ssd, height, width):
    """(channels, height, width) of every feature map the predictors read."""
    maps = [tap_geometry(backbone, dm, last_channels, tap, height, width)
            for tap in ssd["feature_taps"]]
    for _, depth in ssd.get("extra_layers", []):
        _, h, w = maps[-1]
        maps.append((depth, _halve(h), _halve(w)))
    return maps


def ssd_shapes(backbone, dm, last_channels, num_classes, ssd, height, width):
    shapes = arch_spec.expected_shapes(backbone, dm, 0, last_channels)
    maps = ssd_feature_maps(backbone, dm, last_channels, ssd, height, width)
    cin = maps[len(ssd["feature_taps"]) - 1][0]
    for i, (reduce, depth) in enumerate(ssd.get("extra_layers", [])):
        _conv(shapes, "extras.%d.reduce" % i, reduce, 1, cin)
        if ssd.get("extra_depthwise"):
            _dw(shapes, "extras.%d.dw" % i, reduce)
            _conv(shapes, "extras.%d.pw" % i, depth, 1, reduce)
        else:
            _conv(shapes, "extras.%d.conv" % i, depth, 3, reduce)
        cin = depth
    per_location = ssd["anchors_per_location"]
    if len(per_location) != len(maps):
        raise ArchitectureError("ssd: %d anchors_per_location entries for %d feature maps"
                                % (len(per_location), len(maps)))
    predictor = ssd.get("predictor", "conv1x1")
    if predictor not in SSD_PREDICTORS:
        raise ArchitectureError("ssd: unknown predictor '%s'" % predictor)
    columns = num_classes + (1 if ssd.get("background_class", True) else 0)
    anchors = 0
    for l, ((c, h, w), a) in enumerate(zip(maps, per_location)):
        for part, out in (("box", a * 4), ("class", a * columns)):
            name = "heads.%d.%s" % (l, part)
            if predictor == "depthwise3x3":
                _dw(shapes, "heads.%d.%s_dw" % (l, part), c)
            _conv(shapes, name, out, 3 if predictor == "conv3x3" else 1, c)
        anchors += h * w * a
    if ssd.get("anchors", "tensor") == "tensor":
        shapes["anchors"] = [anchors, 4]
    return shapes


def deeplab_shapes(dm, last_channels, num_classes, deeplab, divisor=8):
    shapes = arch_spec.expected_shapes("mobilenet_v2", dm, 0, last_channels, divisor)
    c = last_channels or arch_spec.v2_blocks(dm, divisor)[1][-1][2]
    p = deeplab["aspp_channels"]
    _conv(shapes, "aspp.pool", p, 1, c)
    _conv(shapes, "aspp.conv0", p, 1, c)
    rates = deeplab.get("atrous_rates", []) if deeplab.get("aspp") == "full" else []
    for i in range(len(rates)):
        if deeplab.get("separable"):
            _dw(shapes, "aspp.atrous%d.dw" % i, c)
            _conv(shapes, "aspp.atrous%d.pw" % i, p, 1, c)
        else:
            _conv(shapes, "aspp.atrous%d" % i, p, 3, c)
    _conv(shapes, "aspp.project", p, 1, p * (2 + len(rates)))
    features = p
    decoder = deeplab.get("decoder")
    if decoder:
        low, _, _ = tap_geometry("mobilenet_v2", dm, last_channels, decoder["low_level_tap"], 64,
                                 64, divisor)
        reduced, channels = decoder["low_level_channels"], decoder["channels"]
        _conv(shapes, "decoder.reduce", reduced, 1, low)
        cin = p + reduced
        for i in range(2):
            name = "decoder.conv%d" % i
            if deeplab.get("separable"):
                _dw(shapes, name + ".dw", cin)
                _conv(shapes, name + ".pw", channels, 1, cin)
            else:
                _conv(shapes, name, channels, 3, cin)
            cin = channels
        features = channels
    _conv(shapes, "logits", num_classes, 1, features)
    return shapes
