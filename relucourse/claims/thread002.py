r"""Thread 002, a single ReLU learning a single ReLU: $\mathrm{relu}(wx)$ (or $\mathrm{relu}(wx + b)$) against $\mathrm{relu}(x)$.

Claims about SGD run on the seed's batches (`relucourse.sweep`, ``gradient="sampled"``); claims about the
loss itself use the exact population loss. Where the thread leaves a value open, the experiment takes the
one it uses elsewhere (momentum 0.9; Adam's step as stated, else Keras's default 0.001) and also runs the
other plausible values. Adam runs with Keras's $\epsilon = 10^{-7}$.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor
from torch.optim import SGD, Adam

from ..data import glorot_starts
from ..landscape import population_loss
from ..sweep import OptimizerSpec, Sweep, sweep
from .base import BATCH, LR, SEED, STEPS, Measured, claim, verdict

__all__ = ["optimizer_runs"]

Q2, A2 = "002 question (endolith)", "002 answer (Sycorax)"
MOMENTUM = 0.9  # the momentum of the thread's opt_sgd
MOMENTA = (0.5, 0.8, 0.85, MOMENTUM, 0.99)  # around the heavy ball's threshold (1 - √lr)^2 = 0.81
ADAM_LRS = (0.001, 0.01, 0.1)  # Keras's default, the thread's opt_adam, and a larger one
KERAS_EPS = 1e-7  # Keras's Adam epsilon
OPTIMIZERS: dict[str, OptimizerSpec] = {
    "SGD": (SGD, {}),
    **{f"SGD + momentum {m:g}": (SGD, {"momentum": m}) for m in MOMENTA},
    "Adam": (Adam, {"eps": KERAS_EPS}),
    "Adam + AMSGrad": (Adam, {"eps": KERAS_EPS, "amsgrad": True}),
}
STARTS = (-10.0, -1.0)  # the thread's two backward starts
LRS = tuple(sorted({LR, *ADAM_LRS}))
ALPHA = 0.3  # Keras's LeakyReLU default


@functools.cache
def optimizer_runs() -> Sweep:
    r"""The optimizer runs behind the s2 claims: SGD, SGD + momentum (0.5 to 0.99), Adam and Adam + AMSGrad, each at
    lr 0.001, 0.01 and 0.1, from $w_0 = -10$ and $w_0 = -1$, on the seed's batches; paths recorded.

    Returns:
        a `Sweep` with ``w_path`` of shape (2001, optimizers, 3, 2): one run's: ``run(name, lr, w0).w_path``.
    """
    return sweep(
        torch.tensor(STARTS, dtype=torch.float64),
        lr=LRS,
        optimizers=OPTIMIZERS,
        steps=STEPS,
        gradient="sampled",
        batch_size=BATCH,
        seed=SEED,
        record=True,
    )


def _path(w0: float, optimizer: str = "SGD", lr: float = LR) -> Tensor:
    """The weight at every step, shape (STEPS + 1,), of one run of the optimizer grid."""
    grid = optimizer_runs()
    return grid.run(optimizer, lr, w0).w_path


@functools.cache
def _plain_sgd(w0: tuple[float, ...], slope: float = 0.0) -> Tensor:
    """Plain SGD at lr 0.01 on the seed's batches from each start, shape (STEPS + 1, len(w0))."""
    runs = sweep(
        torch.tensor(w0, dtype=torch.float64),
        lr=LR,
        optimizers={"SGD": OPTIMIZERS["SGD"]},
        steps=STEPS,
        gradient="sampled",
        batch_size=BATCH,
        seed=SEED,
        slope=slope,
        record=True,
    )
    return runs.w_path[:, 0, 0]


def _glorot_runs() -> tuple[Tensor, Tensor]:
    """1000 Keras-default starts and their plain-SGD paths."""
    starts = glorot_starts(1000, seed=SEED)
    return starts, _plain_sgd(tuple(starts.tolist()))


def _reaches(path: Tensor, target: float = 1.0, tol: float = 1e-2) -> bool:
    return bool(abs(path[-1].item() - target) < tol)


def _first(condition: Tensor) -> int:
    """The first step at which `condition` (shape (steps + 1,)) holds, or -1."""
    return int(condition.double().argmax().item()) if condition.any() else -1


