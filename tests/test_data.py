"""relucourse.data: seeded, shaped, N(0, I) inputs, labels from the teacher without a graph."""

import pytest
import torch

from relucourse.data import glorot_starts, teacher_student_batches

pytestmark = pytest.mark.dying_relu


def relu_teacher(x):
    """relu(x) of the first coordinate: (n, dim) -> (n,)."""
    return torch.relu(x[:, 0])


def take(stream, k):
    return [next(stream) for _ in range(k)]


def test_seed_batch_shapes_and_labels():
    x, y = next(teacher_student_batches(relu_teacher))
    assert x.shape == (1000, 1) and x.dtype == torch.float32
    assert y.shape == (1000,) and y.dtype == torch.float32
    torch.testing.assert_close(y, torch.relu(x[:, 0]), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dim_batch_size_and_dtype(dtype):
    x, y = next(teacher_student_batches(lambda x: x.sum(dim=1), batch_size=7, dim=3, dtype=dtype))
    assert x.shape == (7, 3) and x.dtype == dtype
    torch.testing.assert_close(y, x.sum(dim=1), rtol=0, atol=0)


def test_same_seed_same_batches_other_seed_other_batches():
    first = take(teacher_student_batches(relu_teacher, batch_size=10, seed=3), 3)
    again = take(teacher_student_batches(relu_teacher, batch_size=10, seed=3), 3)
    other = take(teacher_student_batches(relu_teacher, batch_size=10, seed=4), 3)
    for (x, y), (x_again, y_again), (x_other, _) in zip(first, again, other):
        assert torch.equal(x, x_again) and torch.equal(y, y_again)
        assert not torch.equal(x, x_other)
    assert not torch.equal(first[0][0], first[1][0])  # a fresh batch each step


def test_global_rng_is_neither_used_nor_consulted():
    torch.manual_seed(1)
    state = torch.get_rng_state()
    x_1, _ = next(teacher_student_batches(relu_teacher, seed=0))
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(2)
    x_2, _ = next(teacher_student_batches(relu_teacher, seed=0))
    assert torch.equal(x_1, x_2)


def test_inputs_are_standard_normal():
    x = torch.cat([x for x, _ in take(teacher_student_batches(relu_teacher, dim=3), 20)])  # 20000 samples
    torch.testing.assert_close(x.mean(dim=0), torch.zeros(3), rtol=0, atol=0.04)  # ~5 standard errors
    torch.testing.assert_close(torch.cov(x.T), torch.eye(3), rtol=0, atol=0.06)


def test_labels_carry_no_graph():
    w = torch.ones(1, requires_grad=True)
    _, y = next(teacher_student_batches(lambda x: torch.relu(x @ w)))
    assert not y.requires_grad and y.grad_fn is None


def test_teacher_output_of_the_wrong_shape_is_named():
    stream = teacher_student_batches(torch.relu)  # (n, 1), not (n,)
    with pytest.raises(ValueError, match=r"Invalid teacher.*\(1000, 1\)"):
        next(stream)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"teacher": 1.0}, TypeError, "teacher"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 2.5}, TypeError, "batch_size"),
        ({"dim": 0}, ValueError, "dim"),
        ({"dim": True}, TypeError, "dim"),
        ({"seed": 0.5}, TypeError, "seed"),
        ({"dtype": torch.int64}, TypeError, "dtype"),
    ],
)
def test_bad_arguments_are_named_at_the_call(kwargs, error, match):
    kwargs = {"teacher": relu_teacher} | kwargs
    with pytest.raises(error, match=f"Invalid {match}"):
        teacher_student_batches(**kwargs)  # raised before the first batch is drawn


def test_glorot_starts_are_seeded_uniform_on_plus_minus_root_three():
    starts = glorot_starts(20_000, seed=3)
    assert starts.dtype == torch.float64 and starts.shape == (20_000,)
    assert torch.equal(starts, glorot_starts(20_000, seed=3)) and not torch.equal(starts, glorot_starts(20_000))
    assert starts.abs().max() <= 3**0.5 and starts.abs().max() > 0.99 * 3**0.5
    assert abs(starts.mean().item()) < 0.03 and abs(starts.var().item() - 1.0) < 0.03  # U(-√3, √3): variance 1
    with pytest.raises(ValueError, match="Invalid n"):
        glorot_starts(0)
