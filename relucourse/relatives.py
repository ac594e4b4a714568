r"""ReLU's relatives (leaky ReLU, PReLU, ELU, GELU) compared side by side on the same problem."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import callable_, finite_tensor, one_thread
from .data import teacher_student_batches
from .models import MLP, Neuron
from .train import train

__all__ = [
    "relatives",
    "neuron_loss",
    "SideBySide",
    "MLPFamily",
    "SummedMSE",
    "Runs",
    "compare_neurons",
    "compare_mlps",
]

_NODES = 200  # Gauss–Legendre nodes on each half-line: exact to float64 rounding for these smooth pieces
_CUTOFF = 12.0  # the normal density beyond 12 is below 1e-31


def relatives() -> dict[str, Callable[[Tensor], Tensor]]:
    r"""Fresh activations by name: ReLU, leaky ReLU ($\alpha = 0.01$ and Keras's $0.3$), PReLU, ELU, GELU.

    They are PyTorch's own functions, which take $\sigma'(0)$ from the left ($\mathrm{relu}'(0) = 0$, $\alpha$ for a leaky
    ReLU), as `relucourse.relu` and `relucourse.leaky_relu` do by default, and run faster.

    - leaky ReLU: $\sigma_\alpha(z) = z$ for $z > 0$, $\alpha z$ otherwise (Maas et al. 2013);
    - PReLU: the same with $\alpha$ a learned parameter, from 0.25 (He et al. 2015): an `nn.PReLU`, so call
      this function once per model, or the models would share it;
    - ELU: $z$ for $z > 0$, $e^z - 1$ otherwise (Clevert et al. 2016);
    - GELU: $z\,\Phi(z)$ (Hendrycks and Gimpel 2016).
    """
    return {
        "ReLU": torch.relu,  # relu'(0) = 0
        "leaky 0.01": partial(F.leaky_relu, negative_slope=0.01),  # σ'(0) = α, as `relucourse.leaky_relu`
        "leaky 0.3": partial(F.leaky_relu, negative_slope=0.3),
        "PReLU": nn.PReLU(init=0.25),
        "ELU": F.elu,
        "GELU": F.gelu,
    }


def neuron_loss(activation: Callable[[Tensor], Tensor], w) -> Tensor:
    r"""$L(w) = \mathbb{E}_{x \sim N(0,1)}[(\sigma(wx) - \mathrm{relu}(x))^2]$ by Gauss–Legendre quadrature on each half-line.

    Both $\sigma(wx)$ and $\mathrm{relu}(x)$ are smooth on $x < 0$ and on $x > 0$ (their kinks sit at $x = 0$), so
    200 nodes on each of $[-12, 0]$ and $[0, 12]$ give the expectation to float64 rounding.

    Args:
        activation: $\sigma$, applied elementwise (e.g. one of :func:`relatives`).
        w: the student's weight, a float or a tensor of any shape.

    Returns:
        float64 tensor of the shape of ``w``.
    """
    callable_("activation", activation)
    w = finite_tensor("w", w)
    nodes, weights = (torch.from_numpy(a) for a in np.polynomial.legendre.leggauss(_NODES))
    x = torch.cat([(nodes - 1) * _CUTOFF / 2, (nodes + 1) * _CUTOFF / 2])  # [-12, 0] then [0, 12]
    density = torch.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)  # φ(x)
    q = torch.cat([weights, weights]) * _CUTOFF / 2 * density  # quadrature weights times φ
    with torch.no_grad():
        student = activation(w[..., None] * x)  # σ(w x), shape (*w.shape, 400)
        return ((student - torch.relu(x)) ** 2 * q).sum(dim=-1).to(torch.float64)


class SideBySide(nn.Module):
    r"""$x \mapsto (f_1(x), \dots, f_K(x))$: $K$ models on the same input, outputs stacked along a new first dimension.

    Trained with one optimizer and :class:`SummedMSE`, each model gets the gradient of its own loss,
    on the same batches: the models differ only in what they were built with (e.g. the activation).

    Args:
        models: name -> model; every model maps the same x to outputs of the same shape.
    """

    def __init__(self, models: Mapping[str, nn.Module]) -> None:
        super().__init__()
        if not isinstance(models, Mapping) or not models:
            raise TypeError(
                f"Invalid models: expected a non-empty mapping name -> nn.Module, got {type(models).__name__}"
            )
        if not all(isinstance(m, nn.Module) for m in models.values()):
            raise TypeError("Invalid models: every value must be an nn.Module")
        self.names = [str(name) for name in models]
        self.models = nn.ModuleList(models.values())

    def forward(self, x: Tensor) -> Tensor:
        """Shape (K, *output shape): row k is model k's output."""
        return torch.stack([model(x) for model in self.models])

    def __getitem__(self, name: str) -> nn.Module:
        return self.models[self.names.index(name)]


class MLPFamily(nn.Module):
    r"""`MLP(widths, seed=s)` once for each activation and each seed, as one batched network.

    Model $(a, s)$ starts from the weights of `MLP(widths, seed=s)` whatever its activation $a$, so models
    with the same seed differ only in their activation. Row $m = a \cdot S + s$ of every tensor is model $(a, s)$.
    A PReLU (an `nn.PReLU` in `activations`) gets its own learned slope in each model, starting from the
    module's value.

    Args:
        widths: [in, h1, ..., out], as for `MLP`.
        activations: name -> $\sigma$, A of them, e.g. :func:`relatives`.
        seeds: S seeds of the starting weights.
    """

    def __init__(
        self,
        widths: Sequence[int],
        activations: Mapping[str, Callable[[Tensor], Tensor]],
        *,
        seeds: Sequence[int] = (0,),
    ) -> None:
        super().__init__()
        if not isinstance(activations, Mapping) or not activations:
            raise TypeError("Invalid activations: expected a non-empty mapping name -> activation")
        if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not seeds:
            raise ValueError(f"Invalid seeds: {seeds!r} (expected a non-empty sequence of ints)")
        nets = [MLP(widths, seed=seed) for seed in seeds]  # validates widths and seeds
        self.names, self.seeds, self.widths = list(activations), list(seeds), tuple(widths)
        self.activations = list(activations.values())
        copies = len(self.names) * len(self.seeds)
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for layer in range(len(widths) - 1):
            weight = torch.stack([net.layers[layer].weight.detach() for net in nets])  # (S, out, in)
            bias = torch.stack([net.layers[layer].bias.detach() for net in nets])  # (S, out)
            self.weights.append(nn.Parameter(weight.repeat(len(self.names), 1, 1)))  # (A * S, out, in)
            self.biases.append(nn.Parameter(bias.repeat(len(self.names), 1)))  # (A * S, out)
        self.prelu_slopes = nn.ParameterDict(
            {
                str(a): nn.Parameter(act.weight.detach().reshape(()).repeat(len(self.seeds)))  # one slope per model
                for a, act in enumerate(self.activations)
                if isinstance(act, nn.PReLU)
            }
        )
        self.copies = copies

    def _activate(self, z: Tensor) -> Tensor:
        groups = z.reshape(len(self.names), len(self.seeds), *z.shape[1:])  # (A, S, n, width)
        out = []
        for a, (group, act) in enumerate(zip(groups, self.activations)):
            if str(a) in self.prelu_slopes:
                slope = self.prelu_slopes[str(a)][:, None, None]
                out.append(torch.where(group > 0, group, slope * group))  # PReLU: α z for z <= 0, α learned
            else:
                out.append(act(group))
        return torch.stack(out).reshape(z.shape)

    def pre_activations(self, x: Tensor) -> list[Tensor]:
        r"""$[z_1, \dots, z_{L-1}]$, each of shape (A * S, n, h_l): every model's hidden pre-activations."""
        if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != self.widths[0]:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"Invalid x: expected a Tensor of shape (n, {self.widths[0]}), got {shape}")
        h, z = x.expand(self.copies, *x.shape), []
        for weight, bias in zip(self.weights[:-1], self.biases[:-1]):
            z.append(torch.baddbmm(bias[:, None, :], h, weight.transpose(1, 2)))  # z_l = W_l h_{l-1} + b_l
            h = self._activate(z[-1])  # h_l = σ(z_l)
        return z

    def forward(self, x: Tensor) -> Tensor:
        """Shape (A * S, n, out): row a * S + s is model (a, s)."""
        z = self.pre_activations(x)
        h = self._activate(z[-1]) if z else x.expand(self.copies, *x.shape)
        return torch.baddbmm(self.biases[-1][:, None, :], h, self.weights[-1].transpose(1, 2))

    def dead_fractions(self, x: Tensor) -> Tensor:
        r"""Shape (A, S): each model's share of hidden units with $z \le 0$ on every input of `x`."""
        with torch.no_grad():
            dead = torch.cat([(z <= 0).all(dim=1) for z in self.pre_activations(x)], dim=1)  # (A * S, units)
        return dead.double().mean(dim=1).reshape(len(self.names), len(self.seeds))