def _steps_text(step: int) -> str:
    return f"{step} steps" if step >= 0 else f"not within {STEPS} steps"


@claim(
    "s2-stuck-negative",
    Q2,
    "Started at w0 = -10, SGD stalls at w = 0 and never reaches the teacher's side.",
    setting="w0 = -10, plain SGD lr {lr} (Keras's 'sgd'), {seed_setting}",
    measured="w_2000 = {w_end:.2e}, negative at every step; population loss {loss_end:.6f}, the plateau L(0) = 1/2",
)
def stuck_negative() -> Measured:
    w = _path(-10.0)
    holds = bool((w < 0).all()) and abs(w[-1].item()) < 1e-3
    return Measured(verdict(holds, fails=not holds), {"w_end": w[-1].item(), "loss_end": population_loss(w[-1]).item()})


@claim(
    "s2-positive-converges",
    Q2,
    "Started in the teacher's orientation (w0 > 0), SGD quickly converges to w = 1.",
    setting="the {positive:.0f} positive ones of 1000 Keras-default starts w0 ~ U(-√3, √3); plain SGD lr {lr}, "
    "{seed_setting}",
    measured="all end within {max_error:.1e} of 1; within 0.01 of 1 after {median_steps:.0f} steps (median), "
    "{max_steps} at most",
)
def positive_converges() -> Measured:
    starts, w = _glorot_runs()
    positive = starts > 0
    error = (w[-1, positive] - 1).abs().max().item()
    arrive = [_first((w[:, k] - 1).abs() < 1e-2) for k in positive.nonzero().flatten().tolist()]
    median = float(torch.tensor(arrive, dtype=torch.float64).median())
    holds = error < 1e-3 and min(arrive) >= 0
    return Measured(
        verdict(holds, fails=not holds),
        {"max_error": error, "median_steps": median, "max_steps": max(arrive), "positive": int(positive.sum())},
    )


@claim(
    "s2-half-fail",
    Q2,
    "From a random start, training fails to converge about half the time.",
    setting="1000 starts from Keras's default init, w0 ~ U(-√3, √3); plain SGD lr {lr}, {seed_setting}",
    measured="{fail_fraction:.1%} fail (end away from 1); the failures are {which} the starts with w0 < 0",
)
def half_fail() -> Measured:
    starts, w = _glorot_runs()
    failed = (w[-1] - 1).abs() >= 1e-2
    fraction = failed.double().mean().item()
    exactly_negative = bool(torch.equal(failed, starts < 0))
    holds = 0.4 <= fraction <= 0.6
    return Measured(
        verdict(holds, fails=not holds),
        {"fail_fraction": fraction, "fail_iff_negative": float(exactly_negative)},
        {"which": "exactly" if exactly_negative else "not exactly"},
    )


@claim(
    "s2-bias-stuck",
    Q2,
    "With a bias, starts that are upside down (w0 < 0) circle round and get stuck.",
    setting="student relu(wx + b), {upside_down} upside-down starts (w0 < 0) of a 13 x 13 grid on [-3, 3]^2; "
    "plain SGD lr {lr}, {seed_setting}. Depends on the start's bias: the kink -b0/w0 must lie well inside the "
    "teacher's half",
    measured="{stuck} of {upside_down} end dead at the plateau (loss > 0.45), {reached} reach the teacher "
    "(loss < 0.01), {on_the_way} are still on their way; {nonpositive}stuck up to b0/|w0| = {stuck_ratio_max:.2f}, "
    "escaping from b0/|w0| = {escaped_ratio_min:.2f}",
)
def bias_stuck() -> Measured:
    grid = torch.linspace(-3, 3, 13, dtype=torch.float64)
    w0, b0 = torch.meshgrid(grid, grid, indexing="xy")
    runs = sweep(
        w0,
        b0,
        lr=LR,
        optimizers={"SGD": OPTIMIZERS["SGD"]},
        steps=STEPS,
        gradient="sampled",
        batch_size=BATCH,
        seed=SEED,
    )
    loss = population_loss(runs.w[0, 0], runs.b[0, 0])
    upside_down = w0 < 0
    stuck, reached = loss > 0.45, loss < 1e-2  # at the plateau 1/2 (dead), at the teacher
    n, n_stuck, n_reached = int(upside_down.sum()), int((stuck & upside_down).sum()), int((reached & upside_down).sum())
    ratio = b0 / w0.abs()
    escaped_min = ratio[upside_down & ~stuck].min().item() if (upside_down & ~stuck).any() else math.inf
    stuck_max = ratio[upside_down & stuck].max().item() if (upside_down & stuck).any() else -math.inf
    nonpositive_stuck = bool(stuck[upside_down & (b0 <= 0)].all())
    return Measured(
        verdict(n_stuck == n, fails=n_stuck == 0),
        {
            "upside_down": n,
            "stuck": n_stuck,
            "reached": n_reached,
            "stuck_ratio_max": stuck_max,
            "escaped_ratio_min": escaped_min,
        },
        {
            "on_the_way": str(n - n_stuck - n_reached),
            "nonpositive": "every start with b0 <= 0 is stuck (Keras's default b0 = 0 included); "
            if nonpositive_stuck
            else "",
        },
    )


