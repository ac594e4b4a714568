"""relucourse: ReLU neurons, their population losses, training and figures, for the course's lessons."""

from .activations import LeakyReLUFunction, leaky_relu, relu
from .data import teacher_student_batches
from .landscape import descend, monte_carlo_loss, population_grad, population_loss, reached_teacher
from .models import Neuron
from .plotting import REACHED, STUCK, plot_landscape, plot_loss, plot_loss_curve, plot_param, plot_paths
from .train import History, train

__all__ = [
    "LeakyReLUFunction",
    "leaky_relu",
    "relu",
    "teacher_student_batches",
    "Neuron",
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
