r"""Every claim of the three source threads, measured: ``python -m relucourse.claims`` prints the table, ``--json`` the list.

Each claim is one small experiment in the setting its thread describes: the single-neuron problem
$\mathrm{relu}(wx)$ against $\mathrm{relu}(x)$, batches of 1000 inputs from ``teacher_student_batches(seed=0)``,
2000 steps, mean squared error, the stated optimizer and step size. Claims about SGD run on those sampled
batches (`relucourse.sweep` with ``gradient="sampled"``); claims about the loss itself, or about gradient
descent on it, use the exact population loss. Where a thread leaves a value open, the experiment takes the
value the thread uses elsewhere (momentum 0.9; Adam's step as stated, else Keras's default 0.001) and also
runs the other plausible values; when the verdict changes with them it is ``depends`` and ``setting`` says
on what. Adam runs with Keras's $\epsilon = 10^{-7}$.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import Tensor
from torch.optim import SGD, Adam

from .at_zero import SPELLINGS, derivative_at_zero, exact_zero_fractions
from .landscape import population_loss
from .linefit import line_descent, line_loss, line_optimum
from .models import MLP
from .relatives import compare_mlps, one_thread, relatives
from .sweep import OptimizerSpec, Sweep, sweep

__all__ = [
    "VERDICTS", "FIELDS", "Claim", "claim_ids", "check_claims", "optimizer_runs", "text_table", "markdown_table", "main",
]

VERDICTS = ("holds", "fails", "depends")
FIELDS = ("id", "source", "claim", "setting", "measured", "verdict")

SEED, BATCH, STEPS = 0, 1000, 2000  # the seed's stream, batch size and budget (20 epochs of 100 steps)
LR = 0.01  # Keras's default step for optimizer='sgd', the thread's run
MOMENTUM = 0.9  # the momentum of the thread's opt_sgd
ADAM_LRS = (0.001, 0.01, 0.1)  # Keras's default, the thread's opt_adam, and a larger one
KERAS_EPS = 1e-7  # Keras's Adam epsilon
GLOROT_LIMIT = math.sqrt(3.0)  # Keras's default kernel init for a 1 x 1 Dense layer: U(-√(6/2), √(6/2))
MLP_STEPS = 1000  # the network experiment of thread 001, which states no budget


@dataclass(frozen=True)
class Claim:
    """One claim of a thread, and what running it gave.

    Attributes:
        id, source, claim: which claim, where it is made, what it says (paraphrased).
        setting: how it was run, and for ``depends`` what the verdict depends on.
        measured: the numbers the verdict rests on.
        verdict: ``holds``, ``fails`` or ``depends``.
        numbers: the same numbers by name, for a lesson to quote (not part of the JSON).
    """

    id: str
    source: str
    claim: str
    setting: str
    measured: str
    verdict: str
    numbers: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    def to_json(self) -> dict[str, str]:
        """The six public fields."""
        return {name: getattr(self, name) for name in FIELDS}


class _Measured(NamedTuple):
    setting: str
    measured: str
    verdict: str
    numbers: dict[str, float]


@dataclass(frozen=True)
class _Experiment:
    source: str
    claim: str
    run: Callable[[], _Measured]


_EXPERIMENTS: dict[str, _Experiment] = {}


def _claim(claim_id: str, source: str, claim: str) -> Callable[[Callable[[], _Measured]], Callable[[], _Measured]]:
    def register(run: Callable[[], _Measured]) -> Callable[[], _Measured]:
        _EXPERIMENTS[claim_id] = _Experiment(source, claim, run)
        return run

    return register


def _verdict(holds: bool, fails: bool = False) -> str:
    return "holds" if holds else "fails" if fails else "depends"


# --- shared runs of the single-neuron problem ----------------------------------------------------------------------

MOMENTA = (0.5, 0.8, 0.85, MOMENTUM, 0.99)  # around the heavy ball's threshold (1 - √lr)^2 = 0.81
_OPTIMIZERS: dict[str, OptimizerSpec] = {
    "SGD": (SGD, {}),
    **{f"SGD + momentum {m:g}": (SGD, {"momentum": m}) for m in MOMENTA},
    "Adam": (Adam, {"eps": KERAS_EPS}),
    "Adam + AMSGrad": (Adam, {"eps": KERAS_EPS, "amsgrad": True}),
}
_STARTS = (-10.0, -1.0)  # the thread's two backward starts
_LRS = tuple(sorted({LR, *ADAM_LRS}))


@functools.cache
def optimizer_runs() -> Sweep:
    r"""The optimizer runs behind the s2 claims: SGD, SGD + momentum (0.5 to 0.99), Adam and Adam + AMSGrad, each at
    lr 0.001, 0.01 and 0.1, from $w_0 = -10$ and $w_0 = -1$, on the seed's batches; paths recorded.

    Returns:
        a `Sweep` with ``w_path`` of shape (2001, optimizers, 3, 2): index ``[t, names.index(name), lr, start]``.
    """
    return sweep(torch.tensor(_STARTS, dtype=torch.float64), lr=_LRS, optimizers=_OPTIMIZERS, steps=STEPS,
                 gradient="sampled", batch_size=BATCH, seed=SEED, record=True)


def _path(w0: float, optimizer: str = "SGD", lr: float = LR) -> Tensor:
    """The weight at every step, shape (STEPS + 1,), of one run of the optimizer grid."""
    grid = optimizer_runs()
    return grid.w_path[:, grid.names.index(optimizer), _LRS.index(lr), _STARTS.index(w0)]


@functools.cache
def _plain_sgd(w0: tuple[float, ...], slope: float = 0.0) -> Tensor:
    """Plain SGD at lr 0.01 on the seed's batches from each start, shape (STEPS + 1, len(w0))."""
    runs = sweep(torch.tensor(w0, dtype=torch.float64), lr=LR, optimizers={"SGD": _OPTIMIZERS["SGD"]}, steps=STEPS,
                 gradient="sampled", batch_size=BATCH, seed=SEED, slope=slope, record=True)
    return runs.w_path[:, 0, 0]


