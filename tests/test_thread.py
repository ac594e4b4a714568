"""thread_run is the thread's run: a Neuron student, the seed's batches, the optimizer, train; twins agree step for step."""

import pytest
import torch

from relucourse import Neuron, teacher_student_batches, train
from relucourse.optim import SGD
from relucourse.thread import thread_run

pytestmark = pytest.mark.dying_relu


def test_thread_run_is_train_on_the_seeds_batches():
    teacher = Neuron([1.0, -0.5], 0.2).requires_grad_(False)
    ours = thread_run(
        [0.3, 0.1],
        -0.2,
        teacher=teacher,
        optimizer=SGD,
        options={"momentum": 0.9},
        lr=0.05,
        steps=30,
        batch_size=50,
        seed=3,
    )
    student = Neuron([0.3, 0.1], -0.2)
    batches = teacher_student_batches(teacher, batch_size=50, dim=2, seed=3)
    reference = train(
        student, batches, optimizer=torch.optim.SGD(student.parameters(), lr=0.05, momentum=0.9), steps=30
    )
    for name in reference.params:
        torch.testing.assert_close(ours.params[name], reference.params[name])
    torch.testing.assert_close(ours.loss, reference.loss)


def test_defaults_are_the_threads_setting():
    run = thread_run(-1.0, steps=5)
    assert run.params["weight"].shape[0] == 6 and "bias" not in run.params  # no bias, one weight, the start first
    assert run.params["weight"][-1, 0] == pytest.approx(-1.0 * 0.99**5, rel=0.05)  # SGD 0.01 on the left: ×(1 − η)
