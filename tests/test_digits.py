"""Dead units on scikit-learn's digits: the bundled data, twins that differ only in relu'(0), the counts a lesson quotes."""

import pytest
import torch

from relucourse.digits import digits, digits_runs

pytestmark = pytest.mark.relu_at_zero


def test_digits_are_the_bundled_images_scaled_and_split():
    x, y, x_test, y_test = digits()
    assert x.shape == (1500, 64) and x_test.shape == (297, 64) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() == 1 and set(y.tolist()) == set(range(10)) == set(y_test.tolist())


def test_large_steps_kill_units_and_twins_without_exact_zeros_stay_identical():
    runs = digits_runs([0.01, 3.0], seeds=(0,), steps=60)
    assert runs.dead.shape == runs.accuracy.shape == runs.exact_zeros.shape == (2, 2, 1)
    assert (runs.dead[:, 1] > runs.dead[:, 0] + 0.3).all(), f"lr 3 should kill far more units than lr 0.01: {runs.dead}"
    assert ((0 <= runs.accuracy) & (runs.accuracy <= 1)).all()
    assert runs.exact_zeros.sum() == 0, "float32 pre-activations computed in one step should never be exactly 0 here"
    assert runs.twin_gap.max() == 0, "twins that never used relu'(0) must be the same computation"


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="learning rates"):
        digits_runs([0.1, -1.0], steps=1)
    with pytest.raises(ValueError, match="steps"):
        digits_runs([0.1], steps=0)