@claim(
    "s2-nonconvex",
    A2,
    "The loss as a function of w is not convex.",
    setting="the exact population loss L(w) = E[(relu(wx) - relu(x))^2], x ~ N(0, 1)",
    measured="L(0) = {loss_at_kink:.4f} lies above the chord from w = -0.5 to w = 1, which is at {chord:.4f} "
    "over w = 0",
)
def nonconvex() -> Measured:
    a, b, t = -0.5, 1.0, 1 / 3  # the point (1 - t) a + t b = 0, the kink
    chord = (1 - t) * population_loss(a).item() + t * population_loss(b).item()
    at_kink = population_loss(0.0).item()
    return Measured(verdict(at_kink > chord, fails=at_kink <= chord), {"loss_at_kink": at_kink, "chord": chord})


@claim(
    "s2-leaky-fixes",
    A2,
    "A leaky ReLU student (α = 0.3) started at w0 = -10 converges: its loss falls quickly.",
    setting="student leaky_relu(wx, 0.3), w0 = -10, plain SGD lr {lr}, {seed_setting}",
    measured="w crosses 0 after {crossed} and ends at {w_end:.4f} (its optimum 1/(1 + α^2) = {w_star:.4f}); "
    "population loss {loss_start:.1f} -> {loss_end:.4f}",
)
def leaky_fixes() -> Measured:
    w = _plain_sgd((-10.0,), ALPHA)[:, 0]
    w_star = 1 / (1 + ALPHA**2)
    crossed = _first(w > 0)
    loss_end = population_loss(w[-1], slope=ALPHA).item()
    holds = crossed >= 0 and abs(w[-1].item() - w_star) < 1e-3
    return Measured(
        verdict(holds, fails=not holds),
        {
            "w_end": w[-1].item(),
            "w_star": w_star,
            "cross_step": crossed,
            "loss_end": loss_end,
            "loss_start": population_loss(-10.0, slope=ALPHA).item(),
        },
        {"crossed": _steps_text(crossed)},
    )


@claim(
    "s2-leaky-optimum-one",
    A2,
    "...and the leaky student's weight moves to w = 1, which is optimal.",
    setting="as s2-leaky-fixes; the optimum from the exact loss L_α(w) = ((w - 1)^2 + α^2 w^2)/2 for w >= 0",
    measured="w ends at {w_end:.4f}, not 1; L_α(1) = {loss_one:.4f} > L_α({w_end:.4f}) = {loss_end:.4f}: a leaky "
    "student cannot equal the ReLU teacher, and w = 1 is not its optimum",
)
def leaky_optimum_one() -> Measured:
    w_end = _plain_sgd((-10.0,), ALPHA)[-1, 0].item()
    loss_end, loss_one = population_loss(w_end, slope=ALPHA).item(), population_loss(1.0, slope=ALPHA).item()
    fails = abs(w_end - 1) > 1e-2 and loss_end < loss_one
    return Measured(
        verdict(not fails and abs(w_end - 1) <= 1e-2, fails=fails),
        {"w_end": w_end, "loss_one": loss_one, "loss_end": loss_end},
    )


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