class SummedMSE:
    r"""$\sum_k \frac1n \sum_i (f_k(x_i) - y_i)^2$: each model's own MSE, summed, and recorded at every call.

    The sum has each model's MSE as the only term that depends on that model's parameters, so its gradient
    is, model by model, the gradient of that model's own loss. A model whose loss is no longer finite has
    diverged: it is left out of the sum (its loss is still recorded), so the others train on.
    Use as `train(..., loss_fn=SummedMSE())`.

    Attributes:
        per_model: one float64 tensor of shape (K,) per call: each model's loss before that step.
    """

    def __init__(self) -> None:
        self.per_model: list[Tensor] = []

    def __call__(self, predictions: Tensor, y: Tensor) -> Tensor:
        """predictions of shape (K, n) or (K, n, 1), y of shape (n,)."""
        if predictions.ndim == y.ndim + 2 and predictions.shape[-1] == 1:
            predictions = predictions.squeeze(-1)  # an MLP's (n, 1) output against y of shape (n,)
        if predictions.shape[1:] != y.shape:
            raise ValueError(
                f"Invalid predictions: shape {tuple(predictions.shape)} does not match y's {tuple(y.shape)} "
                "(expected (K, *y.shape))"
            )
        losses = ((predictions - y) ** 2).flatten(1).mean(dim=1)  # L_k = mean_i (f_k(x_i) - y_i)^2
        self.per_model.append(losses.detach().to(torch.float64))
        return torch.where(losses.isfinite(), losses, 0.0).sum()  # a diverged model drops out; the others train on

    def history(self) -> Tensor:
        """Shape (calls, K): row t holds each model's loss at call t."""
        if not self.per_model:
            raise ValueError("Invalid history: SummedMSE has not been called yet")
        return torch.stack(self.per_model)


