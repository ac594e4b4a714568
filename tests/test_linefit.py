"""relucourse.linefit against numpy's lstsq, autograd, eigenvalues derived by hand, and the textbook rates."""

import math

import numpy as np
import pytest
import torch

from relucourse.linefit import (
    convex_gap_bound,
    line_descent,
    line_grad,
    line_hessian,
    line_loss,
    line_optimum,
    smoothness,
    strong_convexity,
    strongly_convex_gap_bound,
)

pytestmark = pytest.mark.convergence


def points(n: int, seed: int, *, low: float = -1.0, high: float = 3.0) -> tuple[torch.Tensor, torch.Tensor]:
    """n points with x uniform on [low, high] and y a noisy line."""
    g = torch.Generator().manual_seed(seed)
    x = low + (high - low) * torch.rand(n, generator=g, dtype=torch.float64)
    return x, 0.7 * x - 0.4 + 0.3 * torch.randn(n, generator=g, dtype=torch.float64)


def autograd_grad(m: torch.Tensor, b: torch.Tensor, x: torch.Tensor, y: torch.Tensor, relu: bool):
    """∇ of mean((g(m x + b) - y)^2) by torch autograd, written without relucourse (torch.relu: relu'(0) = 0)."""
    m, b = m.detach().clone().requires_grad_(True), b.detach().clone().requires_grad_(True)
    z = m[..., None] * x + b[..., None]
    ((torch.relu(z) if relu else z) - y).pow(2).mean(dim=-1).sum().backward()
    return m.grad, b.grad


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_optimum_is_numpys_least_squares(seed):
    x, y = points(30, seed)
    design = np.stack([x.numpy(), np.ones(30)], axis=1)
    (m_star, b_star), *_ = np.linalg.lstsq(design, y.numpy(), rcond=None)
    assert line_optimum(x, y) == pytest.approx((m_star, b_star), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("relu", [False, True])
def test_gradient_is_autograds(relu):
    x, y = points(25, seed=3)
    g = torch.Generator().manual_seed(4)
    m, b = (
        4 * torch.rand(5, 3, generator=g, dtype=torch.float64) - 2,
        4 * torch.rand(3, generator=g, dtype=torch.float64) - 2,
    )
    ours = line_grad(m, b, x, y, relu=relu)
    expected = autograd_grad(m, b.expand(5, 3), x, y, relu)
    assert ours[0].shape == (5, 3)
    torch.testing.assert_close(ours, expected)


def test_relu_gradient_at_an_exact_kink_uses_relu_prime_zero_equal_zero():
    x = torch.tensor([-2.0, -1.0, 0.5, 1.0, 3.0], dtype=torch.float64)
    y = torch.tensor([0.5, 1.0, -1.0, 2.0, 0.0], dtype=torch.float64)
    m, b = torch.tensor(1.0, dtype=torch.float64), torch.tensor(-1.0, dtype=torch.float64)  # z = x - 1 = 0 at x = 1
    grad_m, grad_b = line_grad(m, b, x, y, relu=True)
    # by hand: only x = 3 has z > 0; z = 2, r = 2 - 0 = 2; the kink point x = 1 contributes nothing
    assert (grad_m.item(), grad_b.item()) == pytest.approx((2 * 2 * 3 / 5, 2 * 2 / 5))
    torch.testing.assert_close((grad_m, grad_b), autograd_grad(m, b, x, y, relu=True))


def test_relu_loss_is_flat_and_stationary_where_no_point_is_active():
    x, y = points(20, seed=5, low=0.5, high=2.0)
    m, b = torch.tensor([-1.0, -3.0]), torch.tensor([0.2, 1.0])  # m x + b < 0 for every x >= 0.5
    torch.testing.assert_close(line_loss(m, b, x, y, relu=True), (y**2).mean().expand(2))
    assert all((g == 0).all() for g in line_grad(m, b, x, y, relu=True))


def test_hessian_is_autograds_and_the_same_everywhere():
    x, y = points(15, seed=6)
    expected = [
        torch.stack(
            [torch.stack(row) for row in torch.autograd.functional.hessian(lambda m, b: line_loss(m, b, x, y), (m, b))]
        )
        for m, b in [
            (torch.tensor(0.3, dtype=torch.float64), torch.tensor(-1.2, dtype=torch.float64)),
            (torch.tensor(-4.0, dtype=torch.float64), torch.tensor(2.5, dtype=torch.float64)),
        ]
    ]
    torch.testing.assert_close(line_hessian(x), expected[0])
    torch.testing.assert_close(line_hessian(x), expected[1])


def test_loss_is_its_second_order_taylor_expansion_around_the_optimum():
    x, y = points(40, seed=7)
    theta_star = torch.tensor(line_optimum(x, y), dtype=torch.float64)
    gap = torch.tensor([[1.5, -0.5], [-2.0, 3.0], [0.1, 0.0]], dtype=torch.float64)
    theta = theta_star + gap
    exact = line_loss(theta[:, 0], theta[:, 1], x, y) - line_loss(*theta_star, x, y)
    quadratic = 0.5 * torch.einsum("ki,ij,kj->k", gap, line_hessian(x), gap)  # ½ (θ-θ*)ᵀ H (θ-θ*)
    torch.testing.assert_close(exact, quadratic)
    assert all(g.abs().max() < 1e-12 for g in line_grad(*theta_star, x, y))  # ∇L(θ*) = 0


@pytest.mark.parametrize("seed", [8, 9])
def test_smoothness_and_strong_convexity_are_the_hand_derived_eigenvalues(seed):
    x, _ = points(12, seed)
    a, c = (x**2).mean().item(), x.mean().item()
    # eigenvalues of 2 [[a, c], [c, 1]]: (a + 1) ± sqrt((a - 1)^2 + 4 c^2)
    root = math.sqrt((a - 1) ** 2 + 4 * c**2)
    assert smoothness(x) == pytest.approx(a + 1 + root, rel=1e-12)
    assert strong_convexity(x) == pytest.approx(a + 1 - root, rel=1e-9)


def test_centred_points_decouple_slope_and_intercept():
    x = torch.tensor([-3.0, -1.0, 1.0, 3.0])  # mean 0, mean square 5
    assert (strong_convexity(x), smoothness(x)) == pytest.approx((2.0, 10.0))


def test_equal_x_values_give_a_singular_hessian_and_no_unique_optimum():
    x, y = torch.full((6,), 2.0), torch.arange(6.0)
    assert strong_convexity(x) == pytest.approx(0.0, abs=1e-12)
    assert smoothness(x) == pytest.approx(2 * (4 + 1))  # 2 (x² + 1): along (x, 1)
    with pytest.raises(ValueError, match="Invalid x"):
        line_optimum(x, y)


def test_descent_with_step_one_over_L_meets_both_textbook_bounds():
    x, y = points(30, seed=10)
    L, mu = smoothness(x), strong_convexity(x)
    theta_star = line_optimum(x, y)
    m, b = line_descent(3.0, -2.0, x, y, lr=1 / L, steps=400)
    gap = line_loss(m, b, x, y) - line_loss(*theta_star, x, y)
    t = torch.arange(401)
    distance = math.hypot(3.0 - theta_star[0], -2.0 - theta_star[1])
    assert (gap[1:] <= convex_gap_bound(t[1:], L=L, distance=distance) * (1 + 1e-9)).all()
    assert (gap <= strongly_convex_gap_bound(t, L=L, mu=mu, gap0=gap[0].item()) * (1 + 1e-9) + 1e-15).all()
    assert (m[-1].item(), b[-1].item()) == pytest.approx(theta_star, abs=1e-6)


def test_descent_is_the_plain_recursion_for_many_starts_at_once():
    x, y = points(10, seed=11)
    m0, b0 = torch.tensor([[0.5, -1.0]], dtype=torch.float64), torch.tensor([[1.0], [-0.5]], dtype=torch.float64)
    m, b = line_descent(m0, b0, x, y, lr=0.05, steps=30, relu=True)
    assert m.shape == b.shape == (31, 2, 2)
    mi, bi = m0.expand(2, 2).clone(), b0.expand(2, 2).clone()
    for step in range(30):  # reference: autograd on torch.relu
        gm, gb = autograd_grad(mi, bi, x, y, relu=True)
        mi, bi = mi - 0.05 * gm, bi - 0.05 * gb
    torch.testing.assert_close((m[-1], b[-1]), (mi, bi))


def test_bounds_by_hand():
    torch.testing.assert_close(
        convex_gap_bound(torch.tensor([1, 2, 4]), L=4.0, distance=3.0),
        torch.tensor([18.0, 9.0, 4.5], dtype=torch.float64),
    )  # 4 · 9 / (2t)
    torch.testing.assert_close(
        strongly_convex_gap_bound(torch.tensor([0, 1, 3]), L=4.0, mu=1.0, gap0=2.0),
        torch.tensor([2.0, 1.5, 2 * 0.75**3], dtype=torch.float64),
    )  # (1 - 1/4)^t · 2


@pytest.mark.parametrize(
    "call, error, name",
    [
        (lambda: convex_gap_bound(0, L=1.0, distance=1.0), ValueError, "t"),
        (lambda: convex_gap_bound(1, L=0.0, distance=1.0), ValueError, "L"),
        (lambda: convex_gap_bound(1, L=1.0, distance=-1.0), ValueError, "distance"),
        (lambda: convex_gap_bound(1, L="1", distance=1.0), TypeError, "L"),
        (lambda: strongly_convex_gap_bound(1.5, L=1.0, mu=0.5, gap0=1.0), ValueError, "t"),
        (lambda: strongly_convex_gap_bound(1, L=1.0, mu=2.0, gap0=1.0), ValueError, "mu"),
        (lambda: strongly_convex_gap_bound(1, L=1.0, mu=0.5, gap0=math.nan), ValueError, "gap0"),
        (lambda: line_loss(1.0, 0.0, [1.0, 2.0], [1.0]), ValueError, "y"),
        (lambda: line_loss(1.0, 0.0, [[1.0, 2.0]], [[1.0, 2.0]]), ValueError, "x"),
        (lambda: line_loss(1.0, 0.0, [], []), ValueError, "x"),
        (lambda: line_loss(1.0, 0.0, [1.0, math.inf], [1.0, 2.0]), ValueError, "x"),
        (lambda: line_loss(math.nan, 0.0, [1.0], [1.0]), ValueError, "m"),
        (lambda: line_loss(1.0, 0.0, ["a"], [1.0]), TypeError, "x"),
        (lambda: line_grad(1.0, 0.0, [1.0], [1.0], relu=1), TypeError, "relu"),
        (lambda: line_descent(1.0, 0.0, [1.0], [1.0], lr=0.0, steps=1), ValueError, "learning rate"),
        (lambda: line_descent(1.0, 0.0, [1.0], [1.0], lr=0.1, steps=-1), ValueError, "steps"),
        (lambda: line_descent(1.0, 0.0, [1.0], [1.0], lr=0.1, steps=2.0), TypeError, "steps"),
    ],
)
def test_bad_input_raises_an_error_naming_the_argument(call, error, name):
    with pytest.raises(error, match=f"Invalid {name}"):
        call()
