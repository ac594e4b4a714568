r"""Heavy-ball momentum on a quadratic $f(\theta) = \tfrac12 (\theta - \theta^*)^\top H (\theta - \theta^*)$, one eigen-direction at a time.

Along an eigenvector of $H$ with eigenvalue $h$ the error follows $e_{t+1} = (1 + \beta - \eta h)\,e_t - \beta\,e_{t-1}$;
its rate is the larger modulus of the roots of $r^2 - (1 + \beta - \eta h)\,r + \beta$ (Polyak, 1964).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .optim import SGD

__all__ = ["heavy_ball_rate", "optimal_heavy_ball", "heavy_ball_errors"]


def heavy_ball_rate(lr: Tensor | float, momentum: Tensor | float, curvature: Tensor | float) -> Tensor:
    r"""$\max |r|$ over the roots of $r^2 - (1 + \beta - \eta h)\,r + \beta$: the error's factor per step along curvature $h$.

    Below 1 exactly when $0 < \eta h < 2(1 + \beta)$ (for $0 \le \beta < 1$). Arguments broadcast.
    """
    lr, momentum, curvature = (torch.as_tensor(v, dtype=torch.float64) for v in (lr, momentum, curvature))
    half_trace = (1 + momentum - lr * curvature) / 2
    root = (half_trace**2 - momentum).to(torch.complex128).sqrt()
    return torch.maximum((half_trace + root).abs(), (half_trace - root).abs())


def optimal_heavy_ball(mu: float, L: float) -> tuple[float, float]:
    r"""Polyak's $(\eta^*, \beta^*) = \big(4/(\sqrt L + \sqrt\mu)^2,\ ((\sqrt\kappa - 1)/(\sqrt\kappa + 1))^2\big)$, $\kappa = L/\mu$.

    With them every eigen-direction in $[\mu, L]$ converges at the rate $\sqrt{\beta^*} = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)$.
    """
    if not 0 < mu <= L < math.inf:
        raise ValueError(f"Invalid curvatures: mu = {mu}, L = {L} (expected 0 < mu <= L < inf)")
    sqrt_kappa = math.sqrt(L / mu)
    return 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, ((sqrt_kappa - 1) / (sqrt_kappa + 1)) ** 2


def heavy_ball_errors(hessian: Tensor, error0: Tensor, *, lr: float, momentum: float, steps: int) -> Tensor:
    r"""$e_t = \theta_t - \theta^*$ of `relucourse.optim.SGD` (heavy ball) on the quadratic, whose gradient is $H e$.

    Args:
        hessian: $H$, shape (d, d), symmetric.
        error0: $e_0$, shape (d,).
        lr, momentum: $\eta$ and $\beta$ (momentum 0: gradient descent).
        steps: the number of steps, an int >= 0.

    Returns:
        the errors $e_0, \dots, e_T$, shape (steps + 1, d).
    """
    if hessian.ndim != 2 or hessian.shape[0] != hessian.shape[1] or error0.shape != hessian.shape[:1]:
        raise ValueError(
            f"Invalid shapes: hessian {tuple(hessian.shape)}, error0 {tuple(error0.shape)} (expected (d, d), (d,))"
        )
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"Invalid number of steps: {steps!r} (expected an int >= 0)")
    error = error0.detach().clone().to(torch.float64).requires_grad_(True)
    optimizer = SGD([error], lr=lr, momentum=momentum)
    errors = [error.detach().clone()]
    for _ in range(steps):
        error.grad = hessian.to(torch.float64) @ error.detach()  # ∇f(θ_t) = H (θ_t - θ*)
        optimizer.step()
        errors.append(error.detach().clone())
    return torch.stack(errors)
