r"""Dead units on a real data set: scikit-learn's bundled handwritten digits (1797 images of 8 × 8 pixels, no download).

`digits_runs` trains one small ReLU network per (relu'(0), learning rate, seed) with SGD on the same
mini-batches, so that twins differ only in the value taken for $\mathrm{relu}'(0)$, and reports the share of
dead units (inactive on every training image), the test accuracy, how many pre-activations were exactly 0,
and how far each pair of twins drifted apart.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import Tensor

from .activations import relu
from .dead_units import dead_fraction
from .models import MLP

__all__ = ["digits", "DigitsRuns", "digits_runs"]

TEST_SIZE = 297  # the last 297 images are held out: 1500 to train on


@functools.cache
def digits() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(x_train, y_train, x_test, y_test): pixels scaled to [0, 1] (float32), labels 0-9; the bundled order, split at 1500."""
    bunch = load_digits()
    x, y = torch.tensor(bunch.data / 16.0, dtype=torch.float32), torch.tensor(bunch.target, dtype=torch.int64)
    return x[:-TEST_SIZE], y[:-TEST_SIZE], x[-TEST_SIZE:], y[-TEST_SIZE:]


@dataclass(frozen=True)
class DigitsRuns:
    """Results indexed [relu'(0), learning rate, seed].

    Attributes:
        at_zero, lr, seeds: the axes.
        dead: the share of hidden units dead on the training images after training.
        accuracy: the share of test images classified correctly.
        exact_zeros: how many hidden pre-activations were exactly 0, summed over all training steps.
        twin_gap: (lr, seed): the largest parameter difference between the relu'(0) = at_zero[0] and at_zero[-1] runs.
    """

    at_zero: tuple[float, ...]
    lr: tuple[float, ...]
    seeds: tuple[int, ...]
    dead: Tensor
    accuracy: Tensor
    exact_zeros: Tensor
    twin_gap: Tensor


def digits_runs(
    lr: Sequence[float], *, at_zero: Sequence[float] = (0.0, 1.0), seeds: Sequence[int] = (0, 1),
    widths: Sequence[int] = (64, 32, 32, 10), steps: int = 300, batch_size: int = 64,
) -> DigitsRuns:  # fmt: skip
    r"""SGD on the cross-entropy of `MLP(widths)` (He initialisation) with $\sigma = \mathrm{relu}$, $\mathrm{relu}'(0)$ = each `at_zero`.

    Every run of a seed sees the same initial weights and the same mini-batches (drawn from that seed).
    """
    if not lr or min(lr) <= 0:
        raise ValueError(f"Invalid learning rates: {list(lr)} (expected positive values)")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"Invalid number of steps: {steps!r} (expected an int >= 1)")
    x, y, x_test, y_test = digits()
    shape = (len(at_zero), len(lr), len(seeds))
    dead, accuracy, exact_zeros = torch.zeros(shape), torch.zeros(shape), torch.zeros(shape, dtype=torch.int64)
    final: dict[tuple[int, int, int], Tensor] = {}
    for (a, slope_at_zero), (l, rate), (s, seed) in (
        (i, j, k) for i in enumerate(at_zero) for j in enumerate(lr) for k in enumerate(seeds)
    ):
        model = MLP(list(widths), activation=functools.partial(relu, at_zero=slope_at_zero), seed=seed)
        optimizer = torch.optim.SGD(model.parameters(), lr=rate)
        batches = torch.Generator().manual_seed(seed)
        for _ in range(steps):
            i = torch.randint(len(x), (batch_size,), generator=batches)
            exact_zeros[a, l, s] += sum(int((z == 0).sum()) for z in model.pre_activations(x[i]))
            optimizer.zero_grad()
            F.cross_entropy(model(x[i]), y[i]).backward()
            optimizer.step()
        dead[a, l, s] = dead_fraction(model, x)
        with torch.no_grad():
            accuracy[a, l, s] = (model(x_test).argmax(dim=1) == y_test).float().mean()
        final[a, l, s] = torch.cat([p.detach().flatten() for p in model.parameters()])
    twin_gap = torch.tensor([[(final[0, l, s] - final[len(at_zero) - 1, l, s]).abs().max().item() for s in range(len(seeds))]
                             for l in range(len(lr))])  # fmt: skip
    return DigitsRuns(tuple(at_zero), tuple(lr), tuple(seeds), dead, accuracy, exact_zeros, twin_gap)
