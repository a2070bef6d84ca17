"""PyTorch reference SSD and SSDLite detectors on MobileNet V1 / V2 backbones,
built the way the TensorFlow Object Detection API builds them: predictors on
backbone feature taps (V1: block10/output and block12/output; V2:
block13/expand and conv_last), extra feature maps made of a 1x1 reduction
and a stride-2 3x3 (SSDLite: depthwise 3x3 + 1x1), each with BatchNorm and
ReLU6, and per feature map a box-encoding and a class predictor (1x1 or 3x3
convolutions with bias; SSDLite: depthwise 3x3 + BN + ReLU6, then 1x1).

The forward pass returns the raw predictor outputs [(box, class)] per feature
map in NCHW; anchors and NMS are not part of the network. State-dict layout:
backbone.* (tests/models/torch_mobilenet.py, classifier removed), extras.{i}.
reduce|conv|dw|pw.conv/.bn, heads.{l}.box|class (.weight, .bias) and
heads.{l}.box_dw|class_dw.conv/.bn: what tools/convert/torch_heads.py reads."""

import torch
import torch.nn as nn

import torch_mobilenet

DEFAULT_TAPS = {"v1": ["block10/output", "block12/output"],
                "v2": ["block13/expand", "conv_last"]}


def backbone_module(family, dm, padding, eps):
    if family == "v1":
        net = torch_mobilenet.MobileNetV1(dm, 10, padding=padding, eps=eps)
    else:
        net = torch_mobilenet.MobileNetV2(dm, 10, padding=padding, eps=eps)
    del net.classifier
    return net


def backbone_taps(family, net, x, wanted):
    """Runs the backbone, returning {tap name: tensor} for the wanted taps."""
    out = {}
    if family == "v1":
        x = net.conv0(x)
        out["conv0"] = x
        for i, block in enumerate(net.blocks):
            x = block.dw(x)
            out["block%d/depthwise" % i] = x
            x = block.pw(x)
            out["block%d/output" % i] = x
    else:
        x = net.features[0](x)
        out["conv0"] = x
        for i in range(17):
            x = torch_mobilenet.block_with_taps(net.features[i + 1], x, out, i)
        if len(net.features) > 18:
            x = net.features[18](x)
            out["conv_last"] = x
    return [out[name] for name in wanted]


def _conv_bn(cin, cout, kernel, stride, groups, padding, eps):
    return torch_mobilenet.ConvBN(cin, cout, kernel, stride, groups, padding, eps)


class Extra(nn.Module):
    def __init__(self, cin, reduce, depth, lite, padding, eps):
        super().__init__()
        self.reduce = _conv_bn(cin, reduce, 1, 1, 1, padding, eps)
        self.lite = lite
        if lite:
            self.dw = _conv_bn(reduce, reduce, 3, 2, reduce, padding, eps)
            self.pw = _conv_bn(reduce, depth, 1, 1, 1, padding, eps)
        else:
            self.conv = _conv_bn(reduce, depth, 3, 2, 1, padding, eps)

    def forward(self, x):
        x = self.reduce(x)
        return self.pw(self.dw(x)) if self.lite else self.conv(x)


class Head(nn.Module):
    def __init__(self, cin, anchors, columns, predictor, padding, eps):
        super().__init__()
        kernel = 3 if predictor == "conv3x3" else 1
        self.predictor = predictor
        if predictor == "depthwise3x3":
            self.box_dw = _conv_bn(cin, cin, 3, 1, cin, padding, eps)
            self.class_dw = _conv_bn(cin, cin, 3, 1, cin, padding, eps)
        self.box = torch_mobilenet.Conv2dPadded(cin, anchors * 4, kernel, bias=True,
                                                padding=padding)
        self.__setattr__("class", torch_mobilenet.Conv2dPadded(cin, anchors * columns, kernel,
                                                               bias=True, padding=padding))

    def forward(self, x):
        cls = getattr(self, "class")
        if self.predictor == "depthwise3x3":
            return self.box(self.box_dw(x)), cls(self.class_dw(x))
        return self.box(x), cls(x)


class SSD(nn.Module):
    """family "v1"/"v2"; extra_layers [[reduce, depth], ...]; lite: depthwise
    extra layers; predictor "conv1x1", "conv3x3" or "depthwise3x3";
    anchors_per_location one per feature map; columns = classes (+ 1 for
    background)."""

    def __init__(self, family, dm, columns, extra_layers, anchors_per_location,
                 predictor="conv1x1", lite=False, padding="tf_same", eps=1e-3, taps=None):
        super().__init__()
        self.family = family
        self.taps = list(taps or DEFAULT_TAPS[family])
        self.backbone = backbone_module(family, dm, padding, eps)
        with torch.no_grad():
            probe = backbone_taps(family, self.backbone, torch.zeros(1, 3, 64, 64), self.taps)
        widths = [t.shape[1] for t in probe]
        self.extras = nn.ModuleList()
        cin = widths[-1]
        for reduce, depth in extra_layers:
            self.extras.append(Extra(cin, reduce, depth, lite, padding, eps))
            widths.append(depth)
            cin = depth
        if len(anchors_per_location) != len(widths):
            raise ValueError("%d anchors_per_location for %d feature maps"
                             % (len(anchors_per_location), len(widths)))
        self.heads = nn.ModuleList(Head(c, a, columns, predictor, padding, eps)
                                   for c, a in zip(widths, anchors_per_location))

    def forward(self, x):
        maps = backbone_taps(self.family, self.backbone, x, self.taps)
        for extra in self.extras:
            maps.append(extra(maps[-1]))
        return [head(m) for head, m in zip(self.heads, maps)]
