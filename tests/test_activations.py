"""relucourse.activations against torch: equal away from 0, and `at_zero` exactly at 0."""

import pytest
import torch
import torch.nn.functional as F

from relucourse.activations import leaky_relu, relu

pytestmark = pytest.mark.dying_relu

AT_ZERO = [0.0, 0.25, 0.5, 1.0, -0.375]  # exact in float32
SLOPES = [0.01, 0.1, 0.5]


def grad_of(f, x, grad_out=None):
    """d/dx of f(x) contracted with grad_out (ones by default)."""
    x = x.detach().clone().requires_grad_(True)
    y = f(x)
    y.backward(torch.ones_like(y) if grad_out is None else grad_out)
    return y.detach(), x.grad


def points(dtype=torch.float32):
    """Random points away from 0 plus exact zeros of both signs."""
    x = torch.randn(200, generator=torch.Generator().manual_seed(0), dtype=dtype)
    x = x + 0.1 * torch.sign(x)  # |x| > 0.1
    return torch.cat([x, torch.tensor([0.0, -0.0], dtype=dtype)])


def test_relu_equals_torch_including_at_zero():
    x = points()
    grad_out = torch.randn_like(x)
    ours = grad_of(relu, x, grad_out)
    theirs = grad_of(torch.relu, x, grad_out)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


@pytest.mark.parametrize("slope", SLOPES)
def test_leaky_relu_equals_torch_including_at_zero(slope):
    x = points()
    grad_out = torch.randn_like(x)
    ours = grad_of(lambda x: leaky_relu(x, slope), x, grad_out)
    theirs = grad_of(lambda x: F.leaky_relu(x, negative_slope=slope), x, grad_out)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


def test_default_leaky_slope_is_torchs():
    x = points()
    torch.testing.assert_close(grad_of(leaky_relu, x), grad_of(F.leaky_relu, x), rtol=0, atol=0)


@pytest.mark.parametrize("at_zero", AT_ZERO)
@pytest.mark.parametrize("zero", [0.0, -0.0])
def test_relu_derivative_at_exactly_zero_is_at_zero(at_zero, zero):
    x = torch.tensor([-2.0, zero, 3.0])
    y, grad = grad_of(lambda x: relu(x, at_zero=at_zero), x)
    assert grad.tolist() == [0.0, at_zero, 1.0]
    assert y.tolist() == [0.0, 0.0, 3.0]


@pytest.mark.parametrize("at_zero", AT_ZERO)
@pytest.mark.parametrize("slope", SLOPES)
def test_leaky_relu_derivative_at_exactly_zero_is_at_zero(slope, at_zero):
    x = torch.tensor([-2.0, 0.0, -0.0, 3.0], dtype=torch.float64)
    y, grad = grad_of(lambda x: leaky_relu(x, slope, at_zero=at_zero), x)
    assert grad.tolist() == [slope, at_zero, at_zero, 1.0]
    assert y.tolist() == [-2.0 * slope, 0.0, 0.0, 3.0]


@pytest.mark.parametrize("at_zero", AT_ZERO)
def test_at_zero_scales_the_incoming_gradient(at_zero):
    _, grad = grad_of(lambda x: relu(x, at_zero=at_zero), torch.zeros(3), torch.tensor([1.0, -2.0, 4.0]))
    assert grad.tolist() == [at_zero, -2.0 * at_zero, 4.0 * at_zero]


@pytest.mark.parametrize(("slope", "at_zero"), [(0.0, 0.0), (0.0, 1.0), (0.2, 0.7)])
def test_gradcheck_away_from_zero(slope, at_zero):
    x = points(torch.float64)[:40].requires_grad_(True)  # the first 40, all away from 0
    assert torch.autograd.gradcheck(lambda x: leaky_relu(x, slope, at_zero=at_zero), (x,))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_and_shape_are_kept(dtype):
    x = torch.randn(3, 4, dtype=dtype, requires_grad=True)
    y = leaky_relu(x, 0.1, at_zero=0.5)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == dtype
    assert y.shape == x.grad.shape == (3, 4)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: leaky_relu(torch.ones(2), float("nan")), ValueError, "slope"),
        (lambda: leaky_relu(torch.ones(2), float("inf")), ValueError, "slope"),
        (lambda: leaky_relu(torch.ones(2), "0.1"), TypeError, "slope"),
        (lambda: leaky_relu(torch.ones(2), 0.1, at_zero=float("nan")), ValueError, "at_zero"),
        (lambda: relu(torch.ones(2), at_zero=float("-inf")), ValueError, "at_zero"),
        (lambda: relu(torch.ones(2, dtype=torch.int64)), TypeError, "x"),
        (lambda: relu([1.0, 2.0]), TypeError, "x"),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=f"Invalid {match}"):
        call()
