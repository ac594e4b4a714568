"""relucourse.train: the seed's experiment, a hand-written SGD loop as reference, and History.per_epoch."""

import functools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from relucourse.data import teacher_student_batches
from relucourse.models import Neuron
from relucourse.train import History, train

pytestmark = pytest.mark.dying_relu

LR, EPOCHS, STEPS_PER_EPOCH = 0.01, 20, 100  # the seed: SGD(0.01), 20 epochs of 100 batches of 1000
STEPS = EPOCHS * STEPS_PER_EPOCH


def relu_teacher(x):
    """relu(x), written without relucourse: (n, 1) -> (n,)."""
    return torch.relu(x[:, 0])


@functools.cache
def seed_experiment(w0):
    """One weight, no bias, MSE, SGD lr 0.01, 2000 batches of 1000 from x ~ N(0, 1)."""
    student = Neuron(w0)
    optimizer = torch.optim.SGD(student.parameters(), lr=LR)
    return train(student, teacher_student_batches(relu_teacher), optimizer=optimizer, steps=STEPS)


class Students(nn.Module):
    """k independent one-weight ReLU students relu(w_j x), so one run trains every start at once."""

    def __init__(self, w0):
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(w0))

    def forward(self, x):
        return torch.relu(x * self.weight)  # (n, k)


def summed_mse(prediction, y):
    """Σ_j MSE_j: its gradient in w_j is student j's own MSE gradient."""
    return ((prediction - y[:, None]) ** 2).mean(dim=0).sum()


def test_seed_from_half_reaches_the_teacher():
    history = seed_experiment(0.5)
    w = history.params["weight"]
    assert history.loss.shape == (STEPS,) and history.loss.dtype == torch.float64
    assert w.shape == (STEPS + 1, 1) and w[0].item() == 0.5
    assert abs(w[-1].item() - 1.0) < 1e-3


def test_seed_from_minus_ten_dies_without_crossing_zero():
    w = seed_experiment(-10.0).params["weight"][:, 0]
    assert w[0].item() == -10.0
    assert (w <= 0).all(), "a weight crossed 0: each sampled gradient has the sign of w"
    assert (torch.diff(w) >= 0).all(), "w < 0 moves towards 0 at every step"
    assert -1e-3 < w[-1].item() <= 0.0


def test_every_positive_start_reaches_the_teacher_and_every_negative_one_dies():
    starts = [0.01, 0.5, 2.0, 5.0, -0.5, -10.0]
    students = Students(starts)
    optimizer = torch.optim.SGD(students.parameters(), lr=LR)
    batches = teacher_student_batches(relu_teacher)
    w = train(students, batches, optimizer=optimizer, steps=STEPS, loss_fn=summed_mse).params["weight"]
    assert (torch.abs(w[-1, :4] - 1.0) < 1e-3).all(), w[-1]
    assert (w[:, 4:] <= 0).all() and (w[-1, 4:] > -1e-3).all(), w[-1]
    # the seed's one-neuron runs, whose float32 means of 1000 terms sum in another order: ≲ log2(1000)·2⁻²⁴ a step,
    # and √2000 steps of random sign ≈ 2.7e-5 (weights of scale 1, so also as an absolute tolerance)
    torch.testing.assert_close(w[:, 1:2], seed_experiment(0.5).params["weight"], rtol=3e-5, atol=3e-5)
    torch.testing.assert_close(w[:, 5:6], seed_experiment(-10.0).params["weight"], rtol=3e-5, atol=3e-5)


def test_per_epoch_gives_keras_epoch_losses_and_epoch_end_weights():
    history = seed_experiment(0.5)
    epochs = history.per_epoch(STEPS_PER_EPOCH)
    assert epochs.loss.shape == (EPOCHS,)
    assert epochs.params["weight"].shape == (EPOCHS + 1, 1)
    for e in range(EPOCHS):
        steps = history.loss[e * STEPS_PER_EPOCH : (e + 1) * STEPS_PER_EPOCH].tolist()
        assert epochs.loss[e].item() == pytest.approx(sum(steps) / len(steps), rel=1e-12)
    for e in range(EPOCHS + 1):
        assert torch.equal(epochs.params["weight"][e], history.params["weight"][e * STEPS_PER_EPOCH])
    assert epochs.loss[-1] < epochs.loss[0]