@claim(
    "s2-optimizers-no-help-at-minus10",
    A2,
    "At w0 = -10, switching SGD to Adam, Adam + AMSGrad or SGD + momentum does not help.",
    setting="w0 = -10, {seed_setting}; Adam lr 0.001, 0.01, 0.1 (Keras's default, the thread's, larger), "
    "momentum 0.5 to 0.99 with lr {lr} (the thread's 0.9). Depends on the momentum and on Adam's step: heavy "
    "ball swings across 0 once momentum > (1 - √lr)^2 = {momentum_threshold:.2f}",
    measured="reach the teacher: {helped}; stuck: {stuck}",
)
def optimizers_no_help() -> Measured:
    reached = _at_minus_ten()
    helped = [name for name, ok in reached.items() if ok]
    return Measured(
        verdict(not helped, fails=len(helped) == len(reached) - 1),
        {
            "momentum_threshold": (1 - math.sqrt(LR)) ** 2,  # heavy ball on L = (1 + w^2)/2: complex roots beyond it
            "momentum_helps": float(reached[f"SGD lr {LR} + momentum {MOMENTUM:g}"]),
            "adam_settings_helping": float(sum(name.startswith("Adam") for name in helped)),
            "momentum_settings_helping": float(sum("momentum" in name for name in helped)),
        },
        {"helped": ", ".join(helped) or "none", "stuck": ", ".join(name for name, ok in reached.items() if not ok)},
    )


@claim(
    "s2-adam-slower",
    A2,
    "At w0 = -10, Adam makes slower progress than SGD.",
    setting="w0 = -10, {seed_setting}; progress = steps until |w| < 0.1 (loss within 1% of its floor 1/2 on this "
    "side); SGD lr {lr} against Adam lr 0.001, 0.01, 0.1. Depends on Adam's step",
    measured="SGD: {sgd}; {adam}",
)
def adam_slower() -> Measured:
    def near_plateau(w: Tensor) -> int:  # L(w) within 1% of 1/2
        return _first(w.abs() < 0.1)

    sgd = near_plateau(_path(-10.0))
    adam = {lr: near_plateau(_path(-10.0, "Adam", lr)) for lr in ADAM_LRS}
    slower = [step < 0 or step > sgd for step in adam.values()]
    return Measured(
        verdict(all(slower), fails=not any(slower)),
        {"sgd_steps": sgd, **{f"adam_steps_{lr:g}": s for lr, s in adam.items()}},
        {"sgd": _steps_text(sgd), "adam": "; ".join(f"Adam lr {lr:g}: {_steps_text(s)}" for lr, s in adam.items())},
    )


@claim(
    "s2-adam-minus1",
    A2,
    "From w0 = -1, Adam with step size 0.01 overcomes the flat region.",
    setting="w0 = -1, Adam lr 0.01 with amsgrad=True (the thread's opt_adam) and without, {seed_setting}",
    measured="AMSGrad crosses 0 after {amsgrad_cross}, from w = {amsgrad_w_before:.1e}, ends at {amsgrad_w_end:.6f}; "
    "plain Adam crosses after {adam_cross}, from w = {adam_w_before:.1e}: both creep up to the kink and cross late, "
    "once the second moment has forgotten the early gradients; at Keras's default lr 0.001 AMSGrad would stay at "
    "{default_lr_w_end:.3f}",
)
def adam_minus_one() -> Measured:
    amsgrad, adam = _path(-1.0, "Adam + AMSGrad", 0.01), _path(-1.0, "Adam", 0.01)
    default = _path(-1.0, "Adam + AMSGrad", 0.001)
    crossings = {"amsgrad": (amsgrad, _first(amsgrad > 0)), "adam": (adam, _first(adam > 0))}
    numbers = {
        "amsgrad_w_end": amsgrad[-1].item(),
        "adam_w_end": adam[-1].item(),
        "default_lr_w_end": default[-1].item(),
    }
    for name, (path, step) in crossings.items():
        numbers[f"{name}_cross_step"] = float(step)
        numbers[f"{name}_w_before"] = (
            path[step - 1].item() if step > 0 else math.nan
        )  # the last weight left of the kink
    return Measured(
        verdict(_reaches(amsgrad) and _reaches(adam), fails=not (_reaches(amsgrad) or _reaches(adam))),
        numbers,
        {f"{name}_cross": _steps_text(step) for name, (_, step) in crossings.items()},
    )


