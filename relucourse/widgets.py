r"""Knobs: sliders for $\eta$, $\beta$, $w_0$ and $\alpha$ that redraw a gradient-descent path on the loss curve.

The book, where no kernel runs, shows the static figure that `plot_trajectory` draws. In JupyterLab,
`TrajectorySliders` draws the same figure with the same function again each time a slider moves.
"""

from __future__ import annotations

import io
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .landscape import population_loss
from .plotting import REACHED, STUCK
from .sweep import trajectory

__all__ = ["plot_trajectory", "TrajectorySliders"]

W_RANGE = (-3.0, 3.0)  # the weights the figure shows, and the range of the w0 slider
TOLERANCE = 1e-2  # a path "reaches" the minimiser if it ends this close to it


def _check(w0: float, lr: float, momentum: float, slope: float, steps: int) -> None:
    for name, value in (("w0", w0), ("lr", lr), ("momentum", momentum), ("slope", slope)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise TypeError(f"Invalid {name}: expected a finite number, got {value!r}")
    if lr <= 0:
        raise ValueError(f"Invalid learning rate: {lr} (expected lr > 0)")
    if not 0 <= momentum < 1:
        raise ValueError(f"Invalid momentum: {momentum} (expected 0 <= momentum < 1)")
    if not 0 <= slope < 1:
        raise ValueError(f"Invalid slope: {slope} (expected 0 <= slope < 1)")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"Invalid number of steps: {steps!r} (expected an int >= 1)")


def plot_trajectory(
    w0: float, *, lr: float, momentum: float = 0.0, slope: float = 0.0, steps: int = 100, ax: Axes | None = None
) -> Axes:
    r"""$L_\alpha(w)$ and the path $w_0, w_1, \dots, w_T$ of gradient descent on it, with momentum $\beta$.

    The steps are torch.optim.SGD's on the exact population loss: $v_{t+1} = \beta v_t + L_\alpha'(w_t)$,
    $w_{t+1} = w_t - \eta v_{t+1}$ (`relucourse.sweep.trajectory`). The path is blue if it ends within
    0.01 of the minimiser of $L_\alpha$ (located on the plotted grid), vermillion otherwise.

    Args:
        w0: the initial weight.
        lr: the step size $\eta > 0$.
        momentum: $\beta \in [0, 1)$.
        slope: the student's leak $\alpha \in [0, 1)$ (0: ReLU).
        steps: the number of steps $T \ge 1$.
        ax: where to draw; a new figure's axes if None.
    """
    _check(w0, lr, momentum, slope, steps)
    w_path, _ = trajectory(float(w0), lr=float(lr), optimizer=(torch.optim.SGD, {"momentum": float(momentum)}),
                           steps=steps, slope=float(slope))  # fmt: skip
    grid = torch.linspace(*W_RANGE, 1201, dtype=torch.float64)
    curve = population_loss(grid, slope=slope)
    minimiser = grid[curve.argmin()].item()
    w_end = w_path[-1].item()
    reached = abs(w_end - minimiser) < TOLERANCE
    colour = REACHED if reached else STUCK
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    ax.plot(grid, curve, color="black", lw=1.5, label=r"population loss $L_\alpha(w)$")
    ax.plot(w_path, population_loss(w_path, slope=slope), "-o", color=colour, lw=1, ms=3,
            label=f"{steps} steps: " + ("reaches the minimum" if reached else "does not reach the minimum"))  # fmt: skip
    ax.plot(
        w0, population_loss(w0, slope=slope), "o", ms=10, mfc="white", mec=colour, mew=2, label=f"start $w_0 = {w0:g}$"
    )
    ax.axvline(minimiser, color="grey", ls=":", lw=1, label=f"minimiser $w^* = {minimiser:.3g}$")
    ax.set(xlim=W_RANGE, ylim=(0, 1.05 * curve.max().item()), xlabel="weight $w$", ylabel=r"loss $L_\alpha(w)$ (MSE)",
           title=rf"$\eta = {lr:.3g}$, $\beta = {momentum:g}$, $\alpha = {slope:g}$: $w_{{{steps}}} = {w_end:.4g}$")  # fmt: skip
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper center", fontsize="small")
    return ax


class TrajectorySliders(widgets.VBox):
    r"""Sliders for $\eta$, $\beta$, $w_0$ and $\alpha$ above the figure of `plot_trajectory`, redrawn when one moves.

    Attributes:
        sliders: name -> slider, the names being `plot_trajectory`'s arguments (lr, momentum, w0, slope).
        figure, ax: the figure `plot_trajectory` draws into.
        image: the PNG of the figure, as the notebook shows it.
    """

    def __init__(
        self, *, w0: float = -1.0, lr: float = 0.1, momentum: float = 0.0, slope: float = 0.0, steps: int = 100
    ):
        _check(w0, lr, momentum, slope, steps)
        options = {"continuous_update": False, "style": {"description_width": "9em"}, "layout": {"width": "32em"}}
        sliders = {
            "lr": widgets.FloatLogSlider(
                value=lr,
                base=10,
                min=-3,
                max=math.log10(2.5),
                step=0.05,
                description="step size η",
                readout_format=".3g",
                **options,
            ),  # fmt: skip
            "momentum": widgets.FloatSlider(
                value=momentum, min=0, max=0.99, step=0.01, description="momentum β", **options
            ),
            "w0": widgets.FloatSlider(
                value=w0, min=W_RANGE[0], max=W_RANGE[1], step=0.05, description="start w₀", **options
            ),
            "slope": widgets.FloatSlider(value=slope, min=0, max=0.5, step=0.01, description="leak α", **options),
        }
        image = widgets.Image(format="png")
        super().__init__([*sliders.values(), image])
        self.sliders, self.image, self.steps = sliders, image, steps
        self.figure = Figure(
            figsize=(7, 4.5), layout="constrained"
        )  # not pyplot's: the notebook shows it only as self.image
        self.ax = self.figure.add_subplot()
        for slider in sliders.values():
            slider.observe(self.redraw, names="value")
        self.redraw()

    @property
    def values(self) -> dict[str, float]:
        return {name: slider.value for name, slider in self.sliders.items()}

    def redraw(self, change: dict | None = None) -> None:
        """Draw `plot_trajectory` for the sliders' values again."""
        self.ax.clear()
        plot_trajectory(steps=self.steps, ax=self.ax, **self.values)
        png = io.BytesIO()
        self.figure.savefig(png, format="png", dpi=90)
        self.image.value = png.getvalue()
