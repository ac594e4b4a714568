"""The moving picture: frames at geometrically spaced steps, each path drawn up to the frame's step, embedded as HTML."""

import re

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from relucourse.animation import animate_paths, animation_html, frame_steps
from relucourse.plotting import REACHED, STUCK

pytestmark = pytest.mark.dying_relu


def spirals(steps: int = 400, k: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """k made-up paths, shape (steps + 1, k), that end at distinct points."""
    t = torch.linspace(0, 1, steps + 1)[:, None]
    turn = torch.arange(k)[None, :] * 2.0
    return torch.cos(6 * t + turn) * (1 - t) + turn / 4, torch.sin(6 * t + turn) * (1 - t)


@pytest.mark.parametrize("steps, frames", [(2000, 24), (10, 24), (1, 2), (100, 5)])
def test_frames_show_the_start_the_end_and_increasing_steps_in_between(steps, frames):
    times = frame_steps(steps, frames)
    assert times[0] == 0 and times[-1] == steps
    assert np.all(np.diff(times) > 0) and len(times) <= frames
    if steps >= frames:
        assert len(times) >= frames // 2  # rounding merges a few early steps, not most


def test_early_steps_get_more_frames_than_late_ones():
    times = frame_steps(2000, 24)
    assert np.sum(times <= 200) > np.sum(times > 1000)


def test_the_animation_embeds_one_frame_per_step_shown_and_ends_on_the_whole_paths():
    w, b = spirals()
    reached = torch.tensor([True, False, True])
    _, axes = plt.subplots()
    animation = animate_paths(w, b, reached, frames=6, ax=axes)
    html = animation_html(animation).data
    frames = re.findall(r'frames\[\d+\] = "data:image/png;base64,', html)
    assert len(frames) == len(frame_steps(400, 6))
    assert "<script" in html and "anim-buttons" in html
    loaded = re.findall(r'(?:href|src)="(?!data:)([^"]+)"', html)
    assert not loaded and "font-awesome" not in html, f"the player loads {loaded} (offline, in the book, that fails)"
    assert 'class="fa ' not in html, "the player's buttons still need Font Awesome"
    path_lines = [line for line in axes.lines if len(line.get_xdata()) > 0]
    assert len(path_lines) == 3
    for j, line in enumerate(path_lines):
        assert line.get_color() == (REACHED if reached[j] else STUCK)
        assert np.allclose(line.get_xdata()[[0, -1]], w[[0, -1], j]) and np.allclose(
            line.get_ydata()[[0, -1]], b[[0, -1], j]
        )
        assert set(np.asarray(line.get_xdata(), dtype=np.float32)) <= set(w[:, j].numpy())  # points of the path only
    assert "400 of 400" in axes.get_title()


def test_a_landscape_is_drawn_beneath_with_its_colour_bar():
    w, b = spirals(steps=20, k=2)
    grid = torch.linspace(-2, 2, 21)
    loss = torch.exp(torch.meshgrid(grid, grid, indexing="xy")[0])
    figure, axes = plt.subplots()
    animation = animate_paths(w, b, torch.tensor([True, False]), landscape=(grid, grid, loss), frames=3, ax=axes)
    assert len(figure.axes) == 2  # the paths' axes and the colour bar
    assert figure.axes[0].get_xlabel() and figure.axes[0].get_ylabel()
    animation_html(animation)


def test_animation_html_takes_an_animation():
    with pytest.raises(TypeError, match="animation"):
        animation_html("<html>")


def test_the_players_frame_image_carries_the_alt_text_escaped():
    w, b = spirals(steps=10, k=2)
    animation = animate_paths(w, b, torch.tensor([True, False]), frames=2)
    images = re.findall(r"<img\b[^>]*>", animation_html(animation, alt='Paths "round" the kink & <on>').data)
    assert len(images) == 1 and 'alt="Paths &quot;round&quot; the kink &amp; &lt;on&gt;"' in images[0], images
    assert "alt=" not in re.findall(r"<img\b[^>]*>", animation_html(animation).data)[0]  # no alt asked for, none given


@pytest.mark.parametrize("alt, error", [("", ValueError), ("   ", ValueError), (3, TypeError)])
def test_an_empty_or_non_text_alt_is_refused(alt, error):
    w, b = spirals(steps=10, k=2)
    animation = animate_paths(w, b, torch.tensor([True, False]), frames=2)
    animation_html(animation)  # rendered once, so that matplotlib does not warn when it is dropped
    with pytest.raises(error, match="alt"):
        animation_html(animation, alt=alt)


@pytest.mark.parametrize(
    "change, words",
    [
        ({"reached": torch.tensor([True])}, "do not agree"),
        ({"b": torch.zeros(5, 3)}, "do not agree"),
        ({"frames": 1}, "frames"),
        ({"interval": 0}, "interval"),
    ],
)
def test_bad_arguments_are_named(change, words):
    w, b = spirals(steps=10)
    arguments = {"w": w, "b": b, "reached": torch.tensor([True, False, True]), **change}
    with pytest.raises(ValueError, match=words):
        animate_paths(arguments.pop("w"), arguments.pop("b"), arguments.pop("reached"), **arguments)