@claim(
    "s2-momentum-minus1",
    A2,
    "From w0 = -1, SGD with step size 0.01 and momentum overcomes the flat region.",
    setting="w0 = -1, SGD lr {lr} + momentum 0.9 (the thread's opt_sgd), {seed_setting}",
    measured="crosses 0 after {crossed}, ends at {w_end:.6f} (with momentum 0.8 it stays at {weak_w_end:.1e})",
)
def momentum_minus_one() -> Measured:
    w = _path(-1.0, f"SGD + momentum {MOMENTUM:g}")
    return Measured(
        verdict(_reaches(w), fails=not _reaches(w)),
        {
            "w_end": w[-1].item(),
            "cross_step": _first(w > 0),
            "weak_w_end": _path(-1.0, "SGD + momentum 0.8")[-1].item(),
        },
        {"crossed": _steps_text(_first(w > 0))},
    )


@claim(
    "s2-sgd-minus1",
    A2,
    "From w0 = -1, even plain SGD with step size 0.01 overcomes the flat region.",
    setting="w0 = -1, plain SGD lr {lr}, {seed_setting}",
    measured="w_2000 = {w_end:.2e}, negative at every step: each batch multiplies w by 1 - lr κ_t > 0",
)
def sgd_minus_one() -> Measured:
    w = _path(-1.0)
    return Measured(verdict(_reaches(w), fails=not _reaches(w)), {"w_end": w[-1].item()})


def _escapes(runs: Sweep) -> tuple[Tensor, Tensor]:
    """Per (lr, start): reached the teacher by crossing 0 from a normal float; crossed only from a subnormal one."""
    before, after = runs.w_path[:-1, 0], runs.w_path[1:, 0]  # (steps, L, S)
    crossing = (before < 0) & (after > 0)
    normal = before.abs() >= torch.finfo(before.dtype).tiny
    reached = runs.outcome[0] == 0
    return reached & (crossing & normal).any(dim=0), reached & ~(crossing & normal).any(dim=0)


@claim(
    "s2-jump-over",
    A2,
    "Steps large enough jump over the flat region, so some negative starts are not stuck.",
    setting="16 starts from -0.01 to -10, step sizes 0.1 to 2.5 (every 0.1); gradient descent on the exact loss, "
    "and plain SGD on the seed's batches; {steps} steps, float64",
    measured="exact loss: every start jumps to the teacher's side and converges for lr {lr_min:.1f} to "
    "{lr_max:.1f}{small} (w1 = (1 - lr) w0 > 0 iff lr > 1; lr >= 2 never settles); batches: every start for lr "
    "{lr_min_sampled:.1f} to {lr_max_sampled:.1f}, since one batch with lr κ_t > 1 is enough{not_counted}",
)
def jump_over() -> Measured:
    starts = -torch.logspace(-2, 1, 16, dtype=torch.float64)  # w0 from -0.01 to -10
    lrs = torch.linspace(0.1, 2.5, 25, dtype=torch.float64)
    common = {
        "lr": lrs,
        "optimizers": {"GD": OPTIMIZERS["SGD"]},
        "steps": STEPS,
        "batch_size": BATCH,
        "seed": SEED,
        "record": True,
    }
    exact, artefact = _escapes(sweep(starts, gradient="exact", **common))
    sampled, artefact_sampled = _escapes(sweep(starts, gradient="sampled", **common))
    lr_ok, lr_ok_sampled = lrs[exact.all(dim=1)], lrs[sampled.all(dim=1)]
    none_small = not exact[lrs <= 1].any()
    artefacts = int(artefact.sum() + artefact_sampled.sum())
    holds = bool(lr_ok.numel() and lr_ok_sampled.numel())
    return Measured(
        verdict(holds, fails=not holds),
        {
            "lr_min": lr_ok.min().item(),
            "lr_max": lr_ok.max().item(),
            "lr_min_sampled": lr_ok_sampled.min().item(),
            "lr_max_sampled": lr_ok_sampled.max().item(),
            "none_small": float(none_small),
            "artefacts": artefacts,
        },
        {
            "small": ", none for lr <= 1" if none_small else "",
            "not_counted": f". Not counted: {artefacts} runs that crossed only after w had decayed to a subnormal float, "
            "where rounding flipped its sign"
            if artefacts
            else "",
        },
    )