@pytest.mark.parametrize(("steps_per_epoch", "error"), [(7, ValueError), (0, ValueError), (2.0, TypeError)])
def test_per_epoch_validates_steps_per_epoch(steps_per_epoch, error):
    history = History(torch.zeros(20, dtype=torch.float64), {"weight": torch.zeros(21, 1)})
    with pytest.raises(error, match="Invalid steps_per_epoch"):
        history.per_epoch(steps_per_epoch)


def test_train_equals_a_hand_written_sgd_loop():
    steps, lr = 200, 0.05
    student = Neuron(0.3, 0.2)
    optimizer = torch.optim.SGD(student.parameters(), lr=lr)
    history = train(student, teacher_student_batches(relu_teacher, seed=7), optimizer=optimizer, steps=steps)

    w, b = torch.tensor(0.3, requires_grad=True), torch.tensor(0.2, requires_grad=True)
    losses, ws, bs = [], [w.item()], [b.item()]
    batches = teacher_student_batches(relu_teacher, seed=7)
    for _ in range(steps):
        x, y = next(batches)
        loss = F.mse_loss(torch.relu(x[:, 0] * w + b), y)  # loss before the update
        w_grad, b_grad = torch.autograd.grad(loss, (w, b))
        with torch.no_grad():
            w -= lr * w_grad
            b -= lr * b_grad
        losses.append(loss.item())
        ws.append(w.item())
        bs.append(b.item())
    # float32 (history.loss only stores it as float64); Neuron's gradient is a matrix-vector product, the loop's a
    # sum of products, 1000 terms in another order: ≲ log2(1000)·2⁻²⁴ a step, √200 steps of random sign ≈ 8e-6
    close = functools.partial(torch.testing.assert_close, rtol=1e-5, atol=1e-5)
    close(history.loss, torch.tensor(losses, dtype=torch.float64))
    close(history.params["weight"][:, 0], torch.tensor(ws))
    close(history.params["bias"], torch.tensor(bs))


def test_non_finite_loss_stops_training_and_names_the_step():
    x = torch.ones(4, 1)
    batches = [(x, torch.ones(4))] * 3 + [(x, torch.full((4,), float("nan")))] + [(x, torch.ones(4))] * 2
    student = Neuron(0.5)
    with pytest.raises(FloatingPointError, match="step 3") as caught:
        train(student, batches, optimizer=torch.optim.SGD(student.parameters(), lr=0.1), steps=6)
    history = caught.value.history
    assert history.loss.shape == (4,) and history.params["weight"].shape == (5, 1)
    assert torch.isfinite(history.loss[:3]).all() and torch.isnan(history.loss[3])


def test_running_out_of_batches_is_named():
    student = Neuron(0.5)
    batches = [(torch.ones(4, 1), torch.ones(4))] * 3
    with pytest.raises(ValueError, match="Invalid batches: ran out after 3"):
        train(student, batches, optimizer=torch.optim.SGD(student.parameters(), lr=0.1), steps=5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": lambda x: x}, TypeError, "model"),
        ({"optimizer": "sgd"}, TypeError, "optimizer"),
        ({"steps": 0}, ValueError, "steps"),
        ({"steps": 1.5}, TypeError, "steps"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    student = Neuron(0.5)
    arguments = {"model": student, "optimizer": torch.optim.SGD(student.parameters(), lr=0.1), "steps": 3} | kwargs
    model = arguments.pop("model")
    with pytest.raises(error, match=f"Invalid {match}"):
        train(model, teacher_student_batches(relu_teacher), **arguments)


@pytest.mark.parametrize("progress", [False, True])
def test_progress_bar_only_when_asked(progress, capsys):
    student = Neuron(0.5)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.1)
    train(student, teacher_student_batches(relu_teacher, batch_size=4), optimizer=optimizer, steps=5, progress=progress)
    bar = capsys.readouterr().err
    assert ("5/5" in bar) == progress and (bar == "") != progress
