r"""The threads' run: one student $\sigma(w \cdot x + b)$ trained against a teacher, MSE, a fresh seeded batch at every step."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from .activations import relu
from .data import teacher_student_batches
from .models import Neuron
from .train import History, train

__all__ = ["thread_run"]


def thread_run(
    w0: float | Sequence[float],
    b0: float | None = None,
    *,
    teacher: Neuron | None = None,
    activation: Callable[[Tensor], Tensor] = relu,
    optimizer: type[torch.optim.Optimizer] = torch.optim.SGD,
    options: dict | None = None,
    lr: float = 0.01,
    steps: int = 2000,
    batch_size: int = 1000,
    seed: int = 0,
) -> History:
    r"""`train` the student `Neuron(w0, b0, activation)` against `teacher` (default $\mathrm{relu}(x)$) on `teacher_student_batches`.

    The defaults are the thread's: plain SGD with step 0.01, 2000 steps of a fresh batch of 1000 inputs from seed 0.
    Two runs with the same seed see the same batches.

    Args:
        w0, b0: the student's start (b0 None: no bias); w0 has as many entries as the teacher's weight.
        teacher: a `Neuron`, never trained; its weight's length is the inputs' dimension.
        activation: the student's $\sigma$.
        optimizer, options: the optimizer's class and its hyper-parameters other than `lr`.
    """
    teacher = Neuron(1.0).requires_grad_(False) if teacher is None else teacher
    student = Neuron(w0, b0, activation=activation)
    batches = teacher_student_batches(teacher, batch_size=batch_size, dim=teacher.weight.numel(), seed=seed)
    return train(student, batches, optimizer=optimizer(student.parameters(), lr=lr, **(options or {})), steps=steps)
