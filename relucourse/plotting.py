"""The course's figures: losses, parameter paths, loss curves and landscapes."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.patches import Patch
from matplotlib.ticker import LogFormatterSciNotation, LogLocator
from torch import Tensor

__all__ = [
    "PALETTE",
    "REACHED",
    "STUCK",
    "DIVERGED",
    "plot_loss",
    "plot_param",
    "plot_loss_curve",
    "plot_landscape",
    "plot_paths",
    "plot_outcomes",
]

# The Okabe–Ito palette (distinguishable with every common colour-vision deficiency): every colour of the course's figures.
PALETTE = {"black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
           "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#999999"}  # fmt: skip
REACHED = PALETTE["blue"]  # the run reaches the teacher
STUCK = PALETTE["vermillion"]  # the run gets stuck
DIVERGED = PALETTE["yellow"]  # the run diverges


def _numpy(name: str, values: Tensor, ndims: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(values.detach().cpu() if isinstance(values, Tensor) else values, dtype=float)
    if array.ndim not in ndims:
        raise ValueError(f"Invalid {name}: expected {' or '.join(map(str, ndims))} dimensions, got shape {array.shape}")
    return array


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _label(ax: Axes, xlabel: str, ylabel: str) -> None:
    if not ax.get_xlabel():
        ax.set_xlabel(xlabel)
    if not ax.get_ylabel():
        ax.set_ylabel(ylabel)


def plot_loss(loss: Tensor, *, ax: Axes | None = None, **line_kw: object) -> Axes:
    r"""$L_e$ against epoch $e = 1, 2, \dots$ on a log axis; loss of shape (epochs,) or (epochs, runs)."""
    values = _numpy("loss", loss, (1, 2))
    ax = _axes(ax)
    ax.semilogy(np.arange(1, len(values) + 1), values, **line_kw)
    _label(ax, "epoch", "loss (MSE)")
    return ax


def plot_param(values: Tensor, *, ax: Axes | None = None, **line_kw: object) -> Axes:
    r"""$w_e$ against epoch $e = 0, 1, \dots$ (0: the initial value); values of shape (epochs + 1,) or (epochs + 1, runs)."""
    array = _numpy("values", values, (1, 2))
    ax = _axes(ax)
    ax.plot(np.arange(len(array)), array, **line_kw)
    _label(ax, "epoch", "weight w")
    return ax


def plot_loss_curve(w: Tensor, loss: Tensor, *, ax: Axes | None = None, **line_kw: object) -> Axes:
    r"""$L(w)$ against $w$; w and loss of shape (n,)."""
    w_values, loss_values = _numpy("w", w, (1,)), _numpy("loss", loss, (1,))
    if w_values.shape != loss_values.shape:
        raise ValueError(f"Invalid loss: shape {loss_values.shape} does not match w's {w_values.shape}")
    ax = _axes(ax)
    ax.plot(w_values, loss_values, **line_kw)
    _label(ax, "w", "loss (MSE)")
    return ax


def plot_landscape(
    w: Tensor, b: Tensor, loss: Tensor, *, ax: Axes | None = None, levels: int = 30, floor: float | None = None
) -> Axes:
    r"""Filled contours of $L(w, b)$ at log-spaced levels, with a colorbar ticked at powers of 10.

    Args:
        w, b: shape (n_w,) and (n_b,) with loss[i, j] at (w[j], b[i]) (meshgrid 'xy' order),
            or 2-D of loss's shape.
        loss: shape (n_b, n_w), finite, with at least one positive value.
        levels: the number of contour levels, an int >= 2.
        floor: losses below it are drawn as `floor` (default: the smallest positive loss), so that the
            colours are spent on the landscape rather than on the digits near a zero minimum.
    """
    if isinstance(levels, bool) or not isinstance(levels, int):
        raise TypeError(f"Invalid levels: expected an int >= 2, got {type(levels).__name__}")
    if levels < 2:
        raise ValueError(f"Invalid levels: {levels} (expected an int >= 2)")
    w_grid, b_grid, loss_grid = _numpy("w", w, (1, 2)), _numpy("b", b, (1, 2)), _numpy("loss", loss, (2,))
    if w_grid.ndim == 1 and b_grid.ndim == 1:
        w_grid, b_grid = np.meshgrid(w_grid, b_grid, indexing="xy")
    if not w_grid.shape == b_grid.shape == loss_grid.shape:
        raise ValueError(f"Invalid loss: shape {loss_grid.shape} does not match the (b, w) grid {b_grid.shape}")
    if not np.isfinite(loss_grid).all():
        raise ValueError("Invalid loss: expected finite values")
    positive = loss_grid[loss_grid > 0]
    if positive.size == 0:
        raise ValueError("Invalid loss: expected at least one positive value for log-spaced levels")
    low, high = positive.min(), positive.max()
    if floor is not None:
        if not (isinstance(floor, (int, float)) and 0 < floor < high):
            raise ValueError(f"Invalid floor: {floor} (expected a number in (0, {high:.3g}), the largest loss)")
        low = max(low, floor)
    ax = _axes(ax)
    contours = ax.contourf(
        w_grid, b_grid, np.clip(loss_grid, low, high), levels=np.geomspace(low, high, levels), norm=LogNorm(low, high)
    )
    ax.figure.colorbar(contours, ax=ax, label="loss (MSE)", ticks=LogLocator(), format=LogFormatterSciNotation())
    _label(ax, "weight w", "bias b")
    return ax


def plot_paths(w_paths: Tensor, b_paths: Tensor, reached: Tensor, *, ax: Axes | None = None) -> Axes:
    r"""Paths $(w_t, b_t)$ of shape (steps + 1, k), blue if `reached[j]` else vermillion; a dot marks each start."""
    w_values, b_values = _numpy("w_paths", w_paths, (2,)), _numpy("b_paths", b_paths, (2,))
    reached_mask = _numpy("reached", reached, (1,)).astype(bool)
    if w_values.shape != b_values.shape or reached_mask.shape != w_values.shape[1:]:
        raise ValueError(
            f"Invalid reached: shapes w_paths {w_values.shape}, b_paths {b_values.shape} and reached "
            f"{reached_mask.shape} do not agree (expected (steps + 1, k), (steps + 1, k), (k,))"
        )
    ax = _axes(ax)
    for mask, colour, label in ((reached_mask, REACHED, "reaches the teacher"), (~reached_mask, STUCK, "gets stuck")):
        if mask.any():
            lines = ax.plot(w_values[:, mask], b_values[:, mask], color=colour)
            lines[0].set_label(label)
            ax.plot(w_values[0, mask], b_values[0, mask], "o", color=colour)  # the starts
    ax.legend()
    _label(ax, "weight w", "bias b")
    return ax


_OUTCOMES = ((REACHED, "reaches the teacher"), (STUCK, "gets stuck"), (DIVERGED, "diverges"))  # codes 0, 1, 2


def _cell_edges(centres: np.ndarray) -> np.ndarray:
    """Edges around increasing cell centres: geometric midpoints if the centres are geometrically spaced."""
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    if (centres > 0).all() and np.allclose(np.diff(np.log(centres)), np.log(centres[1] / centres[0])):
        inner, ratio = np.sqrt(centres[1:] * centres[:-1]), np.sqrt(centres[1] / centres[0])
        return np.concatenate([[centres[0] / ratio], inner, [centres[-1] * ratio]])
    inner = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - inner[0]], inner, [2 * centres[-1] - inner[-1]]])


def plot_outcomes(
    x: Tensor,
    y: Tensor,
    outcome: Tensor,
    *,
    ax: Axes | None = None,
    legend: bool = True,
    labels: Sequence[str] | None = None,
    **legend_kw: object,
) -> Axes:
    r"""A phase map: the cell at $(x_j, y_i)$ coloured by outcome[i, j], 0 reaches (blue), 1 stuck (vermillion), 2 diverges (yellow).

    Args:
        x, y: increasing cell centres, shape (n_x,) and (n_y,), evenly or geometrically spaced (a log axis is
            the caller's choice: ``ax.set_yscale("log")``).
        outcome: shape (n_y, n_x), the codes of `relucourse.sweep.Outcome`.
        legend: add a legend of the three outcomes, after the labelled artists already on `ax`.
        labels: the legend's words for codes 0, 1, 2 (default "reaches the teacher", "gets stuck", "diverges").
        legend_kw: passed on to `Axes.legend` (loc, fontsize, ...).
    """
    x_values, y_values, codes = _numpy("x", x, (1,)), _numpy("y", y, (1,)), _numpy("outcome", outcome, (2,))
    if codes.shape != (len(y_values), len(x_values)):
        raise ValueError(
            f"Invalid outcome: shape {codes.shape}, expected (len(y), len(x)) = {(len(y_values), len(x_values))}"
        )
    if not np.isin(codes, (0, 1, 2)).all():
        raise ValueError("Invalid outcome: expected codes 0 (reaches), 1 (stuck) and 2 (diverges)")
    for name, values in (("x", x_values), ("y", y_values)):
        if (np.diff(values) <= 0).any():
            raise ValueError(f"Invalid {name}: expected increasing cell centres")
    labels = [label for _, label in _OUTCOMES] if labels is None else list(labels)
    if len(labels) != 3 or not all(isinstance(label, str) for label in labels):
        raise ValueError(f"Invalid labels: {labels!r} (expected three strings, for codes 0, 1, 2)")
    ax = _axes(ax)
    colours = ListedColormap([colour for colour, _ in _OUTCOMES])
    ax.pcolormesh(_cell_edges(x_values), _cell_edges(y_values), codes, cmap=colours, vmin=-0.5, vmax=2.5)
    if legend:
        patches = [Patch(color=colour, label=label) for (colour, _), label in zip(_OUTCOMES, labels)]
        ax.legend(handles=patches + ax.get_legend_handles_labels()[0], **legend_kw)
    _label(ax, "initial weight w0", "learning rate")
    return ax
