"""relucourse.adaptive: Adam's multiplier against a scalar recursion written out; Reddi et al.'s problem as their theorem says."""

import math

import pytest
import torch

from relucourse.adaptive import adam_path, reddi_online

pytestmark = pytest.mark.optimizers


def scalar_adam(w0, lr, amsgrad, steps, b1=0.9, b2=0.999, eps=1e-8):
    """Kingma and Ba's Algorithm 1 (AMSGrad: v̂ the running maximum of v before the bias correction, as torch)."""
    w, m, v, v_max, path, multiplier = w0, 0.0, 0.0, 0.0, [w0], []
    for t in range(1, steps + 1):
        g = w - 1 if w > 0 else w
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        v_max = max(v_max, v)
        v_hat = (v_max if amsgrad else v) / (1 - b2**t)
        w -= lr * (m / (1 - b1**t)) / (math.sqrt(v_hat) + eps)
        path.append(w)
        multiplier.append(lr / (math.sqrt(v_hat) + eps))
    return torch.tensor(path, dtype=torch.float64), torch.tensor(multiplier, dtype=torch.float64)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_path_is_the_scalar_recursion(amsgrad):
    got = adam_path(-1.0, 0.01, amsgrad=amsgrad, steps=600)
    w, multiplier = scalar_adam(-1.0, 0.01, amsgrad, 600)
    torch.testing.assert_close(got.w, w.float(), rtol=1e-6, atol=1e-9)  # computed in float64, kept as float32
    torch.testing.assert_close(got.multiplier, multiplier.float(), rtol=1e-6, atol=1e-9)
    assert got.w.shape == (601,) and got.multiplier.shape == (600,)


def test_on_reddis_problem_adam_goes_to_the_worst_point_and_amsgrad_to_the_best():
    adam, adam_regret = reddi_online(False, C=3.0, steps=1500)
    ams, ams_regret = reddi_online(True, C=3.0, steps=1500)
    assert adam[-1].item() == 1.0, "Adam should end at the worst point x = 1 (Reddi et al., Theorem 1)"
    assert ams[-1].item() < -0.9, "AMSGrad should end near the best point x = -1"
    assert adam_regret > 0.5 > 0.1 > ams_regret, (adam_regret, ams_regret)  # (C - 2)·2/3 a step at x = 1


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: adam_path(float("nan"), 0.01), "Invalid w0"),
        (lambda: adam_path(-1.0, 0.01, steps=0), "Invalid steps"),
        (lambda: reddi_online(True, C=float("inf")), "Invalid C"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()
