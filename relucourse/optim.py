r"""SGD with heavy-ball or Nesterov momentum, Adam and AMSGrad, written out with the `torch.optim.Optimizer` interface.

Each `step` is the update rule in its docstring, one line a formula, and gives the same iterates as
`torch.optim.SGD` / `torch.optim.Adam` (tested to float tolerance). Not kept from torch: the foreach,
fused, capturable, differentiable, sparse and `maximize` paths, tensor learning rates and AdamW's
decoupled weight decay.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.optim import Optimizer
from torch.optim.optimizer import ParamsT

__all__ = ["SGD", "Adam"]


def _number(name: str, value: float) -> float:
    """`value` as a float; a TypeError naming `name` if it is not a real number (a bool is not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Invalid {name}: expected a float, got {type(value).__name__}")
    return float(value)


def _learning_rate(lr: float) -> float:
    lr = _number("learning rate", lr)
    if not (0.0 <= lr < math.inf):
        raise ValueError(f"Invalid learning rate: {lr}")
    return lr


def _weight_decay(weight_decay: float) -> float:
    weight_decay = _number("weight_decay", weight_decay)
    if not (0.0 <= weight_decay < math.inf):
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    return weight_decay


class SGD(Optimizer):
    r"""$b_t = \mu b_{t-1} + (1 - \tau) g_t$, $\theta_{t+1} = \theta_t - \eta\, b_t$ (heavy ball), or $\theta_t - \eta (g_t + \mu b_t)$ (Nesterov).

    With $g_t = \nabla L(\theta_t) + \lambda \theta_t$ (weight decay $\lambda$), momentum $\mu$ and dampening
    $\tau$. Conventions, torch's: the buffer starts at the first gradient, $b_1 = g_1$ (no dampening on
    step 1); with $\mu = 0$ there is no buffer and $\theta_{t+1} = \theta_t - \eta g_t$.

    Written with a velocity instead of a buffer, the heavy-ball step is Polyak's
    $\theta_{t+1} = \theta_t - \eta g_t + \mu(\theta_t - \theta_{t-1})$ (for $\tau = 0$, constant $\eta$, and
    $\theta_{-1} = \theta_0$). The Nesterov step is Sutskever et al.'s rewriting of Nesterov's method: the
    gradient is taken at $\theta_t$, not at a look-ahead point.

    Args:
        params: the tensors to optimize, or dicts of parameter groups.
        lr: the step size $\eta \ge 0$.
        momentum: $\mu \ge 0$.
        dampening: $\tau \in [0, 1]$.
        weight_decay: $\lambda \ge 0$.
        nesterov: Nesterov's step instead of the heavy ball; needs $\mu > 0$ and $\tau = 0$.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        lr, weight_decay = _learning_rate(lr), _weight_decay(weight_decay)
        momentum, dampening = _number("momentum", momentum), _number("dampening", dampening)
        if not (0.0 <= momentum < math.inf):
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not (0.0 <= dampening <= 1.0):
            raise ValueError(f"Invalid dampening value: {dampening}")
        if not isinstance(nesterov, bool):
            raise TypeError(f"Invalid nesterov: expected a bool, got {type(nesterov).__name__}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """Take one step for every parameter that has a gradient; return `closure()`'s loss, if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if weight_decay != 0:
                    g = g.add(p, alpha=weight_decay)  # g_t = ∇L(θ_t) + λ θ_t
                if mu != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.detach().clone()  # b_1 = g_1
                    else:
                        state["momentum_buffer"].mul_(mu).add_(g, alpha=1 - tau)  # b_t = μ b_{t-1} + (1 - τ) g_t
                    b = state["momentum_buffer"]
                    g = g.add(b, alpha=mu) if nesterov else b  # d_t = g_t + μ b_t (Nesterov) or b_t
                p.add_(g, alpha=-lr)  # θ_{t+1} = θ_t - η d_t
        return loss


class Adam(Optimizer):
    r"""$\theta_{t+1} = \theta_t - \eta\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)$, $\hat m_t = m_t/(1-\beta_1^t)$, $\hat v_t = v_t/(1-\beta_2^t)$.

    With $g_t = \nabla L(\theta_t) + \lambda \theta_t$, $m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t$,
    $v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2$ and $m_0 = v_0 = 0$ (Kingma and Ba's algorithm, with $\epsilon$
    added after the square root as torch does). The state's `step` counts $t$.

    AMSGrad (``amsgrad=True``) divides by the running maximum instead: $\bar v_t = \max(\bar v_{t-1}, v_t)$ and
    $\hat v_t = \bar v_t/(1-\beta_2^t)$. That is torch's convention; Reddi, Kale and Kumar's algorithm has no
    bias corrections at all.

    Args:
        params: the tensors to optimize, or dicts of parameter groups.
        lr: the step size $\eta \ge 0$.
        betas: $(\beta_1, \beta_2)$, each in $[0, 1)$.
        eps: $\epsilon \ge 0$.
        weight_decay: $\lambda \ge 0$, added to the gradient (L2, not AdamW's decoupled decay).
        amsgrad: use the running maximum of $v_t$.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        lr, weight_decay, eps = _learning_rate(lr), _weight_decay(weight_decay), _number("epsilon", eps)
        if not (0.0 <= eps < math.inf):
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise TypeError(f"Invalid betas: expected a pair of floats, got {betas!r}")
        for index, beta in enumerate(betas):
            if not (0.0 <= _number(f"beta parameter at index {index}", beta) < 1.0):
                raise ValueError(f"Invalid beta parameter at index {index}: {beta}")
        if not isinstance(amsgrad, bool):
            raise TypeError(f"Invalid amsgrad: expected a bool, got {type(amsgrad).__name__}")
        defaults = {"lr": lr, "betas": (float(betas[0]), float(betas[1])), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """Take one step for every parameter that has a gradient; return `closure()`'s loss, if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = torch.tensor(0.0)  # t = 0
                    state["exp_avg"] = torch.zeros_like(p)  # m_0 = 0
                    state["exp_avg_sq"] = torch.zeros_like(p)  # v_0 = 0
                    if amsgrad:
                        state["max_exp_avg_sq"] = torch.zeros_like(p)  # v̄_0 = 0
                state["step"] += 1
                t = state["step"].item()  # t
                g = p.grad
                if weight_decay != 0:
                    g = g.add(p, alpha=weight_decay)  # g_t = ∇L(θ_t) + λ θ_t
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(g, alpha=1 - beta1)  # m_t = β1 m_{t-1} + (1 - β1) g_t
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)  # v_t = β2 v_{t-1} + (1 - β2) g_t²
                if amsgrad:
                    v = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])  # v̄_t = max(v̄_{t-1}, v_t)
                denominator = (v.sqrt() / math.sqrt(1 - beta2**t)).add_(eps)  # √v̂_t + ε, v̂_t = v_t / (1 - β2^t)
                p.addcdiv_(m, denominator, value=-lr / (1 - beta1**t))  # θ_{t+1} = θ_t - η m̂_t / (√v̂_t + ε)
        return loss
