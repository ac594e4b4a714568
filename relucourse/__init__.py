"""relucourse: ReLU neurons, their population losses, training and figures, for the course's lessons."""

from .activations import LeakyReLUFunction, leaky_relu, relu
from .animation import animate_paths, animation_html
from .at_zero import (
    SPELLINGS,
    Twins,
    derivative_at_zero,
    derivative_table,
    exact_zero_fractions,
    html_table,
    train_twins,
)
from .data import teacher_student_batches
from .dead_units import DeadUnitMonitor, born_dead_probability, dead_fraction, dead_fraction_by_lr, dead_units
from .depth import gradient_norms, layer_gain
from .landscape import descend, monte_carlo_loss, population_grad, population_loss, reached_teacher
from .linefit import (
    convex_gap_bound,
    line_descent,
    line_grad,
    line_hessian,
    line_loss,
    line_optimum,
    smoothness,
    strong_convexity,
    strongly_convex_gap_bound,
)
from .models import MLP, Neuron, init_layer
from .optim import SGD, Adam
from .plotting import (
    DIVERGED,
    REACHED,
    STUCK,
    plot_landscape,
    plot_loss,
    plot_loss_curve,
    plot_outcomes,
    plot_param,
    plot_paths,
)
from .relatives import MLPFamily, Runs, SideBySide, SummedMSE, compare_mlps, compare_neurons, neuron_loss, relatives
from .sweep import OptimizerSpec, Outcome, Sweep, classify, sweep, trajectory
from .train import History, train
from .widgets import TrajectorySliders, plot_trajectory

__all__ = [
    "SGD",
    "Adam",
    "OptimizerSpec",
    "Outcome",
    "Sweep",
    "classify",
    "sweep",
    "trajectory",
    "DIVERGED",
    "plot_outcomes",
    "relatives",
    "neuron_loss",
    "SideBySide",
    "MLPFamily",
    "SummedMSE",
    "Runs",
    "compare_neurons",
    "compare_mlps",
    "gradient_norms",
    "layer_gain",
    "animate_paths",
    "animation_html",
    "plot_trajectory",
    "TrajectorySliders",
    "line_loss",
    "line_grad",
    "line_descent",
    "line_hessian",
    "line_optimum",
    "smoothness",
    "strong_convexity",
    "convex_gap_bound",
    "strongly_convex_gap_bound",
    "LeakyReLUFunction",
    "leaky_relu",
    "relu",
    "teacher_student_batches",
    "Neuron",
    "MLP",
    "init_layer",
    "SPELLINGS",
    "derivative_at_zero",
    "derivative_table",
    "html_table",
    "exact_zero_fractions",
    "Twins",
    "train_twins",
    "dead_units",
    "dead_fraction",
    "DeadUnitMonitor",
    "dead_fraction_by_lr",
    "born_dead_probability",
    "population_loss",
    "population_grad",
    "monte_carlo_loss",
    "descend",
    "reached_teacher",
    "History",
    "train",
    "REACHED",
    "STUCK",
    "plot_loss",
    "plot_param",
    "plot_loss_curve",
    "plot_landscape",
    "plot_paths",
]
