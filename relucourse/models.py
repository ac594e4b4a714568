r"""One neuron $f(x) = \sigma(w \cdot x + b)$ and the fully connected network $f = A_L \circ \sigma \circ \cdots \circ \sigma \circ A_1$."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from ._checks import callable_, finite_tensor, integer
from .activations import relu

__all__ = ["Neuron", "MLP", "init_layer", "INITS"]

INITS = ("he", "rai")  # He et al. 2015; randomized asymmetric, Lu, Shin, Su & Karniadakis 2019


class Neuron(nn.Module):
    r"""$f(x) = \sigma(w \cdot x + b)$: one unit.

    Args:
        w: the initial weight: a float (dim 1) or a sequence of floats (dim = its length).
        b: the initial bias, or None for no bias parameter at all (like the seed's `use_bias=False`).
        activation: $\sigma$, e.g. `relu` or `functools.partial(leaky_relu, slope=0.1)`.

    Parameters `weight` of shape (dim,) and `bias` of shape () (or None), float32.
    """

    def __init__(
        self,
        w: float | Sequence[float] | Tensor,
        b: float | None = None,
        *,
        activation: Callable[[Tensor], Tensor] = relu,
    ) -> None:
        super().__init__()
        weight = finite_tensor("w", w, torch.float32).detach().clone()
        if weight.ndim == 0:
            weight = weight.reshape(1)
        if weight.ndim != 1 or weight.numel() == 0:
            raise ValueError(
                f"Invalid w: expected a float or a non-empty 1-D sequence, got shape {tuple(weight.shape)}"
            )
        self.weight = nn.Parameter(weight)
        if b is None:
            self.register_parameter("bias", None)
        else:
            bias = finite_tensor("b", b, torch.float32).detach().clone()
            if bias.ndim != 0:
                raise ValueError(f"Invalid b: expected a float or None, got shape {tuple(bias.shape)}")
            self.bias = nn.Parameter(bias)
        callable_("activation", activation)
        self.activation = activation

    def forward(self, x: Tensor) -> Tensor:
        """Map x of shape (n, dim) to f(x) of shape (n,)."""
        dim = self.weight.shape[0]
        if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != dim:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"Invalid x: expected a Tensor of shape (n, {dim}), got {shape}")
        z = x @ self.weight  # w · x
        if self.bias is not None:
            z = z + self.bias  # w · x + b
        return self.activation(z)  # σ(w · x + b)

    def extra_repr(self) -> str:
        name = getattr(self.activation, "__name__", repr(self.activation))
        return f"dim={self.weight.shape[0]}, bias={self.bias is not None}, activation={name}"


RAI_SIGMA = 0.6007  # Lu et al. 2019: the symmetric part of RAI is N(0, RAI_SIGMA^2 / fan_in)


def init_layer(
    fan_in: int, fan_out: int, *, init: str = "he", generator: torch.Generator | None = None, copies: Sequence[int] = ()
) -> tuple[Tensor, Tensor]:
    r"""Draw one layer's $(W, b)$, $W$ of shape (fan_out, fan_in): He or randomized asymmetric (RAI).

    - ``"he"``: $W_{ij} \sim N(0, 2/\mathrm{fan\_in})$, $b = 0$ (He et al. 2015, PyTorch's `kaiming_normal_`).
    - ``"rai"``: each row of $[W \mid b]$ is drawn from $N(0, 0.6007^2/\mathrm{fan\_in})$, except one entry,
      chosen uniformly among its fan_in + 1, which is drawn from Beta(2, 1) > 0 (Lu, Shin, Su & Karniadakis 2019).

    Args:
        copies: leading batch shape: that many independent layers at once, e.g. (runs,).
        generator: the random source (a fresh unseeded one if None; never the global RNG).

    Returns:
        float32 weight of shape (*copies, fan_out, fan_in) and bias of shape (*copies, fan_out).
    """
    integer("fan_in", fan_in)
    integer("fan_out", fan_out)
    if init not in INITS:
        raise ValueError(f"Invalid init: {init!r} (expected one of {INITS})")
    copies = tuple(copies)
    for c in copies:
        integer("copies", c)
    generator = torch.Generator() if generator is None else generator
    if init == "he":
        weight = torch.randn(*copies, fan_out, fan_in, generator=generator) * (2.0 / fan_in) ** 0.5
        return weight, torch.zeros(*copies, fan_out)
    v = torch.randn(*copies, fan_out, fan_in + 1, generator=generator) * RAI_SIGMA / fan_in**0.5  # [W | b]
    k = torch.randint(fan_in + 1, (*copies, fan_out, 1), generator=generator)  # one entry per row ...
    beta_21 = torch.rand(*copies, fan_out, 1, generator=generator).sqrt()  # ... ~ Beta(2, 1): its CDF is u^2
    v = v.scatter(-1, k, beta_21)
    return v[..., :-1].contiguous(), v[..., -1].contiguous()


class MLP(nn.Module):
    r"""$f(x) = A_L(\sigma(A_{L-1}(\cdots \sigma(A_1 x)))),\ A_l z = W_l z + b_l$: fully connected, linear output.

    Args:
        widths: [in, h1, ..., out], at least two ints >= 1; the hidden layers are h1, ...
        activation: $\sigma$, applied after every layer but the last, e.g. `relu` or
            `functools.partial(relu, at_zero=1.0)`.
        init: "he" or "rai" (see :func:`init_layer`), for every layer.
        seed: seeds the layers' own `torch.Generator` (never the global RNG).

    `layers` is a `ModuleList` of `nn.Linear`; the hidden ones, `layers[:-1]`, output the pre-activations
    (hook them to watch the units, see `relucourse.dead_units`).
    """

    def __init__(
        self, widths: Sequence[int], *, activation: Callable[[Tensor], Tensor] = relu, init: str = "he", seed: int = 0
    ) -> None:
        super().__init__()
        if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or len(widths) < 2:
            raise ValueError(f"Invalid widths: {widths!r} (expected a sequence [in, ..., out] of at least two ints)")
        for width in widths:
            integer("widths", width)
        callable_("activation", activation)
        integer("seed", seed, least=None)
        generator = torch.Generator().manual_seed(seed)
        self.widths = tuple(widths)
        self.activation = activation
        self.init = init
        self.layers = nn.ModuleList()
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layer = nn.utils.skip_init(nn.Linear, fan_in, fan_out)  # no default init: it would use the global RNG
            weight, bias = init_layer(fan_in, fan_out, init=init, generator=generator)
            with torch.no_grad():
                layer.weight.copy_(weight)
                layer.bias.copy_(bias)
            self.layers.append(layer)

    def _check(self, x: Tensor) -> None:
        if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != self.widths[0]:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"Invalid x: expected a Tensor of shape (n, {self.widths[0]}), got {shape}")

    def pre_activations(self, x: Tensor) -> list[Tensor]:
        r"""$[z_1, \dots, z_{L-1}]$, $z_l = W_l h_{l-1} + b_l$ of shape (n, h_l), $h_0 = x$, $h_l = \sigma(z_l)$."""
        self._check(x)
        z, h = [], x
        for layer in self.layers[:-1]:
            z.append(layer(h))  # z_l = W_l h_{l-1} + b_l
            h = self.activation(z[-1])  # h_l = σ(z_l)
        return z

    def forward(self, x: Tensor) -> Tensor:
        """Map x of shape (n, in) to f(x) of shape (n, out)."""
        self._check(x)
        h = x
        for layer in self.layers[:-1]:
            h = self.activation(layer(h))  # h_l = σ(W_l h_{l-1} + b_l)
        return self.layers[-1](h)  # W_L h_{L-1} + b_L

    def extra_repr(self) -> str:
        name = getattr(self.activation, "__name__", repr(self.activation))
        return f"widths={list(self.widths)}, init={self.init!r}, activation={name}"