def _reaches(path: Tensor, target: float = 1.0, tol: float = 1e-2) -> bool:
    return bool(abs(path[-1].item() - target) < tol)


def _first(condition: Tensor) -> int:
    """The first step at which `condition` (shape (steps + 1,)) holds, or -1."""
    return int(condition.double().argmax().item()) if condition.any() else -1


def _steps_text(step: int) -> str:
    return f"{step} steps" if step >= 0 else f"not within {STEPS} steps"


@functools.cache
def _glorot_starts(n: int = 1000) -> tuple[float, ...]:
    generator = torch.Generator().manual_seed(SEED)
    return tuple(((2 * torch.rand(n, generator=generator, dtype=torch.float64) - 1) * GLOROT_LIMIT).tolist())


# --- 002: a single ReLU learning a single ReLU -----------------------------------------------------------------------

Q2, A2 = "002 question (endolith)", "002 answer (Sycorax)"
SEED_SETTING = "batches of 1000, 2000 steps, MSE"


@_claim("s2-stuck-negative", Q2, "Started at w0 = -10, SGD stalls at w = 0 and never reaches the teacher's side.")
def _stuck_negative() -> _Measured:
    w = _path(-10.0)
    w_end, loss = w[-1].item(), population_loss(w[-1]).item()
    holds = bool((w < 0).all()) and abs(w_end) < 1e-3
    return _Measured(
        f"w0 = -10, plain SGD lr {LR} (Keras's 'sgd'), {SEED_SETTING}",
        f"w_2000 = {w_end:.2e}, negative at every step; population loss {loss:.6f}, the plateau L(0) = 1/2",
        _verdict(holds, fails=not holds), {"w_end": w_end, "loss_end": loss})


@_claim("s2-positive-converges", Q2, "Started in the teacher's orientation (w0 > 0), SGD quickly converges to w = 1.")
def _positive_converges() -> _Measured:
    starts = torch.tensor(_glorot_starts())
    w = _plain_sgd(_glorot_starts())
    positive = starts > 0
    error = (w[-1, positive] - 1).abs().max().item()
    arrive = [_first((w[:, k] - 1).abs() < 1e-2) for k in positive.nonzero().flatten().tolist()]
    median = float(torch.tensor(arrive, dtype=torch.float64).median())
    holds = error < 1e-3 and min(arrive) >= 0
    return _Measured(
        f"the {int(positive.sum())} positive ones of 1000 Keras-default starts w0 ~ U(-√3, √3); "
        f"plain SGD lr {LR}, {SEED_SETTING}",
        f"all end within {error:.1e} of 1; within 0.01 of 1 after {median:.0f} steps (median), "
        f"{max(arrive)} at most",
        _verdict(holds, fails=not holds), {"max_error": error, "median_steps": median, "max_steps": max(arrive)})


