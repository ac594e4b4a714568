"""`python -m relucourse.bench`: trajectories·steps per second, one-run Python loop against the batched engine.

Both run the same grid: the single neuron with weight and bias, five optimizers × learning rates × starts.
The engine (`sweep`) advances every run of the grid at once; the loop (`trajectory`, one optimizer
object per run) runs an evenly spaced subset of the same runs, which is enough to measure its rate:
a loop's cost per trajectory·step does not depend on how many trajectories follow. The loop's runs are
also compared with the engine's, so the speed is not bought with a different answer.
"""

from __future__ import annotations

import argparse
import time

import torch

from .optim import SGD, Adam
from .sweep import sweep, trajectory

__all__ = ["OPTIMIZERS", "TARGETS", "measure", "main"]

OPTIMIZERS = {
    "SGD": (SGD, {}),
    "momentum": (SGD, {"momentum": 0.9}),
    "Nesterov": (SGD, {"momentum": 0.9, "nesterov": True}),
    "Adam": (Adam, {}),
    "AMSGrad": (Adam, {"amsgrad": True}),
}
TARGETS = {"exact": 1000.0, "sampled": 50.0}  # the minimum ratios, on 2 cores


def measure(
    gradient: str, *, lrs: int = 40, starts: int = 50, steps: int = 200, loop_runs: int = 20, device: str = "cpu"
) -> dict[str, float]:
    r"""Time the engine on the whole grid and the loop on `loop_runs` of its runs; rates in trajectories·steps/s.

    The grid: `OPTIMIZERS` × `lrs` learning rates in [1e-3, 1] × `starts` starts (w0, b0) in [-3, 3] × [-1, 1].
    """
    lr = torch.logspace(-3, 0, lrs, dtype=torch.float64)
    w0 = torch.linspace(-3.0, 3.0, starts, dtype=torch.float64)
    b0 = torch.linspace(-1.0, 1.0, starts, dtype=torch.float64).roll(starts // 3)  # pairs spread over the square
    kwargs = {"optimizers": OPTIMIZERS, "steps": steps, "gradient": gradient}
    sweep(w0[:2], b0[:2], lr=lr[:2], device=device, **{**kwargs, "steps": 2})  # warm-up: first calls, allocations
    start = time.perf_counter()
    result = sweep(w0, b0, lr=lr, device=device, **kwargs)
    engine_seconds = time.perf_counter() - start
    runs = result.w.numel()

    grid = [(o, l, s) for o in range(len(OPTIMIZERS)) for l in range(lrs) for s in range(starts)]
    chosen = grid[:: max(1, len(grid) // loop_runs)][:loop_runs]
    specs = list(OPTIMIZERS.values())
    difference, start = 0.0, time.perf_counter()
    for o, l, s in chosen:
        w, b = trajectory(
            w0[s].item(), b0[s].item(), lr=lr[l].item(), optimizer=specs[o], steps=steps, gradient=gradient
        )
        ends = torch.tensor([w[-1], b[-1]])
        engine_ends = torch.tensor([result.w[o, l, s].item(), result.b[o, l, s].item()])
        difference = max(difference, ((ends - engine_ends).abs() / ends.abs().clamp(min=1.0)).max().item())
    loop_seconds = time.perf_counter() - start
    loop_rate, engine_rate = len(chosen) * steps / loop_seconds, runs * steps / engine_seconds
    return {
        "runs": runs,
        "steps": steps,
        "loop_runs": len(chosen),
        "loop_rate": loop_rate,
        "engine_rate": engine_rate,
        "ratio": engine_rate / loop_rate,
        "difference": difference,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m relucourse.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="steps per run (default 200)")
    parser.add_argument("--lrs", type=int, default=40, help="learning rates in the grid (default 40)")
    parser.add_argument("--starts", type=int, default=50, help="starts (w0, b0) in the grid (default 50)")
    parser.add_argument("--loop-runs", type=int, default=20, help="runs the loop times (default 20)")
    parser.add_argument("--device", default="cpu", help="the engine's device (default cpu; e.g. cuda)")
    args = parser.parse_args(argv)
    runs = len(OPTIMIZERS) * args.lrs * args.starts
    print(
        f"grid: {len(OPTIMIZERS)} optimizers ({', '.join(OPTIMIZERS)}) × {args.lrs} learning rates × "
        f"{args.starts} starts (w0, b0) = {runs} runs of {args.steps} steps; one neuron with weight and bias"
    )
    engine = "one CPU thread" if args.device == "cpu" else args.device
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; engine: relucourse.sweep.sweep on {engine}; "
        f"loop: relucourse.sweep.trajectory, one run at a time, timed on {args.loop_runs} of the grid's runs"
    )
    print(
        f"{'gradient':<22}{'loop, traj·steps/s':>20}{'engine, traj·steps/s':>22}{'ratio':>9}{'target':>9}"
        f"  max relative difference loop/engine"
    )
    failed = False
    for gradient, label in (("exact", "exact (population)"), ("sampled", "sampled, batch 1000")):
        r = measure(
            gradient, lrs=args.lrs, starts=args.starts, steps=args.steps, loop_runs=args.loop_runs, device=args.device
        )
        met = "met" if r["ratio"] >= TARGETS[gradient] else "MISSED"
        print(
            f"{label:<22}{r['loop_rate']:>20,.0f}{r['engine_rate']:>22,.0f}{r['ratio']:>8,.0f}×"
            f"{TARGETS[gradient]:>8,.0f}× {met:<6} {r['difference']:.1e}",
            flush=True,
        )
        failed |= r["difference"] > 1e-6
    if failed:
        print("the engine and the loop disagree: see tests/test_sweep.py")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
