"""The claims report: its ids and schema, its CLI, and every verdict pinned to a number computed here independently."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from relucourse.claims import FIELDS, VERDICTS, check_claims, claim_ids, markdown_table, text_table
from relucourse.data import glorot_starts

pytestmark = pytest.mark.claims

# the ids the issue asks for, in its order
IDS = [
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
]


@pytest.fixture(scope="module")
def report():
    return {claim.id: claim for claim in check_claims()}


def seed_half_moments(steps=2000):
    """S- = mean(x^2 1{x<0}) of each of the seed's batches (float64, seed 0, 1000 inputs), drawn here directly."""
    generator = torch.Generator().manual_seed(0)
    x = torch.stack([torch.randn(1000, 1, generator=generator, dtype=torch.float64)[:, 0] for _ in range(steps)])
    return (x.clamp(max=0) ** 2).mean(dim=1)


def test_the_ids_are_the_issues_in_its_order():
    assert list(claim_ids()) == IDS


def test_every_claim_has_the_public_fields_and_a_known_verdict(report):
    assert list(report) == IDS
    for claim in report.values():
        data = claim.to_json()
        assert tuple(data) == FIELDS, f"{claim.id}: fields {tuple(data)}"
        assert all(isinstance(v, str) and v.strip() for v in data.values()), f"{claim.id}: an empty field"
        assert claim.verdict in VERDICTS
        if claim.verdict == "depends":
            assert "Depends on" in claim.setting or "depends on" in claim.setting, (
                f"{claim.id}: setting must say on what"
            )
        assert all(math.isfinite(v) for v in claim.numbers.values()), f"{claim.id}: non-finite number"


def test_tables_list_every_claim(report):
    claims = list(report.values())
    text, markdown = text_table(claims), markdown_table(claims)
    for claim in claims:
        assert claim.id in text and claim.id in markdown
    assert markdown.count("\n") == len(claims) + 1
    assert f"claims checked: {len(claims)}" in text


# --- 002 -------------------------------------------------------------------------------------------------------------


def test_stuck_negative_is_the_product_of_the_batch_factors(report):
    claim = report["s2-stuck-negative"]
    expected = -10 * torch.prod(1 - 0.01 * 2 * seed_half_moments()).item()  # w <- (1 - η 2 S-) w on the left
    assert claim.verdict == "holds"
    assert math.isclose(claim.numbers["w_end"], expected, rel_tol=1e-6)
    assert math.isclose(claim.numbers["loss_end"], 0.5, abs_tol=1e-9)


def test_sgd_from_minus_one_is_the_same_run_scaled(report):
    # on the left the recursion is linear in w: the run from -1 is the run from -10 divided by 10
    assert report["s2-sgd-minus1"].verdict == "fails"
    assert math.isclose(
        report["s2-sgd-minus1"].numbers["w_end"], report["s2-stuck-negative"].numbers["w_end"] / 10, rel_tol=1e-9
    )


def test_positive_starts_converge_and_half_of_random_starts_fail(report):
    assert report["s2-positive-converges"].verdict == "holds"
    assert report["s2-positive-converges"].numbers["max_error"] < 1e-6
    # from the right, w - 1 shrinks by about (1 - η) a step: within 0.01 of 1 after log(|w0 - 1| / 0.01) / η steps at most
    assert report["s2-positive-converges"].numbers["max_steps"] < math.log(1 / 0.01) / 0.01 * 1.1
    claim = report["s2-half-fail"]
    assert claim.verdict == "holds"
    assert claim.numbers["fail_fraction"] == (glorot_starts(1000) < 0).double().mean().item()
    assert claim.numbers["fail_iff_negative"] == 1.0


def test_bias_depends_on_the_start_and_non_positive_biases_stay_stuck(report):
    claim = report["s2-bias-stuck"]
    assert claim.verdict == "depends"
    n = claim.numbers
    assert n["upside_down"] == 6 * 13  # the grid's columns w0 = -3 ... -0.5
    assert 0 < n["stuck"] < n["upside_down"] and n["reached"] > 0
    assert n["stuck_ratio_max"] < n["escaped_ratio_min"]  # a clean boundary in b0 / |w0|
    assert "every start with b0 <= 0 is stuck" in claim.measured


