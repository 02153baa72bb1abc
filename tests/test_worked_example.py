"""The course's worked example: a 2-2-2 sigmoid network, MSE, one gradient-descent step.

Inputs 0.05, 0.10; targets 0.01, 0.99; w1..w4 = 0.15, 0.20, 0.25, 0.30 with bias
b1 = 0.35; w5..w8 = 0.40, 0.45, 0.50, 0.55 with bias b2 = 0.60; learning rate 0.5;
h1 = w1*i1 + w2*i2 + b1, h2 = w3*i1 + w4*i2 + b1, o1 = w5*h1 + w6*h2 + b2,
o2 = w7*h1 + w8*h2 + b2 (each followed by a sigmoid). MSE over the two outputs
equals the course's E = 1/2 * sum (t - o)^2.
"""
import math

import numpy as np

import neuronet as nn
from neuronet import ops

I1, I2, T1, T2, B1, B2, LR = 0.05, 0.10, 0.01, 0.99, 0.35, 0.60, 0.5
W = dict(w1=0.15, w2=0.20, w3=0.25, w4=0.30, w5=0.40, w6=0.45, w7=0.50, w8=0.55)


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def chain_rule_by_hand():
    """Every dE/dw as the product of its chain-rule factors, in plain floats."""
    out_h1 = sigmoid(W["w1"] * I1 + W["w2"] * I2 + B1)
    out_h2 = sigmoid(W["w3"] * I1 + W["w4"] * I2 + B1)
    out_o1 = sigmoid(W["w5"] * out_h1 + W["w6"] * out_h2 + B2)
    out_o2 = sigmoid(W["w7"] * out_h1 + W["w8"] * out_h2 + B2)
    error = 0.5 * (T1 - out_o1) ** 2 + 0.5 * (T2 - out_o2) ** 2
    # dE/do * do/dnet for each output: delta_o = -(t - o) * o * (1 - o)
    delta_o1 = -(T1 - out_o1) * out_o1 * (1 - out_o1)
    delta_o2 = -(T2 - out_o2) * out_o2 * (1 - out_o2)
    grads = {"w5": delta_o1 * out_h1, "w6": delta_o1 * out_h2,
             "w7": delta_o2 * out_h1, "w8": delta_o2 * out_h2}
    # Hidden deltas sum over both outputs: delta_h = (sum_k delta_ok * w_hk) * h * (1 - h)
    delta_h1 = (delta_o1 * W["w5"] + delta_o2 * W["w7"]) * out_h1 * (1 - out_h1)
    delta_h2 = (delta_o1 * W["w6"] + delta_o2 * W["w8"]) * out_h2 * (1 - out_h2)
    grads.update(w1=delta_h1 * I1, w2=delta_h1 * I2, w3=delta_h2 * I1, w4=delta_h2 * I2)
    return error, grads


def network_tensors():
    """Kernels in Keras' (in, out) layout: column j holds the weights into unit j."""
    kernel1 = nn.tensor([[W["w1"], W["w3"]], [W["w2"], W["w4"]]], dtype="float64",
                        requires_grad=True)
    kernel2 = nn.tensor([[W["w5"], W["w7"]], [W["w6"], W["w8"]]], dtype="float64",
                        requires_grad=True)
    return kernel1, kernel2


def forward(kernel1, kernel2):
    x = nn.tensor([[I1, I2]], dtype="float64")
    hidden = ops.sigmoid(x @ kernel1 + B1)
    output = ops.sigmoid(hidden @ kernel2 + B2)
    return ops.mean((output - np.array([[T1, T2]])) ** 2)


def test_error_and_gradients_match_the_chain_rule():
    error, grads = chain_rule_by_hand()
    kernel1, kernel2 = network_tensors()
    loss = forward(kernel1, kernel2)
    loss.backward()
    assert math.isclose(loss.item(), error, rel_tol=1e-12)
    assert math.isclose(error, 0.298371109, rel_tol=1e-8)  # the course's printed value
    expected1 = [[grads["w1"], grads["w3"]], [grads["w2"], grads["w4"]]]
    expected2 = [[grads["w5"], grads["w7"]], [grads["w6"], grads["w8"]]]
    np.testing.assert_allclose(kernel1.grad, expected1, rtol=1e-12)
    np.testing.assert_allclose(kernel2.grad, expected2, rtol=1e-12)


def test_one_sgd_step_gives_the_course_weights():
    kernel1, kernel2 = network_tensors()
    forward(kernel1, kernel2).backward()
    nn.optimizers.SGD(learning_rate=LR).step([kernel1, kernel2])
    # w <- w - lr * dE/dw, values as printed in the course (9 significant digits)
    np.testing.assert_allclose(kernel2.numpy(), [[0.358916480, 0.511301270],
                                                 [0.408666186, 0.561370121]], rtol=1e-8)
    np.testing.assert_allclose(kernel1.numpy(), [[0.149780716, 0.249751144],
                                                 [0.199561432, 0.299502287]], rtol=1e-8)
