r"""Exact population loss of one (leaky) ReLU student learning one ReLU teacher, $x \sim N(0, 1)$.

Student $s(x) = \sigma_\alpha(wx + b)$, teacher $t(x) = \mathrm{relu}(vx + c)$. Between the kinks
$x = -b/w$ and $x = -c/v$ both are linear, so the residual is $r(x) = p + qx$ there and
$$\int_a^{a'} r(x)^2 \varphi(x)\,dx = p^2 M_0 + 2pq M_1 + q^2 M_2, \qquad M_k = \int_a^{a'} x^k \varphi(x)\,dx,$$
with $M_0 = \Phi(a') - \Phi(a)$, $M_1 = \varphi(a) - \varphi(a')$, $M_2 = M_0 + a\varphi(a) - a'\varphi(a')$.
"""

import math
from typing import NamedTuple

import torch
from torch import Tensor

from ._checks import finite_float, finite_tensor, integer, pair
from .optim import SGD, iterate

__all__ = ["population_loss", "population_grad", "MonteCarlo", "monte_carlo_loss", "descend", "reached_teacher"]

Teacher = tuple[float, float]


def population_loss(w, b=0.0, *, slope: float = 0.0, teacher: Teacher = (1.0, 0.0)) -> Tensor:
    r"""$L(w, b) = \mathbb{E}_{x \sim N(0,1)}[(\sigma_\alpha(wx + b) - \mathrm{relu}(vx + c))^2]$, exactly.

    Args:
        w, b: the student's weight and bias, floats or tensors of any broadcastable shapes.
        slope: the student's slope $\alpha$ left of its kink (0 is ReLU).
        teacher: the teacher's $(v, c)$.

    Returns:
        float64 tensor of the broadcast shape of ``w`` and ``b``.
    """
    return sum(p**2 * m0 + 2 * p * q * m1 + q**2 * m2 for p, q, _, m0, m1, m2 in _pieces(w, b, slope, teacher))


def population_grad(w, b=0.0, *, slope: float = 0.0, teacher: Teacher = (1.0, 0.0)) -> tuple[Tensor, Tensor]:
    r"""$(\partial L/\partial w,\ \partial L/\partial b) = 2\,\mathbb{E}[r(x)\,\sigma_\alpha'(wx+b)\,(x, 1)]$.

    The student's derivative at its kink is taken as $\alpha$ (so $\mathrm{relu}'(0) = 0$, torch's convention);
    it matters only where $w = 0$ and $b = 0$, the one case where the kink carries probability mass.
    Shapes as in :func:`population_loss`.
    """
    grad_w = grad_b = 0.0
    for p, q, g, m0, m1, m2 in _pieces(w, b, slope, teacher):
        grad_w = grad_w + 2 * g * (p * m1 + q * m2)  # 2 E[r σ' x]
        grad_b = grad_b + 2 * g * (p * m0 + q * m1)  # 2 E[r σ']
    return grad_w, grad_b


class MonteCarlo(NamedTuple):
    r"""A Monte Carlo estimate: the sample mean, and its standard error $s/\sqrt n$ (the samples' standard deviation $s$)."""

    mean: Tensor
    std_error: Tensor


