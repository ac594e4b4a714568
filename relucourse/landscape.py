r"""Exact population loss of one (leaky) ReLU student learning one ReLU teacher, $x \sim N(0, 1)$.

Student $s(x) = \sigma_\alpha(wx + b)$, teacher $t(x) = \mathrm{relu}(vx + c)$. Between the kinks
$x = -b/w$ and $x = -c/v$ both are linear, so the residual is $r(x) = p + qx$ there and
$$\int_a^{a'} r(x)^2 \varphi(x)\,dx = p^2 M_0 + 2pq M_1 + q^2 M_2, \qquad M_k = \int_a^{a'} x^k \varphi(x)\,dx,$$
with $M_0 = \Phi(a') - \Phi(a)$, $M_1 = \varphi(a) - \varphi(a')$, $M_2 = M_0 + a\varphi(a) - a'\varphi(a')$.
"""

import math

import torch
from torch import Tensor

__all__ = ["population_loss", "population_grad", "monte_carlo_loss", "descend", "reached_teacher"]

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


def monte_carlo_loss(
    w, b=0.0, *, slope: float = 0.0, teacher: Teacher = (1.0, 0.0), samples: int = 10**6, seed: int = 0
) -> Tensor:
    r"""$\frac1n \sum_i (\sigma_\alpha(w x_i + b) - \mathrm{relu}(v x_i + c))^2$ with $x_i \sim N(0, 1)$ drawn from ``seed``.

    The same $n$ samples serve every $(w, b)$, so the estimates are comparable with each other.
    """
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"Invalid number of samples: {samples} (expected a positive int)")
    w, b = _as_params(w, b)
    slope, (v, c) = _check_slope(slope), _check_teacher(teacher)
    x = torch.randn(samples, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    target = torch.relu(v * x + c)
    loss = [
        ((torch.nn.functional.leaky_relu(wi * x + bi, slope) - target) ** 2).mean()
        for wi, bi in zip(w.flatten(), b.flatten())
    ]
    return torch.stack(loss).reshape(w.shape)


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
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"Invalid learning rate: {lr} (expected a finite number > 0)")
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"Invalid number of steps: {steps} (expected an int >= 0)")
    w, b = _as_params(w0, 0.0 if b0 is None else b0)
    path_w, path_b = [w], [b]
    for _ in range(steps):
        grad_w, grad_b = population_grad(w, b, slope=slope, teacher=teacher)
        w = w - lr * grad_w
        b = b if b0 is None else b - lr * grad_b
        path_w.append(w)
        path_b.append(b)
    return torch.stack(path_w), torch.stack(path_b)


def reached_teacher(w, b=0.0, *, teacher: Teacher = (1.0, 0.0), tol: float = 1e-2) -> Tensor:
    r"""$|w - v| < \mathrm{tol}$ and $|b - c| < \mathrm{tol}$: the student has become the teacher."""
    if not (math.isfinite(tol) and tol > 0):
        raise ValueError(f"Invalid tolerance: {tol} (expected a finite number > 0)")
    w, b = _as_params(w, b)
    v, c = _check_teacher(teacher)
    return ((w - v).abs() < tol) & ((b - c).abs() < tol)


def _pieces(w, b, slope, teacher):
    """For each interval between the kinks: residual coefficients p, q, student slope g, moments M0, M1, M2."""
    w, b = _as_params(w, b)
    alpha, (v, c) = _check_slope(slope), _check_teacher(teacher)
    inf = torch.tensor(math.inf, dtype=torch.float64)
    student_kink = torch.where(w != 0, -b / torch.where(w != 0, w, 1.0), inf)
    teacher_kink = torch.full_like(w, -c / v if v != 0 else math.inf)
    lo, hi = torch.minimum(student_kink, teacher_kink), torch.maximum(student_kink, teacher_kink)
    edges = [-inf.expand_as(w), lo, hi, inf.expand_as(w)]
    # a point inside each interval decides which branch each function is on there
    inside = [
        torch.where(lo.isfinite(), lo - 1, 0.0),
        torch.where(hi.isfinite(), (lo + hi) / 2, torch.where(lo.isfinite(), lo + 1, 0.0)),
        torch.where(hi.isfinite(), hi + 1, 0.0),
    ]
    for a, a_end, x in zip(edges[:-1], edges[1:], inside):
        g = torch.where(w * x + b > 0, 1.0, w.new_tensor(alpha))  # σ_α'(wx + b), α in float64
        g_teacher = (v * x + c > 0).to(torch.float64)  # relu'(vx + c)
        p, q = g * b - g_teacher * c, g * w - g_teacher * v  # r(x) = p + q x
        m0 = _Phi(a_end) - _Phi(a)
        m1 = _phi(a) - _phi(a_end)
        m2 = m0 + _x_phi(a) - _x_phi(a_end)
        yield p, q, g, m0, m1, m2


def _phi(x: Tensor) -> Tensor:
    return torch.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)  # φ(x), 0 at ±inf


def _Phi(x: Tensor) -> Tensor:
    return 0.5 * (1 + torch.erf(x / math.sqrt(2)))  # Φ(x)


def _x_phi(x: Tensor) -> Tensor:
    return torch.where(x.isfinite(), x * _phi(x), 0.0)  # x φ(x), 0 at ±inf


def _as_params(w, b) -> tuple[Tensor, Tensor]:
    w, b = torch.broadcast_tensors(torch.as_tensor(w, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64))
    for name, value in (("w", w), ("b", b)):
        if not torch.isfinite(value).all():
            raise ValueError(f"Invalid {name}: every value must be finite, got {value[~value.isfinite()][:3].tolist()}")
    return w, b


def _check_slope(slope: float) -> float:
    if not (isinstance(slope, (int, float)) and math.isfinite(slope)):
        raise ValueError(f"Invalid slope: {slope} (expected a finite number)")
    return float(slope)


def _check_teacher(teacher: Teacher) -> Teacher:
    if not (len(teacher) == 2 and all(isinstance(t, (int, float)) and math.isfinite(t) for t in teacher)):
        raise ValueError(f"Invalid teacher: {teacher} (expected (v, c), two finite numbers)")
    return float(teacher[0]), float(teacher[1])
