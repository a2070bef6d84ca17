#!/usr/bin/python3
"""BatchNorm folding: a folded convolution must give what the unfolded
convolution followed by BatchNorm gives (numpy, float64), for full and
depthwise convolutions, with and without a conv bias, random shapes."""

import unittest

import numpy as np

import convert_test_env

convert_test_env.add_import_paths()
import bn_fold  # noqa: E402
import np_mobilenet  # noqa: E402


def batchnorm(y, gamma, beta, mean, var, eps):
    return (y - mean) / np.sqrt(var + eps) * gamma + beta


class BatchNormFoldTest(unittest.TestCase):
    def test_folded_conv_equals_conv_then_batchnorm(self):
        rng = np.random.default_rng(7)
        for trial in range(12):
            depthwise = trial % 2 == 1
            cin = int(rng.integers(1, 24))
            cout = cin if depthwise else int(rng.integers(1, 40))
            kernel = int(rng.choice([1, 3]))
            stride = int(rng.choice([1, 2]))
            size = int(rng.integers(3, 17))
            padding = ["tf_same", "symmetric"][trial % 3 == 0]
            eps = [1e-3, 1e-5][trial % 2]
            weight = rng.normal(0, 1, (cout, kernel, kernel, 1 if depthwise else cin))
            bias = rng.normal(0, 1, cout) if trial % 4 < 2 else None
            gamma = rng.uniform(0.2, 2, cout) * rng.choice([-1, 1], cout)
            beta = rng.normal(0, 1, cout)
            mean = rng.normal(0, 1, cout)
            var = rng.uniform(0.01, 3, cout)
            x = rng.normal(0, 1, (size, size, cin))
            with self.subTest(trial=trial, depthwise=depthwise, cin=cin, cout=cout, k=kernel):
                unfolded = batchnorm(
                    np_mobilenet.conv_ohwi(x, weight, 0 if bias is None else bias, stride,
                                           padding, depthwise), gamma, beta, mean, var, eps)
                w2, b2 = bn_fold.fold_batchnorm(weight, bias, gamma, beta, mean, var, eps)
                folded = np_mobilenet.conv_ohwi(x, w2, b2, stride, padding, depthwise)
                np.testing.assert_allclose(folded, unfolded, rtol=1e-10, atol=1e-10)

    def test_other_output_axis(self):
        rng = np.random.default_rng(8)
        weight = rng.normal(0, 1, (3, 3, 5, 7))  # HWIO: outputs on axis 3
        params = [rng.uniform(0.5, 1.5, 7) for _ in range(4)]
        w_last, b_last = bn_fold.fold_batchnorm(weight, None, *params, 1e-3, out_axis=3)
        w_first, b_first = bn_fold.fold_batchnorm(weight.transpose(3, 0, 1, 2), None, *params, 1e-3)
        np.testing.assert_allclose(w_last.transpose(3, 0, 1, 2), w_first)
        np.testing.assert_allclose(b_last, b_first)

    def test_wrong_sizes_are_rejected(self):
        with self.assertRaisesRegex(ValueError, "variance has 3 values for 4 channels"):
            bn_fold.fold_batchnorm(np.ones((4, 1, 1, 2)), None, np.ones(4), np.ones(4),
                                   np.ones(4), np.ones(3), 1e-3)


if __name__ == "__main__":
    unittest.main()