@_claim("s2-half-fail", Q2, "From a random start, training fails to converge about half the time.")
def _half_fail() -> _Measured:
    starts = torch.tensor(_glorot_starts())
    w = _plain_sgd(_glorot_starts())
    failed = (w[-1] - 1).abs() >= 1e-2
    fraction = failed.double().mean().item()
    exactly_negative = bool(torch.equal(failed, starts < 0))
    holds = 0.4 <= fraction <= 0.6
    return _Measured(
        f"1000 starts from Keras's default init, w0 ~ U(-√3, √3); plain SGD lr {LR}, {SEED_SETTING}",
        f"{fraction:.1%} fail (end away from 1); the failures are "
        + ("exactly the starts with w0 < 0" if exactly_negative else "not exactly the starts with w0 < 0"),
        _verdict(holds, fails=not holds), {"fail_fraction": fraction, "fail_iff_negative": float(exactly_negative)})


@_claim("s2-bias-stuck", Q2, "With a bias, starts that are upside down (w0 < 0) circle round and get stuck.")
def _bias_stuck() -> _Measured:
    grid = torch.linspace(-3, 3, 13, dtype=torch.float64)
    w0, b0 = torch.meshgrid(grid, grid, indexing="xy")
    runs = sweep(w0, b0, lr=LR, optimizers={"SGD": _OPTIMIZERS["SGD"]}, steps=STEPS, gradient="sampled",
                 batch_size=BATCH, seed=SEED)
    loss = population_loss(runs.w[0, 0], runs.b[0, 0])
    upside_down = w0 < 0
    stuck, reached = loss > 0.45, loss < 1e-2  # at the plateau 1/2 (dead), at the teacher
    n, n_stuck, n_reached = int(upside_down.sum()), int((stuck & upside_down).sum()), int((reached & upside_down).sum())
    ratio = b0 / w0.abs()
    escaped_min = ratio[upside_down & ~stuck].min().item() if (upside_down & ~stuck).any() else math.inf
    stuck_max = ratio[upside_down & stuck].max().item() if (upside_down & stuck).any() else -math.inf
    all_nonpositive_stuck = bool(stuck[upside_down & (b0 <= 0)].all())
    verdict = _verdict(n_stuck == n, fails=n_stuck == 0)
    return _Measured(
        f"student relu(wx + b), {n} upside-down starts (w0 < 0) of a 13 x 13 grid on [-3, 3]^2; plain SGD lr {LR}, "
        f"{SEED_SETTING}. Depends on the start's bias: the kink -b0/w0 must lie well inside the teacher's half",
        f"{n_stuck} of {n} end dead at the plateau (loss > 0.45), {n_reached} reach the teacher (loss < 0.01), "
        f"{n - n_stuck - n_reached} are still on their way; "
        + ("every start with b0 <= 0 is stuck (Keras's default b0 = 0 included); " if all_nonpositive_stuck else "")
        + f"stuck up to b0/|w0| = {stuck_max:.2f}, escaping from b0/|w0| = {escaped_min:.2f}",
        verdict, {"upside_down": n, "stuck": n_stuck, "reached": n_reached, "stuck_ratio_max": stuck_max,
                  "escaped_ratio_min": escaped_min})


@_claim("s2-nonconvex", A2, "The loss as a function of w is not convex.")
def _nonconvex() -> _Measured:
    a, b, t = -0.5, 1.0, 1 / 3  # the point (1 - t) a + t b = 0, the kink
    chord = (1 - t) * population_loss(a).item() + t * population_loss(b).item()
    at_kink = population_loss(0.0).item()
    return _Measured(
        "the exact population loss L(w) = E[(relu(wx) - relu(x))^2], x ~ N(0, 1)",
        f"L(0) = {at_kink:.4f} lies above the chord from w = -0.5 to w = 1, which is at {chord:.4f} over w = 0",
        _verdict(at_kink > chord, fails=at_kink <= chord), {"loss_at_kink": at_kink, "chord": chord})


@_claim("s2-leaky-fixes", A2, "A leaky ReLU student (α = 0.3) started at w0 = -10 converges: its loss falls quickly.")
def _leaky_fixes() -> _Measured:
    alpha = 0.3
    w = _plain_sgd((-10.0,), alpha)[:, 0]
    w_star = 1 / (1 + alpha**2)
    crossed = _first(w > 0)
    loss_start, loss_end = population_loss(-10.0, slope=alpha).item(), population_loss(w[-1], slope=alpha).item()
    holds = crossed >= 0 and abs(w[-1].item() - w_star) < 1e-3
    return _Measured(
        f"student leaky_relu(wx, 0.3), w0 = -10, plain SGD lr {LR}, {SEED_SETTING}",
        f"w crosses 0 after {_steps_text(crossed)} and ends at {w[-1].item():.4f} (its optimum 1/(1 + α^2) = "
        f"{w_star:.4f}); population loss {loss_start:.1f} -> {loss_end:.4f}",
        _verdict(holds, fails=not holds), {"w_end": w[-1].item(), "w_star": w_star, "cross_step": crossed,
                                           "loss_end": loss_end})


