r"""Many runs of the single-neuron problem at once: a grid of starts × optimizers × learning rates, one batched computation.

Student $\sigma_\alpha(wx + b)$ (the bias is optional), teacher $\mathrm{relu}(vx + c)$, $x \sim N(0, 1)$, squared
error. In the engine, dimension 0 of every tensor is the run. Each run has its own start, learning
rate and optimizer (SGD or Adam from `relucourse.optim` or `torch.optim`, with their hyper-parameters),
and one step applies the optimizers' update rules to all runs at once. The gradient is either

- ``"exact"``: the population gradient, in closed form ($\nabla L$ of `relucourse.landscape`), or
- ``"sampled"``: the gradient of the mean squared error on a batch of `batch_size` inputs, the same
  batch for every run at a given step (common random numbers), drawn by `teacher_student_batches`.

`trajectory` is the plain one-run loop (a parameter, an optimizer object, a loop of steps) that the
engine is tested against, run by run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from . import optim
from ._checks import finite_float, finite_tensor, float_dtype, integer, one_thread, pair
from .activations import leaky_relu
from .data import teacher_student_batches
from .landscape import population_grad
from .optim import iterate

__all__ = ["Outcome", "OptimizerSpec", "Run", "Sweep", "sweep", "trajectory", "classify"]

OptimizerSpec = tuple[type[Optimizer], Mapping[str, Any]]
"""An optimizer class and its hyper-parameters other than the learning rate, e.g. ``(SGD, {"momentum": 0.9})``."""

GRADIENTS = ("exact", "sampled")


class Outcome(IntEnum):
    """Where a run ended."""

    REACHED = 0  # within `tol` of the target (the teacher) in every parameter
    STUCK = 1  # finite and bounded, but not at the target: at the kink, or still creeping towards it
    DIVERGED = 2  # left |θ| <= bound (or became NaN); the run was stopped there


@dataclass(frozen=True)
class Run:
    """One run of a `Sweep`: where it ended, its last parameters, and every step's if they were recorded."""

    outcome: Outcome
    w: float
    b: float | None
    w_path: Tensor | None
    b_path: Tensor | None


@dataclass
class Sweep:
    r"""Every run of a grid: index ``[o, l, *s]`` is optimizer ``names[o]``, learning rate ``lr[l]``, start ``s``.

    Attributes:
        names: the optimizers' labels, O of them.
        lr: the learning rates, shape (L,).
        w, b: the last parameters, shape (O, L, *start_shape); ``b`` is None for a student without bias.
        outcome: `Outcome` codes (int64), shape (O, L, *start_shape).
        w_path, b_path: every step's parameters, shape (steps + 1, O, L, *start_shape), if recorded.
        w0, b0: the starts, shape start_shape; ``b0`` is None for a student without bias.
    """

    names: tuple[str, ...]
    lr: Tensor
    w: Tensor
    b: Tensor | None
    outcome: Tensor
    w_path: Tensor | None = None
    b_path: Tensor | None = None
    w0: Tensor | None = None
    b0: Tensor | None = None

    def __getitem__(self, name: str) -> Tensor:
        """The outcomes of optimizer `name`, shape (L, *start_shape)."""
        return self.outcome[self._optimizer(name)]

    def lr_index(self, lr: float) -> int:
        """The index of learning rate `lr` in ``lr`` (equal to 1e-9 relative); a ValueError if it is not there."""
        found = torch.isclose(self.lr, torch.tensor(float(lr), dtype=self.lr.dtype), rtol=1e-9, atol=0).nonzero()
        if len(found) != 1:
            raise ValueError(f"no learning rate {lr} in this sweep (it has {self.lr.tolist()})")
        return int(found[0])

    def run(self, name: str, lr: float, w0: float | None = None, b0: float | None = None) -> Run:
        """The run of optimizer `name` at learning rate `lr` from the start (`w0`, `b0`), values on the grid (to
        1e-9 relative); a coordinate left None selects every start, which must then be one."""
        chosen = torch.ones(self.outcome.shape[2:], dtype=torch.bool)
        for label, starts, value in (("w0", self.w0, w0), ("b0", self.b0, b0)):
            if value is not None:
                if starts is None:
                    raise ValueError(f"no {label} in this sweep to select by")
                chosen &= torch.isclose(starts, torch.tensor(float(value), dtype=starts.dtype), rtol=1e-9, atol=0)
        found = chosen.nonzero()
        if len(found) != 1:
            raise ValueError(f"{len(found)} starts of this sweep have w0={w0}, b0={b0} (expected one)")
        index = (self._optimizer(name), self.lr_index(lr), *found[0].tolist())
        return Run(
            Outcome(int(self.outcome[index])),
            self.w[index].item(),
            None if self.b is None else self.b[index].item(),
            None if self.w_path is None else self.w_path[(slice(None), *index)],
            None if self.b_path is None else self.b_path[(slice(None), *index)],
        )

    def _optimizer(self, name: str) -> int:
        if name not in self.names:
            raise KeyError(f"no optimizer {name!r} in this sweep (it has {list(self.names)})")
        return self.names.index(name)


