"""relucourse.models.Neuron against the formula relu(x @ w + b) written with torch."""

import functools

import pytest
import torch
import torch.nn.functional as F

from relucourse.activations import leaky_relu, relu
from relucourse.models import MLP, Neuron, init_layer

pytestmark = pytest.mark.dying_relu


def test_seed_student_has_one_weight_and_no_bias():
    neuron = Neuron(0.5)
    assert [name for name, _ in neuron.named_parameters()] == ["weight"]
    assert neuron.bias is None
    assert neuron.weight.shape == (1,) and neuron.weight.dtype == torch.float32
    assert neuron.weight.item() == 0.5


def test_bias_is_a_scalar_parameter():
    neuron = Neuron([0.5, -1.0], -0.25)
    assert [name for name, _ in neuron.named_parameters()] == ["weight", "bias"]
    assert neuron.weight.tolist() == [0.5, -1.0]
    assert neuron.bias.shape == () and neuron.bias.item() == -0.25


def test_forward_is_relu_of_w_dot_x_plus_b():
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(0))
    w, b = torch.tensor([0.5, -1.0, 2.0]), 0.3
    torch.testing.assert_close(Neuron(w, b)(x), torch.relu(x @ w + b))
    torch.testing.assert_close(Neuron(w)(x), torch.relu(x @ w))


def test_activation_is_used():
    x = torch.randn(50, 1, generator=torch.Generator().manual_seed(0))
    neuron = Neuron(-1.5, 0.2, activation=functools.partial(leaky_relu, slope=0.1))
    torch.testing.assert_close(neuron(x), F.leaky_relu(-1.5 * x[:, 0] + 0.2, 0.1))


def test_gradients_match_torch_away_from_zero():
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(1))
    y = torch.randn(50, generator=torch.Generator().manual_seed(2))
    neuron = Neuron([0.7, -0.4], 0.1)
    F.mse_loss(neuron(x), y).backward()
    w = torch.tensor([0.7, -0.4], requires_grad=True)
    b = torch.tensor(0.1, requires_grad=True)
    F.mse_loss(torch.relu(x @ w + b), y).backward()
    torch.testing.assert_close(neuron.weight.grad, w.grad)
    torch.testing.assert_close(neuron.bias.grad, b.grad)


@pytest.mark.parametrize("at_zero", [0.0, 0.5, 1.0])
def test_pre_activation_exactly_zero_uses_at_zero(at_zero):
    neuron = Neuron(1.0, -1.0, activation=functools.partial(relu, at_zero=at_zero))
    neuron(torch.tensor([[1.0]])).sum().backward()  # w x + b = 0 exactly
    assert neuron.weight.grad.tolist() == [at_zero]  # σ'(0) x
    assert neuron.bias.grad.item() == at_zero  # σ'(0)


def test_teacher_is_frozen_relu():
    teacher = Neuron(1.0).requires_grad_(False)
    x = torch.randn(20, 1)
    assert not any(p.requires_grad for p in teacher.parameters())
    torch.testing.assert_close(teacher(x), torch.relu(x[:, 0]), rtol=0, atol=0)


def test_weight_is_a_copy_of_the_tensor_given():
    w = torch.tensor([1.0, 2.0])
    neuron = Neuron(w)
    w.add_(1.0)
    assert neuron.weight.tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: Neuron([[1.0, 2.0]]), ValueError, "w"),
        (lambda: Neuron([]), ValueError, "w"),
        (lambda: Neuron(float("nan")), ValueError, "w"),
        (lambda: Neuron("one"), TypeError, "w"),
        (lambda: Neuron(1.0, float("inf")), ValueError, "b"),
        (lambda: Neuron(1.0, [0.0, 1.0]), ValueError, "b"),
        (lambda: Neuron(1.0, activation="relu"), TypeError, "activation"),
    ],
)
def test_bad_arguments_are_named(make, error, match):
    with pytest.raises(error, match=f"Invalid {match}"):
        make()


@pytest.mark.parametrize("x", [torch.ones(4, 3), torch.ones(4), torch.ones(2, 4, 2)])
def test_input_of_the_wrong_shape_is_named(x):
    with pytest.raises(ValueError, match=r"Invalid x: expected a Tensor of shape \(n, 2\)"):
        Neuron([1.0, 2.0])(x)


# --- MLP and init_layer (the relu'(0) chapter) ---


def manual_forward(mlp, x):
    """relu(W x + b) layer by layer, written with torch.relu and the layers' tensors."""
    h, zs = x, []
    weights = [(layer.weight.detach(), layer.bias.detach()) for layer in mlp.layers]
    for w, b in weights[:-1]:
        zs.append(h @ w.T + b)
        h = torch.relu(zs[-1])
    w, b = weights[-1]
    return h @ w.T + b, zs


@pytest.mark.relu_at_zero
@pytest.mark.parametrize("init", ["he", "rai"])
def test_mlp_forward_and_pre_activations_are_the_formula(init):
    mlp = MLP([3, 5, 4, 2], init=init, seed=3)
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(0))
    out, zs = manual_forward(mlp, x)
    torch.testing.assert_close(mlp(x), out)
    got = mlp.pre_activations(x)
    assert [tuple(z.shape) for z in got] == [(40, 5), (40, 4)]
    for z_got, z_expected in zip(got, zs):
        torch.testing.assert_close(z_got, z_expected)


