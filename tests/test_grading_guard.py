"""grading.guard: what student code replaces is found and put back; the grader's own wire format round-trips."""

import builtins
import math
import sys
import types

import numpy as np
import pytest
import torch

from grading import protocol
from grading.guard import Guard, protected_modules

pytestmark = pytest.mark.grading


@pytest.fixture
def guard():
    guard = Guard(protected_modules(["numpy", "torch", "math"]))
    yield guard
    guard.restore()  # whatever a test broke


def test_protected_modules_include_the_testing_helpers():
    names = protected_modules(["numpy", "torch.nn"])
    for name in ("builtins", "math", "numpy", "numpy.testing", "torch", "torch.testing"):
        assert name in names, f"{name} is not protected"


def test_a_pristine_interpreter_shows_no_change(guard):
    assert guard.changes() == []
    assert guard.restore() == []


def test_replaced_functions_builtins_and_methods_are_put_back(guard):
    isclose, assert_allclose, maximum = math.isclose, np.testing.assert_allclose, builtins.max
    math.isclose = lambda *a, **k: True
    np.testing.assert_allclose = lambda *a, **k: None
    builtins.max = lambda *a: float("inf")
    torch.Tensor.__eq__ = lambda self, other: True
    changes = guard.restore()
    assert {"math.isclose", "numpy.testing.assert_allclose", "builtins.max", "torch.Tensor.__eq__ (added)"} <= set(
        changes
    )
    assert (math.isclose, np.testing.assert_allclose, builtins.max) == (isclose, assert_allclose, maximum)
    assert not bool((torch.tensor(1.0) == torch.tensor(2.0)).item()), "Tensor equality is still patched"
    assert guard.changes() == []


def test_a_function_changed_in_place_is_put_back(guard):
    def fake(*args, **kwargs):
        return None

    original = torch.testing.assert_close.__code__
    torch.testing.assert_close.__code__ = fake.__code__
    assert "torch.testing.assert_close.__code__" in guard.restore()
    assert torch.testing.assert_close.__code__ is original
    with pytest.raises(AssertionError):
        torch.testing.assert_close(torch.tensor(1.0), torch.tensor(2.0))


def test_a_shadowing_module_and_a_trace_function_are_removed(guard):
    real = sys.modules["numpy"]
    sys.modules["numpy"] = types.ModuleType("numpy")
    sys.settrace(lambda *args: None)
    changes = guard.restore()
    assert "sys.modules['numpy']" in changes and "sys.settrace" in changes
    assert sys.modules["numpy"] is real and sys.gettrace() is None


def test_lists_and_instance_methods_given_to_the_guard_are_kept():
    class Shell:
        def run_cell(self):
            return "real"

    shell, transformers = Shell(), []
    guard = Guard([], lists=[(transformers, "transformers")], instances=[(shell, "shell")])
    transformers.append(lambda lines: [])
    shell.run_cell = lambda: "fake"
    assert set(guard.restore()) >= {"transformers (contents)", "shell.run_cell (added)"}
    assert transformers == [] and shell.run_cell() == "real"


def test_requests_round_trip_and_imitations_are_not_requests():
    code = protocol.encode("abc123", "enter_test", {"preamble": ["import math"]})
    assert protocol.decode(code) == ("abc123", "enter_test", {"preamble": ["import math"]})
    assert protocol.decode("print(1)") is None
    assert protocol.decode(protocol.MARKER + " abc123 steal\n{}") is None
    assert protocol.decode(protocol.MARKER + " abc123 snapshot\nnot json") is None
    with pytest.raises(ValueError, match="operation"):
        protocol.encode("abc123", "steal", {})
    with pytest.raises(ValueError, match="token"):
        protocol.encode("abc 123", "snapshot", {})
