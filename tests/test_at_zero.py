"""relucourse.at_zero: the measured derivative at 0 of PyTorch's spellings, exact-zero counts, twin training runs."""

import functools
import math

import pytest
import torch
import torch.nn.functional as F

from relucourse.activations import relu
from relucourse.at_zero import (
    DTYPES,
    SPELLINGS,
    derivative_at_zero,
    derivative_table,
    exact_zero_fractions,
    html_table,
    train_twins,
)
from relucourse.models import MLP

pytestmark = pytest.mark.relu_at_zero

# What each spelling must return at exactly 0: PyTorch's documented tie rules for the kinks
# (strict x > 0 masks give 0, x >= 0 masks 1, clamp keeps x >= min, maximum splits ties while fmax gives a
# tie to its first argument, threshold passes x > threshold only, sign(0) = 0), and the true
# derivative for the smooth ones: Φ(0) = 1/2 for gelu, σ(0) = 1/2 for silu and softplus, α e^0 = 1 for elu.
EXPECTED = {
    "torch.relu(x)": 0.0,
    "F.relu(x)": 0.0,
    "nn.ReLU()(x)": 0.0,
    "x.clamp(min=0)": 1.0,
    "torch.maximum(x, torch.zeros_like(x))": 0.5,
    "torch.fmax(x, torch.zeros_like(x))": 1.0,
    "torch.where(x > 0, x, 0)": 0.0,
    "torch.where(x >= 0, x, 0)": 1.0,
    "F.threshold(x, 0, 0)": 0.0,
    "x * (x > 0)": 0.0,
    "(x + x.abs()) / 2": 0.5,
    "F.relu6(x)": 0.0,
    "F.leaky_relu(x)": 0.01,
    "F.elu(x)": 1.0,
    "F.gelu(x)": 0.5,
    "F.silu(x)": 0.5,
    "F.softplus(x)": 0.5,
}


def test_every_spelling_has_an_expectation():
    assert set(SPELLINGS) == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
@pytest.mark.parametrize("dtype", DTYPES)
def test_derivative_at_zero_of_each_spelling(name, dtype):
    expected = torch.tensor(EXPECTED[name], dtype=dtype).item()  # 0.01 as the format rounds it
    assert derivative_at_zero(SPELLINGS[name], dtype) == expected


@pytest.mark.parametrize("name", ["F.elu(x)", "F.gelu(x)", "F.silu(x)", "F.softplus(x)"])
def test_smooth_spellings_agree_with_finite_differences_at_zero(name):
    f, h = SPELLINGS[name], 1e-6
    x = torch.tensor([-h, h], dtype=torch.float64)
    central = ((f(x[1:]) - f(x[:1])) / (2 * h)).item()
    assert math.isclose(derivative_at_zero(f, torch.float64), central, abs_tol=1e-6)  # elu: error h/4


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("at_zero", [0.0, 0.25, 0.5, 1.0])
def test_relucourse_relu_at_zero_is_exact_in_low_precision(dtype, at_zero):
    assert derivative_at_zero(functools.partial(relu, at_zero=at_zero), dtype) == at_zero


def test_derivative_table_rows_and_columns():
    table = derivative_table()
    assert list(table) == list(SPELLINGS)
    for name, row in table.items():
        assert list(row) == ["f(0)", "float32", "float16", "bfloat16"]
        assert row["float16"] == derivative_at_zero(SPELLINGS[name], torch.float16)
    assert math.isclose(table["F.softplus(x)"]["f(0)"], math.log(2), rel_tol=1e-6)
    assert table["torch.relu(x)"]["f(0)"] == 0.0


def test_derivative_table_of_own_spellings():
    table = derivative_table({"double": lambda x: 2 * x}, dtypes=(torch.float64,))
    assert table == {"double": {"f(0)": 0.0, "float64": 2.0}}


def test_html_table_escapes_and_has_a_row_per_entry():
    text = html_table({"x > 0": {"a": 0.123456, "b": "never"}, "y": {"a": 1.0, "b": 3}}, first="name", digits=3)
    assert text.count("<tr>") == 3 and "x &gt; 0" in text and "0.123" in text and "never" in text
    with pytest.raises(ValueError, match="Invalid table"):
        html_table({})


