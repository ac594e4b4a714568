r"""Least-squares fit of a line $mx + b$, or of a ReLU of one, $\mathrm{relu}(mx + b)$, by gradient descent.

The loss is the mean squared error over the points $(x_k, y_k)$, $k = 1, \dots, N$:
$$\mathcal L(m, b) = \frac1N \sum_k \big(g(m x_k + b) - y_k\big)^2, \qquad g(z) = z \ \text{or}\ \mathrm{relu}(z).$$
For the line, $\mathcal L$ is a convex quadratic whose Hessian depends on the $x_k$ only; its extreme eigenvalues
are the smoothness $L$ and the strong convexity $\mu$ that the textbook rates of gradient descent use.
"""

import torch
from torch import Tensor

from ._checks import finite_float, finite_tensor, flag, integer
from .optim import SGD, iterate

__all__ = [
    "line_loss",
    "line_grad",
    "line_descent",
    "line_hessian",
    "line_optimum",
    "smoothness",
    "strong_convexity",
    "convex_gap_bound",
    "strongly_convex_gap_bound",
]


def line_loss(m, b, x, y, *, relu: bool = False) -> Tensor:
    r"""$\mathcal L(m, b) = \frac1N \sum_k (g(m x_k + b) - y_k)^2$ with $g$ the identity, or relu if ``relu``.

    Args:
        m, b: slopes and intercepts, floats or tensors of broadcastable shapes (one loss per pair).
        x, y: the points, 1-D of the same length N >= 1.

    Returns:
        float64 tensor of the broadcast shape of ``m`` and ``b``.
    """
    m, b, x, y = _check(m, b, x, y)
    residual = _g(m[..., None] * x + b[..., None], relu) - y  # r_k = g(m x_k + b) - y_k
    return (residual**2).mean(dim=-1)


def line_grad(m, b, x, y, *, relu: bool = False) -> tuple[Tensor, Tensor]:
    r"""$\nabla \mathcal L = \frac2N \sum_k r_k\, g'(m x_k + b)\,(x_k, 1)$, with $\mathrm{relu}'(z) = \mathbf 1\{z > 0\}$.

    The convention $\mathrm{relu}'(0) = 0$ is torch's. Shapes as in :func:`line_loss`; returns
    $(\partial\mathcal L/\partial m, \partial\mathcal L/\partial b)$.
    """
    m, b, x, y = _check(m, b, x, y)
    z = m[..., None] * x + b[..., None]  # z_k = m x_k + b, shape (*start_shape, N)
    residual = _g(z, relu) - y  # r_k
    switch = (z > 0).to(z.dtype) if relu else torch.ones_like(z)  # g'(z_k): 0 or 1
    grad_m = 2 * (residual * switch * x).mean(dim=-1)  # (2/N) Σ r_k g'(z_k) x_k
    grad_b = 2 * (residual * switch).mean(dim=-1)  # (2/N) Σ r_k g'(z_k)
    return grad_m, grad_b


def line_descent(m0, b0, x, y, *, lr: float, steps: int, relu: bool = False) -> tuple[Tensor, Tensor]:
    r"""Gradient descent $\theta_{t+1} = \theta_t - \eta\,\nabla\mathcal L(\theta_t)$, $\theta = (m, b)$, from many starts at once.

    Args:
        m0, b0: the starts, floats or tensors of broadcastable shapes.
        x, y: the points, 1-D of the same length.
        lr: the step size $\eta > 0$.
        steps: the number of steps, an int >= 0.

    Returns:
        Paths ``m``, ``b`` of shape ``(steps + 1, *start_shape)``, the starts first.
    """
    lr = finite_float("learning rate", lr, lambda v: v > 0, "> 0")
    integer("steps", steps, least=0)
    params = [p.clone() for p in _check(m0, b0, x, y)[:2]]
    path_m, path_b = iterate(params, lambda m, b: line_grad(m, b, x, y, relu=relu), [SGD(params, lr=lr)], steps=steps)
    return path_m, path_b


def line_hessian(x) -> Tensor:
    r"""$\nabla^2 \mathcal L = 2 \begin{pmatrix} \overline{x^2} & \bar x \\ \bar x & 1 \end{pmatrix}$ for the line: the same at every $(m, b)$, whatever $y$.

    Returns:
        float64 tensor of shape (2, 2), rows and columns in the order (m, b).
    """
    x = _points("x", x)
    mean_x, mean_x2 = x.mean(), (x**2).mean()
    return 2 * torch.stack([torch.stack([mean_x2, mean_x]), torch.stack([mean_x, torch.ones_like(mean_x)])])


