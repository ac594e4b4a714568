r"""What a claim is, and the setting every experiment shares.

An experiment is a function that runs the claim's setting and returns a `Measured`: its verdict and the
numbers it rests on (and any list of names the sentence quotes). The `claim` decorator files it with the
claim's id, source and text and two templates, `setting` and `measured`, that `str.format` fills from
`CONTEXT` and the measured values: what a claim says it ran is what it ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["VERDICTS", "FIELDS", "Claim", "Measured", "Experiment", "EXPERIMENTS", "claim", "verdict", "CONTEXT"]

VERDICTS = ("holds", "fails", "depends")
FIELDS = ("id", "source", "claim", "setting", "measured", "verdict")

SEED, BATCH, STEPS = 0, 1000, 2000  # the seed's stream, batch size and budget (20 epochs of 100 steps)
LR = 0.01  # Keras's default step for optimizer='sgd', the thread's run
CONTEXT = {"seed": SEED, "batch": BATCH, "steps": STEPS, "lr": LR, "seed_setting": "batches of 1000, 2000 steps, MSE"}
"""What every template may quote besides its claim's own values."""


@dataclass(frozen=True)
class Claim:
    """One claim of a thread, and what running it gave.

    Attributes:
        id, source, claim: which claim, where it is made, what it says (paraphrased).
        setting: how it was run, and for ``depends`` what the verdict depends on.
        measured: the numbers the verdict rests on, in words.
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


@dataclass(frozen=True)
class Measured:
    """What an experiment found: its verdict, its numbers, and the words (lists of names) its sentence quotes."""

    verdict: str
    numbers: dict[str, float]
    words: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """A claim's text and templates, and the function that measures it."""

    source: str
    claim: str
    setting: str
    measured: str
    run: Callable[[], Measured]

    def check(self, claim_id: str) -> Claim:
        """Run the experiment and fill the templates with what it measured."""
        result = self.run()
        if result.verdict not in VERDICTS:
            raise ValueError(f"{claim_id}: verdict {result.verdict!r} (expected one of {VERDICTS})")
        values = {**CONTEXT, **result.numbers, **result.words}
        return Claim(
            claim_id,
            self.source,
            self.claim,
            self.setting.format(**values),
            self.measured.format(**values),
            result.verdict,
            result.numbers,
        )


EXPERIMENTS: dict[str, Experiment] = {}


def claim(claim_id: str, source: str, text: str, *, setting: str, measured: str):
    """File the decorated experiment under `claim_id` with its templates."""

    def register(run: Callable[[], Measured]) -> Callable[[], Measured]:
        EXPERIMENTS[claim_id] = Experiment(source, text, setting, measured, run)
        return run

    return register


def verdict(holds: bool, fails: bool = False) -> str:
    """``holds``, else ``fails`` if `fails`, else ``depends``."""
    return "holds" if holds else "fails" if fails else "depends"
