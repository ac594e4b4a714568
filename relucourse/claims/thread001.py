"""Thread 001, ReLU is not differentiable at 0: what frameworks take for relu'(0), how often it matters, dead units."""

from __future__ import annotations

from torch import Tensor

from ..at_zero import SPELLINGS, derivative_at_zero, exact_zero_fractions
from ..relatives import compare_mlps, relatives
from .base import LR, Measured, claim, verdict

A1 = "001 answer"
MLP_STEPS = 1000  # the network experiment, for which the thread states no budget
RELU_SPELLINGS = (
    "torch.relu(x)",
    "F.relu(x)",
    "nn.ReLU()(x)",
    "torch.where(x > 0, x, 0)",
    "x * (x > 0)",
    "x.clamp(min=0)",
    "torch.maximum(x, torch.zeros_like(x))",
    "(x + x.abs()) / 2",
)  # torch's own first


@claim(
    "s1-exact-zero-rare",
    A1,
    "A unit's input is hardly ever exactly 0, so the value taken for relu'(0) matters little.",
    setting="pre-activations z = Wx + b of layers with He weights (relucourse.at_zero.exact_zero_fractions, "
    "100 000 values each). Depends on the inputs, the initialisation and the precision",
    measured="share exactly 0 — {shares}",
)
def exact_zero_rare() -> Measured:
    fractions = exact_zero_fractions()
    rare = max(v for k, v in fractions.items() if "nn.Linear: continuous inputs" in k)
    common = [k for k, v in fractions.items() if v >= 1e-3]
    return Measured(
        verdict(not common, fails=rare > 1e-3),
        {
            "continuous_max": rare,
            "common_cases": float(len(common)),
            "cases": float(len(fractions)),
            "largest": max(fractions.values()),
            "low_precision_max": max(
                v for k, v in fractions.items() if "continuous" in k and ("float16" in k or "bfloat16" in k)
            ),
        },
        {"shares": "; ".join(f"{k}: {v:.2g}" for k, v in fractions.items())},
    )


@claim(
    "s1-torch-relu-grad-at-zero",
    A1 + " and comment",
    "Frameworks take relu'(0) = 0, like Theano's switch and the TensorFlow Playground; how relu is written can "
    "change it (Theano's nnet.relu gives 0.5).",
    setting="PyTorch autograd at a float32 tensor holding exactly 0. Depends on how relu is written",
    measured="{derivatives}",
)
def torch_relu_grad_at_zero() -> Measured:
    derivative = {name: derivative_at_zero(SPELLINGS[name]) for name in RELU_SPELLINGS}
    builtin = [derivative[name] for name in RELU_SPELLINGS[:3]]
    return Measured(
        verdict(len(set(derivative.values())) == 1 and builtin[0] == 0, fails=any(v != 0 for v in builtin)),
        {**derivative, "distinct_values": float(len(set(derivative.values())))},
        {"derivatives": "; ".join(f"{name}: {value:g}" for name, value in derivative.items())},
    )


def _abs_teacher(x: Tensor) -> Tensor:
    return x[:, 0].abs()  # |x|: the Euclidean distance in one dimension


@claim(
    "s1-dead-units-leaky-helps",
    A1,
    "If many units are dead, switching to leaky ReLU helps.",
    setting="thread 001 gives no setting: MLPs learning |x| from 4 seeds each, narrow [1, 3 x 6, 1] and wide "
    "[1, 16, 16, 1], He init, plain SGD lr {lr}, batches of 128, {mlp_steps} steps (as in the leaky_relu lesson); "
    "loss = median over seeds of the last 100 steps. Depends on how many units die (depth, width) and on α",
    measured="{rows}",
)
def dead_units_leaky_helps() -> Measured:
    names = ("ReLU", "leaky 0.01", "leaky 0.3")
    activations = {name: act for name, act in relatives().items() if name in names}
    rows = {}
    for label, widths in (("narrow", [1, 3, 3, 3, 3, 3, 3, 1]), ("wide", [1, 16, 16, 1])):
        runs = compare_mlps(widths, activations, teacher=_abs_teacher, lr=LR, steps=MLP_STEPS)
        final = runs.loss[-100:].mean(dim=0)  # (A, S): the mean batch loss over the last 100 steps
        rows[label] = {
            name: (runs.dead_start[a].mean().item(), final[a].median().item()) for a, name in enumerate(runs.names)
        }
    narrow, wide = rows["narrow"], rows["wide"]
    helps_narrow = narrow["leaky 0.3"][1] < 0.1 * narrow["ReLU"][1]
    helps_wide = wide["leaky 0.3"][1] < 0.1 * wide["ReLU"][1]
    return Measured(
        verdict(helps_narrow and helps_wide, fails=not helps_narrow),
        {
            f"{label}_{name}_{what}": value
            for label, row in rows.items()
            for name, pair in row.items()
            for what, value in zip(("dead", "loss"), pair)
        },
        {
            "mlp_steps": str(MLP_STEPS),
            "rows": "; ".join(
                f"{label} MLP {name}: {dead:.0%} dead at the start, final loss {loss:.2g}"
                for label, row in rows.items()
                for name, (dead, loss) in row.items()
            ),
        },
    )
