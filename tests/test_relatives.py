"""ReLU's relatives side by side: the quadrature loss, the stacked models, the summed loss, the batched MLP family."""

import math
from functools import partial

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from relucourse import MLP, Neuron, population_loss, teacher_student_batches, train
from relucourse.dead_units import dead_units
from relucourse.relatives import (
    MLPFamily,
    Runs,
    SideBySide,
    SummedMSE,
    compare_mlps,
    compare_neurons,
    neuron_loss,
    relatives,
)

pytestmark = pytest.mark.leaky_relu


def test_relatives_are_fresh_and_named():
    first, second = relatives(), relatives()
    assert list(first) == ["ReLU", "leaky 0.01", "leaky 0.3", "PReLU", "ELU", "GELU"]
    assert first["PReLU"] is not second["PReLU"]  # a learned slope must not be shared between models
    z = torch.tensor([-2.0, 0.0, 3.0])
    torch.testing.assert_close(first["leaky 0.3"](z), torch.tensor([-0.6, 0.0, 3.0]))
    torch.testing.assert_close(first["ELU"](z), torch.tensor([math.exp(-2) - 1, 0.0, 3.0]))
    torch.testing.assert_close(first["GELU"](z), z * 0.5 * (1 + torch.erf(z / math.sqrt(2))))


@pytest.mark.parametrize("slope", [0.0, 0.01, 0.3, -0.5, 2.0])
def test_neuron_loss_is_the_closed_form_for_leaky_relu(slope):
    w = torch.linspace(-3, 3, 61, dtype=torch.float64)
    torch.testing.assert_close(
        neuron_loss(partial(F.leaky_relu, negative_slope=slope), w),
        population_loss(w, slope=slope),
        atol=1e-12,
        rtol=1e-10,
    )


