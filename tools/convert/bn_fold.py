"""Folds an inference-mode BatchNorm into the convolution before it.

BN(conv(x)) = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta
            = conv'(x) + b'  with  w' = w * s,  b' = (b - mean) * s + beta,
s = gamma / sqrt(var + eps) per output channel."""

import numpy as np


def fold_batchnorm(weight, bias, gamma, beta, mean, var, eps, out_axis=0):
    """weight: any layout with output channels along `out_axis`; bias may be
    None. Returns (weight, bias) as float64."""
    weight = np.asarray(weight, np.float64)
    channels = weight.shape[out_axis]
    params = [np.asarray(p, np.float64).reshape(-1) for p in (gamma, beta, mean, var)]
    for label, p in zip(("gamma", "beta", "mean", "variance"), params):
        if p.size != channels:
            raise ValueError("BatchNorm %s has %d values for %d channels"
                             % (label, p.size, channels))
    gamma, beta, mean, var = params
    if (var + eps <= 0).any():
        raise ValueError("BatchNorm variance + eps is not positive")
    scale = gamma / np.sqrt(var + eps)
    shape = [1] * weight.ndim
    shape[out_axis] = channels
    folded_bias = np.zeros(channels) if bias is None else np.asarray(bias, np.float64).reshape(-1)
    return weight * scale.reshape(shape), (folded_bias - mean) * scale + beta
