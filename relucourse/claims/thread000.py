"""Thread 000, how gradient descent converges when ReLU's derivative is piecewise constant: the weights' gradient,
and gradient descent on a line fit and on a ReLU fit of the seed's points."""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor

from ..data import glorot_starts
from ..linefit import line_descent, line_loss, line_optimum
from ..models import MLP
from .base import BATCH, LR, SEED, STEPS, Measured, claim, verdict

A0 = "000 answer"


@functools.cache
def _points() -> tuple[Tensor, Tensor]:
    """The thread's point set S: one batch of the seed's stream, x ~ N(0, 1), y = relu(x), float64."""
    x = torch.randn(BATCH, generator=torch.Generator().manual_seed(SEED), dtype=torch.float64)
    return x, torch.relu(x)


@claim(
    "s0-weights-gradient-nonzero",
    A0,
    "Even where the ReLUs pass no gradient, the gradient with respect to the weights is nonzero unless training "
    "has reached a critical point.",
    setting="MLP [1, 16, 16, 1], He init, on {batch} points (x, relu(x)); then with every first-layer unit pushed "
    "negative (bias -100)",
    measured="at the start the gradient has norm {norm:.3f}, {zero} of {total} entries exactly 0 (weights of units "
    "inactive on every point); with the first layer dead, norm {dead_norm:.3f} from the output bias alone, "
    "{dead_zero} of {total} exactly 0: nonzero, but gradient descent then only fits the mean (a critical point)",
)
def weights_gradient_nonzero() -> Measured:
    x, y = _points()
    net = MLP([1, 16, 16, 1], seed=SEED).double()

    def gradient() -> tuple[float, int, int]:
        net.zero_grad()
        torch.nn.functional.mse_loss(net(x[:, None])[:, 0], y).backward()
        grads = torch.cat([p.grad.flatten() for p in net.parameters()])
        return grads.norm().item(), int((grads == 0).sum()), grads.numel()

    norm, zero, total = gradient()
    with torch.no_grad():
        net.layers[0].bias.fill_(-100.0)  # every first-layer unit negative on every input: no ReLU passes a gradient
    dead_norm, dead_zero, _ = gradient()
    holds = norm > 0 and dead_norm > 0
    return Measured(
        verdict(holds, fails=not holds),
        {"norm": norm, "zero": zero, "dead_norm": dead_norm, "dead_zero": dead_zero, "total": total},
    )


@claim(
    "s0-line-fit-converges",
    A0,
    "Gradient descent on the least-squares fit of a line mx + b converges to its minimiser.",
    setting="the {batch} points (x, relu(x)), full-batch gradient descent lr {lr}, {steps} steps, 7 starts on [-3, 3]^2",
    measured="every start ends within {max_error:.1e} of the least-squares line (m*, b*) = ({m_star:.4f}, "
    "{b_star:.4f})",
)
def line_fit_converges() -> Measured:
    x, y = _points()
    m_star, b_star = line_optimum(x, y)
    starts = torch.linspace(-3, 3, 7, dtype=torch.float64)
    m, b = line_descent(starts, starts.flip(0), x, y, lr=LR, steps=STEPS)
    error = torch.maximum((m[-1] - m_star).abs(), (b[-1] - b_star).abs()).max().item()
    return Measured(
        verdict(error < 1e-6, fails=error >= 1e-2), {"max_error": error, "m_star": m_star, "b_star": b_star}
    )


@claim(
    "s0-relu-fit-converges",
    A0,
    "The same holds for fitting relu(mx + b): gradient descent converges to the minimiser.",
    setting="the {batch} points (x, relu(x)), full-batch gradient descent lr {lr}, {steps} steps, 40 Keras-default "
    "starts m0 ~ U(-√3, √3), b0 = 0. Depends on the start: the loss is not convex",
    measured="{reached_fraction:.0%} converge to the minimiser (m, b) = (1, 0) (loss below 1e-3, at most "
    "{distance:.3f} away after 2000 steps){which}{dead:.0f} end dead, at the loss of the zero function",
)
def relu_fit_converges() -> Measured:
    x, y = _points()
    m0 = glorot_starts(40, seed=SEED)  # Keras's default kernel init, bias 0
    m, b = line_descent(m0, 0.0, x, y, lr=LR, steps=STEPS, relu=True)
    loss = line_loss(m[-1], b[-1], x, y, relu=True)
    reached = loss < 1e-3  # at the minimiser relu(x) itself, loss 0, or well on the way
    dead = (loss - (y**2).mean()).abs() < 0.02  # near the loss of the zero function: every unit off
    fraction = reached.double().mean().item()
    distance = torch.hypot(m[-1] - 1, b[-1])[reached].max().item() if reached.any() else math.nan
    return Measured(
        verdict(fraction == 1.0, fails=fraction == 0.0),
        {"reached_fraction": fraction, "dead": float(dead.sum()), "distance": distance},
        {"which": ", exactly those with m0 > 0; " if torch.equal(reached, m0 > 0) else "; "},
    )