@_claim("s2-leaky-optimum-one", A2, "...and the leaky student's weight moves to w = 1, which is optimal.")
def _leaky_optimum_one() -> _Measured:
    alpha = 0.3
    w_end = _plain_sgd((-10.0,), alpha)[-1, 0].item()
    loss_end, loss_one = population_loss(w_end, slope=alpha).item(), population_loss(1.0, slope=alpha).item()
    fails = abs(w_end - 1) > 1e-2 and loss_end < loss_one
    return _Measured(
        f"as s2-leaky-fixes; the optimum from the exact loss L_α(w) = ((w - 1)^2 + α^2 w^2)/2 for w >= 0",
        f"w ends at {w_end:.4f}, not 1; L_α(1) = {loss_one:.4f} > L_α({w_end:.4f}) = {loss_end:.4f}: a leaky "
        "student cannot equal the ReLU teacher, and w = 1 is not its optimum",
        _verdict(not fails and abs(w_end - 1) <= 1e-2, fails=fails), {"w_end": w_end, "loss_one": loss_one,
                                                                    "loss_end": loss_end})


@functools.cache
def _at_minus_ten() -> dict[str, bool]:
    """Whether each optimizer setting reaches the teacher from w0 = -10 within the budget."""
    reached = {f"SGD lr {LR}": _reaches(_path(-10.0))}
    for name in ("Adam", "Adam + AMSGrad"):
        for lr in ADAM_LRS:
            reached[f"{name} lr {lr:g}"] = _reaches(_path(-10.0, name, lr))
    for momentum in MOMENTA:
        reached[f"SGD lr {LR} + momentum {momentum:g}"] = _reaches(_path(-10.0, f"SGD + momentum {momentum:g}"))
    return reached


@_claim("s2-optimizers-no-help-at-minus10", A2,
        "At w0 = -10, switching SGD to Adam, Adam + AMSGrad or SGD + momentum does not help.")
def _optimizers_no_help() -> _Measured:
    reached = _at_minus_ten()
    helped = [name for name, ok in reached.items() if ok]
    threshold = (1 - math.sqrt(LR)) ** 2  # heavy ball on L = (1 + w^2)/2: complex roots, it swings across 0
    adam_help = [name for name in helped if name.startswith("Adam")]
    momentum_help = [name for name in helped if "momentum" in name]
    return _Measured(
        f"w0 = -10, {SEED_SETTING}; Adam lr {', '.join(f'{lr:g}' for lr in ADAM_LRS)} (Keras's default, the "
        f"thread's, larger), momentum 0.5 to 0.99 with lr {LR} (the thread's 0.9). Depends on the momentum and "
        f"on Adam's step: heavy ball swings across 0 once momentum > (1 - √lr)^2 = {threshold:.2f}",
        "reach the teacher: " + (", ".join(helped) if helped else "none")
        + "; stuck: " + ", ".join(name for name, ok in reached.items() if not ok),
        _verdict(not helped, fails=len(helped) == len(reached) - 1),
        {"momentum_threshold": threshold, "momentum_helps": float(reached[f"SGD lr {LR} + momentum {MOMENTUM:g}"]),
         "adam_settings_helping": float(len(adam_help)), "momentum_settings_helping": float(len(momentum_help))})


@_claim("s2-adam-slower", A2, "At w0 = -10, Adam makes slower progress than SGD.")
def _adam_slower() -> _Measured:
    near_plateau = lambda w: _first(w.abs() < 0.1)  # noqa: E731  L(w) within 1% of 1/2
    sgd = near_plateau(_path(-10.0))
    adam = {lr: near_plateau(_path(-10.0, "Adam", lr)) for lr in ADAM_LRS}
    slower = {lr: step < 0 or step > sgd for lr, step in adam.items()}
    return _Measured(
        f"w0 = -10, {SEED_SETTING}; progress = steps until |w| < 0.1 (loss within 1% of its floor 1/2 on this side); "
        f"SGD lr {LR} against Adam lr {', '.join(f'{lr:g}' for lr in ADAM_LRS)}. Depends on Adam's step",
        f"SGD: {_steps_text(sgd)}; " + "; ".join(f"Adam lr {lr:g}: {_steps_text(s)}" for lr, s in adam.items()),
        _verdict(all(slower.values()), fails=not any(slower.values())),
        {"sgd_steps": sgd, **{f"adam_steps_{lr:g}": s for lr, s in adam.items()}})


