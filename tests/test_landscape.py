"""The closed-form population loss against the 1-D formula, Monte Carlo, autograd and the GD recursion."""

import math

import pytest
import torch

from relucourse.landscape import descend, monte_carlo_loss, population_grad, population_loss, reached_teacher

pytestmark = pytest.mark.dying_relu


def random_points(n: int, seed: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    w, b = (
        4 * torch.rand(n, generator=g, dtype=torch.float64) - 2,
        2 * torch.rand(n, generator=g, dtype=torch.float64) - 1,
    )
    return w, b


def test_one_dimensional_loss_is_the_derived_formula():
    w = torch.linspace(-5, 5, 101, dtype=torch.float64)
    expected = torch.where(w >= 0, (w - 1) ** 2 / 2, (1 + w**2) / 2)  # derived by hand in the lesson
    torch.testing.assert_close(population_loss(w), expected)


@pytest.mark.parametrize(
    "slope, teacher", [(0.0, (1.0, 0.0)), (0.3, (1.0, 0.0)), (-0.5, (0.7, -0.4)), (0.1, (-1.2, 0.5))]
)
def test_loss_agrees_with_a_million_sample_monte_carlo(slope, teacher):
    w, b = random_points(6, seed=1)
    exact = population_loss(w, b, slope=slope, teacher=teacher)
    x = torch.randn(10**6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    for wi, bi, li in zip(w, b, exact):
        squared = (torch.nn.functional.leaky_relu(wi * x + bi, slope) - torch.relu(teacher[0] * x + teacher[1])) ** 2
        standard_error = squared.std() / math.sqrt(x.numel())
        assert abs(squared.mean() - li) < 5 * standard_error + 1e-12, f"at w={wi:.3f}, b={bi:.3f}"


def test_monte_carlo_helper_uses_common_samples_and_agrees():
    w, b = random_points(4, seed=3)
    estimate = monte_carlo_loss(w, b, slope=0.2, samples=10**6, seed=4).mean
    torch.testing.assert_close(estimate, population_loss(w, b, slope=0.2), atol=2e-2, rtol=1e-2)
    torch.testing.assert_close(estimate, monte_carlo_loss(w, b, slope=0.2, samples=10**6, seed=4).mean, atol=0, rtol=0)


def test_monte_carlo_standard_error_covers_the_exact_loss_as_often_as_a_normal_error_would():
    w, b = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64), torch.tensor([0.2, 0.5, -1.0], dtype=torch.float64)
    exact = population_loss(w, b)
    z = torch.stack(
        [(e.mean - exact) / e.std_error for e in (monte_carlo_loss(w, b, samples=400, seed=s) for s in range(300))]
    )
    covered = (z.abs() < 1.96).double().mean().item()  # 95 % of a normal error; 900 draws: ±1.5 % a standard deviation
    assert 0.91 < covered < 0.985, f"the exact loss lies within 1.96 standard errors in {covered:.1%} of the seeds"
    assert 0.75 < z.pow(2).mean().item() < 1.3, "the errors over their standard error should have variance about 1"


@pytest.mark.parametrize("slope, teacher", [(0.0, (1.0, 0.0)), (0.25, (0.5, 0.3))])
def test_gradient_is_the_derivative_of_the_loss(slope, teacher):
    w, b = random_points(20, seed=5)
    w.requires_grad_(True)
    b.requires_grad_(True)
    population_loss(w, b, slope=slope, teacher=teacher).sum().backward()
    grad_w, grad_b = population_grad(w.detach(), b.detach(), slope=slope, teacher=teacher)
    torch.testing.assert_close(grad_w, w.grad)
    torch.testing.assert_close(grad_b, b.grad)


def test_gradient_matches_finite_differences_away_from_zero():
    w, b = random_points(20, seed=6)
    h = 1e-6
    grad_w, grad_b = population_grad(w, b)
    torch.testing.assert_close(
        grad_w, (population_loss(w + h, b) - population_loss(w - h, b)) / (2 * h), atol=1e-6, rtol=1e-5
    )
    torch.testing.assert_close(
        grad_b, (population_loss(w, b + h) - population_loss(w, b - h)) / (2 * h), atol=1e-6, rtol=1e-5
    )


def test_gradient_at_exactly_zero_is_what_a_sampled_relu_gives():
    x = torch.randn(1000, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    w, b = (
        torch.zeros((), dtype=torch.float64, requires_grad=True),
        torch.zeros((), dtype=torch.float64, requires_grad=True),
    )
    ((torch.relu(w * x + b) - torch.relu(x)) ** 2).mean().backward()  # torch: relu'(0) = 0
    assert (w.grad.item(), b.grad.item()) == (0.0, 0.0)
    assert tuple(g.item() for g in population_grad(0.0, 0.0)) == (0.0, 0.0)


def test_one_sided_derivatives_at_the_kink():
    h = 1e-7
    left = (population_loss(0.0) - population_loss(-h)) / h
    right = (population_loss(h) - population_loss(0.0)) / h
    assert abs(left) < 1e-6 and abs(right + 1) < 1e-6  # Clarke subdifferential [-1, 0] holds 0


def test_descent_from_minus_ten_is_the_geometric_recursion():
    w, b = descend(torch.tensor([-10.0, 0.5]), lr=0.01, steps=2000)
    assert w.shape == (2001, 2) and (b == 0).all()
    assert math.isclose(w[-1, 0].item(), -10 * 0.99**2000, rel_tol=1e-9)  # w_{t+1} = (1 - η) w_t, never crosses
    assert abs(w[-1, 1].item() - 1) < 1e-8


def test_a_step_beyond_one_jumps_over_the_flat_region():
    w, _ = descend(-10.0, lr=1.5, steps=60)
    assert w[1].item() == pytest.approx(5.0)  # (1 - 1.5)(-10)
    assert reached_teacher(w[-1]).item()


def test_two_dimensional_descent_reaches_the_teacher_from_a_good_start_only():
    w, b = descend(torch.tensor([0.5, -1.0]), torch.tensor([0.1, -1.0]), lr=0.1, steps=3000)
    assert reached_teacher(w[-1], b[-1]).tolist() == [True, False]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: descend(1.0, lr=0.0, steps=10), "learning rate"),
        (lambda: descend(1.0, lr=0.1, steps=-1), "Invalid steps"),
        (lambda: population_loss(float("nan")), "Invalid w"),
        (lambda: population_loss(1.0, float("inf")), "Invalid b"),
        (lambda: population_loss(1.0, slope=float("nan")), "Invalid slope"),
        (lambda: population_grad(1.0, teacher=(1.0,)), "Invalid teacher"),
        (lambda: monte_carlo_loss(1.0, samples=0), "Invalid samples"),
        (lambda: monte_carlo_loss(1.0, samples=1), "Invalid samples"),
        (lambda: reached_teacher(1.0, tol=-1.0), "Invalid tol"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
