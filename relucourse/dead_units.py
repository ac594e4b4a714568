r"""Dead units: a ReLU unit is dead on a data set when its pre-activation $z_j(x) \le 0$ for every input $x$."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor, nn

from ._checks import finite_float, integer
from .activations import relu
from .models import MLP, init_layer
from .optim import Adam

__all__ = ["dead_units", "dead_fraction", "DeadUnitMonitor", "dead_fraction_by_lr", "born_dead_probability"]


def dead_units(pre_activations: Sequence[Tensor]) -> list[Tensor]:
    r"""$\mathrm{dead}_j = [\,z_{ij} \le 0 \text{ for every input } i\,]$, layer by layer.

    Args:
        pre_activations: one tensor per layer, of shape (n, width): row i is input i (as `MLP.pre_activations`).

    Returns:
        one bool tensor of shape (width,) per layer: True where the unit is inactive on all n inputs.
    """
    if isinstance(pre_activations, Tensor) or not isinstance(pre_activations, Sequence):
        raise TypeError(
            f"Invalid pre_activations: expected a sequence of Tensors, got {type(pre_activations).__name__}"
        )
    masks = []
    for z in pre_activations:
        if not isinstance(z, Tensor) or z.ndim != 2 or z.shape[0] == 0:
            shape = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
            raise ValueError(f"Invalid pre_activations: expected Tensors of shape (n >= 1, width), got {shape}")
        masks.append((z.detach() <= 0).all(dim=0))  # z_ij <= 0 for every i
    return masks


def dead_fraction(model: nn.Module, x: Tensor) -> float:
    r"""$\frac{\#\text{dead units}}{\#\text{units}}$ over all hidden layers of `model` on the data set `x`.

    `model` needs a `pre_activations(x)` method (e.g. `MLP`); call this between training steps as a callback.
    """
    if not callable(getattr(model, "pre_activations", None)):
        raise TypeError(f"Invalid model: expected a model with pre_activations(x), got {type(model).__name__}")
    with torch.no_grad():
        masks = dead_units(model.pre_activations(x))
    return float(sum(m.sum().item() for m in masks) / sum(m.numel() for m in masks))


class DeadUnitMonitor:
    r"""Forward hooks that record, at every forward pass, which units are inactive on every input of the pass.

    Hook the layers whose *outputs* are pre-activations, e.g. `MLP.layers[:-1]` or the `nn.Linear` layers
    before each `nn.ReLU` of an `nn.Sequential`. With full-batch training each pass is the whole data set,
    so `history[t]` is the number of dead units of each layer at step t. Use as a context manager, or call
    `remove()` when done.

    Attributes:
        history: one int64 tensor of shape (layers,) per forward pass: the dead units of each hooked layer.
        dead: the masks of the last pass, one bool tensor of shape (width,) per hooked layer.
    """

    def __init__(self, layers: Iterable[nn.Module]) -> None:
        layers = list(layers)
        if not layers or not all(isinstance(layer, nn.Module) for layer in layers):
            raise TypeError("Invalid layers: expected a non-empty iterable of nn.Module")
        self.history: list[Tensor] = []
        self.dead: list[Tensor] = []
        self._pass: dict[int, Tensor] = {}
        self._count = len(layers)
        self._handles = [layer.register_forward_hook(self._hook(i)) for i, layer in enumerate(layers)]

    def _hook(self, index: int):
        def record(module: nn.Module, inputs: tuple, z: Tensor) -> None:
            self._pass[index] = dead_units([z.reshape(-1, z.shape[-1])])[0]
            if len(self._pass) == self._count:  # every hooked layer has run: the pass is complete
                self.dead = [self._pass[i] for i in range(self._count)]
                self.history.append(torch.stack([m.sum() for m in self.dead]))
                self._pass = {}

        return record

    def fractions(self) -> Tensor:
        r"""The fraction of dead units over all hooked layers at each recorded pass, shape (passes,)."""
        if not self.history:
            return torch.empty(0, dtype=torch.float64)
        widths = sum(m.numel() for m in self.dead)
        return torch.stack(self.history).sum(dim=1).double() / widths

    def remove(self) -> None:
        """Detach the hooks; what was recorded stays."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> DeadUnitMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def dead_fraction_by_lr(
    widths: Sequence[int],
    x: Tensor,
    y: Tensor,
    *,
    lrs: Sequence[float],
    seeds: Sequence[int] = (0,),
    activation: Callable[[Tensor], Tensor] = relu,
    steps: int = 150,
) -> tuple[Tensor, Tensor]:
    r"""Full-batch Adam on $\mathrm{MSE}(\mathrm{MLP}(x), y)$ for every (learning rate, seed) at once; dead units at each step.

    Run $(l, s)$ starts from `MLP(widths, activation=activation, seed=seeds[s])` and takes `steps` steps of
    Adam (torch's defaults: $\beta = (0.9, 0.999)$, $\epsilon = 10^{-8}$) with learning rate `lrs[l]`. All runs are
    advanced together as one batched computation; each gets the gradient of its own loss. A run whose loss stops
    being finite is frozen there.

    Args:
        x, y: the data set, shapes (n, widths[0]) and (n, widths[-1]): every step sees all of it.

    Returns:
        dead of shape (steps + 1, L, S): the fraction of hidden units dead on `x` before each step and after the
        last; loss of shape (steps, L, S) float64: each run's loss before each step.
    """
    if not (isinstance(x, Tensor) and isinstance(y, Tensor) and x.ndim == y.ndim == 2 and len(x) == len(y)):
        raise ValueError("Invalid x, y: expected Tensors of shapes (n, in) and (n, out)")
    if not lrs:
        raise ValueError("Invalid lrs: expected one or more learning rates")
    for lr in lrs:
        finite_float("lrs", lr, lambda v: v > 0, "> 0")
    integer("steps", steps)
    nets = [MLP(widths, activation=activation, seed=seed) for seed in seeds]  # validates widths, seeds
    runs = len(lrs) * len(seeds)
    params = []  # run r = l * S + s starts from nets[s]: weights of shape (R, out, in), biases (R, 1, out)
    for k in range(len(widths) - 1):
        weight = torch.stack([net.layers[k].weight.detach() for _ in lrs for net in nets])
        bias = torch.stack([net.layers[k].bias.detach() for _ in lrs for net in nets])[:, None, :]
        params += [weight.clone().requires_grad_(True), bias.clone().requires_grad_(True)]
    lr = torch.tensor([float(lr) for lr in lrs]).repeat_interleave(len(seeds))  # (R,)
    optimizer = Adam(params, lr=lr)  # torch's defaults otherwise
    alive = torch.ones(runs, dtype=torch.bool)
    dead, losses = [], []
    for t in range(steps + 1):
        h, hidden = x.expand(runs, *x.shape), []
        for k in range(0, len(params), 2):
            z = torch.baddbmm(params[k + 1], h, params[k].transpose(1, 2))  # z = W h + b, shape (R, n, out)
            if k + 2 < len(params):
                hidden.append(z)
                h = activation(z)
        dead.append(torch.cat([zl.detach().amax(dim=1) <= 0 for zl in hidden], dim=1).double().mean(dim=1))
        if t == steps:
            break
        loss = ((z - y) ** 2).flatten(1).mean(dim=1)  # L_r = mean_i (f_r(x_i) - y_i)^2, shape (R,)
        losses.append(loss.detach().double())
        alive &= loss.detach().isfinite()
        optimizer.zero_grad()
        loss[alive].sum().backward()  # each run's own gradient
        optimizer.param_groups[0]["lr"] = torch.where(alive, lr, 0.0)  # a diverged run stays where it is
        optimizer.step()
    shape = (len(lrs), len(seeds))
    return torch.stack(dead).reshape(-1, *shape), torch.stack(losses).reshape(-1, *shape)


