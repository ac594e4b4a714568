r"""SGD (heavy ball, Nesterov), Adam and AMSGrad with the `torch.optim.Optimizer` interface, vectorised over runs.

Each `step` is the update rule in its docstring, one line a formula, and gives the same iterates as
`torch.optim.SGD` / `torch.optim.Adam` (tested to float tolerance). Every hyper-parameter is a number, or a
tensor of shape (runs,) that gives each run its own: dimension 0 of every parameter is then the run, and
one `step` advances all runs at once (`relucourse.sweep` steps whole grids this way). Not kept from torch:
the foreach, fused, capturable, differentiable, sparse and `maximize` paths, and AdamW's decoupled weight decay.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor
from torch.optim import Optimizer
from torch.optim.optimizer import ParamsT
from tqdm.auto import tqdm

__all__ = ["SGD", "Adam", "Hyper", "iterate"]

Hyper = float | Tensor
"""A hyper-parameter: one number for every run, or a tensor of shape (runs,), one per run."""


def _hyper(name: str, value: Hyper, ok: Callable[[Tensor], Tensor], label: str = "") -> Hyper:
    """`value` as a float or a float tensor of shape (runs,); a TypeError or ValueError in torch's words."""
    label = label or f"{name} value"
    if isinstance(value, Tensor):
        if value.ndim != 1 or not value.is_floating_point():
            raise TypeError(f"Invalid {name}: expected a float or a 1-D float tensor, got shape {tuple(value.shape)}")
        bad = ~ok(value)
        if bad.any():
            raise ValueError(f"Invalid {label}: {value[bad][:3].tolist()}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Invalid {name}: expected a float, got {type(value).__name__}")
    if not ok(torch.tensor(float(value), dtype=torch.float64)):
        raise ValueError(f"Invalid {label}: {value}")
    return float(value)


def _flag(name: str, value: bool | Tensor) -> bool | Tensor:
    """A bool, or a bool tensor of shape (runs,)."""
    if isinstance(value, Tensor) and value.dtype == torch.bool and value.ndim == 1:
        return value
    if not isinstance(value, bool):
        raise TypeError(f"Invalid {name}: expected a bool or a 1-D bool tensor, got {type(value).__name__}")
    return value


def _nonnegative(name: str, value: Hyper, label: str = "") -> Hyper:
    return _hyper(name, value, lambda v: (v >= 0) & (v < math.inf), label)


def _per_run(value: Hyper | bool | tuple, p: Tensor) -> Hyper | bool | tuple:
    """`value` (or each of a tuple's), a tensor reshaped to broadcast along dimension 0 of `p`, the run."""
    if isinstance(value, tuple):
        return tuple(_per_run(v, p) for v in value)
    if not isinstance(value, Tensor):
        return value
    if value.shape[0] != p.shape[0]:
        raise ValueError(f"Invalid hyper-parameter: {value.shape[0]} runs for a parameter of shape {tuple(p.shape)}")
    return value.view(-1, *[1] * (p.ndim - 1))


class _PerRun(Optimizer):
    """The `param_groups` loop: `_update` steps one parameter, with its group's hyper-parameters shaped for it."""

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Take one step for every parameter that has a gradient; return `closure()`'s loss, if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in (p for p in group["params"] if p.grad is not None):
                self._update(p, self.state[p], **{k: _per_run(v, p) for k, v in group.items() if k != "params"})
        return loss


class SGD(_PerRun):
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
        Each a number, or a tensor of shape (runs,) (a bool tensor for `nesterov`).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: Hyper = 1e-3,
        momentum: Hyper = 0.0,
        dampening: Hyper = 0.0,
        weight_decay: Hyper = 0.0,
        nesterov: bool | Tensor = False,
    ) -> None:
        defaults = {
            "lr": _nonnegative("learning rate", lr, "learning rate"),
            "momentum": _nonnegative("momentum", momentum),
            "dampening": _hyper("dampening", dampening, lambda v: (v >= 0) & (v <= 1)),
            "weight_decay": _nonnegative("weight_decay", weight_decay),
            "nesterov": _flag("nesterov", nesterov),
        }
        mu, tau = torch.as_tensor(defaults["momentum"]), torch.as_tensor(defaults["dampening"])
        if (torch.as_tensor(defaults["nesterov"]) & ((mu <= 0) | (tau != 0))).any():
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _update(
        self, p: Tensor, state: dict, lr: Hyper, momentum: Hyper, dampening: Hyper, weight_decay: Hyper, nesterov: bool
    ) -> None:
        mu, tau, decay = momentum, dampening, weight_decay
        g = p.grad
        if isinstance(decay, Tensor) or decay != 0:
            g = g + decay * p  # g_t = ∇L(θ_t) + λ θ_t
        if isinstance(mu, Tensor) or mu != 0:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.detach().clone()  # b_1 = g_1
            else:
                # where μ = 0 torch keeps no buffer (b_t = g_t): no dampening there
                weight = torch.where(mu != 0, 1 - tau, 1.0) if isinstance(mu, Tensor) else 1 - tau
                state["momentum_buffer"].mul_(mu).add_(weight * g)  # b_t = μ b_{t-1} + (1 - τ) g_t
            b = state["momentum_buffer"]
            if isinstance(nesterov, Tensor):
                g = torch.where(nesterov, g + mu * b, b)  # d_t = g_t + μ b_t (Nesterov) or b_t
            else:
                g = g + mu * b if nesterov else b
        p.sub_(lr * g)  # θ_{t+1} = θ_t - η d_t