def test_exact_zero_fractions_in_each_scenario():
    fractions = exact_zero_fractions(samples=200_000, seed=1)
    by_start = lambda start: next(v for k, v in fractions.items() if k.startswith(start))  # noqa: E731
    assert by_start("float32, nn.Linear") == 0.0
    assert by_start("float32, W x then + b") == 0.0
    assert by_start("bfloat16, W x then + b") > 1e-4  # a product rounding to exactly -b
    assert fractions["float32: weights and biases initialised to 0"] == 1.0
    assert 0.5 < fractions["float32: image patches on black, bias 0"] < 0.95
    assert fractions["float32: image patches on black, random bias"] == 0.0
    assert 0.3 < fractions["float32: the input of a ReLU after a ReLU"] < 0.7  # P(z <= 0), 1/2 for b = 0
    assert abs(fractions["float32: layer 2 of a width-2 network, biases 0"] - 0.25) < 0.01  # both units off
    assert exact_zero_fractions(samples=200_000, seed=1) == fractions  # seeded


def test_exact_zero_fractions_validates_samples():
    with pytest.raises(ValueError, match="Invalid samples"):
        exact_zero_fractions(samples=10)


def data(n=128, blank=0.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    x = x * (torch.rand(n, 1, generator=g) >= blank)
    with torch.no_grad():
        y = MLP([4, 8, 1], init="rai", seed=seed + 1)(x)  # biases not 0: y(0) != 0
    return x, y


def test_twins_never_split_without_exact_zeros():
    x, y = data()
    twins = train_twins([4, 16, 16, 1], x, y, steps=40, batch_size=16)
    assert twins.split is None and twins.zeros.sum() == 0
    assert torch.equal(twins.loss[0], twins.loss[1]) and torch.count_nonzero(twins.distance) == 0
    assert twins.travelled[-1] > 0


def test_twins_split_at_the_first_step_on_blank_inputs_with_zero_biases():
    x, y = data(blank=0.5)
    twins = train_twins([4, 16, 16, 1], x, y, steps=10, batch_size=16)
    assert twins.zeros[0] > 0 and twins.split == 1
    same = train_twins([4, 16, 16, 1], x, y, steps=10, batch_size=16, at_zero=(0.5, 0.5))
    assert same.split is None  # the split comes from relu'(0) alone


def test_first_twin_is_plain_sgd_with_torch_relu():
    x, y = data(blank=0.3)
    twins = train_twins([4, 16, 1], x, y, steps=15, batch_size=8, lr=0.1, seed=3)
    net = MLP([4, 16, 1], activation=torch.relu, seed=3)  # torch.relu: relu'(0) = 0, like at_zero[0]
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    batches = torch.Generator().manual_seed(3)  # the documented batch order: with replacement, seeded
    losses = []
    for _ in range(15):
        i = torch.randint(len(x), (8,), generator=batches)
        optimizer.zero_grad()
        loss = F.mse_loss(net(x[i]), y[i])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    # float32: the twin steps p -= lr·grad (two roundings), torch's SGD p.add_(grad, alpha=-lr) (one, fused where the
    # CPU has FMA): ≤ 2⁻²⁴ of a weight apart a step, ≲ 15·2⁻²⁴ ≈ 1e-6 after 15, the loss a few times that: rtol 1e-5
    torch.testing.assert_close(twins.loss[0], torch.tensor(losses, dtype=torch.float64), rtol=1e-5, atol=1e-7)


def test_twins_in_bfloat16_split_when_the_bias_is_added_after_rounding():
    x, y = data(n=256)
    fused = train_twins([4, 32, 32, 1], x, y, dtype=torch.bfloat16, init="rai", steps=25)
    unfused = train_twins([4, 32, 32, 1], x, y, dtype=torch.bfloat16, init="rai", steps=25, round_before_bias=True)
    assert fused.zeros.sum() == 0 and fused.split is None
    assert unfused.zeros.sum() > 0 and unfused.split is not None
    assert unfused.zeros[: unfused.split].sum() > 0  # a zero came before the split


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dtype": torch.int32}, TypeError, "dtype"),
        ({"lr": 0.0}, ValueError, "learning rate"),
        ({"steps": 0}, ValueError, "steps"),
        ({"batch_size": 1.5}, ValueError, "batch_size"),
    ],
)
def test_train_twins_bad_arguments_are_named(kwargs, error, match):
    x, y = data(n=8)
    with pytest.raises(error, match=f"Invalid {match}"):
        train_twins([4, 2, 1], x, y, **kwargs)


def test_derivative_at_zero_bad_arguments_are_named():
    with pytest.raises(TypeError, match="Invalid f"):
        derivative_at_zero("relu")
    with pytest.raises(TypeError, match="Invalid dtype"):
        derivative_at_zero(torch.relu, torch.int64)
