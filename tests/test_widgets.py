"""The knobs: plot_trajectory's path is heavy-ball gradient descent on L_alpha, and the sliders redraw exactly that figure."""

import math

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from relucourse.plotting import REACHED, STUCK
from relucourse.widgets import TrajectorySliders, plot_trajectory

pytestmark = pytest.mark.dying_relu


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def leaky_grad(w: float, alpha: float) -> float:
    """L_alpha'(w) from the lesson's closed form: (w - 1) + alpha^2 w right of 0, alpha (alpha w - 1) + w left of it."""
    return (w - 1) + alpha**2 * w if w > 0 else alpha * (alpha * w - 1) + w


def heavy_ball(w0: float, lr: float, momentum: float, alpha: float, steps: int) -> list[float]:
    """torch.optim.SGD's momentum written out: v_1 = g_0, v_{t+1} = beta v_t + g_t, w_{t+1} = w_t - lr v_{t+1}."""
    path, velocity = [w0], None
    for _ in range(steps):
        grad = leaky_grad(path[-1], alpha)
        velocity = grad if velocity is None else momentum * velocity + grad
        path.append(path[-1] - lr * velocity)
    return path


def path_line(ax):
    return next(line for line in ax.lines if line.get_marker() == "o" and len(line.get_xdata()) > 1)


@pytest.mark.parametrize(
    "w0, lr, momentum, alpha",
    [(-1.0, 0.1, 0.0, 0.0), (-1.0, 0.1, 0.9, 0.0), (0.5, 0.3, 0.5, 0.0), (-2.0, 0.05, 0.0, 0.3), (-1.0, 1.5, 0.0, 0.0)],
)
def test_the_path_is_heavy_ball_gradient_descent_on_the_population_loss(w0, lr, momentum, alpha):
    ax = plot_trajectory(w0, lr=lr, momentum=momentum, slope=alpha, steps=40)
    expected = heavy_ball(w0, lr, momentum, alpha, 40)
    drawn = path_line(ax).get_xdata()
    assert len(drawn) == 41
    assert max(abs(a - b) for a, b in zip(drawn, expected)) < 1e-9


@pytest.mark.parametrize(
    "w0, lr, momentum, alpha, reaches",
    [
        (-1.0, 0.1, 0.0, 0.0, False),  # the left bowl: w_t = 0.9^t w0 creeps to the kink
        (0.5, 0.1, 0.0, 0.0, True),
        (-1.0, 1.5, 0.0, 0.0, True),  # a step in (1, 2) jumps the kink
        (-1.0, 0.1, 0.0, 0.3, True),  # the leak lets it through, to w* = 1 / (1 + alpha^2)
    ],
)
def test_the_path_is_blue_when_it_reaches_the_minimiser_and_vermillion_otherwise(w0, lr, momentum, alpha, reaches):
    ax = plot_trajectory(w0, lr=lr, momentum=momentum, slope=alpha, steps=200)
    assert path_line(ax).get_color() == (REACHED if reaches else STUCK)
    minimiser = next(line for line in ax.lines if line.get_linestyle() == ":").get_xdata()[0]
    assert abs(minimiser - 1 / (1 + alpha**2)) < 0.006  # the grid's spacing is 0.005
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_plot_trajectory_draws_into_the_given_axes():
    _, ax = plt.subplots()
    assert plot_trajectory(0.5, lr=0.1, ax=ax) is ax


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"lr": 0.0}, ValueError, "learning rate"),
        ({"lr": float("nan")}, TypeError, "lr"),
        ({"momentum": 1.0}, ValueError, "momentum"),
        ({"slope": -0.1}, ValueError, "slope"),
        ({"steps": 0}, ValueError, "steps"),
        ({"w0": "1"}, TypeError, "w0"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, words):
    arguments = {"w0": -1.0, "lr": 0.1, **kwargs}
    with pytest.raises(error, match=words):
        plot_trajectory(arguments.pop("w0"), **arguments)
    with pytest.raises(error, match=words):
        TrajectorySliders(**{"w0": -1.0, "lr": 0.1, **kwargs})


def drawing(ax) -> list:
    """What an Axes shows: each line's data and colour, and the title."""
    return [(list(line.get_xdata()), list(line.get_ydata()), line.get_color()) for line in ax.lines] + [ax.get_title()]


def test_the_sliders_redraw_the_static_figure_for_their_values():
    sliders = TrajectorySliders(w0=-1.0, lr=0.1, steps=60)
    assert set(sliders.sliders) == {"lr", "momentum", "w0", "slope"}
    assert bytes(sliders.image.value).startswith(b"\x89PNG")
    for name, value in (("momentum", 0.9), ("w0", 2.0), ("slope", 0.25), ("lr", 0.5)):
        before = bytes(sliders.image.value)
        sliders.sliders[name].value = value
        assert bytes(sliders.image.value) != before, f"moving {name} did not redraw the figure"
        _, ax = plt.subplots()
        static = plot_trajectory(steps=60, ax=ax, **sliders.values)
        assert drawing(sliders.ax) == drawing(static), f"after moving {name}, the sliders' figure is not the static one"
    assert math.isclose(sliders.values["lr"], 0.5) and sliders.values["w0"] == 2.0


def test_the_sliders_cover_the_lessons_settings():
    sliders = TrajectorySliders().sliders
    assert 10 ** sliders["lr"].min <= 0.01 and 10 ** sliders["lr"].max >= 1.9  # tiny steps to steps that jump the kink
    assert sliders["momentum"].min == 0 and 0.9 <= sliders["momentum"].max < 1
    assert sliders["w0"].min <= -2 and sliders["w0"].max >= 2
    assert sliders["slope"].min == 0 and sliders["slope"].max >= 0.3  # the thread's alpha = 0.3
