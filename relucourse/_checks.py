"""What the package's modules share: argument checks with torch-style messages that name the argument, and
`one_thread`."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor

__all__ = ["integer", "finite_float", "pair", "flag", "float_dtype", "finite_tensor", "callable_", "one_thread"]


def integer(name: str, value: object, *, least: int | None = 1) -> int:
    """`value` if it is an int >= `least` (None: any int); else a TypeError or ValueError naming `name`."""
    expected = "an int" if least is None else f"an int >= {least}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Invalid {name}: expected {expected}, got {type(value).__name__}")
    if least is not None and value < least:
        raise ValueError(f"Invalid {name}: {value} (expected {expected})")
    return value


def finite_float(name: str, value: object, ok: Callable[[float], bool] = lambda v: True, accepted: str = "") -> float:
    """`value` as a float if it is a finite real number for which `ok` holds (`accepted` says so in words)."""
    expected = f"a finite float {accepted}".rstrip()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Invalid {name}: expected {expected}, got {type(value).__name__}")
    if not (math.isfinite(value) and ok(value)):
        raise ValueError(f"Invalid {name}: {value} (expected {expected})")
    return float(value)


def pair(name: str, value: object) -> tuple[float, float]:
    """`value` as two finite floats, e.g. a teacher's $(v, c)$."""
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ValueError(f"Invalid {name}: {value!r} (expected two finite floats)")
    return finite_float(name, value[0]), finite_float(name, value[1])


def flag(name: str, value: object) -> bool:
    """`value` if it is a bool."""
    if not isinstance(value, bool):
        raise TypeError(f"Invalid {name}: expected a bool, got {type(value).__name__}")
    return value


def float_dtype(dtype: object) -> torch.dtype:
    """`dtype` if it is a floating-point torch.dtype."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"Invalid dtype: expected a floating-point torch.dtype, got {dtype}")
    return dtype


def finite_tensor(name: str, value: Tensor | float | Sequence[float], dtype: torch.dtype = torch.float64) -> Tensor:
    """`value` as a tensor of `dtype` (on its device) whose every value is finite."""
    try:
        tensor = torch.as_tensor(value, dtype=dtype)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"Invalid {name}: expected numbers, got {type(value).__name__}") from error
    if not torch.isfinite(tensor).all():
        raise ValueError(f"Invalid {name}: every value must be finite, got {tensor[~tensor.isfinite()][:3].tolist()}")
    return tensor


def callable_(name: str, value: object) -> Callable:
    """`value` if it can be called."""
    if not callable(value):
        raise TypeError(f"Invalid {name}: expected a callable, got {type(value).__name__}")
    return value


@contextmanager
def one_thread(device: torch.device | str = "cpu") -> Iterator[None]:
    """Run the block on one CPU thread, then restore the count: for tensors this small, a second thread only waits
    (and stalls badly on a busy machine). On another device, nothing changes."""
    threads = torch.get_num_threads()
    if torch.device(device).type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