def monte_carlo_loss(
    w, b=0.0, *, slope: float = 0.0, teacher: Teacher = (1.0, 0.0), samples: int = 10**6, seed: int = 0
) -> MonteCarlo:
    r"""$\frac1n \sum_i (\sigma_\alpha(w x_i + b) - \mathrm{relu}(v x_i + c))^2$ with $x_i \sim N(0, 1)$ drawn from ``seed``,
    and its standard error.

    The same $n$ samples serve every $(w, b)$, so the estimates are comparable with each other.
    """
    integer("samples", samples, least=2)  # a standard error needs two
    w, b = _as_params(w, b)
    slope, (v, c) = finite_float("slope", slope), pair("teacher", teacher)
    x = torch.randn(samples, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    target = torch.relu(v * x + c)
    squared = [
        (torch.nn.functional.leaky_relu(wi * x + bi, slope) - target) ** 2 for wi, bi in zip(w.flatten(), b.flatten())
    ]
    mean = torch.stack([e.mean() for e in squared]).reshape(w.shape)
    std_error = torch.stack([e.std() for e in squared]).reshape(w.shape) / math.sqrt(samples)
    return MonteCarlo(mean, std_error)


def descend(
    w0, b0=None, *, lr: float, steps: int, slope: float = 0.0, teacher: Teacher = (1.0, 0.0)
) -> tuple[Tensor, Tensor]:
    r"""Gradient descent on the population loss, $\theta_{t+1} = \theta_t - \eta \nabla L(\theta_t)$, from many starts at once.

    Args:
        w0: starting weights, any shape.
        b0: starting biases, broadcastable with ``w0``; ``None`` for a student without bias (b stays 0).
        lr: the step size $\eta > 0$.
        steps: number of steps.

    Returns:
        Paths ``w``, ``b`` of shape ``(steps + 1, *start_shape)``, the starts first.
    """
    lr = finite_float("learning rate", lr, lambda v: v > 0, "> 0")
    integer("steps", steps, least=0)
    w, b = _as_params(w0, 0.0 if b0 is None else b0)
    params = [w.clone()] if b0 is None else [w.clone(), b.clone()]

    def gradient(w: Tensor, b: Tensor = b) -> tuple[Tensor, ...]:  # ∇L(θ); without a bias, b stays 0
        return population_grad(w, b, slope=slope, teacher=teacher)[: len(params)]

    paths = iterate(params, gradient, [SGD(params, lr=lr)], steps=steps)
    return paths[0], (b.expand_as(paths[0]) if b0 is None else paths[1])


def reached_teacher(w, b=0.0, *, teacher: Teacher = (1.0, 0.0), tol: float = 1e-2) -> Tensor:
    r"""$|w - v| < \mathrm{tol}$ and $|b - c| < \mathrm{tol}$: the student has become the teacher."""
    tol = finite_float("tol", tol, lambda v: v > 0, "> 0")
    w, b = _as_params(w, b)
    v, c = pair("teacher", teacher)
    return ((w - v).abs() < tol) & ((b - c).abs() < tol)


def _pieces(w, b, slope, teacher):
    """For each interval between the kinks: residual coefficients p, q, student slope g, moments M0, M1, M2."""
    w, b = _as_params(w, b)
    alpha, (v, c) = finite_float("slope", slope), pair("teacher", teacher)
    student_kink = torch.where(w != 0, -b / torch.where(w != 0, w, 1.0), math.inf)
    teacher_kink = -c / v if v != 0 else math.inf
    lo, hi = student_kink.clamp(max=teacher_kink), student_kink.clamp(min=teacher_kink)
    edges = [(0.0, 0.0, 0.0), _at(lo), _at(hi), (1.0, 0.0, 0.0)]  # Φ, φ, xφ at -∞, lo, hi, ∞
    # a point inside each interval decides which branch each function is on there
    inside = [
        torch.where(lo.isfinite(), lo - 1, 0.0),
        torch.where(hi.isfinite(), (lo + hi) / 2, torch.where(lo.isfinite(), lo + 1, 0.0)),
        torch.where(hi.isfinite(), hi + 1, 0.0),
    ]
    for (Phi_a, phi_a, xphi_a), (Phi_e, phi_e, xphi_e), x in zip(edges[:-1], edges[1:], inside):
        g = torch.where(w * x + b > 0, 1.0, w.new_tensor(alpha))  # σ_α'(wx + b)
        g_teacher = (v * x + c > 0).to(w.dtype)  # relu'(vx + c)
        p, q = g * b - g_teacher * c, g * w - g_teacher * v  # r(x) = p + q x
        m0 = Phi_e - Phi_a
        m1 = phi_a - phi_e
        m2 = m0 + xphi_a - xphi_e
        yield p, q, g, m0, m1, m2


def _at(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Φ(x), φ(x), x φ(x), each 0 or 1 at ±∞."""
    phi = torch.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)  # φ(x)
    return torch.special.ndtr(x), phi, torch.where(x.isfinite(), x * phi, 0.0)


def _as_params(w, b) -> tuple[Tensor, Tensor]:
    w = finite_tensor("w", w)
    return torch.broadcast_tensors(w, finite_tensor("b", b).to(w.device))