def classify(
    w: Tensor,
    b: Tensor | None = None,
    *,
    target: tuple[float, float] = (1.0, 0.0),
    tol: float = 1e-2,
    bound: float = 1e6,
) -> Tensor:
    r"""`Outcome` per run: DIVERGED unless $|w|, |b| \le$ bound; REACHED if $|w - w^*|, |b - b^*| <$ tol; else STUCK.

    Args:
        w, b: final parameters, broadcastable shapes (b None: no bias, only w is compared).
        target: $(w^*, b^*)$, by default the course's teacher (1, 0).
    Returns:
        int64 tensor of Outcome codes, the broadcast shape.
    """
    finite_float("tol", tol, lambda v: v > 0, "> 0")
    finite_float("bound", bound, lambda v: v > 0, "> 0")
    w_star, b_star = pair("target", target)
    b = torch.zeros_like(w) if b is None else b
    bounded = (w.abs() <= bound) & (b.abs() <= bound)  # NaN compares False: diverged
    reached = ((w - w_star).abs() < tol) & ((b - b_star).abs() < tol)
    outcome = torch.full(
        torch.broadcast_shapes(w.shape, b.shape), int(Outcome.STUCK), dtype=torch.int64, device=w.device
    )
    outcome[reached & bounded] = int(Outcome.REACHED)
    outcome[~bounded] = int(Outcome.DIVERGED)
    return outcome


