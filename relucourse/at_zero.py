r"""$\mathrm{relu}'(0)$ in practice: what PyTorch's spellings return there, how often a pre-activation is exactly 0,
and when the choice changes a training run."""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .activations import relu
from .models import MLP, init_layer

__all__ = [
    "SPELLINGS",
    "DTYPES",
    "derivative_at_zero",
    "derivative_table",
    "html_table",
    "exact_zero_fractions",
    "Twins",
    "train_twins",
]

DTYPES = (torch.float32, torch.float16, torch.bfloat16)

# Ways to write max(x, 0) or a smooth relative of it, as people write them.
SPELLINGS: dict[str, Callable[[Tensor], Tensor]] = {
    "torch.relu(x)": torch.relu,
    "F.relu(x)": F.relu,
    "nn.ReLU()(x)": nn.ReLU(),
    "x.clamp(min=0)": lambda x: x.clamp(min=0),
    "torch.maximum(x, torch.zeros_like(x))": lambda x: torch.maximum(x, torch.zeros_like(x)),
    "torch.fmax(x, torch.zeros_like(x))": lambda x: torch.fmax(x, torch.zeros_like(x)),
    "torch.where(x > 0, x, 0)": lambda x: torch.where(x > 0, x, 0.0),
    "torch.where(x >= 0, x, 0)": lambda x: torch.where(x >= 0, x, 0.0),
    "F.threshold(x, 0, 0)": lambda x: F.threshold(x, 0.0, 0.0),
    "x * (x > 0)": lambda x: x * (x > 0),
    "(x + x.abs()) / 2": lambda x: (x + x.abs()) / 2,
    "F.relu6(x)": F.relu6,
    "F.leaky_relu(x)": F.leaky_relu,  # slope 0.01
    "F.elu(x)": F.elu,
    "F.gelu(x)": F.gelu,
    "F.silu(x)": F.silu,
    "F.softplus(x)": F.softplus,
}


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def derivative_at_zero(f: Callable[[Tensor], Tensor], dtype: torch.dtype = torch.float32) -> float:
    r"""$f'(0)$ as autograd computes it: backward through $f$ at a tensor holding exactly $0$ of `dtype`."""
    if not callable(f):
        raise TypeError(f"Invalid f: expected a callable, got {type(f).__name__}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"Invalid dtype: expected a floating-point torch.dtype, got {dtype}")
    x = torch.zeros(1, dtype=dtype, requires_grad=True)
    f(x).sum().backward()
    return float(x.grad.item())


def derivative_table(
    spellings: Mapping[str, Callable[[Tensor], Tensor]] | None = None, dtypes: Sequence[torch.dtype] = DTYPES
) -> dict[str, dict[str, float]]:
    r"""Measure $f(0)$ and $f'(0)$ in each dtype for every spelling.

    Returns:
        spelling -> {"f(0)": value in float32, "float32": f'(0), "float16": f'(0), ...}.
    """
    spellings = SPELLINGS if spellings is None else spellings
    table = {}
    for name, f in spellings.items():
        with torch.no_grad():
            row = {"f(0)": float(f(torch.zeros(1)).item())}
        row |= {_dtype_name(dtype): derivative_at_zero(f, dtype) for dtype in dtypes}
        table[name] = row
    return table


def html_table(table: Mapping[str, Mapping[str, object]], *, first: str = "", digits: int = 4) -> str:
    """An HTML table: one row per key of `table`, one column per key of its rows; floats to `digits` digits."""
    if not table:
        raise ValueError("Invalid table: expected at least one row")
    columns = list(next(iter(table.values())))

    def cell(value: object) -> str:
        return f"{value:.{digits}g}" if isinstance(value, float) else html.escape(str(value))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in [first, *columns])
    rows = "".join(
        f"<tr><td><code>{html.escape(name)}</code></td>"
        + "".join(f"<td>{cell(row[c])}</td>" for c in columns)
        + "</tr>"
        for name, row in table.items()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _zero_fraction(z: Tensor) -> float:
    return (z == 0).double().mean().item()  # share of entries exactly 0


def _disc_images(n: int, size: int, generator: torch.Generator) -> Tensor:
    """n grey discs on black, pixel values k/255 like an 8-bit image; shape (n, 1, size, size)."""
    grid = torch.arange(size, dtype=torch.float32)
    centre = torch.rand(n, 2, generator=generator) * size
    radius = 2 + torch.rand(n, 1, 1, generator=generator) * size / 4
    inside = (grid[None, :, None] - centre[:, 0, None, None]) ** 2 + (
        grid[None, None, :] - centre[:, 1, None, None]
    ) ** 2
    grey = torch.randint(1, 256, (n, size, size), generator=generator) / 255
    return (grey * (inside <= radius**2))[:, None]


def exact_zero_fractions(*, samples: int = 100_000, seed: int = 0) -> dict[str, float]:
    r"""The share of pre-activations $z = Wx + b$ that are exactly $0$, measured in typical situations.

    Each scenario computes about `samples` pre-activations of a layer of 16 units with He weights
    (`init_layer`); "random bias" is PyTorch's default $b \sim U(-1/\sqrt{d}, 1/\sqrt{d})$.

    Returns:
        scenario (a short description) -> fraction of its pre-activations equal to 0.
    """
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 10_000:
        raise ValueError(f"Invalid samples: {samples!r} (expected an int >= 10000)")
    g = torch.Generator().manual_seed(seed)
    d, width = 8, 16
    x = torch.randn(samples // width, d, generator=g)  # continuous inputs, x ~ N(0, I_8)
    w, _ = init_layer(d, width, generator=g)
    b = (2 * torch.rand(width, generator=g) - 1) / d**0.5
    fractions = {}
    for t in DTYPES:  # one rounding to t, after accumulating W x + b (nn.Linear on the CPU)
        fractions[f"{_dtype_name(t)}, nn.Linear: continuous inputs, random bias"] = _zero_fraction(
            F.linear(x.to(t), w.to(t), b.to(t))
        )
    for t in DTYPES:  # W x rounded to t, then + b rounded again (an unfused kernel)
        fractions[f"{_dtype_name(t)}, W x then + b: continuous inputs, random bias"] = _zero_fraction(
            x.to(t) @ w.to(t).T + b.to(t)
        )
    fractions["float32: weights and biases initialised to 0"] = _zero_fraction(F.linear(x, torch.zeros_like(w)))
    patches = F.unfold(_disc_images(samples // (width * 196), 16, g), 3).transpose(1, 2).reshape(-1, 9)  # 3x3 patches
    w9, _ = init_layer(9, width, generator=g)
    b9 = (2 * torch.rand(width, generator=g) - 1) / 3
    fractions["float32: image patches on black, bias 0"] = _zero_fraction(F.linear(patches, w9))
    fractions["float32: image patches on black, random bias"] = _zero_fraction(F.linear(patches, w9, b9))
    fractions["float32: the input of a ReLU after a ReLU"] = _zero_fraction(torch.relu(F.linear(x, w, b)))
    x1 = torch.randn(samples // 2, 1, 1, generator=g)
    w1, _ = init_layer(1, 2, generator=g, copies=(samples // 2,))  # a fresh 1-2-1 network for every input
    w2, _ = init_layer(2, 1, generator=g, copies=(samples // 2,))
    z2 = w2 @ torch.relu(w1 @ x1)  # biases 0: z2 = w2 · relu(w1 x)
    fractions["float32: layer 2 of a width-2 network, biases 0"] = _zero_fraction(z2)
    return fractions


@dataclass
class Twins:
    r"""Two runs from the same start on the same batches, differing only in $\mathrm{relu}'(0)$.

    Attributes:
        distance: shape (steps + 1,) float64, $\|\theta^{(a)}_t - \theta^{(b)}_t\|_2$; 0 until the runs split.
        travelled: shape (steps + 1,) float64, $\|\theta^{(a)}_t - \theta_0\|_2$, the first run's way from the start.
        zeros: shape (steps,) int64, exact zeros among the first run's hidden pre-activations at each step.
        loss: shape (2, steps) float64, each run's batch loss at each step.
    """

    distance: Tensor
    travelled: Tensor
    zeros: Tensor
    loss: Tensor

    @property
    def split(self) -> int | None:
        """The first step t with different parameters (distance[t] > 0), or None if they never differ."""
        moved = torch.nonzero(self.distance > 0)
        return int(moved[0]) if len(moved) else None


def _norm(differences: Iterable[Tensor]) -> float:
    return torch.stack([d.pow(2).sum() for d in differences]).sum().sqrt().item()  # ‖θ - θ'‖_2


def _forward(net: MLP, x: Tensor, round_before_bias: bool) -> tuple[Tensor, list[Tensor]]:
    """The MLP's output and hidden pre-activations, the bias added in the same rounding as W h or after it."""
    h, zs = x, []
    for layer in net.layers:
        z = (h @ layer.weight.T) + layer.bias if round_before_bias else layer(h)  # round(Wh) + b, or round(Wh + b)
        zs.append(z)
        h = net.activation(z)
    return zs[-1], zs[:-1]


def train_twins(
    widths: Sequence[int],
    x: Tensor,
    y: Tensor,
    *,
    dtype: torch.dtype = torch.float32,
    lr: float = 0.05,
    steps: int = 200,
    batch_size: int = 32,
    seed: int = 0,
    init: str = "he",
    at_zero: tuple[float, float] = (0.0, 1.0),
    round_before_bias: bool = False,
) -> Twins:
    r"""Plain SGD on $\mathrm{MSE}(\mathrm{MLP}(x), y)$ twice, with $\mathrm{relu}'(0)$ = `at_zero[0]` and `at_zero[1]`.

    Both runs start from `MLP(widths, init=init, seed=seed)` cast to `dtype`, and see the same mini-batches
    (drawn with replacement from a generator seeded by `seed`); parameters, activations and gradients are
    all in `dtype`. In exact arithmetic the two runs differ only if some hidden pre-activation is exactly 0.

    Args:
        x, y: the data set, shapes (n, widths[0]) and (n, widths[-1]).
        round_before_bias: compute $z = \mathrm{round}(W h) + b$, rounding the product to `dtype` before the
            bias is added, as an unfused kernel does; by default $z = \mathrm{round}(W h + b)$, as `nn.Linear`
            computes it on the CPU (one rounding, after accumulating in float32).
    """
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"Invalid dtype: expected a floating-point torch.dtype, got {dtype}")
    if not (isinstance(x, Tensor) and isinstance(y, Tensor) and x.ndim == y.ndim == 2 and len(x) == len(y)):
        raise ValueError("Invalid x, y: expected Tensors of shapes (n, in) and (n, out)")
    if not lr > 0:
        raise ValueError(f"Invalid learning rate: {lr}")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"Invalid {name}: {value!r} (expected an int >= 1)")
    nets = [MLP(widths, activation=functools.partial(relu, at_zero=a), init=init, seed=seed).to(dtype) for a in at_zero]
    x, y = x.to(dtype), y.to(dtype)
    batches = torch.Generator().manual_seed(seed)
    start = [p.detach().double().clone() for p in nets[0].parameters()]
    distance, travelled, zeros = [0.0], [0.0], []
    loss = torch.empty(2, steps, dtype=torch.float64)
    for t in range(steps):
        i = torch.randint(len(x), (batch_size,), generator=batches)
        for k, net in enumerate(nets):
            net.zero_grad()
            out, z = _forward(net, x[i], round_before_bias)
            if k == 0:
                zeros.append(sum(int((z_l == 0).sum()) for z_l in z))
            batch_loss = F.mse_loss(out, y[i])
            batch_loss.backward()
            with torch.no_grad():
                for p in net.parameters():
                    p -= lr * p.grad  # θ_{t+1} = θ_t - η ∇L_t(θ_t)
            loss[k, t] = batch_loss.item()
        distance.append(_norm(p.double() - q.double() for p, q in zip(nets[0].parameters(), nets[1].parameters())))
        travelled.append(_norm(p.double() - p0 for p, p0 in zip(nets[0].parameters(), start)))
    return Twins(*(torch.tensor(v, dtype=torch.float64) for v in (distance, travelled)), torch.tensor(zeros), loss)
