r"""One neuron $f(x) = \sigma(w \cdot x + b)$ as a `torch.nn.Module`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from .activations import relu

__all__ = ["Neuron"]


def _as_float32(name: str, value: object) -> Tensor:
    try:
        tensor = torch.as_tensor(value, dtype=torch.float32).detach().clone()
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"Invalid {name}: expected finite floats, got {value!r}") from error
    if not torch.isfinite(tensor).all():
        raise ValueError(f"Invalid {name}: {value!r} (expected finite floats)")
    return tensor


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
        weight = _as_float32("w", w)
        if weight.ndim == 0:
            weight = weight.reshape(1)
        if weight.ndim != 1 or weight.numel() == 0:
            raise ValueError(f"Invalid w: expected a float or a non-empty 1-D sequence, got shape {tuple(weight.shape)}")
        self.weight = nn.Parameter(weight)
        if b is None:
            self.register_parameter("bias", None)
        else:
            bias = _as_float32("b", b)
            if bias.ndim != 0:
                raise ValueError(f"Invalid b: expected a float or None, got shape {tuple(bias.shape)}")
            self.bias = nn.Parameter(bias)
        if not callable(activation):
            raise TypeError(f"Invalid activation: expected a callable, got {type(activation).__name__}")
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
