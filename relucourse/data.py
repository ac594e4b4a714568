r"""Seeded teacher–student streams: $x \sim N(0, I)$, $y = \mathrm{teacher}(x)$."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import Tensor

from ._checks import callable_, float_dtype, integer

__all__ = ["teacher_student_batches", "glorot_starts"]


def teacher_student_batches(
    teacher: Callable[[Tensor], Tensor],
    *,
    batch_size: int = 1000,
    dim: int = 1,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> Iterator[tuple[Tensor, Tensor]]:
    r"""An endless stream of batches $x \sim N(0, I_{dim})$, $y = \mathrm{teacher}(x)$, seeded.

    The stream draws from its own `torch.Generator`, never the global RNG: two streams with the
    same seed give identical batches.

    Args:
        teacher: maps x of shape (batch_size, dim) to y of shape (batch_size,).
        batch_size, dim: ints >= 1.
        seed: the generator's seed.
        dtype: a floating-point dtype for x.

    Yields:
        (x, y) of shapes (batch_size, dim) and (batch_size,); y carries no autograd graph.
    """
    callable_("teacher", teacher)
    integer("batch_size", batch_size)
    integer("dim", dim)
    integer("seed", seed, least=None)
    float_dtype(dtype)
    generator = torch.Generator().manual_seed(seed)
    return _batches(teacher, generator, batch_size, dim, dtype)


def glorot_starts(n: int, *, seed: int = 0) -> Tensor:
    r"""$w_0 \sim U(-\sqrt3, \sqrt3)$, `n` float64 draws from `seed`: Keras's default (Glorot-uniform) weight of a 1 × 1 layer."""
    generator = torch.Generator().manual_seed(integer("seed", seed, least=None))
    return (
        2 * torch.rand(integer("n", n), generator=generator, dtype=torch.float64) - 1
    ) * 3**0.5  # U(-√(6/2), √(6/2))


def _batches(
    teacher: Callable[[Tensor], Tensor], generator: torch.Generator, batch_size: int, dim: int, dtype: torch.dtype
) -> Iterator[tuple[Tensor, Tensor]]:
    while True:
        x = torch.randn(batch_size, dim, generator=generator, dtype=dtype)  # x ~ N(0, I)
        with torch.no_grad():
            y = teacher(x)  # y = teacher(x)
        if tuple(y.shape) != (batch_size,):
            raise ValueError(
                f"Invalid teacher: its output has shape {tuple(y.shape)}, expected ({batch_size},); "
                "a Neuron maps (n, dim) to (n,)"
            )
        yield x, y