@_claim("s2-adam-minus1", A2, "From w0 = -1, Adam with step size 0.01 overcomes the flat region.")
def _adam_minus_one() -> _Measured:
    amsgrad, adam = _path(-1.0, "Adam + AMSGrad", 0.01), _path(-1.0, "Adam", 0.01)
    default = _path(-1.0, "Adam + AMSGrad", 0.001)
    holds = _reaches(amsgrad) and _reaches(adam)
    cross_amsgrad, cross_adam = _first(amsgrad > 0), _first(adam > 0)
    before = {name: path[step - 1].item() if step > 0 else math.nan  # the last weight left of the kink
              for name, path, step in (("amsgrad", amsgrad, cross_amsgrad), ("adam", adam, cross_adam))}
    return _Measured(
        f"w0 = -1, Adam lr 0.01 with amsgrad=True (the thread's opt_adam) and without, {SEED_SETTING}",
        f"AMSGrad crosses 0 after {_steps_text(cross_amsgrad)}, from w = {before['amsgrad']:.1e}, ends at "
        f"{amsgrad[-1].item():.6f}; plain Adam crosses after {_steps_text(cross_adam)}, from w = {before['adam']:.1e}: "
        f"both creep up to the kink and cross late, once the second moment has forgotten the early gradients; at "
        f"Keras's default lr 0.001 AMSGrad would stay at {default[-1].item():.3f}",
        _verdict(holds, fails=not (_reaches(amsgrad) or _reaches(adam))),
        {"amsgrad_w_end": amsgrad[-1].item(), "adam_w_end": adam[-1].item(), "default_lr_w_end": default[-1].item(),
         "amsgrad_cross_step": float(cross_amsgrad), "amsgrad_w_before": before["amsgrad"],
         "adam_cross_step": float(cross_adam), "adam_w_before": before["adam"]})


@_claim("s2-momentum-minus1", A2, "From w0 = -1, SGD with step size 0.01 and momentum overcomes the flat region.")
def _momentum_minus_one() -> _Measured:
    w = _path(-1.0, f"SGD + momentum {MOMENTUM:g}")
    weak = _path(-1.0, "SGD + momentum 0.8")
    return _Measured(
        f"w0 = -1, SGD lr {LR} + momentum {MOMENTUM} (the thread's opt_sgd), {SEED_SETTING}",
        f"crosses 0 after {_steps_text(_first(w > 0))}, ends at {w[-1].item():.6f} (with momentum 0.8 it stays at "
        f"{weak[-1].item():.1e})",
        _verdict(_reaches(w), fails=not _reaches(w)), {"w_end": w[-1].item(), "cross_step": _first(w > 0)})


@_claim("s2-sgd-minus1", A2, "From w0 = -1, even plain SGD with step size 0.01 overcomes the flat region.")
def _sgd_minus_one() -> _Measured:
    w = _path(-1.0)
    return _Measured(
        f"w0 = -1, plain SGD lr {LR}, {SEED_SETTING}",
        f"w_2000 = {w[-1].item():.2e}, negative at every step: each batch multiplies w by 1 - lr κ_t > 0",
        _verdict(_reaches(w), fails=not _reaches(w)), {"w_end": w[-1].item()})


def _escapes(runs: Sweep) -> tuple[Tensor, Tensor]:
    """Per (lr, start): reached the teacher by crossing 0 from a normal float; crossed only from a subnormal one."""
    before, after = runs.w_path[:-1, 0], runs.w_path[1:, 0]  # (steps, L, S)
    crossing = (before < 0) & (after > 0)
    normal = before.abs() >= torch.finfo(before.dtype).tiny
    reached = runs.outcome[0] == 0
    return reached & (crossing & normal).any(dim=0), reached & ~(crossing & normal).any(dim=0)


