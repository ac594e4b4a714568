"""Heavy ball on a quadratic: the rate against simulated recursions, Polyak's setting, the runs against torch.optim.SGD."""

import math

import pytest
import torch

from relucourse.momentum import heavy_ball_errors, heavy_ball_rate, optimal_heavy_ball

pytestmark = pytest.mark.optimizers


def simulated_rate(lr, momentum, h, steps=4000):
    """The growth per step of the 1-D recursion over `steps` steps, (|e_T|)^(1/T), from e_{-1} = e_0 = 1."""
    previous, current, size = 1.0, 1.0, 0.0  # log-size accumulated with renormalisation: no overflow
    for _ in range(steps):
        previous, current = current, (1 + momentum - lr * h) * current - momentum * previous
        scale = max(abs(previous), abs(current))
        previous, current, size = previous / scale, current / scale, size + math.log(scale)
    return math.exp(size / steps)


@pytest.mark.parametrize(
    "lr, momentum", [(0.1, 0.0), (1.5, 0.0), (0.01, 0.9), (3.7, 0.9), (2.9, 0.5), (3.1, 0.5), (0.5, 0.3)]
)
def test_rate_is_the_recursions_growth_per_step(lr, momentum):
    assert heavy_ball_rate(lr, momentum, 1.0).item() == pytest.approx(simulated_rate(lr, momentum, 1.0), rel=1e-2)


def test_rate_below_one_exactly_inside_the_stability_region():
    lr, momentum = torch.meshgrid(
        torch.linspace(0.01, 5, 300, dtype=torch.float64),
        torch.linspace(0, 0.99, 60, dtype=torch.float64),
        indexing="ij",
    )
    inside, edge = lr < 2 * (1 + momentum), (lr - 2 * (1 + momentum)).abs() < 1e-9
    assert torch.equal((heavy_ball_rate(lr, momentum, 1.0) < 1)[~edge], inside[~edge])


def test_polyaks_setting_gives_both_extremes_the_rate_and_no_grid_point_beats_it():
    mu, L = 0.1, 12.0
    lr, momentum = optimal_heavy_ball(mu, L)
    best = (math.sqrt(L / mu) - 1) / (math.sqrt(L / mu) + 1)
    for h in (mu, L):
        assert heavy_ball_rate(lr, momentum, h).item() == pytest.approx(best, rel=1e-6)
    lrs, betas = torch.meshgrid(
        torch.linspace(0.01, 0.5, 200, dtype=torch.float64),
        torch.linspace(0, 0.99, 200, dtype=torch.float64),
        indexing="ij",
    )
    worst = torch.maximum(heavy_ball_rate(lrs, betas, mu), heavy_ball_rate(lrs, betas, L))
    assert worst.min().item() >= best - 1e-9


def test_errors_follow_torch_sgd_on_the_quadratic():
    hessian = torch.tensor([[3.0, 1.0], [1.0, 0.5]], dtype=torch.float64)
    error0 = torch.tensor([1.0, -2.0], dtype=torch.float64)
    ours = heavy_ball_errors(hessian, error0, lr=0.2, momentum=0.7, steps=50)
    theta = error0.clone().requires_grad_(True)
    reference = torch.optim.SGD([theta], lr=0.2, momentum=0.7)
    for t in range(50):
        theta.grad = hessian @ theta.detach()
        reference.step()
        torch.testing.assert_close(ours[t + 1], theta.detach())
    assert ours.shape == (51, 2) and torch.equal(ours[0], error0)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="curvatures"):
        optimal_heavy_ball(0.0, 1.0)
    with pytest.raises(ValueError, match="shapes"):
        heavy_ball_errors(torch.eye(2), torch.ones(3), lr=0.1, momentum=0.0, steps=1)
    with pytest.raises(ValueError, match="steps"):
        heavy_ball_errors(torch.eye(2), torch.ones(2), lr=0.1, momentum=0.0, steps=-1)
