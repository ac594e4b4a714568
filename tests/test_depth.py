"""The gradient's norm through a deep leaky-ReLU stack, against a hand-written backward pass and the gain formula."""

import math

import pytest
import torch

from relucourse.depth import gradient_norms, layer_gain

pytestmark = pytest.mark.leaky_relu


def test_layer_gain_formula():
    assert layer_gain(0.0, weight_variance=2.0) == pytest.approx(1.0)  # He for ReLU
    assert layer_gain(-1.0, weight_variance=1.0) == pytest.approx(1.0)  # |z| with unit variance
    assert layer_gain(2.0, weight_variance=1.0) == pytest.approx(math.sqrt(2.5))
    assert layer_gain(0.3, weight_variance=2 / 1.09) == pytest.approx(1.0)  # He for leaky ReLU


def test_norms_match_a_hand_written_backward_pass():
    slope, depth, width, batch, v = -0.7, 6, 5, 4, 1.3
    g = torch.Generator().manual_seed(11)  # the same draws, in the same order, as gradient_norms
    h = torch.randn(batch, width, generator=g, dtype=torch.float64)
    weights, pre = [], []
    for _ in range(depth):
        weights.append(torch.randn(width, width, generator=g, dtype=torch.float64) * math.sqrt(v / width))
        pre.append(h @ weights[-1].T)
        h = torch.where(pre[-1] > 0, pre[-1], slope * pre[-1])
    grad = torch.randn(batch, width, generator=g, dtype=torch.float64)  # ∂ℓ/∂h_depth = u
    norms = [grad.norm(dim=1).pow(2).mean().sqrt()]
    for weight, z in zip(reversed(weights), reversed(pre)):
        grad = (grad * torch.where(z > 0, 1.0, slope)) @ weight  # ∂ℓ/∂h_{l-1} = (∂ℓ/∂h_l ⊙ σ'(z_l)) W_l
        norms.append(grad.norm(dim=1).pow(2).mean().sqrt())
    expected = torch.stack(norms[::-1]) / norms[0]
    got = gradient_norms(slope, depth=depth, width=width, weight_variance=v, batch=batch, seed=11)
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("slope, v", [(0.0, 1.0), (2.0, 1.0), (-2.0, 1.0), (0.3, 2.0), (1.0, 1.0)])
def test_measured_gain_per_layer_is_near_the_formula(slope, v):
    norms = gradient_norms(slope, depth=40, width=256, weight_variance=v, batch=32, seed=0)
    assert norms.shape == (41,) and norms[-1] == 1.0
    per_layer = norms[0].item() ** (1 / 40)
    assert per_layer == pytest.approx(layer_gain(slope, weight_variance=v), rel=0.03)


def test_validation():
    with pytest.raises(ValueError, match="depth"):
        gradient_norms(0.0, depth=0)
    with pytest.raises(ValueError, match="weight_variance"):
        gradient_norms(0.0, depth=3, weight_variance=0.0)
    with pytest.raises(TypeError, match="weight_variance"):
        layer_gain(0.0, weight_variance="2")
    with pytest.raises(ValueError, match="slope"):
        layer_gain(float("nan"), weight_variance=1.0)