def sweep(
    w0: Tensor | float | Sequence[float],
    b0: Tensor | float | Sequence[float] | None = None,
    *,
    lr: Tensor | float | Sequence[float],
    optimizers: Mapping[str, OptimizerSpec],
    steps: int,
    gradient: str = "exact",
    batch_size: int = 1000,
    seed: int = 0,
    slope: float = 0.0,
    teacher: tuple[float, float] = (1.0, 0.0),
    target: tuple[float, float] | None = None,
    tol: float = 1e-2,
    bound: float = 1e6,
    record: bool = False,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float64,
    progress: bool = False,
) -> Sweep:
    r"""Run every (optimizer, learning rate, start) of the grid for `steps` steps, all runs in one tensor.

    Args:
        w0: starting weights, any shape S (e.g. a 2-D meshgrid for a map).
        b0: starting biases, broadcastable to S; None for a student without bias (b stays 0).
        lr: learning rates, a float or shape (L,).
        optimizers: label -> (class, hyper-parameters), O of them; classes: SGD or Adam from
            `relucourse.optim` or `torch.optim` (not AdamW, not ``maximize``).
        steps: the number of steps, an int >= 0.
        gradient: ``"exact"`` (population) or ``"sampled"`` (batches of `batch_size`, one stream from `seed`).
        slope: the student's left slope $\alpha$ (0: ReLU).
        teacher: $(v, c)$ of the teacher $\mathrm{relu}(vx + c)$.
        target, tol, bound: for `classify` (target defaults to the teacher).
        record: keep every step's parameters (memory: (steps + 1) × runs values).
        device: where the runs live (CPU by default; e.g. ``"cuda"``).
        dtype: the runs' floating-point dtype (and the batches').
        progress: show a tqdm progress bar.

    Returns:
        a `Sweep` with results of shape (O, L, *S).
    """
    _check_problem(steps=steps, gradient=gradient, batch_size=batch_size, seed=seed, slope=slope, teacher=teacher)
    target = teacher if target is None else pair("target", target)
    classify(torch.zeros(1), target=target, tol=tol, bound=bound)  # checks tol, bound and target before the run
    float_dtype(dtype)
    device = torch.device("cpu" if device is None else device)
    if not isinstance(optimizers, Mapping) or len(optimizers) == 0:
        raise ValueError("Invalid optimizers: expected a non-empty mapping label -> (optimizer class, options)")
    rules = [_rule(name, spec) for name, spec in optimizers.items()]
    w0 = finite_tensor("w0", w0, dtype).cpu()
    has_bias = b0 is not None
    b0 = finite_tensor("b0", b0, dtype).cpu() if has_bias else torch.zeros_like(w0)
    w0, b0 = torch.broadcast_tensors(w0, b0)
    lr = finite_tensor("lr", lr, dtype).reshape(-1).cpu()
    if lr.numel() == 0 or (lr < 0).any():
        raise ValueError(f"Invalid learning rate: {lr.tolist()} (expected one or more finite numbers >= 0)")
    grid = (len(rules), lr.numel(), *w0.shape)
    if record and math.prod(grid) * (steps + 1) > 10**8:
        raise ValueError(f"Invalid record: {math.prod(grid)} runs × {steps + 1} steps is too much to keep")
    params = [p.expand(grid).reshape(-1).to(device, copy=True).contiguous() for p in ([w0, b0] if has_bias else [w0])]
    if gradient == "exact":

        def grad(w: Tensor, b: Tensor | float = 0.0) -> tuple[Tensor, Tensor]:  # ∇L(θ), exact; no bias: b stays 0
            return tuple(g.to(dtype) for g in population_grad(w, b, slope=slope, teacher=teacher))
    else:
        grad = _sampled_grad_fn(slope, teacher, batch_size=batch_size, seed=seed, dtype=dtype, device=device)
    with one_thread(device):
        paths = iterate(
            params,
            grad,
            _optimizers(rules, lr, grid, params),
            steps=steps,
            bound=bound,
            record=record,
            progress="sweep" if progress else None,
        )
    paths = [path.reshape(-1, *grid) for path in paths]
    w, b = paths[0][-1], (paths[1][-1] if has_bias else None)
    return Sweep(
        tuple(optimizers),
        lr.to(device),
        w,
        b,
        classify(w, b, target=target, tol=tol, bound=bound),
        paths[0] if record else None,
        paths[1] if record and has_bias else None,
        w0,
        b0 if has_bias else None,
    )