def line_optimum(x, y) -> tuple[float, float]:
    r"""$m^\star = \mathrm{cov}(x, y) / \mathrm{var}(x)$, $b^\star = \bar y - m^\star \bar x$: the line's unique minimiser.

    Raises:
        ValueError: if all the $x_k$ are equal; then every line through $(\bar x, \bar y)$ is a minimiser.
    """
    _, _, x, y = _check(0.0, 0.0, x, y)
    var_x = ((x - x.mean()) ** 2).mean()
    if not var_x > 0:
        raise ValueError(f"Invalid x: all {x.numel()} values are equal, so the minimiser is not unique (var(x) = 0)")
    slope = ((x - x.mean()) * (y - y.mean())).mean() / var_x  # m* = cov(x, y) / var(x)
    return slope.item(), (y.mean() - slope * x.mean()).item()  # b* = ȳ - m* x̄


def smoothness(x) -> float:
    r"""$L = \lambda_{\max}(\nabla^2 \mathcal L)$: the gradient of the line-fit loss is $L$-Lipschitz."""
    return torch.linalg.eigvalsh(line_hessian(x))[-1].item()


def strong_convexity(x) -> float:
    r"""$\mu = \lambda_{\min}(\nabla^2 \mathcal L) \ge 0$: the line-fit loss is $\mu$-strongly convex ($\mu = 0$: merely convex)."""
    return max(torch.linalg.eigvalsh(line_hessian(x))[0].item(), 0.0)  # clip rounding below 0


def convex_gap_bound(t, *, L: float, distance: float) -> Tensor:
    r"""$\mathcal L(\theta_t) - \mathcal L^\star \le \dfrac{L\,\|\theta_0 - \theta^\star\|^2}{2t}$: step $1/L$, $L$-smooth convex loss.

    Args:
        t: step numbers >= 1, an int or a tensor.
        L: the smoothness constant, > 0.
        distance: $\|\theta_0 - \theta^\star\| \ge 0$.

    Returns:
        float64 tensor of the shape of ``t``.
    """
    t = _steps(t, least=1)
    L = finite_float("L", L, lambda v: v > 0, "> 0")
    distance = finite_float("distance", distance, lambda v: v >= 0, ">= 0")
    return L * distance**2 / (2 * t)


def strongly_convex_gap_bound(t, *, L: float, mu: float, gap0: float) -> Tensor:
    r"""$\mathcal L(\theta_t) - \mathcal L^\star \le (1 - \mu/L)^t\,(\mathcal L(\theta_0) - \mathcal L^\star)$: step $1/L$, $\mu$-strongly convex.

    Args:
        t: step numbers >= 0, an int or a tensor.
        L: the smoothness constant, > 0.
        mu: the strong convexity constant, 0 <= mu <= L.
        gap0: the initial gap $\mathcal L(\theta_0) - \mathcal L^\star \ge 0$.

    Returns:
        float64 tensor of the shape of ``t``.
    """
    t = _steps(t, least=0)
    L = finite_float("L", L, lambda v: v > 0, "> 0")
    mu = finite_float("mu", mu, lambda v: 0 <= v <= L, f"in [0, L] = [0, {L}]")
    gap0 = finite_float("gap0", gap0, lambda v: v >= 0, ">= 0")
    return (1 - mu / L) ** t * gap0


def _g(z: Tensor, relu: bool) -> Tensor:
    return torch.relu(z) if flag("relu", relu) else z  # g(z)


def _points(name: str, values) -> Tensor:
    tensor = finite_tensor(name, values)
    if tensor.ndim != 1 or tensor.numel() == 0:
        raise ValueError(f"Invalid {name}: expected a non-empty 1-D sequence, got shape {tuple(tensor.shape)}")
    return tensor


def _check(m, b, x, y) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    x, y = _points("x", x), _points("y", y)
    if x.shape != y.shape:
        raise ValueError(f"Invalid y: {y.numel()} values for {x.numel()} x values (expected as many)")
    m, b = finite_tensor("m", m), finite_tensor("b", b)
    try:
        m, b = torch.broadcast_tensors(m, b)
    except RuntimeError as error:
        raise ValueError(f"Invalid m, b: expected broadcastable shapes ({error})") from error
    return m, b, x, y


def _steps(t, *, least: int) -> Tensor:
    t = torch.as_tensor(t, dtype=torch.float64)
    if not (torch.isfinite(t).all() and (t >= least).all() and (t == t.round()).all()):
        raise ValueError(f"Invalid t: expected whole step numbers >= {least}")
    return t