def test_nonconvex_chord(report):
    claim = report["s2-nonconvex"]
    assert claim.verdict == "holds"
    assert math.isclose(claim.numbers["chord"], 2 / 3 * (1 + 0.25) / 2, rel_tol=1e-12)  # L(-1/2) = 5/8, L(1) = 0
    assert math.isclose(claim.numbers["loss_at_kink"], 0.5, rel_tol=1e-12)


def test_leaky_student_converges_to_one_over_one_plus_alpha_squared(report):
    alpha = 0.3
    fixes, optimum = report["s2-leaky-fixes"], report["s2-leaky-optimum-one"]
    assert fixes.verdict == "holds" and optimum.verdict == "fails"
    assert abs(fixes.numbers["w_end"] - 1 / (1 + alpha**2)) < 1e-3
    assert abs(fixes.numbers["loss_end"] - alpha**2 / (2 * (1 + alpha**2))) < 1e-6
    assert math.isclose(optimum.numbers["loss_one"], alpha**2 / 2, rel_tol=1e-9)  # L_α(1) = α^2 / 2
    assert 0 < fixes.numbers["cross_step"] < 2000


def test_optimizers_at_minus_ten_depend_on_momentum_and_adams_step(report):
    claim = report["s2-optimizers-no-help-at-minus10"]
    assert claim.verdict == "depends"
    assert math.isclose(claim.numbers["momentum_threshold"], (1 - 0.1) ** 2)
    assert claim.numbers["momentum_helps"] == 1.0  # the thread's momentum 0.9 > 0.81 swings across 0
    reached, stuck = claim.measured.split("; stuck: ")
    for name in ("Adam lr 0.1", "Adam + AMSGrad lr 0.1", "momentum 0.9"):
        assert name in reached, f"{name} should reach the teacher from w0 = -10"
    for name in (
        "Adam lr 0.001",
        "Adam lr 0.01",
        "Adam + AMSGrad lr 0.001",
        "Adam + AMSGrad lr 0.01",
        "momentum 0.5",
        "momentum 0.8",
    ):
        assert name in stuck, f"{name} should stay stuck at w0 = -10"


def test_adam_is_slower_at_its_usual_steps_only(report):
    claim = report["s2-adam-slower"]
    assert claim.verdict == "depends"
    sgd = claim.numbers["sgd_steps"]
    assert abs(sgd - math.log(100) / -math.log(0.99)) < 15  # |w| = 10 (1 - η)^t < 0.1, up to batch noise
    assert claim.numbers["adam_steps_0.001"] == -1 and claim.numbers["adam_steps_0.01"] == -1
    assert 0 < claim.numbers["adam_steps_0.1"] < sgd


def test_runs_from_minus_one(report):
    assert report["s2-adam-minus1"].verdict == "holds"
    assert abs(report["s2-adam-minus1"].numbers["amsgrad_w_end"] - 1) < 1e-3
    assert report["s2-adam-minus1"].numbers["default_lr_w_end"] < 0
    for name in ("adam", "amsgrad"):  # late and from close by: steps of 0.01 over the distance 1 would take 100
        assert report["s2-adam-minus1"].numbers[f"{name}_cross_step"] > 200
        assert -1e-3 < report["s2-adam-minus1"].numbers[f"{name}_w_before"] < 0
    assert report["s2-momentum-minus1"].verdict == "holds"
    assert abs(report["s2-momentum-minus1"].numbers["w_end"] - 1) < 1e-3


def test_jump_over_needs_a_step_between_one_and_two(report):
    claim = report["s2-jump-over"]
    assert claim.verdict == "holds"
    # exact loss: w1 = (1 - lr) w0 > 0 iff lr > 1, and w - 1 contracts iff lr < 2; the grid steps by 0.1
    assert math.isclose(claim.numbers["lr_min"], 1.1, abs_tol=1e-9)
    assert math.isclose(claim.numbers["lr_max"], 1.9, abs_tol=1e-9)
    assert claim.numbers["none_small"] == 1.0


# --- 001 -------------------------------------------------------------------------------------------------------------


def test_exact_zeros_depend_on_the_situation(report):
    claim = report["s1-exact-zero-rare"]
    assert claim.verdict == "depends"
    x, w = torch.randn(10_000, 8, generator=torch.Generator().manual_seed(5)), torch.randn(16, 8)
    assert (torch.nn.functional.linear(x, w) == 0).sum() == 0  # continuous float32 inputs: no exact zero
    assert claim.numbers["continuous_max"] == 0.0
    assert claim.numbers["common_cases"] >= 1  # zero init at least: every z is 0


