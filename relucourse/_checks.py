"""Argument checks shared by the package's modules, with torch-style messages that name the argument."""

import math

__all__ = ["finite_float", "positive_int"]


def positive_int(name: str, value: object) -> int:
    """`value` if it is an int >= 1; else a TypeError or ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Invalid {name}: expected an int >= 1, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"Invalid {name}: {value} (expected an int >= 1)")
    return value


def finite_float(name: str, value: object) -> float:
    """`value` as a float if it is a finite real number; else a TypeError or ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Invalid {name}: expected a finite float, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"Invalid {name}: {value} (expected a finite float)")
    return float(value)