@pytest.mark.parametrize("name", ["ELU", "GELU"])
def test_neuron_loss_agrees_with_monte_carlo(name):
    act = relatives()[name]
    x = torch.randn(10**6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    for w in (-2.0, -0.3, 0.7, 1.5):
        squared = (act(w * x) - torch.relu(x)) ** 2
        assert abs(squared.mean() - neuron_loss(act, w)) < 5 * squared.std() / 1000, f"{name} at w = {w}"


def test_neuron_loss_validates():
    with pytest.raises(TypeError, match="activation"):
        neuron_loss("relu", 1.0)
    with pytest.raises(ValueError, match="w"):
        neuron_loss(torch.relu, float("nan"))


def test_summed_mse_gives_each_model_its_own_gradient():
    torch.manual_seed(0)
    models = SideBySide({"a": nn.Linear(3, 1), "b": nn.Linear(3, 1)})
    x, y = torch.randn(20, 3), torch.randn(20)
    loss_fn = SummedMSE()
    loss_fn(models(x), y).backward()
    for model in models.models:
        own = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
        F.mse_loss(model(x)[:, 0], y).backward()
        for got, expected in zip(own, model.parameters()):
            torch.testing.assert_close(got, expected.grad)
    assert loss_fn.history().shape == (1, 2)
    assert models["b"] is models.models[1]


def test_summed_mse_drops_a_diverged_model_and_records_it():
    loss_fn = SummedMSE()
    predictions = torch.tensor([[1.0, 2.0], [float("inf"), 0.0]], requires_grad=True)
    total = loss_fn(predictions, torch.zeros(2))
    assert total.item() == pytest.approx(2.5)  # only the first model's mean((1, 2)^2)
    total.backward()
    torch.testing.assert_close(predictions.grad[0], torch.tensor([1.0, 2.0]))
    assert math.isinf(loss_fn.history()[0, 1])


def test_summed_mse_validates():
    with pytest.raises(ValueError, match="not been called"):
        SummedMSE().history()
    with pytest.raises(ValueError, match="predictions"):
        SummedMSE()(torch.zeros(2, 5), torch.zeros(4))


def test_mlp_family_is_one_mlp_per_activation_and_seed():
    activations = {"ReLU": torch.relu, "ELU": F.elu, "PReLU": nn.PReLU(init=0.25)}
    family = MLPFamily([2, 5, 4, 1], activations, seeds=(0, 7))
    x = torch.randn(9, 2, generator=torch.Generator().manual_seed(1))
    out, z = family(x), family.pre_activations(x)
    assert out.shape == (6, 9, 1) and [t.shape for t in z] == [(6, 9, 5), (6, 9, 4)]
    for a, (name, act) in enumerate(activations.items()):
        for s, seed in enumerate((0, 7)):
            single = MLP([2, 5, 4, 1], activation=nn.PReLU(init=0.25) if name == "PReLU" else act, seed=seed)
            torch.testing.assert_close(out[a * 2 + s], single(x))
            expected_dead = torch.cat(dead_units(single.pre_activations(x))).double().mean()
            assert family.dead_fractions(x)[a, s] == expected_dead


def test_mlp_family_trains_each_model_as_alone():
    teacher = lambda x: x[:, 0].abs()  # noqa: E731
    family = MLPFamily([1, 4, 1], {"ReLU": torch.relu, "GELU": F.gelu}, seeds=(3,))
    train(
        family,
        teacher_student_batches(teacher, batch_size=16, seed=2),
        optimizer=torch.optim.SGD(family.parameters(), lr=0.1),
        steps=3,
        loss_fn=SummedMSE(),
    )
    x = torch.linspace(-2, 2, 7)[:, None]
    for a, act in enumerate((torch.relu, F.gelu)):
        single = MLP([1, 4, 1], activation=act, seed=3)
        train(
            single,
            ((x, y[:, None]) for x, y in teacher_student_batches(teacher, batch_size=16, seed=2)),
            optimizer=torch.optim.SGD(single.parameters(), lr=0.1),
            steps=3,
        )
        torch.testing.assert_close(family(x)[a], single(x))


def test_mlp_family_validates():
    with pytest.raises(TypeError, match="activations"):
        MLPFamily([1, 2, 1], {})
    with pytest.raises(ValueError, match="seeds"):
        MLPFamily([1, 2, 1], {"ReLU": torch.relu}, seeds=())
    with pytest.raises(ValueError, match="x"):
        MLPFamily([2, 2, 1], {"ReLU": torch.relu})(torch.zeros(3, 5))


def test_steps_to_finds_the_first_step_below_a_level():
    loss = torch.tensor([[[3.0, 1.0]], [[0.5, 1.0]], [[0.1, 0.2]]])  # (steps, A = 1, S = 2)
    assert Runs(["x"], loss, {}).steps_to(0.6).tolist() == [[1, 2]]
    assert Runs(["x"], loss, {}).steps_to(0.01).tolist() == [[-1, -1]]


def test_compare_neurons_is_the_seeds_run_for_each_activation():
    runs = compare_neurons(
        {"ReLU": torch.relu, "leaky 0.3": partial(F.leaky_relu, negative_slope=0.3)}, w0=-10.0, steps=50, seed=4
    )
    assert runs.loss.shape == (50, 2, 1)
    for a, slope in enumerate((0.0, 0.3)):
        student = Neuron(-10.0, activation=partial(F.leaky_relu, negative_slope=slope))
        history = train(
            student,
            teacher_student_batches(Neuron(1.0).requires_grad_(False), seed=4),
            optimizer=torch.optim.SGD(student.parameters(), lr=0.01),
            steps=50,
        )
        # float32, 1000-term means summed in another order by the batched run: each step ≲ log2(1000)·2⁻²⁴ ≈ 6e-7
        # apart, and 50 steps of random sign add √50 of those, ≈ 4e-6: rtol 1e-5 (measured: ≤ 7.5e-7)
        torch.testing.assert_close(runs.params[f"models.{a}.weight"], history.params["weight"], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(runs.loss[:, a, 0], history.loss, rtol=1e-5, atol=0)


def test_compare_mlps_shapes_and_dead_shares():
    runs = compare_mlps(
        [1, 3, 1],
        {"ReLU": torch.relu, "leaky 0.3": partial(F.leaky_relu, negative_slope=0.3)},
        teacher=lambda x: x[:, 0].abs(),
        seeds=(0, 1, 2),
        steps=4,
        batch_size=8,
        probe_size=64,
    )
    assert runs.loss.shape == (4, 2, 3) and runs.dead_start.shape == runs.dead_end.shape == (2, 3)
    assert ((runs.dead_start >= 0) & (runs.dead_start <= 1)).all()
    assert torch.equal(runs.dead_start[0], runs.dead_start[1])  # one hidden layer: the same weights, the same z
