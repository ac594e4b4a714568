r"""A gradient's size through a deep stack of leaky-ReLU layers: vanishing, preserved or exploding with depth."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._checks import finite_float, integer, one_thread

__all__ = ["gradient_norms", "layer_gain"]


def _check_variance(weight_variance: float) -> float:
    return finite_float("weight_variance", weight_variance, lambda v: v > 0, "> 0")


def layer_gain(slope: float, *, weight_variance: float) -> float:
    r"""$\sqrt{v\,(1 + \alpha^2)/2}$: the factor by which one layer scales a gradient's norm, on average.

    With $W_{ij} \sim N(0, v/n)$ and pre-activations symmetric about 0, half the units pass the gradient
    with slope 1 and half with slope $\alpha$, so $\mathbb{E}\|W^\top(\sigma_\alpha'(z) \odot g)\|^2 = v\,\tfrac{1 + \alpha^2}{2}\,\|g\|^2$.
    $v = 2$ is He et al.'s choice for ReLU; $v = 2/(1 + \alpha^2)$ theirs for a leaky ReLU (gain 1 for every $\alpha$).
    """
    return math.sqrt(_check_variance(weight_variance) * (1 + finite_float("slope", slope) ** 2) / 2)


def gradient_norms(
    slope: float, *, depth: int, width: int = 64, weight_variance: float = 2.0, batch: int = 64, seed: int = 0
) -> Tensor:
    r"""$\|\partial \ell / \partial h_l\| / \|\partial \ell / \partial h_{\mathrm{depth}}\|$ for $l = 0, \dots, \mathrm{depth}$.

    The stack is $h_0 = x \sim N(0, I)$, $h_l = \sigma_\alpha(W_l h_{l-1})$ with $W_l$ of shape (width, width),
    entries $N(0, v/\mathrm{width})$, no bias; $\ell = \langle u, h_{\mathrm{depth}} \rangle$ with a random $u$, so the
    gradient that enters the top is $u$ itself. Norms are root-mean-square over the batch.

    Args:
        slope: the leaky slope $\alpha$ (0: ReLU; 1: linear; may be negative or above 1).
        depth: the number of layers, an int >= 1.
        width: units per layer.
        weight_variance: $v$, the variance of each weight times the fan-in.
        batch: the number of inputs.
        seed: seeds the inputs, the weights and $u$.

    Returns:
        float64 tensor of shape (depth + 1,): entry $l$ is the gradient's norm at layer $l$ relative to the top.
    """
    slope, weight_variance = finite_float("slope", slope), _check_variance(weight_variance)
    for name, value in (("depth", depth), ("width", width), ("batch", batch)):
        integer(name, value)
    generator = torch.Generator().manual_seed(seed)
    with one_thread():
        h = torch.randn(batch, width, generator=generator, dtype=torch.float64).requires_grad_(True)
        layers = [h]
        for _ in range(depth):
            weight = torch.randn(width, width, generator=generator, dtype=torch.float64) * math.sqrt(
                weight_variance / width
            )
            h = torch.nn.functional.leaky_relu(h @ weight.T, slope)  # h_l = σ_α(W_l h_{l-1})
            h.retain_grad()
            layers.append(h)
        u = torch.randn(batch, width, generator=generator, dtype=torch.float64)
        (h * u).sum().backward()  # ∂ℓ/∂h_depth = u
        norms = torch.stack([layer.grad.norm(dim=1).pow(2).mean().sqrt() for layer in layers])  # RMS over the batch
    return norms / norms[-1]