@_claim("s2-jump-over", A2, "Steps large enough jump over the flat region, so some negative starts are not stuck.")
def _jump_over() -> _Measured:
    starts = -torch.logspace(-2, 1, 16, dtype=torch.float64)  # w0 from -0.01 to -10
    lrs = torch.linspace(0.1, 2.5, 25, dtype=torch.float64)
    common = dict(lr=lrs, optimizers={"GD": _OPTIMIZERS["SGD"]}, steps=STEPS, batch_size=BATCH, seed=SEED, record=True)
    exact, artefact = _escapes(sweep(starts, gradient="exact", **common))
    sampled, artefact_sampled = _escapes(sweep(starts, gradient="sampled", **common))
    lr_ok, lr_ok_sampled = lrs[exact.all(dim=1)], lrs[sampled.all(dim=1)]
    none_small = not exact[lrs <= 1].any()
    artefacts = int(artefact.sum() + artefact_sampled.sum())
    holds = bool(lr_ok.numel() and lr_ok_sampled.numel())
    return _Measured(
        f"16 starts from -0.01 to -10, step sizes 0.1 to 2.5 (every 0.1); gradient descent on the exact loss, and "
        f"plain SGD on the seed's batches; {STEPS} steps, float64",
        f"exact loss: every start jumps to the teacher's side and converges for lr {lr_ok.min().item():.1f} to "
        f"{lr_ok.max().item():.1f}" + (", none for lr <= 1" if none_small else "")
        + " (w1 = (1 - lr) w0 > 0 iff lr > 1; lr >= 2 never settles); batches: every start for lr "
        f"{lr_ok_sampled.min().item():.1f} to {lr_ok_sampled.max().item():.1f}, since one batch with lr κ_t > 1 is "
        "enough" + (f". Not counted: {artefacts} runs that crossed only after w had decayed to a subnormal float, "
                    "where rounding flipped its sign" if artefacts else ""),
        _verdict(holds, fails=not holds),
        {"lr_min": lr_ok.min().item(), "lr_max": lr_ok.max().item(), "lr_min_sampled": lr_ok_sampled.min().item(),
         "lr_max_sampled": lr_ok_sampled.max().item(), "none_small": float(none_small), "artefacts": artefacts})


# --- 001: ReLU is not differentiable at 0 ---------------------------------------------------------------------------

A1 = "001 answer"


@_claim("s1-exact-zero-rare", A1, "A unit's input is hardly ever exactly 0, so the value taken for relu'(0) matters little.")
def _exact_zero_rare() -> _Measured:
    fractions = exact_zero_fractions()
    continuous = {k: v for k, v in fractions.items() if "nn.Linear: continuous inputs" in k}
    rare = max(continuous.values())
    common = {k: v for k, v in fractions.items() if v >= 1e-3}
    text = "; ".join(f"{k}: {v:.2g}" for k, v in fractions.items())
    return _Measured(
        "pre-activations z = Wx + b of layers with He weights (relucourse.at_zero.exact_zero_fractions, "
        "100 000 values each). Depends on the inputs, the initialisation and the precision",
        f"share exactly 0 — {text}",
        _verdict(not common, fails=rare > 1e-3),
        {"continuous_max": rare, "common_cases": float(len(common)), "cases": float(len(fractions)),
         "largest": max(fractions.values()), "low_precision_max": max(
             v for k, v in fractions.items() if "continuous" in k and ("float16" in k or "bfloat16" in k))})


@_claim("s1-torch-relu-grad-at-zero", A1 + " and comment",
        "Frameworks take relu'(0) = 0, like Theano's switch and the TensorFlow Playground; how relu is written can "
        "change it (Theano's nnet.relu gives 0.5).")
def _torch_relu_grad_at_zero() -> _Measured:
    spellings = ["torch.relu(x)", "F.relu(x)", "nn.ReLU()(x)", "torch.where(x > 0, x, 0)", "x * (x > 0)",
                 "x.clamp(min=0)", "torch.maximum(x, torch.zeros_like(x))", "(x + x.abs()) / 2"]
    derivative = {name: derivative_at_zero(SPELLINGS[name]) for name in spellings}
    builtin = [derivative[name] for name in spellings[:3]]
    return _Measured(
        "PyTorch autograd at a float32 tensor holding exactly 0. Depends on how relu is written",
        "; ".join(f"{name}: {value:g}" for name, value in derivative.items()),
        _verdict(len(set(derivative.values())) == 1 and builtin[0] == 0, fails=any(v != 0 for v in builtin)),
        {**derivative, "distinct_values": float(len(set(derivative.values())))})


def _abs_teacher(x: Tensor) -> Tensor:
    return x[:, 0].abs()  # |x|: the Euclidean distance in one dimension


