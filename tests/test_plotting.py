"""relucourse.plotting: the returned Axes hold the right lines, colours and labels."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex

from relucourse.plotting import REACHED, STUCK, plot_landscape, plot_loss, plot_loss_curve, plot_param, plot_paths

pytestmark = pytest.mark.dying_relu


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_palette_is_okabe_ito_blue_and_vermillion():
    assert (REACHED, STUCK) == ("#0072B2", "#D55E00")


def test_plot_loss_is_semilogy_against_epochs_from_one():
    loss = torch.tensor([1.0, 0.1, 0.01], dtype=torch.float64)
    ax = plot_loss(loss, color="k", label="w0 = 0.5")
    assert ax.get_yscale() == "log"
    (line,) = ax.lines
    assert line.get_xdata().tolist() == [1, 2, 3]
    assert line.get_ydata().tolist() == [1.0, 0.1, 0.01]
    assert line.get_label() == "w0 = 0.5" and line.get_color() == "k"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss (MSE)")


def test_plot_loss_draws_on_the_given_axes_and_keeps_its_labels():
    _, given = plt.subplots()
    given.set_xlabel("step")
    given.set_ylabel("my loss")
    ax = plot_loss(torch.ones(5, 3), ax=given)  # three runs
    assert ax is given and len(ax.lines) == 3
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step", "my loss")


def test_plot_param_from_the_initial_value():
    ax = plot_param(torch.tensor([[0.5], [0.875], [1.0]]), label="w")
    (line,) = ax.lines
    assert line.get_xdata().tolist() == [0, 1, 2]
    assert line.get_ydata().tolist() == [0.5, 0.875, 1.0]
    assert line.get_label() == "w"
    assert ax.get_ylabel() == "weight w"


def test_plot_loss_curve():
    w = torch.linspace(-2, 2, 9)
    ax = plot_loss_curve(w, w**2)
    (line,) = ax.lines
    np.testing.assert_allclose(line.get_xdata(), w.numpy())
    np.testing.assert_allclose(line.get_ydata(), (w**2).numpy())
    assert ax.get_xlabel() == "w"


def test_plot_landscape_has_log_levels_a_colorbar_and_xy_order():
    w, b = torch.linspace(-2, 2, 21), torch.linspace(-1, 1, 11)
    loss = (w[None, :] - 1) ** 2 + 10 * b[:, None] ** 2 + 0.01  # loss[i, j] at (w[j], b[i])
    ax = plot_landscape(w, b, loss, levels=12)
    (contours,) = ax.collections
    levels = np.asarray(contours.levels)
    assert len(levels) == 12
    np.testing.assert_allclose(np.diff(np.log(levels)), np.log(levels[1] / levels[0]))  # log-spaced
    assert levels[0] == pytest.approx(loss.min().item()) and levels[-1] == pytest.approx(loss.max().item())
    assert len(ax.figure.axes) == 2  # the axes and its colorbar
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("weight w", "bias b")
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_ylim() == (-1.0, 1.0)  # w across, b up


def test_plot_landscape_takes_a_2d_grid_and_a_zero_loss():
    b, w = torch.meshgrid(torch.linspace(-1, 1, 5), torch.linspace(0, 2, 5), indexing="ij")
    loss = (w - 1) ** 2 + b**2  # exactly 0 at (1, 0)
    ax = plot_landscape(w, b, loss)
    assert ax.get_xlim() == (0.0, 2.0)


@pytest.mark.parametrize(
    ("w", "b", "loss", "levels", "error", "match"),
    [
        (torch.zeros(3), torch.zeros(2), torch.ones(3, 2), 30, ValueError, "loss"),
        (torch.zeros(3), torch.zeros(2), torch.zeros(2, 3), 30, ValueError, "loss"),
        (torch.zeros(3), torch.zeros(2), torch.full((2, 3), float("nan")), 30, ValueError, "loss"),
        (torch.zeros(3), torch.zeros(2), torch.ones(2, 3), 1, ValueError, "levels"),
        (torch.zeros(3), torch.zeros(2), torch.ones(2, 3), 2.5, TypeError, "levels"),
    ],
)
def test_plot_landscape_bad_arguments_are_named(w, b, loss, levels, error, match):
    with pytest.raises(error, match=f"Invalid {match}"):
        plot_landscape(w, b, loss, levels=levels)


def test_plot_paths_colours_starts_and_legend():
    w_paths = torch.tensor([[0.5, -1.0, 2.0], [0.8, -0.5, 1.5], [1.0, -0.1, 1.0]])
    b_paths = torch.zeros(3, 3)
    ax = plot_paths(w_paths, b_paths, torch.tensor([True, False, True]))
    paths = [line for line in ax.lines if line.get_marker() in ("None", "")]
    starts = [line for line in ax.lines if line.get_marker() == "o"]
    assert [to_hex(line.get_color()).upper() for line in paths].count(REACHED) == 2
    assert [to_hex(line.get_color()).upper() for line in paths].count(STUCK) == 1
    assert sorted(line.get_xdata().tolist()[0] for line in paths) == [-1.0, 0.5, 2.0]
    assert sorted(x for line in starts for x in line.get_xdata().tolist()) == [-1.0, 0.5, 2.0]
    assert {to_hex(line.get_color()).upper() for line in starts} == {REACHED, STUCK}
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert sorted(legend) == ["gets stuck", "reaches the teacher"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("weight w", "bias b")


def test_plot_paths_all_stuck_has_one_legend_entry():
    ax = plot_paths(torch.zeros(4, 2), torch.zeros(4, 2), torch.tensor([False, False]))
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["gets stuck"]


def test_plot_paths_shapes_must_agree():
    with pytest.raises(ValueError, match="Invalid reached"):
        plot_paths(torch.zeros(4, 2), torch.zeros(4, 2), torch.tensor([True, False, True]))


def test_no_figure_is_made_when_axes_are_given():
    _, ax = plt.subplots()
    before = plt.get_fignums()
    plot_param(torch.ones(3), ax=ax)
    plot_loss_curve(torch.ones(3), torch.ones(3), ax=ax)
    assert plt.get_fignums() == before and len(ax.lines) == 2


def test_landscape_floor_sets_the_lowest_level_and_is_validated():
    w = b = torch.linspace(-1, 1, 21)
    loss = (w[None, :] - 0.5) ** 2 + b[:, None] ** 2  # 0 nowhere on the grid but 1e-4 near its minimum
    ax = plot_landscape(w, b, loss, floor=1e-2)
    assert np.isclose(ax.collections[0].levels[0], 1e-2)
    with pytest.raises(ValueError, match="Invalid floor"):
        plot_landscape(w, b, loss, floor=100.0)


@pytest.mark.optimizers
def test_outcome_map_colours_each_cell_and_puts_geometric_cells_around_log_spaced_centres():
    from relucourse.plotting import DIVERGED, plot_outcomes

    x, y = torch.tensor([-1.0, 0.0, 1.0]), torch.tensor([1e-3, 1e-2, 1e-1, 1.0])
    outcome = torch.tensor([[0, 1, 2]] * 4)
    ax = plot_outcomes(x, y, outcome, labels=("a", "b", "c"))
    mesh = ax.collections[0]
    colours = [to_hex(c) for c in mesh.cmap(mesh.norm(np.asarray(mesh.get_array())[0]))]
    assert colours == [REACHED.lower(), STUCK.lower(), DIVERGED.lower()]
    edges = mesh.get_coordinates()[:, 0, 1]  # the cells' lower and upper y edges
    np.testing.assert_allclose(edges, [10**-3.5, 10**-2.5, 10**-1.5, 10**-0.5, 10**0.5])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    for bad in (torch.tensor([[0, 3, 1]] * 4), torch.zeros(3, 3)):
        with pytest.raises(ValueError, match="Invalid outcome"):
            plot_outcomes(x, y, bad)
    plt.close("all")