class Adam(_PerRun):
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
        Each a number, or a tensor of shape (runs,) (a bool tensor for `amsgrad`).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: Hyper = 1e-3,
        betas: tuple[Hyper, Hyper] = (0.9, 0.999),
        eps: Hyper = 1e-8,
        weight_decay: Hyper = 0.0,
        amsgrad: bool | Tensor = False,
    ) -> None:
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise TypeError(f"Invalid betas: expected a pair of floats, got {betas!r}")
        betas = tuple(
            _hyper(f"beta parameter at index {i}", beta, lambda v: (v >= 0) & (v < 1), f"beta parameter at index {i}")
            for i, beta in enumerate(betas)
        )
        defaults = {
            "lr": _nonnegative("learning rate", lr, "learning rate"),
            "betas": betas,
            "eps": _nonnegative("epsilon", eps),
            "weight_decay": _nonnegative("weight_decay", weight_decay),
            "amsgrad": _flag("amsgrad", amsgrad),
        }
        super().__init__(params, defaults)

    def _update(
        self, p: Tensor, state: dict, lr: Hyper, betas: tuple, eps: Hyper, weight_decay: Hyper, amsgrad: bool
    ) -> None:
        (beta1, beta2), decay = betas, weight_decay
        if len(state) == 0:
            state["step"] = torch.tensor(0.0)  # t = 0
            state["exp_avg"] = torch.zeros_like(p)  # m_0 = 0
            state["exp_avg_sq"] = torch.zeros_like(p)  # v_0 = 0
            if isinstance(amsgrad, Tensor) or amsgrad:
                state["max_exp_avg_sq"] = torch.zeros_like(p)  # v̄_0 = 0
        state["step"] += 1
        t = state["step"].item()  # t
        g = p.grad
        if isinstance(decay, Tensor) or decay != 0:
            g = g + decay * p  # g_t = ∇L(θ_t) + λ θ_t
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(g, 1 - beta1)  # m_t = β1 m_{t-1} + (1 - β1) g_t
        v.lerp_(g * g, 1 - beta2)  # v_t = β2 v_{t-1} + (1 - β2) g_t²
        if isinstance(amsgrad, Tensor) or amsgrad:
            v_max = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])  # v̄_t
            v = torch.where(amsgrad, v_max, v) if isinstance(amsgrad, Tensor) else v_max
        denominator = v.sqrt() / (1 - beta2**t) ** 0.5 + eps  # √v̂_t + ε, v̂_t = v_t / (1 - β2^t)
        p.sub_(lr / (1 - beta1**t) * m / denominator)  # θ_{t+1} = θ_t - η m̂_t / (√v̂_t + ε)


def iterate(
    params: list[Tensor],
    gradient: Callable[..., tuple[Tensor, ...]],
    optimizers: list[Optimizer],
    *,
    steps: int,
    bound: float = math.inf,
    record: bool = True,
    progress: str | None = None,
) -> list[Tensor]:
    r"""$\theta_{t+1} = \mathrm{step}(\theta_t, \nabla L(\theta_t))$, `steps` times, for every run at once.

    Each step sets ``p.grad`` of every parameter to ``gradient(*params)``, then steps each optimizer (all of them
    over `params`, each with the runs it steps). A run (index along dimension 0) that leaves $|\theta| \le$ bound
    stops there: its parameters keep that value, and `gradient` sees 0 for them. `progress`: the label of a tqdm
    progress bar (None: no bar).

    Returns:
        each parameter's path, shape (steps + 1, *p.shape), the start first; without `record` only the last
        value, shape (1, *p.shape).
    """
    paths = [torch.empty(steps + 1 if record else 1, *p.shape, dtype=p.dtype, device=p.device) for p in params]
    for path, p in zip(paths, params):
        path[0] = p
    alive, stopped = torch.ones(params[0].shape[:1], dtype=torch.bool, device=params[0].device), False
    for t in tqdm(range(1, steps + 1), disable=progress is None, desc=progress):
        before = [p.clone() for p in params] if stopped else params
        frozen = [alive.view(-1, *[1] * (p.ndim - 1)) for p in params] if stopped else []
        inputs = [torch.where(keep, p, 0.0) for keep, p in zip(frozen, params)] if stopped else params
        for p, g in zip(params, gradient(*inputs)):
            p.grad = g
        for optimizer in optimizers:
            optimizer.step()
        if stopped:
            for keep, p, old in zip(frozen, params, before):
                p.copy_(torch.where(keep, p, old))
        if bound < math.inf:
            bounded = alive.clone()
            for p in params:
                bounded &= (p.abs() <= bound).reshape(len(p), -1).all(dim=1)
            if stopped or not bool(bounded.all()):  # a run that leaves |θ| <= bound stops there
                alive, stopped = bounded, True
        for path, p in zip(paths, params):
            path[t if record else 0] = p
    return paths
