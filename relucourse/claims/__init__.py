r"""Every claim of the three source threads, measured: ``python -m relucourse.claims [--json] [--id ID ...]``.

Each claim is one small experiment in the setting its thread describes (one module a thread: `thread000`,
`thread001`, `thread002`): the single-neuron problem $\mathrm{relu}(wx)$ against $\mathrm{relu}(x)$, batches of 1000
inputs from ``teacher_student_batches(seed=0)``, 2000 steps, mean squared error, the stated optimizer and step
size. When the verdict changes with a value the thread left open it is ``depends``, and ``setting`` says on what.
To add a claim: write its experiment in its thread's module under ``@claim(...)`` and put its id in `IDS`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence

from tabulate import tabulate

from .._checks import one_thread
from . import thread000, thread001, thread002
from .base import EXPERIMENTS, FIELDS, VERDICTS, Claim
from .thread002 import optimizer_runs

__all__ = [
    "VERDICTS",
    "FIELDS",
    "IDS",
    "Claim",
    "claim_ids",
    "check_claims",
    "optimizer_runs",
    "text_table",
    "markdown_table",
    "main",
]

IDS = (  # the report's order
    "s2-stuck-negative",
    "s2-positive-converges",
    "s2-half-fail",
    "s2-bias-stuck",
    "s2-nonconvex",
    "s2-leaky-fixes",
    "s2-leaky-optimum-one",
    "s2-optimizers-no-help-at-minus10",
    "s2-adam-slower",
    "s2-adam-minus1",
    "s2-momentum-minus1",
    "s2-sgd-minus1",
    "s2-jump-over",
    "s1-exact-zero-rare",
    "s1-torch-relu-grad-at-zero",
    "s1-dead-units-leaky-helps",
    "s0-weights-gradient-nonzero",
    "s0-line-fit-converges",
    "s0-relu-fit-converges",
)
THREADS = (thread000, thread001, thread002)  # where the experiments are filed
if set(IDS) != set(EXPERIMENTS):
    raise ImportError(f"claims without a line in IDS or without an experiment: {sorted(set(IDS) ^ set(EXPERIMENTS))}")


def claim_ids() -> tuple[str, ...]:
    """The claims' ids, in the order of the report."""
    return IDS


def check_claims(ids: Iterable[str] | None = None) -> list[Claim]:
    """Run the experiments of `ids` (default: all) and return their claims with what they measured."""
    ids = IDS if ids is None else tuple(ids)
    unknown = [i for i in ids if i not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"Invalid ids: {unknown} (known: {', '.join(IDS)})")
    with one_thread():  # tiny tensors: a second thread only adds waiting
        return [EXPERIMENTS[claim_id].check(claim_id) for claim_id in ids]


def text_table(claims: Sequence[Claim], *, width: int = 120) -> str:
    """The claims as a plain-text table: id, verdict, then the claim and what was measured, wrapped to `width`."""
    body = width - max(len(c.id) for c in claims) - len("verdict") - 4
    rows = [(c.id, c.verdict, f"{c.claim}\nmeasured: {c.measured}") for c in claims]
    table = tabulate(rows, headers=("id", "verdict", "claim / measured"), maxcolwidths=[None, None, body])
    counts = ", ".join(f"{sum(c.verdict == v for c in claims)} {v}" for v in VERDICTS)
    return f"{table}\n\nclaims checked: {len(claims)} ({counts})"


def markdown_table(claims: Sequence[Claim]) -> str:
    """The claims as a Markdown table: id, source, claim, verdict, measured."""
    rows = [(f"`{c.id}`", c.source, c.claim, f"**{c.verdict}**", c.measured) for c in claims]
    rows = [[cell.replace("|", "\\|") for cell in row] for row in rows]
    return tabulate(rows, headers=("id", "source", "claim", "verdict", "measured"), tablefmt="github")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m relucourse.claims [--json] [--id ID ...]``: run the claims and print the report."""
    parser = argparse.ArgumentParser(prog="python -m relucourse.claims", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--json", action="store_true", help="print a JSON list of {id, source, claim, setting, measured, verdict}"
    )
    parser.add_argument(
        "--id", action="append", dest="ids", metavar="ID", choices=IDS, help="run only this claim (repeatable)"
    )
    args = parser.parse_args(argv)
    claims = check_claims(args.ids)
    print(json.dumps([c.to_json() for c in claims], indent=2, ensure_ascii=False) if args.json else text_table(claims))
    return 0