def trajectory(
    w0: float,
    b0: float | None = None,
    *,
    lr: float,
    optimizer: OptimizerSpec,
    steps: int,
    gradient: str = "exact",
    batch_size: int = 1000,
    seed: int = 0,
    slope: float = 0.0,
    teacher: tuple[float, float] = (1.0, 0.0),
    bound: float = 1e6,
    dtype: torch.dtype = torch.float64,
) -> tuple[Tensor, Tensor | None]:
    r"""One run the plain way: parameters, an optimizer object, and a Python loop of `steps` steps.

    The reference for `sweep`: the same problem and arguments, one run. A run that leaves
    $|\theta| \le$ bound stops there (its path repeats that value), as in `sweep`.

    Returns:
        the paths of w and b, shape (steps + 1,) each, the start first; b is None without a bias.
    """
    _check_problem(steps=steps, gradient=gradient, batch_size=batch_size, seed=seed, slope=slope, teacher=teacher)
    cls, options = optimizer
    w = torch.tensor(float(w0), dtype=dtype, requires_grad=True)
    b = None if b0 is None else torch.tensor(float(b0), dtype=dtype, requires_grad=True)
    params = [w] if b is None else [w, b]
    opt = cls(params, lr=lr, **options)
    batches = _batches(teacher, batch_size, seed, dtype) if gradient == "sampled" else None
    path = torch.empty(steps + 1, len(params), dtype=dtype)
    path[0] = torch.stack([p.detach() for p in params])
    for t in range(steps):
        opt.zero_grad()
        if batches is None:  # ∇L(θ_t), exact
            grads = population_grad(w.detach(), 0.0 if b is None else b.detach(), slope=slope, teacher=teacher)
            for p, g in zip(params, grads):
                p.grad = g.to(dtype)
        else:  # ∇ of the batch's mean squared error, by autograd
            x, y = next(batches)
            z = w * x[:, 0] + (0.0 if b is None else b)
            ((leaky_relu(z, slope) - y) ** 2).mean().backward()
        opt.step()
        path[t + 1] = torch.stack([p.detach() for p in params])
        if not (path[t + 1].abs() <= bound).all():  # diverged: stop, and stay there
            path[t + 2 :] = path[t + 1]
            break
    return path[:, 0], (None if b is None else path[:, 1])


# --- the engine --------------------------------------------------------------------------------------------------


def _rule(name: str, spec: OptimizerSpec) -> tuple[type[Optimizer], dict[str, Any]]:
    """`relucourse.optim`'s class for one optimizer and its options, validated by its own class."""
    if not (isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[1], Mapping)):
        raise TypeError(
            f"Invalid optimizer {name!r}: expected (optimizer class, dict of hyper-parameters), got {spec!r}"
        )
    cls, options = spec
    if "lr" in options:
        raise ValueError(f"Invalid optimizer {name!r}: give the learning rates through lr=, not in its options")
    ours = next((o for o, t in _KNOWN.items() if isinstance(cls, type) and issubclass(cls, (o, t))), None)
    if ours is None:
        raise TypeError(
            f"Invalid optimizer {name!r}: the engine knows SGD and Adam (relucourse.optim or torch.optim), got {cls!r}"
        )
    group = cls([torch.zeros(1, requires_grad=True)], lr=0.0, **options).param_groups[0]
    for unsupported in ("maximize", "decoupled_weight_decay"):
        if group.get(unsupported):
            raise ValueError(f"Invalid optimizer {name!r}: {unsupported}=True is not supported by the engine")
    return ours, {key: group[key] for key in _NEUTRAL[ours]}