@pytest.mark.relu_at_zero
def test_mlp_layers_have_the_widths():
    mlp = MLP([2, 7, 1])
    assert [tuple(p.shape) for p in mlp.parameters()] == [(7, 2), (7,), (1, 7), (1,)]
    assert all(p.dtype == torch.float32 for p in mlp.parameters())


@pytest.mark.relu_at_zero
def test_mlp_activation_is_used_on_hidden_layers_only():
    mlp = MLP([1, 6, 1], activation=functools.partial(leaky_relu, slope=0.2), seed=1)
    x = torch.linspace(-2, 2, 9)[:, None]
    w1, b1 = mlp.layers[0].weight.detach(), mlp.layers[0].bias.detach()
    w2, b2 = mlp.layers[1].weight.detach(), mlp.layers[1].bias.detach()
    torch.testing.assert_close(mlp(x), F.leaky_relu(x @ w1.T + b1, 0.2) @ w2.T + b2)


@pytest.mark.relu_at_zero
def test_mlp_seed_decides_the_weights_and_the_global_rng_is_untouched():
    state = torch.random.get_rng_state()
    a, b, c = MLP([4, 8, 1], seed=5), MLP([4, 8, 1], seed=5), MLP([4, 8, 1], seed=6)
    assert torch.equal(state, torch.random.get_rng_state())
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.layers[0].weight, c.layers[0].weight)


@pytest.mark.relu_at_zero
def test_mlp_at_zero_reaches_the_weights():
    # zero weights and biases: every pre-activation is exactly 0, so only relu'(0) can carry a gradient
    for at_zero, moves in ((0.0, False), (1.0, True)):
        mlp = MLP([2, 3, 1], activation=functools.partial(relu, at_zero=at_zero))
        with torch.no_grad():
            mlp.layers[0].weight.zero_()
            mlp.layers[1].weight.fill_(1.0)
        x = torch.tensor([[1.0, 2.0], [-1.0, 0.5]])
        mlp(x).sum().backward()
        grad = mlp.layers[0].weight.grad
        assert torch.equal(grad, at_zero * x.sum(0).expand(3, 2))  # dL/dW1 = σ'(0) · w2 · Σ x
        assert bool(grad.abs().sum() > 0) is moves


@pytest.mark.relu_at_zero
def test_mlp_runs_in_float16():
    mlp = MLP([2, 4, 1], seed=2).to(torch.float16)
    x = torch.randn(8, 2).half()
    out = mlp(x)
    out.sum().backward()
    assert out.dtype == torch.float16 and mlp.layers[0].weight.grad.dtype == torch.float16


@pytest.mark.relu_at_zero
def test_he_init_has_variance_two_over_fan_in_and_zero_bias():
    w, b = init_layer(50, 400, init="he", generator=torch.Generator().manual_seed(0), copies=(10,))
    assert w.shape == (10, 400, 50) and b.shape == (10, 400)
    assert abs(w.var().item() * 50 / 2 - 1) < 0.02  # 200 000 draws: sd of the ratio ≈ 0.003
    assert abs(w.mean().item()) < 0.01
    assert torch.count_nonzero(b) == 0


@pytest.mark.relu_at_zero
def test_rai_init_has_one_beta_entry_per_row():
    fan_in, rows = 400, 10_000
    w, b = init_layer(fan_in, rows, init="rai", generator=torch.Generator().manual_seed(0))
    v = torch.cat([w, b[:, None]], dim=1).double()  # [W | b]
    big, where = v.max(dim=1)  # the Beta(2, 1) entry (in 99% of rows): in (0, 1), the normals have sd 0.03
    rest = v.scatter(1, where[:, None], float("nan"))
    sd = 0.6007 / fan_in**0.5
    assert abs(torch.nanmean(rest).item()) < 1e-4
    assert abs(rest[~rest.isnan()].std().item() / sd - 1) < 0.01
    assert abs(big.mean().item() - 2 / 3) < 0.01  # E Beta(2, 1) = 2/3, sd of the mean 0.0024
    assert abs((big < 0.5).double().mean().item() - 0.25) < 0.015  # P(Beta(2, 1) < u) = u^2, sd 0.0043
    assert abs(where.double().mean().item() / fan_in - 0.5) < 0.01  # uniform position among fan_in + 1
    assert 8 < (where == fan_in).sum().item() < 50  # the bias is the chosen one in 1/401 of the rows: ≈ 25


@pytest.mark.relu_at_zero
@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: MLP([3]), ValueError, "widths"),
        (lambda: MLP("12"), ValueError, "widths"),
        (lambda: MLP([3, 0, 1]), ValueError, "widths"),
        (lambda: MLP([3, 2.0, 1]), TypeError, "widths"),
        (lambda: MLP([3, 1], init="xavier"), ValueError, "init"),
        (lambda: MLP([3, 1], activation="relu"), TypeError, "activation"),
        (lambda: MLP([3, 1], seed=1.5), TypeError, "seed"),
        (lambda: init_layer(0, 3), ValueError, "fan_in"),
        (lambda: init_layer(3, 2, copies=(0,)), ValueError, "copies"),
    ],
)
def test_mlp_bad_arguments_are_named(make, error, match):
    with pytest.raises(error, match=f"Invalid {match}"):
        make()


@pytest.mark.relu_at_zero
@pytest.mark.parametrize("x", [torch.ones(4, 2), torch.ones(4), torch.ones(2, 4, 3)])
def test_mlp_input_of_the_wrong_shape_is_named(x):
    with pytest.raises(ValueError, match=r"Invalid x: expected a Tensor of shape \(n, 3\)"):
        MLP([3, 2, 1])(x)
