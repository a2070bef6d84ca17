"""NumPy forward passes used as oracles by the converter tests (float64):
* mnet_forward: a network from the tensors of an mnet file (OHWI, BN folded),
* keras_v1_forward: Keras MobileNet V1 from its original weights (HWIO
  kernels, BatchNorm applied unfolded), independent of the converter."""

import math

import numpy as np


def _pads(size, kernel, stride, padding):
    if padding == "tf_same":
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return total // 2, total - total // 2
    return (kernel - 1) // 2, (kernel - 1) // 2


def _windows(x, kernel, stride, padding):
    """x [H,W,C] -> list over (dy, dx) of the strided views [oh,ow,C]."""
    h, w, _ = x.shape
    top, bottom = _pads(h, kernel, stride, padding)
    left, right = _pads(w, kernel, stride, padding)
    xp = np.pad(x, ((top, bottom), (left, right), (0, 0)))
    oh = (h + top + bottom - kernel) // stride + 1
    ow = (w + left + right - kernel) // stride + 1
    return [xp[dy:dy + stride * (oh - 1) + 1:stride, dx:dx + stride * (ow - 1) + 1:stride]
            for dy in range(kernel) for dx in range(kernel)], oh, ow


def conv_ohwi(x, weight, bias, stride, padding, depthwise=False):
    out_c, kernel = weight.shape[0], weight.shape[1]
    views, oh, ow = _windows(x, kernel, stride, padding)
    if depthwise:
        taps = weight[:, :, :, 0].reshape(out_c, kernel * kernel).T  # [k*k, C]
        y = sum(v * taps[i] for i, v in enumerate(views))
    else:
        patches = np.concatenate(views, axis=2).reshape(oh * ow, -1)
        y = (patches @ weight.reshape(out_c, -1).T).reshape(oh, ow, out_c)
    return y + bias


def relu6(x):
    return np.clip(x, 0.0, 6.0)


V1_STRIDES = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
V2_STRIDES = [1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1]


def mnet_forward(tensors, architecture, padding, x):
    """x: normalized input [H,W,3]. Returns the logits (or pooled features)."""
    t = {k: np.asarray(v, np.float64) for k, v in tensors.items() if not k.endswith(".q")}
    y = relu6(conv_ohwi(x, t["conv0.weight"], t["conv0.bias"], 2, padding))
    if architecture == "mobilenet_v1":
        for i in range(13):
            p = "blocks.%d." % i
            y = relu6(conv_ohwi(y, t[p + "dw.weight"], t[p + "dw.bias"], V1_STRIDES[i], padding,
                                depthwise=True))
            y = relu6(conv_ohwi(y, t[p + "pw.weight"], t[p + "pw.bias"], 1, padding))
    else:
        for i in range(17):
            p = "blocks.%d." % i
            block_in = y
            if p + "expand.weight" in t:
                y = relu6(conv_ohwi(y, t[p + "expand.weight"], t[p + "expand.bias"], 1, padding))
            y = relu6(conv_ohwi(y, t[p + "dw.weight"], t[p + "dw.bias"], V2_STRIDES[i], padding,
                                depthwise=True))
            y = conv_ohwi(y, t[p + "project.weight"], t[p + "project.bias"], 1, padding)
            if V2_STRIDES[i] == 1 and block_in.shape == y.shape:
                y = y + block_in
        if "conv_last.weight" in t:
            y = relu6(conv_ohwi(y, t["conv_last.weight"], t["conv_last.bias"], 1, padding))
    pooled = y.mean(axis=(0, 1))
    if "classifier.weight" not in t:
        return pooled
    return t["classifier.weight"] @ pooled + t["classifier.bias"]


def keras_v1_forward(weights, x, eps=1e-3):
    """weights: Keras names ('conv1/kernel', 'conv_dw_1_bn/gamma', ...) ->
    arrays in Keras layouts; x: input in [-1, 1], [H,W,3]."""
    def batchnorm(y, layer):
        g, b = weights[layer + "/gamma"], weights[layer + "/beta"]
        m, v = weights[layer + "/moving_mean"], weights[layer + "/moving_variance"]
        return (y - m) / np.sqrt(v + eps) * g + b

    def conv_hwio(y, kernel, stride):
        views, oh, ow = _windows(y, kernel.shape[0], stride, "tf_same")
        patches = np.concatenate(views, axis=2).reshape(oh * ow, -1)
        return (patches @ kernel.reshape(-1, kernel.shape[3])).reshape(oh, ow, -1)

    def depthwise_hwc1(y, kernel, stride):
        views, _, _ = _windows(y, kernel.shape[0], stride, "tf_same")
        k = kernel.shape[0]
        return sum(views[dy * k + dx] * kernel[dy, dx, :, 0] for dy in range(k) for dx in range(k))

    y = relu6(batchnorm(conv_hwio(x, weights["conv1/kernel"], 2), "conv1_bn"))
    for k in range(1, 14):
        y = relu6(batchnorm(depthwise_hwc1(y, weights["conv_dw_%d/depthwise_kernel" % k],
                                           V1_STRIDES[k - 1]), "conv_dw_%d_bn" % k))
        y = relu6(batchnorm(conv_hwio(y, weights["conv_pw_%d/kernel" % k], 1), "conv_pw_%d_bn" % k))
    pooled = y.mean(axis=(0, 1))
    kernel = weights["conv_preds/kernel"]
    return pooled @ kernel.reshape(kernel.shape[2], kernel.shape[3]) + weights["conv_preds/bias"]