_KNOWN = {optim.SGD: torch.optim.SGD, optim.Adam: torch.optim.Adam}
# what a run that is not the optimizer's own gets: finite steps of size 0
_NEUTRAL = {
    optim.SGD: {"momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False},
    optim.Adam: {"betas": None, "eps": 1.0, "weight_decay": 0.0, "amsgrad": False},
}


def _optimizers(
    rules: list[tuple[type[Optimizer], dict[str, Any]]], lr: Tensor, grid: tuple[int, ...], params: list[Tensor]
) -> list[Optimizer]:
    """One optimizer of each class over all runs; the runs of the other class have learning rate 0 in it.

    A hyper-parameter that all runs share stays a number; the others are tensors of shape (runs,).
    """
    device, dtype = params[0].device, params[0].dtype

    def per_run(values: list) -> Any:  # one value per optimizer -> one per run
        if all(v == values[0] for v in values):
            return values[0]
        t = torch.tensor(values, dtype=torch.bool if isinstance(values[0], bool) else dtype)
        return t.reshape(-1, *[1] * (len(grid) - 1)).expand(grid).reshape(-1).to(device)

    optimizers = []
    for cls, neutral in _NEUTRAL.items():
        own = [c is cls for c, _ in rules]
        if not any(own):
            continue
        first = rules[own.index(True)][1]
        fill = {key: first[key] if value is None else value for key, value in neutral.items()}
        options = {key: [opts[key] if mine else fill[key] for mine, (_, opts) in zip(own, rules)] for key in neutral}
        if "betas" in options:
            options["betas"] = tuple(per_run([betas[i] for betas in options["betas"]]) for i in range(2))
        options = {key: value if key == "betas" else per_run(value) for key, value in options.items()}
        mine = torch.tensor(own, dtype=dtype).reshape(-1, 1, *[1] * (len(grid) - 2))
        run_lr = (mine * lr.reshape(1, -1, *[1] * (len(grid) - 2))).expand(grid).reshape(-1).to(device)
        optimizers.append(cls(params, lr=run_lr, **options))
    return optimizers


def _sampled_grad_fn(
    slope: float, teacher: tuple[float, float], *, batch_size: int, seed: int, dtype: torch.dtype, device: torch.device
) -> Callable[[Tensor, Tensor | None], tuple[Tensor, Tensor]]:
    r"""Each call: the next batch's $\nabla \frac1n \sum_i (\sigma_\alpha(w x_i + b) - y_i)^2$ for every run.

    Run $r$ is active ($z_i > 0$) on the $x_i$ beyond its kink, a prefix or a suffix of the sorted batch, so
    $\frac{n}{2}\partial_w = \sum_A (z_i - y_i) x_i + \alpha \sum_{A^c} (\alpha z_i - y_i) x_i$ needs only prefix sums of
    $1, x, x^2, y, xy$ over the sorted batch: $O(n \log n + \text{runs} \log n)$ per step instead of $O(n \cdot \text{runs})$.
    """
    alpha = slope
    batches = _batches(teacher, batch_size, seed, dtype)

    def grad(w: Tensor, b: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x, y = next(batches)
        x, order = torch.sort(x[:, 0].to(device))
        y = y.to(device)[order]
        prefix = torch.cumsum(torch.stack([torch.ones_like(x), x, x * x, y, x * y]), dim=1)
        prefix = torch.cat([torch.zeros_like(prefix[:, :1]), prefix], dim=1)  # (5, n + 1): sums over x_(0..k-1)
        total = prefix[:, -1:]
        bias = torch.zeros_like(w) if b is None else b
        kink = -bias / torch.where(w != 0, w, 1.0)  # z_i > 0 iff x_i > kink (w > 0) or x_i < kink (w < 0)
        above = prefix[:, -1:] - prefix[:, torch.searchsorted(x, kink, right=True)]  # sums over x_i > kink
        below = prefix[:, torch.searchsorted(x, kink, right=False)]  # sums over x_i < kink
        everything = torch.where(bias > 0, total, 0.0)  # w = 0: active everywhere if b > 0
        on = torch.where(w > 0, above, torch.where(w < 0, below, everything))  # Σ_A of 1, x, x², y, xy
        off = total - on  # Σ over A^c
        n1, nx, nxx, ny, nxy = on
        f1, fx, fxx, fy, fxy = off
        grad_w = w * nxx + bias * nx - nxy + alpha * (alpha * (w * fxx + bias * fx) - fxy)  # Σ σ'(σ - y) x
        grad_b = w * nx + bias * n1 - ny + alpha * (alpha * (w * fx + bias * f1) - fy)  # Σ σ'(σ - y)
        return 2 * grad_w / batch_size, 2 * grad_b / batch_size

    return grad


def _batches(
    teacher: tuple[float, float], batch_size: int, seed: int, dtype: torch.dtype
) -> Iterator[tuple[Tensor, Tensor]]:
    v, c = teacher
    return teacher_student_batches(lambda x: torch.relu(v * x[:, 0] + c), batch_size=batch_size, seed=seed, dtype=dtype)


# --- validation --------------------------------------------------------------------------------------------------


def _check_problem(*, steps, gradient, batch_size, seed, slope, teacher) -> None:
    integer("steps", steps, least=0)
    if gradient not in GRADIENTS:
        raise ValueError(f"Invalid gradient: {gradient!r} (expected one of {GRADIENTS})")
    integer("batch_size", batch_size)
    integer("seed", seed, least=None)
    finite_float("slope", slope)
    pair("teacher", teacher)
