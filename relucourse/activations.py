"""ReLU and leaky ReLU whose derivative at exactly 0 is an explicit parameter."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import FunctionCtx

from ._checks import finite_float

__all__ = ["LeakyReLUFunction", "leaky_relu", "relu"]


class LeakyReLUFunction(torch.autograd.Function):
    r"""$\sigma_\alpha(x) = x$ if $x > 0$ else $\alpha x$, with $\sigma_\alpha'(0)$ given as `at_zero`."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, slope: float, at_zero: float) -> Tensor:
        ctx.save_for_backward(x)
        ctx.slope, ctx.at_zero = slope, at_zero
        return torch.where(x > 0, x, slope * x)  # σ_α(x)

    @staticmethod
    def backward(ctx: FunctionCtx, grad_out: Tensor) -> tuple[Tensor, None, None]:
        (x,) = ctx.saved_tensors
        one, at_zero, slope = (x.new_tensor(v) for v in (1.0, ctx.at_zero, ctx.slope))
        d_sigma = torch.where(x > 0, one, torch.where(x == 0, at_zero, slope))  # σ_α'(x)
        return grad_out * d_sigma, None, None


def leaky_relu(x: Tensor, slope: float = 0.01, *, at_zero: float | None = None) -> Tensor:
    r"""$\sigma_\alpha(x) = x$ if $x > 0$ else $\alpha x$; $\sigma_\alpha'(0)$ is `at_zero` (default: `slope`, torch's convention).

    Args:
        x: any shape, floating point.
        slope: the left slope $\alpha$.
        at_zero: the derivative used at exactly $x = 0$.

    Returns:
        a tensor of the shape and dtype of `x`.
    """
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise TypeError(f"Invalid x: expected a floating-point Tensor, got {getattr(x, 'dtype', type(x).__name__)}")
    slope = finite_float("slope", slope)
    at_zero = slope if at_zero is None else finite_float("at_zero", at_zero)
    return LeakyReLUFunction.apply(x, slope, at_zero)


def relu(x: Tensor, *, at_zero: float = 0.0) -> Tensor:
    r"""$\mathrm{relu}(x) = \max(x, 0)$; $\mathrm{relu}'(0)$ is `at_zero` (default 0, torch's convention)."""
    return leaky_relu(x, 0.0, at_zero=at_zero)