@dataclass
class Runs:
    r"""Runs that differ only in the activation, trained side by side on the same batches.

    Attributes:
        names: the activations, A of them.
        loss: float64, shape (steps, A, S): each run's batch loss before each step (S seeds; S = 1 for neurons).
        params: name -> shape (steps + 1, ...): every parameter at every step (see `train`).
        dead_start, dead_end: shape (A, S), MLPs only: the share of hidden units dead on the probe inputs
            ($z \le 0$ on every one) before and after training.
    """

    names: list[str]
    loss: Tensor
    params: dict[str, Tensor]
    dead_start: Tensor | None = None
    dead_end: Tensor | None = None

    def steps_to(self, level: float) -> Tensor:
        r"""Shape (A, S): the first step whose batch loss is below `level`, or -1 for a run that never gets there."""
        below = self.loss < level
        first = below.double().argmax(dim=0)
        return torch.where(below.any(dim=0), first, torch.full_like(first, -1))


def compare_neurons(
    activations: Mapping[str, Callable[[Tensor], Tensor]],
    *,
    w0: float,
    lr: float = 0.01,
    steps: int = 2000,
    batch_size: int = 1000,
    seed: int = 0,
) -> Runs:
    r"""The seed's problem once per activation: student $\sigma(wx)$ from $w_0$, teacher $\mathrm{relu}(x)$, plain SGD.

    Args:
        activations: name -> $\sigma$ (e.g. :func:`relatives`, called fresh).
        w0: the common start; lr, steps, batch_size: the SGD run; seed: the batches' stream.

    Returns:
        `Runs` with loss of shape (steps, A, 1); the weight of activation `a` is ``params[f"models.{a}.weight"]``.
    """
    models = SideBySide({name: Neuron(w0, activation=act) for name, act in activations.items()})
    teacher = Neuron(1.0).requires_grad_(False)
    loss_fn = SummedMSE()
    with one_thread():
        history = train(
            models,
            teacher_student_batches(teacher, batch_size=batch_size, seed=seed),
            optimizer=torch.optim.SGD(models.parameters(), lr=lr),
            steps=steps,
            loss_fn=loss_fn,
        )
    return Runs(models.names, loss_fn.history()[:, :, None], history.params)


def compare_mlps(
    widths: Sequence[int],
    activations: Mapping[str, Callable[[Tensor], Tensor]],
    *,
    teacher: Callable[[Tensor], Tensor],
    seeds: Sequence[int] = (0, 1, 2, 3),
    lr: float = 0.01,
    steps: int = 2000,
    batch_size: int = 128,
    probe_size: int = 4096,
    seed: int = 0,
) -> Runs:
    r"""An `MLPFamily` trained with plain SGD on a teacher: every activation from the same starts, on the same batches.

    Args:
        widths: the MLP's [in, h1, ..., 1].
        activations: name -> $\sigma$.
        teacher: maps x of shape (n, in) to y of shape (n,).
        seeds: the starting weights (`MLP(widths, seed=s)`), S of them.
        lr, steps, batch_size: the SGD run; seed: the batches' stream. Dead units are counted on `probe_size`
            further inputs from seed + 1.

    Returns:
        `Runs` with loss of shape (steps, A, S) and the dead-unit shares before and after training.
    """
    family = MLPFamily(widths, activations, seeds=seeds)
    probe = next(teacher_student_batches(teacher, batch_size=probe_size, dim=widths[0], seed=seed + 1))[0]
    dead_start = family.dead_fractions(probe)
    loss_fn = SummedMSE()
    with one_thread():
        history = train(
            family,
            teacher_student_batches(teacher, batch_size=batch_size, dim=widths[0], seed=seed),
            optimizer=torch.optim.SGD(family.parameters(), lr=lr),
            steps=steps,
            loss_fn=loss_fn,
        )
    loss = loss_fn.history().reshape(steps, len(family.names), len(family.seeds))
    return Runs(family.names, loss, history.params, dead_start, family.dead_fractions(probe))
