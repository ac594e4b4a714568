r"""Adam's normalised step, run by run: its multiplier $\eta/(\sqrt{\hat v_t} + \epsilon)$ on the thread's problem,
and the online problem of Reddi, Kale and Kumar (2018) on which Adam goes to the worst point and AMSGrad does not."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from ._checks import finite_float, integer
from .optim import Adam

__all__ = ["AdamPath", "adam_path", "reddi_online"]


class AdamPath(NamedTuple):
    """A one-weight Adam run, computed in float64 and kept as float32 tensors: ``w`` the weight at every step
    (steps + 1), ``multiplier`` $\\eta/(\\sqrt{\\hat v_t} + \\epsilon)$ after each step (steps)."""

    w: Tensor
    multiplier: Tensor


def adam_path(w0: float, lr: float, *, amsgrad: bool = False, steps: int = 2000) -> AdamPath:
    r"""Adam (or AMSGrad) on the thread's population loss, $L'(w) = w - 1$ for $w > 0$, $w$ for $w \le 0$ (relu'(0) = 0),
    from `w0`, with the default betas (0.9, 0.999) and $\epsilon = 10^{-8}$; the multiplier is read from the
    optimizer's state ($\hat v_t$ AMSGrad's running maximum)."""
    w0, lr, steps = finite_float("w0", w0), finite_float("lr", lr), integer("steps", steps)
    w = torch.tensor([w0], dtype=torch.float64, requires_grad=True)
    optimizer = Adam([w], lr=lr, amsgrad=amsgrad)
    group = optimizer.param_groups[0]
    beta2, eps = float(group["betas"][1]), float(group["eps"])  # the optimizer's own, not typed again here
    path, multiplier = [w0], []
    for t in range(1, steps + 1):
        w.grad = torch.where(w > 0, w - 1, w).detach()  # L'(w)
        optimizer.step()
        v = optimizer.state[w]["max_exp_avg_sq" if amsgrad else "exp_avg_sq"]
        multiplier.append(lr / (math.sqrt(v.item() / (1 - beta2**t)) + eps))  # η / (√v̂_t + ε)
        path.append(w.item())
    return AdamPath(torch.tensor(path), torch.tensor(multiplier))


def reddi_online(amsgrad: bool, *, C: float = 3.0, steps: int = 1500, lr: float = 0.5) -> tuple[Tensor, float]:
    r"""Reddi et al.'s problem: $f_t(x) = Cx$ if $t \bmod 3 = 1$, else $-x$, on $[-1, 1]$; $\beta_1 = 0$,
    $\beta_2 = 1/(1 + C^2)$, step $\eta/\sqrt t$, each iterate projected back onto $[-1, 1]$.

    Returns the iterates $x_1 \dots x_T$ (float32) and the mean regret $\frac1T \sum_t f_t(x_t) - f_t(-1)$ ($x = -1$ is the best).
    """
    C, lr, steps = finite_float("C", C), finite_float("lr", lr), integer("steps", steps)
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = Adam([x], lr=lr, betas=(0.0, 1 / (1 + C**2)), amsgrad=amsgrad)
    path, regret = [], 0.0
    for t in range(1, steps + 1):
        g = C if t % 3 == 1 else -1.0  # f_t'(x)
        regret += g * (x.item() + 1.0)  # f_t(x_t) - f_t(-1)
        optimizer.param_groups[0]["lr"] = lr / math.sqrt(t)
        x.grad = torch.tensor([g], dtype=torch.float64)
        optimizer.step()
        with torch.no_grad():
            x.clamp_(-1.0, 1.0)  # project back onto [-1, 1]
        path.append(x.item())
    return torch.tensor(path), regret / steps
