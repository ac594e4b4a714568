r"""Many runs of the single-neuron problem at once: a grid of starts × optimizers × learning rates, one batched computation.

Student $\sigma_\alpha(wx + b)$ (the bias is optional), teacher $\mathrm{relu}(vx + c)$, $x \sim N(0, 1)$, squared
error. In the engine, dimension 0 of every tensor is the run. Each run has its own start, learning
rate and optimizer (SGD or Adam from `relucourse.optim` or `torch.optim`, with their hyper-parameters),
and one step applies the optimizers' update rules to all runs at once. The gradient is either

- ``"exact"``: the population gradient, in closed form ($\nabla L$ of `relucourse.landscape`), or
- ``"sampled"``: the gradient of the mean squared error on a batch of `batch_size` inputs, the same
  batch for every run at a given step (common random numbers), drawn by `teacher_student_batches`.

`trajectory` is the plain one-run loop (a parameter, an optimizer object, a loop of steps) that the
engine is tested against, run by run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer
from tqdm.auto import tqdm

from . import optim
from .activations import leaky_relu
from .data import teacher_student_batches
from .landscape import population_grad

__all__ = ["Outcome", "OptimizerSpec", "Sweep", "sweep", "trajectory", "classify"]

OptimizerSpec = tuple[type[Optimizer], Mapping[str, Any]]
"""An optimizer class and its hyper-parameters other than the learning rate, e.g. ``(SGD, {"momentum": 0.9})``."""

GRADIENTS = ("exact", "sampled")
_SQRT_HALF, _INV_SQRT_2PI = math.sqrt(0.5), 1 / math.sqrt(2 * math.pi)


class Outcome(IntEnum):
    """Where a run ended."""

    REACHED = 0  # within `tol` of the target (the teacher) in every parameter
    STUCK = 1  # finite and bounded, but not at the target: at the kink, or still creeping towards it
    DIVERGED = 2  # left |θ| <= bound (or became NaN); the run was stopped there


@dataclass
class Sweep:
    r"""Every run of a grid: index ``[o, l, *s]`` is optimizer ``names[o]``, learning rate ``lr[l]``, start ``s``.

    Attributes:
        names: the optimizers' labels, O of them.
        lr: the learning rates, shape (L,).
        w, b: the last parameters, shape (O, L, *start_shape); ``b`` is None for a student without bias.
        outcome: `Outcome` codes (int64), shape (O, L, *start_shape).
        w_path, b_path: every step's parameters, shape (steps + 1, O, L, *start_shape), if recorded.
    """

    names: tuple[str, ...]
    lr: Tensor
    w: Tensor
    b: Tensor | None
    outcome: Tensor
    w_path: Tensor | None = None
    b_path: Tensor | None = None

    def __getitem__(self, name: str) -> Tensor:
        """The outcomes of optimizer `name`, shape (L, *start_shape)."""
        if name not in self.names:
            raise KeyError(f"no optimizer {name!r} in this sweep (it has {list(self.names)})")
        return self.outcome[self.names.index(name)]


def classify(
    w: Tensor, b: Tensor | None = None, *, target: tuple[float, float] = (1.0, 0.0), tol: float = 1e-2,
    bound: float = 1e6,
) -> Tensor:
    r"""`Outcome` per run: DIVERGED unless $|w|, |b| \le$ bound; REACHED if $|w - w^*|, |b - b^*| <$ tol; else STUCK.

    Args:
        w, b: final parameters, broadcastable shapes (b None: no bias, only w is compared).
        target: $(w^*, b^*)$, by default the course's teacher (1, 0).
    Returns:
        int64 tensor of Outcome codes, the broadcast shape.
    """
    _positive_finite("tol", tol)
    _positive_finite("bound", bound)
    w_star, b_star = _pair("target", target)
    b = torch.zeros_like(w) if b is None else b
    bounded = (w.abs() <= bound) & (b.abs() <= bound)  # NaN compares False: diverged
    reached = ((w - w_star).abs() < tol) & ((b - b_star).abs() < tol)
    outcome = torch.full(torch.broadcast_shapes(w.shape, b.shape), int(Outcome.STUCK), dtype=torch.int64,
                         device=w.device)
    outcome[reached & bounded] = int(Outcome.REACHED)
    outcome[~bounded] = int(Outcome.DIVERGED)
    return outcome


def sweep(
    w0: Tensor | float | Sequence[float],
    b0: Tensor | float | Sequence[float] | None = None,
    *,
    lr: Tensor | float | Sequence[float],
    optimizers: Mapping[str, OptimizerSpec],
    steps: int,
    gradient: str = "exact",
    batch_size: int = 1000,
    seed: int = 0,
    slope: float = 0.0,
    teacher: tuple[float, float] = (1.0, 0.0),
    target: tuple[float, float] | None = None,
    tol: float = 1e-2,
    bound: float = 1e6,
    record: bool = False,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float64,
    progress: bool = False,
) -> Sweep:
    r"""Run every (optimizer, learning rate, start) of the grid for `steps` steps, all runs in one tensor.

    Args:
        w0: starting weights, any shape S (e.g. a 2-D meshgrid for a map).
        b0: starting biases, broadcastable to S; None for a student without bias (b stays 0).
        lr: learning rates, a float or shape (L,).
        optimizers: label -> (class, hyper-parameters), O of them; classes: SGD or Adam from
            `relucourse.optim` or `torch.optim` (not AdamW, not ``maximize``).
        steps: the number of steps, an int >= 0.
        gradient: ``"exact"`` (population) or ``"sampled"`` (batches of `batch_size`, one stream from `seed`).
        slope: the student's left slope $\alpha$ (0: ReLU).
        teacher: $(v, c)$ of the teacher $\mathrm{relu}(vx + c)$.
        target, tol, bound: for `classify` (target defaults to the teacher).
        record: keep every step's parameters (memory: (steps + 1) × runs values).
        device: where the runs live (CPU by default; e.g. ``"cuda"``).
        dtype: the runs' floating-point dtype (and the batches').
        progress: show a tqdm progress bar.

    Returns:
        a `Sweep` with results of shape (O, L, *S).
    """
    _check_problem(steps=steps, gradient=gradient, batch_size=batch_size, seed=seed, slope=slope, teacher=teacher)
    _positive_finite("tol", tol)
    _positive_finite("bound", bound)
    target = teacher if target is None else _pair("target", target)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"Invalid dtype: expected a floating-point torch.dtype, got {dtype}")
    device = torch.device("cpu" if device is None else device)
    if not isinstance(optimizers, Mapping) or len(optimizers) == 0:
        raise ValueError("Invalid optimizers: expected a non-empty mapping label -> (optimizer class, options)")
    rules = [_rule(name, spec) for name, spec in optimizers.items()]
    w0 = _finite_tensor("w0", w0, dtype)
    has_bias = b0 is not None
    b0 = torch.zeros_like(w0) if b0 is None else _finite_tensor("b0", b0, dtype)
    w0, b0 = torch.broadcast_tensors(w0, b0)
    lr = _finite_tensor("lr", lr, dtype).reshape(-1)
    if lr.numel() == 0 or (lr < 0).any():
        raise ValueError(f"Invalid learning rate: {lr.tolist()} (expected one or more finite numbers >= 0)")
    grid = (len(rules), lr.numel(), *w0.shape)
    runs = math.prod(grid)
    if record and runs * (steps + 1) > 10**8:
        raise ValueError(f"Invalid record: {runs} runs × {steps + 1} steps is too much to keep; record a smaller grid")
    hyper = {key: torch.tensor([rule[key] for rule in rules], dtype=dtype).reshape(-1, *[1] * (len(grid) - 1))
             .expand(grid).reshape(-1).to(device) for key in rules[0]}
    hyper["lr"] = lr.reshape(1, -1, *[1] * w0.dim()).expand(grid).reshape(-1).to(device)
    w = w0.expand(grid).reshape(-1).to(device)
    b = b0.expand(grid).reshape(-1).to(device) if has_bias else None
    if gradient == "exact":
        grad = _exact_grad_fn(slope, teacher)
    else:
        grad = _sampled_grad_fn(slope, teacher, batch_size=batch_size, seed=seed, dtype=dtype, device=device)
    w, b, w_path, b_path = _advance(w, b, hyper, grad, steps=steps, bound=bound, record=record, progress=progress)
    shape = lambda t: None if t is None else t.reshape(*t.shape[:-1], *grid)  # noqa: E731
    w, b, w_path, b_path = shape(w), shape(b), shape(w_path), shape(b_path)
    return Sweep(tuple(optimizers), lr.to(device), w, b, classify(w, b, target=target, tol=tol, bound=bound),
                 w_path, b_path)


def trajectory(
    w0: float,
    b0: float | None = None,
    *,
    lr: float,
    optimizer: OptimizerSpec,
    steps: int,
    gradient: str = "exact",
    batch_size: int = 1000,
    seed: int = 0,
    slope: float = 0.0,
    teacher: tuple[float, float] = (1.0, 0.0),
    bound: float = 1e6,
    dtype: torch.dtype = torch.float64,
) -> tuple[Tensor, Tensor | None]:
    r"""One run the plain way: parameters, an optimizer object, and a Python loop of `steps` steps.

    The reference for `sweep`: the same problem and arguments, one run. A run that leaves
    $|\theta| \le$ bound stops there (its path repeats that value), as in `sweep`.

    Returns:
        the paths of w and b, shape (steps + 1,) each, the start first; b is None without a bias.
    """
    _check_problem(steps=steps, gradient=gradient, batch_size=batch_size, seed=seed, slope=slope, teacher=teacher)
    cls, options = optimizer
    w = torch.tensor(float(w0), dtype=dtype, requires_grad=True)
    b = None if b0 is None else torch.tensor(float(b0), dtype=dtype, requires_grad=True)
    params = [w] if b is None else [w, b]
    opt = cls(params, lr=lr, **options)
    batches = _batches(teacher, batch_size, seed, dtype) if gradient == "sampled" else None
    path = torch.empty(steps + 1, len(params), dtype=dtype)
    path[0] = torch.stack([p.detach() for p in params])
    for t in range(steps):
        opt.zero_grad()
        if batches is None:  # ∇L(θ_t), exact
            grads = population_grad(w.detach(), 0.0 if b is None else b.detach(), slope=slope, teacher=teacher)
            for p, g in zip(params, grads):
                p.grad = g.to(dtype)
        else:  # ∇ of the batch's mean squared error, by autograd
            x, y = next(batches)
            z = w * x[:, 0] + (0.0 if b is None else b)
            ((leaky_relu(z, slope) - y) ** 2).mean().backward()
        opt.step()
        path[t + 1] = torch.stack([p.detach() for p in params])
        if not (path[t + 1].abs() <= bound).all():  # diverged: stop, and stay there
            path[t + 2 :] = path[t + 1]
            break
    return path[:, 0], (None if b is None else path[:, 1])


# --- the engine --------------------------------------------------------------------------------------------------

def _rule(name: str, spec: OptimizerSpec) -> dict[str, float]:
    """The per-run numbers of one optimizer: validated by the class itself, then read off its param group."""
    if not (isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[1], Mapping)):
        raise TypeError(f"Invalid optimizer {name!r}: expected (optimizer class, dict of hyper-parameters), got {spec!r}")
    cls, options = spec
    if "lr" in options:
        raise ValueError(f"Invalid optimizer {name!r}: give the learning rates through lr=, not in its options")
    if not (isinstance(cls, type) and issubclass(cls, (optim.SGD, optim.Adam, torch.optim.SGD, torch.optim.Adam))):
        raise TypeError(f"Invalid optimizer {name!r}: the engine knows SGD and Adam (relucourse.optim or torch.optim), "
                        f"got {cls!r}")
    group = cls([torch.zeros(1, requires_grad=True)], lr=0.0, **options).param_groups[0]
    for unsupported in ("maximize", "decoupled_weight_decay"):
        if group.get(unsupported):
            raise ValueError(f"Invalid optimizer {name!r}: {unsupported}=True is not supported by the engine")
    adam = issubclass(cls, (optim.Adam, torch.optim.Adam))
    if adam:
        beta1, beta2 = group["betas"]
        return {"adam": 1.0, "amsgrad": float(group["amsgrad"]), "nesterov": 0.0, "decay": beta1, "weight": 1 - beta1,
                "first_weight": 1 - beta1, "mu": 0.0, "beta1": beta1, "beta2": beta2, "eps": group["eps"],
                "weight_decay": group["weight_decay"]}
    mu, tau = group["momentum"], group["dampening"]
    return {"adam": 0.0, "amsgrad": 0.0, "nesterov": float(group["nesterov"]), "decay": mu,
            "weight": 1.0 if mu == 0 else 1 - tau, "first_weight": 1.0, "mu": mu, "beta1": 0.0, "beta2": 0.0,
            "eps": 1.0, "weight_decay": group["weight_decay"]}


Grad = Callable[[Tensor, Tensor | None], tuple[Tensor, Tensor]]


def _advance(
    w: Tensor, b: Tensor | None, hyper: dict[str, Tensor], grad: Grad, *, steps: int, bound: float, record: bool,
    progress: bool,
) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]:
    r"""`steps` steps of every run's optimizer; tensors of shape (runs,), paths (steps + 1, runs) if `record`.

    One rule for both optimizers, per run: $g \leftarrow g + \lambda\theta$; the first moment
    $m_t = \mathrm{decay}\, m_{t-1} + \mathrm{weight}_t\, g_t$ is SGD's momentum buffer ($b_1 = g_1$) or Adam's $m_t$;
    the direction is $m_t$ or $g_t + \mu m_t$ (SGD, heavy ball or Nesterov) or $\hat m_t / (\sqrt{\hat v_t} + \epsilon)$ (Adam).
    """
    params = [w.clone()] + ([] if b is None else [b.clone()])
    m = [torch.zeros_like(p) for p in params]  # m_0 (SGD: the buffer, set to g_1 by weight_1 = 1)
    v = [torch.zeros_like(p) for p in params]  # v_0
    v_max = [torch.zeros_like(p) for p in params]  # v̄_0 (AMSGrad)
    h = hyper
    adam, amsgrad, nesterov = h["adam"] > 0, h["amsgrad"] > 0, h["nesterov"] > 0
    any_adam, any_sgd = bool(adam.any()), not bool(adam.all())
    any_nesterov, any_amsgrad, all_amsgrad = bool(nesterov.any()), bool(amsgrad.any()), bool(amsgrad[adam].all())
    any_decay = bool((h["weight_decay"] != 0).any())
    sgd_g, sgd_m = nesterov.to(w.dtype), torch.where(nesterov, h["mu"], 1.0)  # d = g + μ b (Nesterov) or b
    minus_lr = -h["lr"]
    betas = torch.stack([h["beta1"], h["beta2"]], dim=1)  # Adam's (β1, β2) per run; SGD runs have (0, 0)
    pairs, group = torch.unique(betas, dim=0, return_inverse=True)
    alive, stopped = torch.ones_like(params[0], dtype=torch.bool), False
    paths = [torch.empty(steps + 1, *p.shape, dtype=p.dtype, device=p.device) for p in params] if record else []
    for path, p in zip(paths, params):
        path[0] = p
    with _one_thread(params[0].device):
        for t in tqdm(range(1, steps + 1), disable=not progress, desc="sweep"):
            inputs = [torch.where(alive, p, 0.0) for p in params] if stopped else params  # stopped runs: no gradient
            grads = grad(inputs[0], inputs[1] if b is not None else None)
            weight = h["first_weight"] if t == 1 else h["weight"]
            if any_adam:
                bias1, bias2 = 1 - pairs[:, 0] ** t, (1 - pairs[:, 1] ** t).sqrt()  # 1 - β1^t, √(1 - β2^t) per pair
                step_size, inverse_bias2 = (minus_lr / bias1[group]), 1 / bias2[group]
            for i, (p, g) in enumerate(zip(params, grads)):
                if any_decay:
                    g = g + h["weight_decay"] * p  # g_t + λ θ_t
                m[i] = torch.addcmul(h["decay"] * m[i], weight, g)  # m_t = μ m_{t-1} + (1 - τ) g_t, or β1 m_{t-1} + (1 - β1) g_t
                new = None
                if any_sgd:
                    sgd = torch.addcmul(sgd_m * m[i], sgd_g, g) if any_nesterov else m[i]  # g_t + μ b_t, or b_t
                    new = torch.addcmul(p, minus_lr, sgd)  # θ_{t+1} = θ_t - η d_t
                if any_adam:
                    v[i] = torch.addcmul(h["beta2"] * v[i], 1 - h["beta2"], g * g)  # v_t = β2 v_{t-1} + (1 - β2) g_t²
                    if any_amsgrad:
                        v_max[i] = torch.maximum(v_max[i], v[i])  # v̄_t = max(v̄_{t-1}, v_t)
                    v_hat = v_max[i] if all_amsgrad else torch.where(amsgrad, v_max[i], v[i]) if any_amsgrad else v[i]
                    denominator = torch.addcmul(h["eps"], v_hat.sqrt(), inverse_bias2)  # √v̂_t + ε
                    adam_new = torch.addcdiv(p, step_size * m[i], denominator)  # θ_t - η m̂_t / (√v̂_t + ε)
                    new = adam_new if new is None else torch.where(adam, adam_new, new)
                params[i] = torch.where(alive, new, p) if stopped else new
            bounded = params[0].abs() <= bound
            if b is not None:
                bounded &= params[1].abs() <= bound
            if stopped or not bool(bounded.all()):  # a run that leaves |θ| <= bound stops there
                alive, stopped = alive & bounded, True
            for path, p in zip(paths, params):
                path[t] = p
    w, b = params[0], (params[1] if b is not None else None)
    return w, b, (paths[0] if record else None), (paths[1] if record and b is not None else None)


@contextmanager
def _one_thread(device: torch.device) -> Iterator[None]:
    """On the CPU, one thread: a step is a few dozen elementwise operations on (runs,) tensors, which a second
    thread speeds up little on an idle machine and stalls badly on a busy one."""
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _exact_grad_fn(slope: float, teacher: tuple[float, float]) -> Grad:
    r"""$\nabla L(w, b)$ for many runs at once, by the closed form below (checked against `population_grad`).

    With $z = wx + b$, $A = \{z > 0\}$, $\sigma_\alpha'(z) = 1$ on $A$ and $\alpha$ off it (so $\alpha$ at $z = 0$,
    as `population_grad`), $\sigma_\alpha(z) = \sigma_\alpha'(z)\, z$ and $y = (vx + c)\,\mathbf 1_T$:
    $\partial_w L = 2\,\mathbb E[\sigma'^2 z x - \sigma' y x]$, $\partial_b L = 2\,\mathbb E[\sigma'^2 z - \sigma' y]$, where
    $\mathbb E[\sigma'^2 z x^k] = \alpha^2 \mathbb E[z x^k] + (1 - \alpha^2)\, \mathbb E[z x^k 1_A]$ and
    $\mathbb E[\sigma' y x^k] = \alpha\, \mathbb E[y x^k] + (1 - \alpha)\, \mathbb E[y x^k 1_A]$: Gaussian moments over the
    half-line $A$, the half-line $T$ and the interval $A \cap T$.
    """
    alpha, (v, c) = slope, teacher
    far = 40.0  # N(0, 1) has no mass beyond ±40 in floating point: Φ(-40) = φ(40) = 0 exactly
    t_lo, t_hi = (min(max(t, -far), far) for t in _half_line(v, c))  # T = {vx + c > 0} = (t_lo, t_hi)
    at_t_lo, at_t_hi = _edge_float(t_lo), _edge_float(t_hi)  # Φ, φ, xφ at T's ends
    T0, T1, T2 = _moments(at_t_lo, at_t_hi) if t_lo < t_hi else (0.0, 0.0, 0.0)  # E[x^k 1_T]
    y_x, y_1 = v * T2 + c * T1, v * T1 + c * T0  # E[y x], E[y]

    def grad(w: Tensor, bias: Tensor) -> tuple[Tensor, Tensor]:
        w = w + 0.0  # -0.0 -> 0.0
        right = w >= 0  # A = {wx + b > 0} is (k, ∞) if w > 0 and (-∞, k) if w < 0; all or nothing if w = 0
        sign = 2 * right.to(w.dtype) - 1
        kink = torch.nan_to_num(-bias / w, nan=far).clamp(-far, far)  # k = -b/w; w = 0: -∞ (b > 0) or ∞ (b <= 0)
        Phi_k, phi_k, kphi_k = _edge(kink)
        A0 = right.to(w.dtype) - sign * Phi_k  # E[1_A]: 1 - Φ(k) or Φ(k)
        A1 = sign * phi_k  # E[x 1_A]
        A2 = A0 + sign * kphi_k  # E[x² 1_A]
        # A ∩ T has one end e that moves with the run and one end f of T: (e, f) if w >= 0, (f, e) if w < 0
        e = torch.where(right, kink.clamp(min=t_lo), kink.clamp(max=t_hi))
        f = torch.where(right, w.new_tensor(t_hi), w.new_tensor(t_lo))
        Phi_e, phi_e, ephi_e = _edge(e)
        Phi_f, phi_f, fphi_f = (torch.where(right, w.new_tensor(hi), w.new_tensor(lo)) for lo, hi in zip(at_t_lo, at_t_hi))
        sign = sign * (sign * (f - e) > 0)  # 0 where A ∩ T is empty
        I0 = sign * (Phi_f - Phi_e)  # E[1_{A∩T}]
        I1 = sign * (phi_e - phi_f)  # E[x 1_{A∩T}]
        I2 = I0 + sign * (ephi_e - fphi_f)  # E[x² 1_{A∩T}]
        zx, z1 = w * A2 + bias * A1, w * A1 + bias * A0  # E[z x 1_A], E[z 1_A]
        yx, y1 = v * I2 + c * I1, v * I1 + c * I0  # E[y x 1_A], E[y 1_A]
        if alpha != 0:  # σ' = α off A: E[σ'² z x] = α² E[z x] + (1 - α²) E[z x 1_A], E[σ' y x] = α E[y x] + (1 - α) E[y x 1_A]
            zx, z1 = alpha**2 * w + (1 - alpha**2) * zx, alpha**2 * bias + (1 - alpha**2) * z1
            yx, y1 = alpha * y_x + (1 - alpha) * yx, alpha * y_1 + (1 - alpha) * y1
        return 2 * (zx - yx), 2 * (z1 - y1)  # ∂L/∂w, ∂L/∂b

    # without a bias A is a half-line at 0, so ∂L/∂w is linear in w on each side of 0: p± w + q±
    at = grad(torch.tensor([1.0, 2.0, -1.0, -2.0, 0.0], dtype=torch.float64), torch.zeros(5, dtype=torch.float64))[0]
    p_right, p_left = (at[1] - at[0]).item(), (at[2] - at[3]).item()
    q_right, q_left, at_zero = (at[0] - p_right).item(), (at[2] + p_left).item(), at[4].item()

    def grad_no_bias(w: Tensor, b: None) -> tuple[Tensor, None]:
        return torch.where(w > 0, p_right * w + q_right, torch.where(w < 0, p_left * w + q_left, at_zero)), None

    return lambda w, b: grad_no_bias(w, b) if b is None else grad(w, b)


def _sampled_grad_fn(
    slope: float, teacher: tuple[float, float], *, batch_size: int, seed: int, dtype: torch.dtype, device: torch.device
) -> Grad:
    r"""Each call: the next batch's $\nabla \frac1n \sum_i (\sigma_\alpha(w x_i + b) - y_i)^2$ for every run.

    Run $r$ is active ($z_i > 0$) on the $x_i$ beyond its kink, a prefix or a suffix of the sorted batch, so
    $\frac{n}{2}\partial_w = \sum_A (z_i - y_i) x_i + \alpha \sum_{A^c} (\alpha z_i - y_i) x_i$ needs only prefix sums of
    $1, x, x^2, y, xy$ over the sorted batch: $O(n \log n + \text{runs} \log n)$ per step instead of $O(n \cdot \text{runs})$.
    """
    alpha = slope
    batches = _batches(teacher, batch_size, seed, dtype)

    def grad(w: Tensor, b: Tensor | None) -> tuple[Tensor, Tensor]:
        x, y = next(batches)
        x, order = torch.sort(x[:, 0].to(device))
        y = y.to(device)[order]
        prefix = torch.cumsum(torch.stack([torch.ones_like(x), x, x * x, y, x * y]), dim=1)
        prefix = torch.cat([torch.zeros_like(prefix[:, :1]), prefix], dim=1)  # (5, n + 1): sums over x_(0..k-1)
        total = prefix[:, -1:]
        bias = torch.zeros_like(w) if b is None else b
        kink = -bias / torch.where(w != 0, w, 1.0)  # z_i > 0 iff x_i > kink (w > 0) or x_i < kink (w < 0)
        above = prefix[:, -1:] - prefix[:, torch.searchsorted(x, kink, right=True)]  # sums over x_i > kink
        below = prefix[:, torch.searchsorted(x, kink, right=False)]  # sums over x_i < kink
        everything = torch.where(bias > 0, total, 0.0)  # w = 0: active everywhere if b > 0
        on = torch.where(w > 0, above, torch.where(w < 0, below, everything))  # Σ_A of 1, x, x², y, xy
        off = total - on  # Σ over A^c
        n1, nx, nxx, ny, nxy = on
        f1, fx, fxx, fy, fxy = off
        grad_w = w * nxx + bias * nx - nxy + alpha * (alpha * (w * fxx + bias * fx) - fxy)  # Σ σ'(σ - y) x
        grad_b = w * nx + bias * n1 - ny + alpha * (alpha * (w * fx + bias * f1) - fy)  # Σ σ'(σ - y)
        return 2 * grad_w / batch_size, 2 * grad_b / batch_size

    return grad


def _batches(teacher: tuple[float, float], batch_size: int, seed: int, dtype: torch.dtype) -> Iterator[tuple[Tensor, Tensor]]:
    v, c = teacher
    return teacher_student_batches(lambda x: torch.relu(v * x[:, 0] + c), batch_size=batch_size, seed=seed, dtype=dtype)


# --- Gaussian moments over an interval ---------------------------------------------------------------------------

def _half_line(v: float, c: float) -> tuple[float, float]:
    """{x : vx + c > 0} as (lo, hi), empty as (inf, inf)."""
    if v > 0:
        return -c / v, math.inf
    if v < 0:
        return -math.inf, -c / v
    return (-math.inf, math.inf) if c > 0 else (math.inf, math.inf)


def _edge(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    phi = torch.exp(x * x * -0.5) * _INV_SQRT_2PI  # φ(x)
    return torch.special.ndtr(x), phi, x * phi  # Φ(x), φ(x), x φ(x); x finite


def _edge_float(x: float) -> tuple[float, float, float]:
    phi = math.exp(-0.5 * x * x) * _INV_SQRT_2PI  # φ(x)
    return 0.5 * (1 + math.erf(x * _SQRT_HALF)), phi, x * phi  # Φ(x), φ(x), x φ(x); x finite


def _moments(at_lo: tuple[float, float, float], at_hi: tuple[float, float, float]) -> tuple[float, float, float]:
    r"""$M_k = \int_{lo}^{hi} x^k \varphi(x)\,dx$: $\Phi(hi) - \Phi(lo)$, $\varphi(lo) - \varphi(hi)$, $M_0 + lo\,\varphi(lo) - hi\,\varphi(hi)$."""
    (Phi_lo, phi_lo, xphi_lo), (Phi_hi, phi_hi, xphi_hi) = at_lo, at_hi
    M0 = Phi_hi - Phi_lo
    return M0, phi_lo - phi_hi, M0 + xphi_lo - xphi_hi


# --- validation --------------------------------------------------------------------------------------------------

def _check_problem(*, steps, gradient, batch_size, seed, slope, teacher) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"Invalid number of steps: {steps} (expected an int >= 0)")
    if gradient not in GRADIENTS:
        raise ValueError(f"Invalid gradient: {gradient!r} (expected one of {GRADIENTS})")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Invalid batch_size: {batch_size} (expected an int >= 1)")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"Invalid seed: expected an int, got {type(seed).__name__}")
    if isinstance(slope, bool) or not isinstance(slope, (int, float)) or not math.isfinite(slope):
        raise ValueError(f"Invalid slope: {slope} (expected a finite number)")
    _pair("teacher", teacher)


def _pair(name: str, value: tuple[float, float]) -> tuple[float, float]:
    if not (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in value)):
        raise ValueError(f"Invalid {name}: {value!r} (expected two finite numbers)")
    return float(value[0]), float(value[1])


def _positive_finite(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < math.inf):
        raise ValueError(f"Invalid {name}: {value} (expected a finite number > 0)")


def _finite_tensor(name: str, value: Tensor | float | Sequence[float], dtype: torch.dtype) -> Tensor:
    try:
        tensor = torch.as_tensor(value, dtype=dtype).detach().cpu()
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"Invalid {name}: expected numbers, got {value!r}") from error
    if not torch.isfinite(tensor).all():
        raise ValueError(f"Invalid {name}: every value must be finite")
    return tensor