def born_dead_probability(
    depth: int, width: int, *, init: str = "he", dim: int = 1, nets: int = 1000, inputs: int = 100, seed: int = 0
) -> Tensor:
    r"""Monte Carlo $P(\text{a ReLU network with } l \text{ hidden layers is constant on the inputs})$, $l = 1..$`depth`.

    Draws `nets` ReLU networks with `depth` hidden layers of `width` units (input `dim`), all at once, and
    counts those in which one of the first $l$ hidden layers is dead on all `inputs` points
    $x \sim N(0, I_{dim})$: from that layer on every value is the same for every input, so the output is a
    constant (Lu, Shin, Su & Karniadakis 2019 call such a network *born dead*). The first $l$ layers of a deep
    network are distributed as a network of depth $l$, so one draw gives every depth.

    Args:
        init: "he" or "rai", as in `MLP`.
        seed: seeds both the inputs and the networks.

    Returns:
        float64 tensor of shape (depth,): entry l - 1 is the fraction of networks with l hidden layers born dead.
    """
    for name, value in (("depth", depth), ("width", width), ("dim", dim), ("nets", nets), ("inputs", inputs)):
        integer(name, value)
    generator = torch.Generator().manual_seed(seed)
    h = torch.randn(inputs, dim, generator=generator).expand(nets, inputs, dim).contiguous()  # same inputs for all
    dead = torch.zeros(nets, dtype=torch.bool)
    fractions = []
    for fan_in in [dim] + [width] * (depth - 1):
        weight, bias = init_layer(fan_in, width, init=init, generator=generator, copies=(nets,))
        z = torch.baddbmm(bias[:, None, :], h, weight.transpose(1, 2))  # z = W h + b, shape (nets, inputs, width)
        dead |= z.amax(dim=(1, 2)) <= 0  # every unit inactive on every input
        fractions.append(dead.double().mean())
        h = torch.relu(z)
    return torch.stack(fractions)