@_claim("s1-dead-units-leaky-helps", A1, "If many units are dead, switching to leaky ReLU helps.")
def _dead_units_leaky_helps() -> _Measured:
    names = ("ReLU", "leaky 0.01", "leaky 0.3")
    activations = {name: act for name, act in relatives().items() if name in names}
    rows = {}
    for label, widths in (("narrow", [1, 3, 3, 3, 3, 3, 3, 1]), ("wide", [1, 16, 16, 1])):
        runs = compare_mlps(widths, activations, teacher=_abs_teacher, lr=LR, steps=MLP_STEPS)
        final = runs.loss[-100:].mean(dim=0)  # (A, S): the mean batch loss over the last 100 steps
        rows[label] = {name: (runs.dead_start[a].mean().item(), final[a].median().item())
                       for a, name in enumerate(runs.names)}
    narrow, wide = rows["narrow"], rows["wide"]
    helps_narrow = narrow["leaky 0.3"][1] < 0.1 * narrow["ReLU"][1]
    helps_wide = wide["leaky 0.3"][1] < 0.1 * wide["ReLU"][1]
    text = "; ".join(
        f"{label} MLP {name}: {dead:.0%} dead at the start, final loss {loss:.2g}"
        for label, row in rows.items() for name, (dead, loss) in row.items())
    return _Measured(
        f"thread 001 gives no setting: MLPs learning |x| from 4 seeds each, narrow [1, 3 x 6, 1] and wide "
        f"[1, 16, 16, 1], He init, plain SGD lr {LR}, batches of 128, {MLP_STEPS} steps (as in the leaky_relu lesson); "
        "loss = median over seeds of the last 100 steps. Depends on how many units die (depth, width) and on α",
        text,
        _verdict(helps_narrow and helps_wide, fails=not helps_narrow),
        {f"{label}_{name}_{what}": value for label, row in rows.items() for name, pair in row.items()
         for what, value in zip(("dead", "loss"), pair)})


# --- 000: how can gradient descent converge with a piecewise-constant derivative? ------------------------------------

A0 = "000 answer"


@functools.cache
def _points() -> tuple[Tensor, Tensor]:
    """The thread's point set S: one batch of the seed's stream, x ~ N(0, 1), y = relu(x), float64."""
    x = torch.randn(BATCH, generator=torch.Generator().manual_seed(SEED), dtype=torch.float64)
    return x, torch.relu(x)


@_claim("s0-weights-gradient-nonzero", A0,
        "Even where the ReLUs pass no gradient, the gradient with respect to the weights is nonzero unless training "
        "has reached a critical point.")
def _weights_gradient_nonzero() -> _Measured:
    x, y = _points()
    net = MLP([1, 16, 16, 1], seed=SEED).double()

    def gradient() -> tuple[float, int, int]:
        net.zero_grad()
        torch.nn.functional.mse_loss(net(x[:, None])[:, 0], y).backward()
        grads = torch.cat([p.grad.flatten() for p in net.parameters()])
        return grads.norm().item(), int((grads == 0).sum()), grads.numel()

    norm, zero, total = gradient()
    with torch.no_grad():
        net.layers[0].bias.fill_(-100.0)  # every first-layer unit negative on every input: no ReLU passes a gradient
    dead_norm, dead_zero, _ = gradient()
    holds = norm > 0 and dead_norm > 0
    return _Measured(
        f"MLP [1, 16, 16, 1], He init, on {BATCH} points (x, relu(x)); then with every first-layer unit pushed negative "
        "(bias -100)",
        f"at the start the gradient has norm {norm:.3f}, {zero} of {total} entries exactly 0 (weights of units "
        f"inactive on every point); with the first layer dead, norm {dead_norm:.3f} from the output bias alone, "
        f"{dead_zero} of {total} exactly 0: nonzero, but gradient descent then only fits the mean (a critical point)",
        _verdict(holds, fails=not holds), {"norm": norm, "zero": zero, "dead_norm": dead_norm, "dead_zero": dead_zero,
                                           "total": total})


@_claim("s0-line-fit-converges", A0, "Gradient descent on the least-squares fit of a line mx + b converges to its minimiser.")
def _line_fit_converges() -> _Measured:
    x, y = _points()
    m_star, b_star = line_optimum(x, y)
    starts = torch.linspace(-3, 3, 7, dtype=torch.float64)
    m, b = line_descent(starts, starts.flip(0), x, y, lr=LR, steps=STEPS)
    error = torch.maximum((m[-1] - m_star).abs(), (b[-1] - b_star).abs()).max().item()
    return _Measured(
        f"the {BATCH} points (x, relu(x)), full-batch gradient descent lr {LR}, {STEPS} steps, 7 starts on [-3, 3]^2",
        f"every start ends within {error:.1e} of the least-squares line (m*, b*) = ({m_star:.4f}, {b_star:.4f})",
        _verdict(error < 1e-6, fails=error >= 1e-2), {"max_error": error, "m_star": m_star, "b_star": b_star})


