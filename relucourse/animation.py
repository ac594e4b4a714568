r"""Moving pictures: gradient-descent paths $(w_t, b_t)$ drawn step after step over the loss landscape.

`animate_paths` makes a matplotlib animation; `animation_html` embeds it in a notebook and in the book
as HTML and JavaScript, its frames inline and nothing loaded from elsewhere.
"""

from __future__ import annotations

import html
import re

import numpy as np
from IPython.display import HTML
from matplotlib.animation import Animation, FuncAnimation
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from .plotting import REACHED, STUCK, plot_landscape

__all__ = ["frame_steps", "animate_paths", "animation_html"]

# matplotlib's player draws its buttons with Font Awesome 4 from a CDN: offline (and in the book's
# browser test) that request fails and the buttons are blank. Plain characters instead; each button
# keeps its title and aria-label.
_FONT_AWESOME = re.compile(r'<link rel="stylesheet"\s+href="[^"]*font-awesome[^"]*">')
_ICON = re.compile(r'<i class="fa ([^"]+)"></i>')
_FRAME_IMAGE = '<img id="_anim_img'  # the start of the <img> in which the player shows its frames
_GLYPHS = {"fa-minus": "\u2212", "fa-fast-backward": "\u21e4", "fa-step-backward": "\u2039", "fa-play fa-flip-horizontal": "\u25c0",
           "fa-pause": "\u275a\u275a", "fa-play": "\u25b6", "fa-step-forward": "\u203a", "fa-fast-forward": "\u21e5", "fa-plus": "+"}  # fmt: skip


def frame_steps(steps: int, frames: int) -> np.ndarray:
    r"""The steps $0 = t_0 < t_1 < \dots < t_{n-1} = T$ the frames show, geometrically spaced ($n \le$ frames).

    Gradient descent moves most in its first steps: frames equally spaced in $t$ would show the paths
    already settled from the second frame on.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"Invalid number of steps: {steps!r} (expected an int >= 1)")
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 2:
        raise ValueError(f"Invalid number of frames: {frames!r} (expected an int >= 2)")
    return np.unique(np.concatenate([[0], np.rint(np.geomspace(1, steps, frames - 1)).astype(int)]))


def animate_paths(
    w_paths: Tensor,
    b_paths: Tensor,
    reached: Tensor,
    *,
    landscape: tuple[Tensor, Tensor, Tensor] | None = None,
    frames: int = 20,
    interval: int = 150,
    ax: Axes | None = None,
    **landscape_kw: object,
) -> FuncAnimation:
    r"""Paths of shape (steps + 1, k) drawn up to step $t_i$ in frame $i$ (`frame_steps`), over the landscape.

    Args:
        w_paths, b_paths: $w_t$ and $b_t$ of k runs, the start first, as `landscape.descend` returns them (flattened to k).
        reached: shape (k,): run j is drawn blue if reached[j] (it reaches the teacher), vermillion otherwise.
        landscape: (w, b, loss) as `plot_landscape` takes them, drawn once beneath the paths; None for none.
        frames: at most this many frames, >= 2.
        interval: milliseconds between frames.
        ax: where to draw; a new figure (not pyplot's, so a notebook shows only the animation) if None.
        landscape_kw: passed on to `plot_landscape` (levels, ...).

    Returns:
        the animation; ``animation_html(animation)`` shows it.
    """
    w_values, b_values = np.asarray(w_paths, dtype=float), np.asarray(b_paths, dtype=float)
    reached_mask = np.asarray(reached, dtype=bool)
    if w_values.ndim != 2 or w_values.shape != b_values.shape or reached_mask.shape != w_values.shape[1:]:
        raise ValueError(
            f"Invalid paths: shapes w_paths {w_values.shape}, b_paths {b_values.shape} and reached {reached_mask.shape} "
            "do not agree (expected (steps + 1, k), (steps + 1, k), (k,))"
        )
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise ValueError(f"Invalid interval: {interval!r} (expected milliseconds, an int >= 1)")
    times = frame_steps(len(w_values) - 1, frames)
    if ax is None:
        ax = Figure(figsize=(6.4, 5.2), dpi=72, layout="constrained").add_subplot()  # 72 dpi: small frames for the page
    if landscape is not None:
        plot_landscape(*landscape, ax=ax, **landscape_kw)
    else:
        margin = 0.05 * max(np.ptp(w_values), np.ptp(b_values), 1e-9)
        ax.set(
            xlim=(w_values.min() - margin, w_values.max() + margin),
            ylim=(b_values.min() - margin, b_values.max() + margin),
        )
    colours = np.where(reached_mask, REACHED, STUCK)
    lines = [ax.plot([], [], color=colour, lw=1.2)[0] for colour in colours]
    ax.scatter(w_values[0], b_values[0], s=14, c=colours, zorder=3)  # the starts
    for colour, label in ((REACHED, "reaches the teacher"), (STUCK, "gets stuck")):
        ax.plot([], [], color=colour, label=label)
    ax.legend(loc="upper left")
    ax.set(xlabel="weight $w$", ylabel="bias $b$", title=f"gradient descent, step {times[-1]} of {times[-1]}")
    ax.figure.draw_without_rendering()  # lay the figure out once, with the widest title ...
    ax.figure.set_layout_engine("none")  # ... and keep that layout: each frame then only draws

    # the points drawn: every frame's step and a few hundred others, spaced like the frames (a path is smooth)
    points = np.union1d(times, frame_steps(len(w_values) - 1, 300))

    def draw(frame: int) -> list:
        t = times[frame]
        shown = points[points <= t]
        for j, line in enumerate(lines):
            line.set_data(w_values[shown, j], b_values[shown, j])
        ax.set_title(f"gradient descent, step {t} of {times[-1]}")
        return lines

    return FuncAnimation(ax.figure, draw, frames=len(times), interval=interval, blit=False)


def animation_html(animation: Animation, *, alt: str | None = None) -> HTML:
    """The animation as an HTML player (``to_jshtml``) that loads nothing from elsewhere, for a notebook or the book.

    Args:
        animation: what `animate_paths` returns, or any matplotlib animation.
        alt: the alt text of the player's frame image, saying what the animation shows (for screen readers);
            None leaves the image without one.
    """
    if not isinstance(animation, Animation):
        raise TypeError(f"Invalid animation: expected a matplotlib Animation, got {type(animation).__name__}")
    if alt is not None and not isinstance(alt, str):
        raise TypeError(f"Invalid alt: expected a str or None, got {type(alt).__name__}")
    if alt is not None and not alt.strip():
        raise ValueError("Invalid alt: expected a description of the animation, got an empty string")
    page = _FONT_AWESOME.sub("", animation.to_jshtml())
    if alt is not None:
        if page.count(_FRAME_IMAGE) != 1:
            raise RuntimeError(f"matplotlib's player has {page.count(_FRAME_IMAGE)} frame images, expected 1")
        page = page.replace(_FRAME_IMAGE, f'<img alt="{html.escape(alt.strip())}" id="_anim_img')
    return HTML(_ICON.sub(lambda icon: f"<span>{_GLYPHS.get(icon.group(1), '?')}</span>", page))
