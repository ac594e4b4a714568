"""The training loop: the mini-batch loss and every parameter at every step."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ._checks import integer

__all__ = ["History", "train"]


@dataclass
class History:
    r"""What training recorded: $L_t$ for $t < T$ and $\theta_t$ for $t \le T$.

    Attributes:
        loss: shape (steps,) float64, the mini-batch loss at each step, before its update.
        params: name -> shape (steps + 1, *param.shape): the initial value, then the value after each step.
    """

    loss: Tensor
    params: dict[str, Tensor]

    def per_epoch(self, steps_per_epoch: int) -> History:
        r"""Epoch $e$'s loss is the mean of its steps' losses (as Keras reports it); params at each epoch's end.

        Returns:
            a History with loss of shape (epochs,) and params of shape (epochs + 1, ...), the first the initial value.
        """
        integer("steps_per_epoch", steps_per_epoch)
        steps = self.loss.shape[0]
        if steps % steps_per_epoch:
            raise ValueError(f"Invalid steps_per_epoch: {steps_per_epoch} (expected a divisor of the {steps} steps)")
        epochs = steps // steps_per_epoch
        loss = self.loss.reshape(epochs, steps_per_epoch).mean(dim=1)  # L_e = mean of epoch e's L_t
        params = {name: values[::steps_per_epoch] for name, values in self.params.items()}  # θ_0, θ_k, θ_2k, …
        return History(loss, params)


def train(
    model: nn.Module,
    batches: Iterable[tuple[Tensor, Tensor]],
    *,
    optimizer: torch.optim.Optimizer,
    steps: int,
    loss_fn: Callable[[Tensor, Tensor], Tensor] = F.mse_loss,
    progress: bool = False,
) -> History:
    r"""Take `steps` optimizer steps $\theta_{t+1} = \mathrm{update}(\theta_t, \nabla L_t)$, one batch each.

    Args:
        model: maps x to predictions compared with y by `loss_fn`.
        batches: yields (x, y); at least `steps` of them.
        optimizer: steps the model's parameters.
        steps: the number of steps, an int >= 1.
        progress: show a tqdm progress bar.

    Returns:
        the History of the mini-batch loss and of every named parameter.

    Raises:
        FloatingPointError: the loss at step t (0-based, `history.loss[t]`) is not finite; training stops
            after that step and the error's `history` attribute holds what was recorded.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"Invalid model: expected a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"Invalid optimizer: expected a torch.optim.Optimizer, got {type(optimizer).__name__}")
    integer("steps", steps)
    named = dict(model.named_parameters())
    params = {name: torch.empty(steps + 1, *p.shape, dtype=p.dtype) for name, p in named.items()}
    loss = torch.empty(steps, dtype=torch.float64)
    for name, p in named.items():
        params[name][0] = p.detach()  # θ_0
    stream = iter(batches)
    for t in tqdm(range(steps), disable=not progress, desc="training"):
        try:
            x, y = next(stream)
        except StopIteration:
            raise ValueError(f"Invalid batches: ran out after {t} batches (expected steps={steps})") from None
        optimizer.zero_grad()
        batch_loss = loss_fn(model(x), y)  # L_t(θ_t)
        batch_loss.backward()
        optimizer.step()  # θ_{t+1}
        loss[t] = batch_loss.detach()
        for name, p in named.items():
            params[name][t + 1] = p.detach()
        if not math.isfinite(loss[t]):
            error = FloatingPointError(f"loss is {loss[t].item()} at step {t}: training diverged")
            error.history = History(loss[: t + 1], {name: v[: t + 2] for name, v in params.items()})
            raise error
    return History(loss, params)