def test_relu_derivative_at_zero_depends_on_the_spelling(report):
    claim = report["s1-torch-relu-grad-at-zero"]
    assert claim.verdict == "depends"
    x = torch.zeros(1, requires_grad=True)
    for name, f, expected in (
        ("torch.relu(x)", torch.relu, 0.0),
        ("x.clamp(min=0)", lambda t: t.clamp(min=0), 1.0),
        ("torch.maximum(x, torch.zeros_like(x))", lambda t: torch.maximum(t, torch.zeros_like(t)), 0.5),
    ):
        (grad,) = torch.autograd.grad(f(x).sum(), x)
        assert grad.item() == expected == claim.numbers[name], name


def test_leaky_relu_helps_only_where_units_die(report):
    claim = report["s1-dead-units-leaky-helps"]
    assert claim.verdict == "depends"
    n = claim.numbers
    variance_of_abs_x = 1 - 2 / math.pi  # a network that has collapsed predicts the mean of |x|
    assert abs(n["narrow_ReLU_loss"] - variance_of_abs_x) < 0.03
    assert n["narrow_ReLU_dead"] > n["narrow_leaky 0.3_dead"]
    assert n["narrow_leaky 0.3_loss"] < 0.01
    assert n["wide_ReLU_loss"] < 1e-3 and n["wide_leaky 0.3_loss"] < 1e-3


# --- 000 -------------------------------------------------------------------------------------------------------------


def seed_points():
    x = torch.randn(1000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return x, torch.relu(x)


def test_weight_gradient_is_nonzero_even_with_a_dead_layer(report):
    claim = report["s0-weights-gradient-nonzero"]
    assert claim.verdict == "holds"
    x, y = seed_points()
    n = claim.numbers
    assert n["total"] == (1 * 16 + 16) + (16 * 16 + 16) + (16 * 1 + 1)
    assert n["dead_zero"] == n["total"] - 1  # only the output bias still gets a gradient ...
    assert math.isclose(n["dead_norm"], 2 * y.mean().item(), rel_tol=1e-9)  # ... d/db mean((b - y)^2) at b = 0
    assert 0 < n["zero"] < n["total"] and n["norm"] > 0


def test_line_fit_reaches_least_squares(report):
    claim = report["s0-line-fit-converges"]
    assert claim.verdict == "holds"
    x, y = seed_points()
    m, b = np.polyfit(x.numpy(), y.numpy(), 1)
    assert math.isclose(claim.numbers["m_star"], m, rel_tol=1e-9) and math.isclose(
        claim.numbers["b_star"], b, rel_tol=1e-9
    )
    assert claim.numbers["max_error"] < 1e-9


def test_relu_fit_depends_on_the_start(report):
    claim = report["s0-relu-fit-converges"]
    assert claim.verdict == "depends"
    assert claim.numbers["reached_fraction"] == (glorot_starts(40) > 0).double().mean().item()


# --- the command line ------------------------------------------------------------------------------------------------


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "relucourse.claims", *args], capture_output=True, text=True, timeout=300
    )


def test_cli_prints_json_objects_with_the_six_fields():
    done = run_cli("--json", "--id", "s2-nonconvex", "--id", "s1-torch-relu-grad-at-zero")
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    data = json.loads(done.stdout)
    assert [d["id"] for d in data] == ["s2-nonconvex", "s1-torch-relu-grad-at-zero"]
    assert all(list(d) == list(FIELDS) for d in data)
    assert [d["verdict"] for d in data] == ["holds", "depends"]


def test_cli_prints_a_table_and_rejects_unknown_ids():
    done = run_cli("--id", "s2-nonconvex")
    assert done.returncode == 0, done.stderr
    assert "s2-nonconvex" in done.stdout and "holds" in done.stdout and "claims checked: 1 (1 holds" in done.stdout
    wrong = run_cli("--id", "s9-nonsense")
    assert wrong.returncode != 0 and "s9-nonsense" in wrong.stderr


def test_check_claims_rejects_unknown_ids():
    with pytest.raises(ValueError, match="s9-nonsense"):
        check_claims(["s9-nonsense"])