@_claim("s0-relu-fit-converges", A0, "The same holds for fitting relu(mx + b): gradient descent converges to the minimiser.")
def _relu_fit_converges() -> _Measured:
    x, y = _points()
    m0 = torch.tensor(_glorot_starts(40))  # Keras's default kernel init, bias 0
    m, b = line_descent(m0, 0.0, x, y, lr=LR, steps=STEPS, relu=True)
    loss = line_loss(m[-1], b[-1], x, y, relu=True)
    reached = loss < 1e-3  # at the minimiser relu(x) itself, loss 0, or well on the way
    dead = (loss - (y**2).mean()).abs() < 0.02  # near the loss of the zero function: every unit off
    fraction = reached.double().mean().item()
    exactly_positive = bool(torch.equal(reached, m0 > 0))
    distance = torch.hypot(m[-1] - 1, b[-1])[reached].max().item() if reached.any() else math.nan
    return _Measured(
        f"the {BATCH} points (x, relu(x)), full-batch gradient descent lr {LR}, {STEPS} steps, 40 Keras-default "
        "starts m0 ~ U(-√3, √3), b0 = 0. Depends on the start: the loss is not convex",
        f"{fraction:.0%} converge to the minimiser (m, b) = (1, 0) (loss below 1e-3, at most {distance:.3f} away "
        "after 2000 steps)"
        + (", exactly those with m0 > 0; " if exactly_positive else "; ")
        + f"{int(dead.sum())} end dead, at the loss of the zero function",
        _verdict(fraction == 1.0, fails=fraction == 0.0),
        {"reached_fraction": fraction, "dead": float(dead.sum()), "distance": distance})


# --- the report ------------------------------------------------------------------------------------------------------


def claim_ids() -> tuple[str, ...]:
    """The claims' ids, in the order of the report."""
    return tuple(_EXPERIMENTS)


def check_claims(ids: Iterable[str] | None = None) -> list[Claim]:
    """Run the experiments of `ids` (default: all) and return their claims with what they measured."""
    ids = claim_ids() if ids is None else tuple(ids)
    unknown = [i for i in ids if i not in _EXPERIMENTS]
    if unknown:
        raise ValueError(f"Invalid ids: {unknown} (known: {', '.join(claim_ids())})")
    claims = []
    for claim_id in ids:
        experiment = _EXPERIMENTS[claim_id]
        with one_thread():  # tiny tensors: a second thread only adds waiting
            setting, measured, verdict, numbers = experiment.run()
        assert verdict in VERDICTS, f"{claim_id}: verdict {verdict!r}"
        claims.append(Claim(claim_id, experiment.source, experiment.claim, setting, measured, verdict, numbers))
    return claims


def text_table(claims: Sequence[Claim], *, width: int = 120) -> str:
    """The claims as a plain-text table: id, verdict, then the claim and what was measured, wrapped."""
    first = max(len(c.id) for c in claims) + 2
    lines = [f"{'id':<{first}}{'verdict':<9}claim / measured", "-" * width]
    for c in claims:
        body = textwrap.wrap(c.claim, width - first - 9) + textwrap.wrap("measured: " + c.measured, width - first - 9)
        lines.append(f"{c.id:<{first}}{c.verdict:<9}{body[0]}")
        lines += [" " * (first + 9) + line for line in body[1:]]
    counts = ", ".join(f"{sum(c.verdict == v for c in claims)} {v}" for v in VERDICTS)
    return "\n".join(lines + ["-" * width, f"claims checked: {len(claims)} ({counts})"])


def markdown_table(claims: Sequence[Claim]) -> str:
    """The claims as a Markdown table: id, source, claim, verdict, measured."""
    escape = lambda text: text.replace("|", "\\|")  # noqa: E731
    rows = ["| id | source | claim | verdict | measured |", "|---|---|---|---|---|"]
    rows += [f"| `{c.id}` | {c.source} | {escape(c.claim)} | **{c.verdict}** | {escape(c.measured)} |" for c in claims]
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m relucourse.claims [--json] [--id ID ...]``: run the claims and print the report."""
    parser = argparse.ArgumentParser(prog="python -m relucourse.claims", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print a JSON list of {id, source, claim, setting, "
                        "measured, verdict}")
    parser.add_argument("--id", action="append", dest="ids", metavar="ID", choices=claim_ids(),
                        help="run only this claim (repeatable)")
    args = parser.parse_args(argv)
    claims = check_claims(args.ids)
    print(json.dumps([c.to_json() for c in claims], indent=2, ensure_ascii=False) if args.json else text_table(claims))
    return 0


if __name__ == "__main__":
    sys.exit(main())
