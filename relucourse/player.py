r"""Sliders that work without a kernel: heavy-ball paths $w_t$ for a grid of $(\eta, \beta, w_0)$, computed once by
`relucourse.sweep` when the page is built and drawn by a few lines of JavaScript in the page itself.

In the book, where no kernel runs, the sliders pick one of the precomputed runs; in JupyterLab the same HTML
works once the cell has run. Nothing is loaded from elsewhere: the runs are inline JSON, the plot is SVG.
"""

from __future__ import annotations

import html
import json
import uuid
from collections.abc import Sequence

import torch
from IPython.display import HTML

from .optim import SGD
from .plotting import DIVERGED, REACHED, STUCK
from .sweep import Outcome, sweep

__all__ = ["trajectory_runs", "trajectory_player"]

W_SHOWN = 3.0  # the plot shows w in [-3, 3]; a path beyond is drawn at the edge
_COLOURS = {Outcome.REACHED: REACHED, Outcome.STUCK: STUCK, Outcome.DIVERGED: DIVERGED}
_WORDS = {
    Outcome.REACHED: "reaches the teacher",
    Outcome.STUCK: "does not reach the teacher",
    Outcome.DIVERGED: "diverges",
}


def trajectory_runs(w0: Sequence[float], lr: Sequence[float], momentum: Sequence[float], *, steps: int) -> dict:
    r"""Heavy ball (torch.optim.SGD's rule) on the exact population loss $L(w)$ for every $(\beta, \eta, w_0)$.

    Returns:
        a dict with the axes ``w0``, ``lr``, ``momentum``, ``steps``; ``paths[m][l][s]``, the list $w_0, \dots, w_T$
        (rounded to 4 decimals, clipped to $\pm 10^6$); ``outcome[m][l][s]``, the `Outcome` code.
    """
    optimizers = {f"momentum {b:g}": (SGD, {"momentum": float(b)}) for b in momentum}
    if len(optimizers) != len(momentum):
        raise ValueError(f"Invalid momentum: values repeat in {list(momentum)}")
    runs = sweep(torch.tensor(w0, dtype=torch.float64), lr=torch.tensor(lr, dtype=torch.float64), optimizers=optimizers,
                 steps=steps, record=True)  # fmt: skip
    paths = runs.w_path.clamp(-1e6, 1e6).round(decimals=4).permute(1, 2, 3, 0)  # (momentum, lr, w0, steps + 1)
    return {"w0": list(map(float, w0)), "lr": list(map(float, lr)), "momentum": list(map(float, momentum)), "steps": steps,
            "paths": paths.tolist(), "outcome": runs.outcome.tolist()}  # fmt: skip


_SCRIPT = """
(() => {
  const root = document.getElementById("%(id)s");
  const data = JSON.parse(root.querySelector("script[type='application/json']").textContent);
  const [width, height, pad, shown] = [640, 300, 40, %(shown)s];
  const x = t => pad + (width - 2 * pad) * t / data.steps;
  const y = w => pad + (height - 2 * pad) * (shown - Math.max(-shown, Math.min(shown, w))) / (2 * shown);
  const sliders = ["momentum", "lr", "w0"].map(name => root.querySelector(`input[name='${name}']`));
  const path = root.querySelector("polyline.path"), caption = root.querySelector(".caption");
  function draw() {
    const [m, l, s] = sliders.map(slider => Number(slider.value));
    sliders.forEach((slider, i) => slider.nextElementSibling.textContent = data[slider.name][[m, l, s][i]]);
    const w = data.paths[m][l][s], outcome = data.outcome[m][l][s];
    path.setAttribute("points", w.map((value, t) => `${x(t).toFixed(1)},${y(value).toFixed(1)}`).join(" "));
    path.setAttribute("stroke", %(colours)s[outcome]);
    caption.textContent = `η = ${data.lr[l]}, β = ${data.momentum[m]}, w₀ = ${data.w0[s]}: after ${data.steps} steps ` +
      `w = ${w[w.length - 1]}, the run ${%(words)s[outcome]}.`;
  }
  sliders.forEach(slider => slider.addEventListener("input", draw));
  draw();
})();
"""


def trajectory_player(runs: dict, *, alt: str, start: tuple[float, float, float] | None = None) -> HTML:
    r"""An HTML player for `trajectory_runs`: sliders for $\eta$, $\beta$, $w_0$ and the path $w_t$ against $t$ as SVG.

    Args:
        runs: what `trajectory_runs` returns.
        alt: what the figure shows, read out by screen readers (the SVG's aria-label).
        start: the (lr, momentum, w0) shown first, each the grid value nearest to it; the middle of each axis if None.
    """
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("Invalid alt: expected a description of the figure, got an empty string")
    axes = {"momentum": runs["momentum"], "lr": runs["lr"], "w0": runs["w0"]}
    first = dict(zip(("lr", "momentum", "w0"), start)) if start is not None else {}
    index = {name: min(range(len(values)), key=lambda i: abs(values[i] - first[name])) if name in first else len(values) // 2
             for name, values in axes.items()}  # fmt: skip
    labels = {"momentum": "momentum β", "lr": "step size η", "w0": "start w₀"}
    player = f"relucourse-player-{uuid.uuid4().hex[:12]}"
    sliders = "".join(
        f'<label style="display:block"><span style="display:inline-block;width:7em">{labels[name]}</span>'
        f'<input type="range" name="{name}" min="0" max="{len(values) - 1}" step="1" value="{index[name]}" '
        f'aria-label="{labels[name]}" style="width:22em;vertical-align:middle"><output></output></label>'
        for name, values in axes.items()
    )
    level = lambda w: 40 + 220 * (W_SHOWN - w) / (2 * W_SHOWN)  # noqa: E731  y of a weight, as the script's y()
    svg = (
        f'<svg viewBox="0 0 640 300" width="640" height="300" role="img" aria-label="{html.escape(alt.strip())}">'
        '<rect x="40" y="40" width="560" height="220" fill="none" stroke="#999"/>'
        f'<line x1="40" x2="600" y1="{level(0):.1f}" y2="{level(0):.1f}" stroke="#999" stroke-dasharray="4 3"/>'
        f'<line x1="40" x2="600" y1="{level(1):.1f}" y2="{level(1):.1f}" stroke="#000" stroke-dasharray="1 3"/>'
        f'<text x="604" y="{level(0) + 4:.1f}" font-size="12">kink</text>'
        f'<text x="604" y="{level(1) + 4:.1f}" font-size="12">teacher</text>'
        f'<text x="36" y="44" font-size="12" text-anchor="end">{W_SHOWN:g}</text>'
        f'<text x="36" y="264" font-size="12" text-anchor="end">{-W_SHOWN:g}</text>'
        f'<text x="320" y="290" font-size="13" text-anchor="middle">step t (0 to {runs["steps"]})</text>'
        '<text x="14" y="150" font-size="13" transform="rotate(-90 14 150)" text-anchor="middle">weight w</text>'
        '<polyline class="path" fill="none" stroke-width="2"/></svg>'
    )
    script = _SCRIPT % {"id": player, "shown": W_SHOWN, "colours": json.dumps({int(k): v for k, v in _COLOURS.items()}),
                        "words": json.dumps({int(k): v for k, v in _WORDS.items()})}  # fmt: skip
    data = json.dumps(runs, separators=(",", ":")).replace("</", "<\\/")
    return HTML(
        f'<div id="{player}" class="relucourse-player">{sliders}{svg}<p class="caption"></p>'
        f'<script type="application/json">{data}</script><script>{script}</script></div>'
    )
