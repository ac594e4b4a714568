"""relucourse.models.Neuron against the formula relu(x @ w + b) written with torch."""

import functools

import pytest
import torch
import torch.nn.functional as F

from relucourse.activations import leaky_relu, relu
from relucourse.models import Neuron

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
