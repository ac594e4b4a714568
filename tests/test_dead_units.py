"""relucourse.dead_units: the dead-unit counter, the forward-hook monitor, the batched Adam sweep, born-dead networks."""

import functools
import itertools

import pytest
import torch
from torch import nn

from relucourse.activations import leaky_relu
from relucourse.dead_units import DeadUnitMonitor, born_dead_probability, dead_fraction, dead_fraction_by_lr, dead_units
from relucourse.models import MLP
from relucourse.train import train

pytestmark = pytest.mark.relu_at_zero


def test_dead_units_are_inactive_on_every_input_zero_included():
    z = torch.tensor([[-1.0, 0.0, 2.0, 0.0], [-3.0, -0.5, -1.0, 0.0], [-2.0, 0.0, -1.0, 1e-30]])
    (dead,) = dead_units([z])
    assert dead.tolist() == [True, True, False, False]  # relu(0) = 0: an exact 0 is inactive


def test_dead_units_per_layer():
    masks = dead_units([torch.zeros(5, 3), torch.ones(5, 2)])
    assert [m.tolist() for m in masks] == [[True] * 3, [False] * 2]


def hand_made_mlp():
    """Inputs in [-1, 1]: unit 0 is relu(x - 10) (dead), unit 1 is relu(x) (alive); layer 2: relu(-h) dead."""
    mlp = MLP([1, 2, 1, 1])
    with torch.no_grad():
        mlp.layers[0].weight.copy_(torch.tensor([[1.0], [1.0]]))
        mlp.layers[0].bias.copy_(torch.tensor([-10.0, 0.0]))
        mlp.layers[1].weight.copy_(torch.tensor([[-1.0, -1.0]]))
        mlp.layers[1].bias.zero_()
    return mlp


def test_dead_fraction_of_a_hand_made_network():
    x = torch.linspace(-1, 1, 11)[:, None]
    assert dead_fraction(hand_made_mlp(), x) == 2 / 3


def test_monitor_records_every_pass_and_matches_the_counter():
    mlp, x = MLP([3, 8, 8, 1], seed=4), torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        mlp.layers[0].bias[:3] = -100.0  # three units dead on any reasonable input
    with DeadUnitMonitor(mlp.layers[:-1]) as monitor:
        mlp(x)
        mlp(x[:1])
    expected = dead_units(mlp.pre_activations(x))
    assert len(monitor.history) == 2
    assert monitor.history[0].tolist() == [int(m.sum()) for m in expected]
    assert monitor.history[0][0] >= 3 and (monitor.history[1] >= monitor.history[0]).all()  # one input: more dead
    assert [m.tolist() for m in monitor.dead] == [m.tolist() for m in dead_units(mlp.pre_activations(x[:1]))]
    mlp(x)
    assert len(monitor.history) == 2  # the hooks are gone after the with block
    assert monitor.fractions()[0].item() == sum(int(m.sum()) for m in expected) / 16


def test_monitor_on_a_sequential_with_nn_relu():
    net = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, 0.0]]))
        net[0].bias.copy_(torch.tensor([0.0, 0.0, -5.0, -1.0]))
    monitor = DeadUnitMonitor([net[0]])
    net(torch.rand(20, 2))  # inputs in [0, 1): units 2 and 3 never fire
    monitor.remove()
    assert monitor.dead[0].tolist() == [False, False, True, True]


def test_monitor_during_full_batch_training_is_the_counter_at_each_step():
    x = torch.rand(64, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1
    y = x[:, :1] * x[:, 1:]
    mlp = MLP([2, 16, 16, 1], seed=2)
    before = dead_fraction(mlp, x)
    with DeadUnitMonitor(mlp.layers[:-1]) as monitor:
        train(mlp, itertools.repeat((x, y)), optimizer=torch.optim.Adam(mlp.parameters(), lr=0.1), steps=10)
    assert monitor.fractions().shape == (10,) and monitor.fractions()[0].item() == before


@pytest.mark.parametrize("activation", ["relu", "leaky"])
def test_batched_adam_sweep_equals_one_run_at_a_time(activation):
    act = {"relu": torch.relu, "leaky": functools.partial(leaky_relu, slope=0.01)}[activation]
    x = torch.rand(32, 2, generator=torch.Generator().manual_seed(3)) * 2 - 1
    y = torch.sin(3 * x[:, :1]) * x[:, 1:]
    lrs, seeds = [0.01, 0.3], [0, 5]
    dead, loss = dead_fraction_by_lr([2, 8, 8, 1], x, y, lrs=lrs, seeds=seeds, activation=act, steps=15)
    assert dead.shape == (16, 2, 2) and loss.shape == (15, 2, 2)
    assert dead[-1, 1].mean() > dead[0, 1].mean()  # the large step kills units: the comparison is not vacuous
    for (l, lr), (s, seed) in itertools.product(enumerate(lrs), enumerate(seeds)):
        mlp = MLP([2, 8, 8, 1], activation=act, seed=seed)
        with DeadUnitMonitor(mlp.layers[:-1]) as monitor:
            history = train(
                mlp, itertools.repeat((x, y)), optimizer=torch.optim.Adam(mlp.parameters(), lr=lr), steps=15
            )
        torch.testing.assert_close(loss[:, l, s], history.loss, rtol=1e-4, atol=1e-6)
        assert torch.equal(dead[:-1, l, s], monitor.fractions())
        assert dead[-1, l, s].item() == dead_fraction(mlp, x)


def test_born_dead_width_one_matches_the_closed_form():
    # He, biases 0, width 1: h1 = relu(w1 x) is positive for some input; layer l >= 2 is dead unless w_l > 0.
    # So P(dead with L layers) = 1 - 2^-(L - 1).
    p = born_dead_probability(6, 1, nets=4000, seed=7)
    expected = 1 - 0.5 ** torch.arange(6, dtype=torch.float64)
    assert p.shape == (6,) and p[0] == 0.0
    assert (p - expected).abs().max() < 4 * (0.25 / 4000) ** 0.5


def test_born_dead_grows_with_depth_and_rai_helps():
    he, rai = born_dead_probability(12, 2, init="he", seed=1), born_dead_probability(12, 2, init="rai", seed=1)
    assert (he.diff() >= 0).all() and (rai.diff() >= 0).all()
    assert he[-1] > 0.8 and rai[-1] < he[-1] - 0.3


def test_born_dead_is_seeded():
    assert torch.equal(born_dead_probability(5, 3, seed=2), born_dead_probability(5, 3, seed=2))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: dead_units(torch.zeros(3, 2)), TypeError, "pre_activations"),
        (lambda: dead_units([torch.zeros(3)]), ValueError, "pre_activations"),
        (lambda: dead_units([torch.zeros(0, 2)]), ValueError, "pre_activations"),
        (lambda: dead_fraction(nn.Linear(2, 2), torch.zeros(3, 2)), TypeError, "model"),
        (lambda: DeadUnitMonitor([]), TypeError, "layers"),
        (lambda: born_dead_probability(0, 2), ValueError, "depth"),
        (lambda: born_dead_probability(3, 2, init="xavier"), ValueError, "init"),
        (lambda: dead_fraction_by_lr([2, 3, 1], torch.zeros(4, 2), torch.zeros(4, 1), lrs=[-1.0]), ValueError, "lrs"),
        (lambda: dead_fraction_by_lr([2, 3, 1], torch.zeros(4, 2), torch.zeros(4), lrs=[0.1]), ValueError, "x, y"),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=f"Invalid {match}"):
        call()
